// sources/environment: what pmtrace checks before loading BPF.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "sources/environment.h"

TEST_CASE("environment: the PID namespace pmtrace runs in, and a /proc of another one refused", "[environment]") {
  char tmpl[] = "/tmp/pm-env-XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  std::string dir = tmpl;
  pm::sources::EnvironmentPaths paths;
  paths.pid_ns = dir + "/init";
  REQUIRE(symlink("pid:[4026531836]", paths.pid_ns.c_str()) == 0);
  auto init = pm::sources::pid_namespace_inum(paths);
  REQUIRE(init);
  CHECK(*init == 0);  // the kernel's own pids: nothing to translate
  paths.pid_ns = dir + "/container";
  REQUIRE(symlink("pid:[4026532417]", paths.pid_ns.c_str()) == 0);
  paths.proc_self = dir + "/self";
  REQUIRE(symlink(std::to_string(getpid()).c_str(), paths.proc_self.c_str()) == 0);
  auto inside = pm::sources::pid_namespace_inum(paths);
  REQUIRE(inside);
  CHECK(*inside == 4026532417u);
  // /proc mounted for the parent namespace: its pids are not pmtrace's.
  paths.proc_self = dir + "/other";
  REQUIRE(symlink("999999", paths.proc_self.c_str()) == 0);
  auto other = pm::sources::pid_namespace_inum(paths);
  REQUIRE_FALSE(other);
  CHECK(other.error().message.find("the /proc pmtrace reads belongs to another PID namespace") == 0);
  CHECK(other.error().hint.find("--mount-proc") != std::string::npos);
  paths.pid_ns = dir + "/garbage";
  REQUIRE(symlink("net:[12]", paths.pid_ns.c_str()) == 0);
  CHECK_FALSE(pm::sources::pid_namespace_inum(paths));
  paths.pid_ns = dir + "/missing";  // no namespace information: the kernel's pids
  auto missing = pm::sources::pid_namespace_inum(paths);
  REQUIRE(missing);
  CHECK(*missing == 0);
  for (const char* f : {"/init", "/container", "/self", "/other", "/garbage"}) unlink((dir + f).c_str());
  rmdir(dir.c_str());
}

TEST_CASE("environment: the seccomp mode of a /proc/PID/status text", "[environment]") {
  CHECK(pm::sources::seccomp_mode("Name:\tpmtrace\nSeccomp:\t2\nSeccomp_filters:\t5\n") == "2");
  CHECK(pm::sources::seccomp_mode("Seccomp:\t0\n") == "0");
  CHECK(pm::sources::seccomp_mode("Name:\tpmtrace\n") == "");
}
