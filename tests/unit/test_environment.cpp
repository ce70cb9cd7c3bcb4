// sources/environment: what pmtrace checks before loading BPF.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "sources/environment.h"

TEST_CASE("environment: the initial PID namespace passes, a container's is one line with the way out", "[environment]") {
  char tmpl[] = "/tmp/pm-env-XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  std::string dir = tmpl;
  pm::sources::EnvironmentPaths paths;
  paths.pid_ns = dir + "/init";
  REQUIRE(symlink("pid:[4026531836]", paths.pid_ns.c_str()) == 0);
  CHECK(pm::sources::check_pid_namespace(paths));
  paths.pid_ns = dir + "/container";
  REQUIRE(symlink("pid:[4026532417]", paths.pid_ns.c_str()) == 0);
  auto r = pm::sources::check_pid_namespace(paths);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("pmtrace runs inside a PID namespace (pid:[4026532417]") == 0);
  CHECK(r.error().hint.find("run pmtrace on the host") == 0);
  paths.pid_ns = dir + "/missing";  // no namespace information: nothing to say
  CHECK(pm::sources::check_pid_namespace(paths));
  unlink((dir + "/init").c_str());
  unlink((dir + "/container").c_str());
  rmdir(dir.c_str());
}
