// The ptrace backend: chosen when eBPF cannot be used, and leaving the
// service it traced running when it is done.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "scenario.h"

using namespace pmtest;
using namespace std::chrono_literals;

namespace {
std::string tracer_of(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("TracerPid:", 0) == 0) return line.substr(10);
  return "";
}
}  // namespace

TEST_CASE("ptrace: --backend auto falls back to ptrace without BPF privileges, and says why", "[root][ptrace]") {
  REQUIRE_ROOT();
  TempDir dir;
  std::string missing = dir.path() + "/missing.conf";
  auto o = run_pmtrace({"run", "--json", "--backend", "auto", "--", "/usr/bin/setpriv", "--reuid=65534",
                        "--regid=65534", "--clear-groups", "--", pmtrace_bin(), "run", "--json", "--", prog("open_fail"),
                        missing});
  INFO(o.err);
  // The inner pmtrace runs as nobody: no BPF, so ptrace, with one line why.
  CHECK(o.err.find("eBPF cannot be used (") != std::string::npos);
  CHECK(o.err.find("using the ptrace backend") != std::string::npos);
  bool ptrace_start = false, open_seen = false;
  for (const auto& l : o.lines) {
    if (l.value("type", "") == "start" && l.value("backend", "") == "ptrace") ptrace_start = true;
    if (l.value("type", "") == "open_failed" && l.value("path", "") == missing) open_seen = true;
  }
  CHECK(ptrace_start);
  CHECK(open_seen);
}

TEST_CASE("ptrace: a service that run saw settle keeps serving, untraced, after pmtrace exits", "[root][ptrace]") {
  REQUIRE_GUNICORN();
  int port = free_port();
  auto o = run_pmtrace({"run", "--json", "--backend", "ptrace", "--settle", "2s", "--timeout", "30s", "--",
                        "/usr/bin/gunicorn", "--chdir", kFlaskApp, "-b", "127.0.0.1:" + std::to_string(port), "-w",
                        "2", "app:app"});
  INFO(o.err);
  REQUIRE(o.summary());
  CHECK((*o.summary())["end_reason"] == "the service is listening and settled");
  CHECK(o.status == 0);
  auto execs = o.events("exec");
  REQUIRE(!execs.empty());
  pid_t master = execs[0]["pid"].get<int>();
  // Detached, not killed: it answers requests and nothing traces it.
  CHECK(http_get(port, "/") == 200);
  CHECK(http_get(port, "/") == 200);
  CHECK(tracer_of(master) == "\t0");
  kill(master, SIGTERM);
  for (int i = 0; i < 50 && kill(master, 0) == 0; ++i) std::this_thread::sleep_for(100ms);
  CHECK(kill(master, 0) != 0);
}

namespace {
// A gunicorn started outside pmtrace, serving, and its master's pid.
struct RunningGunicorn {
  int port = free_port();
  pid_t master = spawn(gunicorn(port, "app:app"));
  RunningGunicorn() { wait_listening(port); }
  ~RunningGunicorn() {
    kill(master, SIGTERM);
    wait_exit(master);
  }
};

std::string state_of(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("State:", 0) == 0) return line.substr(6);
  return "";
}
}  // namespace

TEST_CASE("ptrace: attach to a serving gunicorn and detach cleanly: it keeps serving", "[root][ptrace][attach]") {
  REQUIRE_GUNICORN();
  RunningGunicorn g;
  Background bg({"attach", "--json", "--backend", "ptrace", "--pid", std::to_string(g.master), "--duration", "30s"});
  REQUIRE(bg.wait_ready());
  std::this_thread::sleep_for(500ms);
  int served = 0;
  for (int i = 0; i < 4; ++i) served += http_get(g.port, "/") == 200;
  CHECK(served == 4);
  auto o = bg.stop(SIGINT);
  INFO(o.err);
  CHECK(o.status == 0);
  REQUIRE(!o.lines.empty());
  CHECK(o.lines[0]["backend"] == "ptrace");
  // It saw the workers serve (their first accept) while attached.
  bool accepted = false;
  for (const auto& e : o.events("milestone")) accepted |= e["kind"] == "accept";
  CHECK(accepted);
  // Detached: nothing traces it, nothing is stopped, it still serves.
  CHECK(tracer_of(g.master) == "\t0");
  CHECK(state_of(g.master).find("t (tracing stop)") == std::string::npos);
  CHECK(http_get(g.port, "/") == 200);
  CHECK(http_get(g.port, "/") == 200);
}

TEST_CASE("ptrace: pmtrace killed with SIGKILL while attached leaves the service running", "[root][ptrace][attach]") {
  REQUIRE_GUNICORN();
  RunningGunicorn g;
  Background bg({"attach", "--json", "--backend", "ptrace", "--pid", std::to_string(g.master), "--duration", "30s"});
  REQUIRE(bg.wait_ready());
  std::this_thread::sleep_for(500ms);
  CHECK(http_get(g.port, "/") == 200);
  bg.stop(SIGKILL);
  std::this_thread::sleep_for(300ms);
  CHECK(tracer_of(g.master) == "\t0");
  CHECK(state_of(g.master).find("t (tracing stop)") == std::string::npos);
  int served = 0;
  for (int i = 0; i < 4; ++i) served += http_get(g.port, "/") == 200;
  CHECK(served == 4);
}

TEST_CASE("ptrace: job control still works: a stopped tracee stays stopped until SIGCONT", "[root][ptrace]") {
  REQUIRE_ROOT();
  TempDir dir;
  std::string pidfile = dir.path() + "/pid";
  Background bg({"run", "--json", "--backend", "ptrace", "--timeout", "30s", "--", "/bin/sh", "-c",
                 "echo $$ > " + pidfile + "; kill -STOP $$; echo resumed"});
  pid_t sh = -1;
  for (int i = 0; i < 100 && sh <= 0; ++i) {
    std::this_thread::sleep_for(50ms);
    std::ifstream in(pidfile);
    in >> sh;
  }
  REQUIRE(sh > 0);
  // Stopped by its own SIGSTOP: a group-stop, which the tracer leaves with
  // PTRACE_LISTEN (the kernel shows such a tracee as "t"): it stays stopped
  // until SIGCONT, as without a tracer.
  auto stopped = [&] {
    std::string st = state_of(sh);
    return st.find("T (stopped)") != std::string::npos || st.find("t (tracing stop)") != std::string::npos;
  };
  bool was_stopped = false;
  for (int i = 0; i < 40 && !(was_stopped = stopped()); ++i) std::this_thread::sleep_for(50ms);
  CHECK(was_stopped);
  std::this_thread::sleep_for(300ms);
  CHECK(stopped());
  kill(sh, SIGCONT);
  auto o = bg.wait(20);
  INFO(o.err);
  CHECK(o.status == 0);
  bool resumed = false;
  for (const auto& w : o.events("write")) resumed |= w["head"].get<std::string>().find("resumed") != std::string::npos;
  CHECK(resumed);
  bool stop_seen = false;
  for (const auto& d : o.events("signal_deliver")) stop_seen |= d["signal"] == "SIGSTOP";
  CHECK(stop_seen);
}
