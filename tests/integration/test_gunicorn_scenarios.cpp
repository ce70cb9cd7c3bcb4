// Real gunicorn (Debian's, serving a small Flask app) failing as it does in
// production, diagnosed by `pmtrace run --unit` and by `pmtrace attach UNIT`
// started before the service: the finding, its evidence and its fix.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "scenario.h"

using namespace pmtest;
using namespace std::chrono_literals;

TEST_CASE("gunicorn: a log file the service user cannot write", "[root][scenario][gunicorn]") {
  REQUIRE_GUNICORN();
  Mode mode = GENERATE(Mode::run, Mode::attach, Mode::run_ptrace);
  INFO(mode_name(mode));
  FakeUnit unit;
  TempDir dir;
  std::string log = dir.path() + "/error.log";
  { std::ofstream(log) << ""; }  // root's, 0644: the service user may read, not write
  chmod(log.c_str(), 0644);
  Scenario s;
  s.cmd = gunicorn(free_port(), "app:app", {"--error-logfile", log});
  s.svc_opts = {"--uid", "65534", "--gid", "65534"};
  auto o = diagnose(mode, unit, s);
  INFO(o.err);
  CHECK(o.status == 1);
  const json* f = finding(o, "permission-denied");
  REQUIRE(f);
  std::string title = (*f)["title"];
  CHECK(title.find("gunicorn master") == 0);
  CHECK(title.find("may not write (and create) " + log) != std::string::npos);
  CHECK((*f)["evidence"][0]["errno"] == "EACCES");
  CHECK((*f)["evidence"][0]["uid"] == 65534);
  CHECK((*f)["fix"] == "chown nobody:nogroup " + log);
  REQUIRE(!o.lines.empty());
  CHECK(o.lines[0]["backend"] == (mode == Mode::run_ptrace ? "ptrace" : "bpf"));
  CHECK((*f)["explanation"].get<std::string>().find("owned by root:root with mode 0644") != std::string::npos);
  // The root cause is reported first, in the phase it broke.
  CHECK((*o.summary())["findings"][0]["rule"] == "permission-denied");
  CHECK((*o.summary())["failed_checkpoint"] == "configuration read");
}

TEST_CASE("gunicorn: a missing module makes the worker fail to boot", "[root][scenario][gunicorn]") {
  REQUIRE_GUNICORN();
  Mode mode = GENERATE(Mode::run, Mode::attach, Mode::run_ptrace);
  INFO(mode_name(mode));
  FakeUnit unit;
  Scenario s;
  s.cmd = gunicorn(free_port(), "broken_import:app");
  auto o = diagnose(mode, unit, s);
  INFO(o.err);
  CHECK(o.status == 1);
  const json* sum = o.summary();
  REQUIRE(sum);
  REQUIRE((*sum)["findings"].size() >= 2);
  CHECK((*sum)["findings"][0]["rule"] == "missing-python-module");
  const json* m = finding(o, "missing-python-module");
  REQUIRE(m);
  CHECK((*m)["title"] == "Python module 'rest_framework' is missing for /usr/bin/python3");
  CHECK((*m)["fix"].get<std::string>().find("/usr/bin/python3 -m pip install djangorestframework") == 0);
  const json* b = finding(o, "gunicorn-boot-failure");
  REQUIRE(b);
  CHECK((*b)["title"] ==
        "gunicorn worker failed to boot (exit code 3): ModuleNotFoundError: No module named 'rest_framework'");
  CHECK((*sum)["failed_checkpoint"] == "application imported");
}

TEST_CASE("gunicorn: an app spec naming a missing attribute (exit 4)", "[root][scenario][gunicorn]") {
  REQUIRE_GUNICORN();
  Mode mode = GENERATE(Mode::run, Mode::attach, Mode::run_ptrace);
  INFO(mode_name(mode));
  FakeUnit unit;
  Scenario s;
  s.cmd = gunicorn(free_port(), "wrong_attr:app");
  auto o = diagnose(mode, unit, s);
  INFO(o.err);
  CHECK(o.status == 1);
  const json* b = finding(o, "gunicorn-boot-failure");
  REQUIRE(b);
  CHECK((*b)["title"].get<std::string>().find("gunicorn could not load the app (exit code 4)") == 0);
  CHECK((*b)["fix"].get<std::string>().find("'wrong_attr:app'") != std::string::npos);
  CHECK_FALSE(finding(o, "missing-python-module"));
}

TEST_CASE("gunicorn: a port already in use", "[root][scenario][gunicorn]") {
  REQUIRE_GUNICORN();
  Mode mode = GENERATE(Mode::run, Mode::attach, Mode::run_ptrace);
  INFO(mode_name(mode));
  // Something else holds the port (an old instance, say): a listener of ours.
  int holder = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(holder, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  REQUIRE(bind(holder, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(listen(holder, 8) == 0);
  getsockname(holder, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  FakeUnit unit;
  Scenario s;
  s.cmd = gunicorn(port, "app:app");
  auto o = diagnose(mode, unit, s);
  close(holder);
  INFO(o.err);
  CHECK(o.status == 1);
  const json* f = finding(o, "address-in-use");
  REQUIRE(f);
  CHECK((*f)["title"].get<std::string>().find("could not bind 127.0.0.1:" + std::to_string(port)) !=
        std::string::npos);
  CHECK((*f)["evidence"].size() == 5);  // gunicorn's five tries
  // The holder is named in every mode, traced or not (read when the report is made).
  std::string facts = (*f)["facts"].dump();
  CHECK(facts.find("held by ") != std::string::npos);
  CHECK(facts.find("(pid " + std::to_string(getpid()) + ")") != std::string::npos);
  CHECK((*f)["fix"].get<std::string>().find("ss -ltnp 'sport = :" + std::to_string(port) + "'") != std::string::npos);
}

TEST_CASE("gunicorn: a healthy start, serving requests, then stopped on purpose: no failure, exit 0",
          "[root][scenario][gunicorn]") {
  REQUIRE_GUNICORN();
  Mode mode = GENERATE(Mode::run, Mode::attach, Mode::run_ptrace);
  INFO(mode_name(mode));
  FakeUnit unit;
  int port = free_port();
  int served = 0;
  Scenario s;
  s.cmd = gunicorn(port, "app:app");
  s.settle = "20s";  // run ends when the operator's stop has ended the service
  s.during = [&] {
    if (!wait_listening(port)) return;
    std::this_thread::sleep_for(1s);
    for (int i = 0; i < 3; ++i) served += http_get(port, "/") == 200;
    // The operator stops it on purpose.
    pid_t master = unit_main_pid(unit);
    // From a shell, as an operator types it (kill is the shell's builtin).
    if (master > 0) wait_exit(spawn({"/bin/sh", "-c", "kill -TERM " + std::to_string(master) + "; sleep 0.5"}));
  };
  auto o = diagnose(mode, unit, s);
  INFO(o.err);
  CHECK(served == 3);
  CHECK(o.status == 0);
  const json* sum = o.summary();
  REQUIRE(sum);
  for (const auto& f : (*sum)["findings"]) CHECK(f["severity"] != "failure");
  const json* stop = finding(o, "killed-by-signal");
  REQUIRE(stop);
  CHECK(field(stop, "severity") == "info");
  CHECK(field(stop, "title").find("from sh (pid") != std::string::npos);
  CHECK((*sum)["failed_checkpoint"].is_null());
  CHECK((*sum)["preflight"].is_null());  // nothing for doctor to catch
  CHECK(reached(o, "serving"));
  // The workers were forked by the master and seen.
  auto execs = o.events("exec");
  REQUIRE(!execs.empty());
  CHECK(o.events("fork").size() >= 2);
  CHECK(o.events("listen").size() >= 1);
}
