// investigation/end_rules: when a start is over (docs/investigation.md).
#include <catch2/catch.hpp>

#include "investigation/end_rules.h"
#include "trace_builder.h"

namespace {

using investigation::EndInputs;
using investigation::EndRules;

EndInputs listening_quiet(std::uint64_t now) {
  EndInputs in;
  in.start_ns = kT0;
  in.now_ns = now;
  in.settle_ns = 3 * kS;
  in.wrapped = true;
  in.live = 3;
  in.listening = true;
  in.last_event_ns = kT0 + kS;
  return in;
}

}  // namespace

TEST_CASE("end rules: never while the wrapped command runs, unless it is the service", "[end-rules]") {
  EndRules r;
  auto in = listening_quiet(kT0 + 30 * kS);
  in.wrapped_running = true;  // systemctl start, waiting for READY=1
  CHECK_FALSE(r.check(in));
  CHECK(r.still_going(in) == "the command was still running");
  in.wrapped_is_service = true;  // run -- gunicorn: its own process listens
  CHECK(r.check(in) == std::optional<std::string>("the service is listening and settled"));
}

TEST_CASE("end rules: a call in flight holds the end, --settle counts from its end", "[end-rules]") {
  EndRules r;
  auto in = listening_quiet(kT0 + 10 * kS);
  in.wrapped_running = false;
  in.busy = {{502, "gunicorn worker in connect()"}};
  CHECK_FALSE(r.check(in));  // quiet since +1 s, but the worker waits
  CHECK(r.still_going(in) == "pid 502 gunicorn worker in connect()");
  in.busy.clear();
  in.now_ns = kT0 + 12 * kS;
  CHECK_FALSE(r.check(in));  // 2 s since it was last seen waiting
  in.now_ns = kT0 + 13 * kS + kMs;
  CHECK(r.check(in));
}

TEST_CASE("end rules: the command and every process gone ends it at once", "[end-rules]") {
  EndRules r;
  EndInputs in;
  in.wrapped = true;
  in.settle_ns = 3 * kS;
  in.now_ns = kT0 + kS;
  in.last_event_ns = kT0 + kS;
  in.live = 0;
  CHECK(r.check(in) == std::optional<std::string>("the command and every traced process exited"));
  in.live = 2;  // a service the command started, not listening, still busy with events
  CHECK_FALSE(r.check(in));
  in.now_ns = kT0 + 5 * kS;
  CHECK(r.check(in) == std::optional<std::string>("the command exited and the service was quiet for --settle"));
}

TEST_CASE("end rules: what counts as in flight", "[end-rules]") {
  Trace t;
  gunicorn_boot(t, 500, {501, 502});
  t.task(600, 1, "python3");
  t.exec(600, kT0, "/usr/bin/python3", {"python3", "sync.py"});
  t.connect(600, kT0 + kS, 5, inet("192.0.2.9", 443), 0);
  // A non-blocking connect still waiting for its SYN-ACK.
  t.connect(502, kT0 + 2 * kS, 8, inet("10.1.2.3", 5432), EINPROGRESS);
  std::map<std::uint32_t, target::SyscallState> now;
  auto in = [](int nr, std::uint64_t fd = 0) {
    target::SyscallState s;
    s.nr = nr;
    s.args[0] = fd;
    return s;
  };
  now[500] = in(kNrSelect);       // the master's sleep: idle
  now[501] = in(35);              // a worker in nanosleep(): a view sleeping
  now[502] = in(kNrPoll);         // polls its connect: counted once, from the pending connect
  now[600] = in(45, 5);           // recvfrom() on the socket it connected to 192.0.2.9
  auto busy = investigation::in_flight(t.agg, [&](std::uint32_t pid) -> std::optional<target::SyscallState> {
    auto it = now.find(pid);
    if (it == now.end()) return std::nullopt;
    return it->second;
  });
  std::map<std::uint32_t, std::string> by_pid;
  for (const auto& b : busy) by_pid[b.pid] = b.what;
  CHECK_FALSE(by_pid.count(500));
  CHECK(by_pid[501] == "gunicorn worker in nanosleep()");
  CHECK(contains(by_pid[502], "connect() to 10.1.2.3:5432 in flight"));
  CHECK(by_pid[600] == "in recvfrom() from 192.0.2.9:443");
  // The same process reading a pipe (no peer) waits on nothing we know of.
  now[600] = in(0, 3);
  now[501] = in(kNrSelect);  // back in its idle wait
  busy = investigation::in_flight(t.agg, [&](std::uint32_t pid) -> std::optional<target::SyscallState> {
    auto it = now.find(pid);
    if (it == now.end()) return std::nullopt;
    return it->second;
  });
  REQUIRE(busy.size() == 1);
  CHECK(busy[0].pid == 502);
}

TEST_CASE("end rules: /proc/PID/syscall as the kernel writes it", "[end-rules][procfs]") {
  auto r = target::parse_syscall("running\n");
  REQUIRE(r);
  CHECK(r->running);
  r = target::parse_syscall("-1 0x7ffd3a0 0x7f11aa\n");
  REQUIRE(r);
  CHECK(r->nr == -1);
  r = target::parse_syscall("42 0x7 0x7ffe1000 0x10 0x0 0x0 0x0 0x7ffe0ff8 0x7f5e2a1b\n");
  REQUIRE(r);
  CHECK(r->nr == 42);
  CHECK(r->args[0] == 7);
  CHECK(r->args[2] == 0x10);
  CHECK_FALSE(target::parse_syscall(""));
  CHECK_FALSE(target::parse_syscall("banana 0x1"));
  CHECK_FALSE(target::parse_syscall("42 zz"));
}

TEST_CASE("end rules: a unit whose Restart= will start it again is not over", "[end-rules]") {
  Trace t;
  analysis::UnitContext u;
  u.name = "shop.service";
  u.restart = "on-failure";
  u.restart_ms = 500;
  t.unit(u);
  t.task(500, 1, "(gunicorn)");
  t.exec(500, kT0, "/usr/bin/gunicorn", kGunicornArgv, "/usr/bin/python3");
  SECTION("failed: due RestartSec= and a margin after its end") {
    t.exit(500, kT0 + kS, 3 << 8);
    CHECK(investigation::restart_due(t.agg) == kT0 + kS + 500 * kMs + 2 * kS);
    EndRules r;
    EndInputs in;
    in.wrapped = true;
    in.start_ns = kT0;
    in.now_ns = kT0 + 2 * kS;
    in.restart_due_ns = investigation::restart_due(t.agg);
    CHECK_FALSE(r.check(in));
    CHECK(r.still_going(in) == "the unit's Restart= was about to start it again");
    in.now_ns = kT0 + 4 * kS;
    CHECK(r.check(in) == std::optional<std::string>("the command and every traced process exited"));
  }
  SECTION("ended cleanly: Restart=on-failure does not restart") {
    t.exit(500, kT0 + kS, 0);
    CHECK(investigation::restart_due(t.agg) == 0);
  }
  SECTION("stopped by systemd's SIGTERM: clean for on-failure") {
    t.exit(500, kT0 + kS, SIGTERM);
    CHECK(investigation::restart_due(t.agg) == 0);
  }
  SECTION("still running: nothing is due") { CHECK(investigation::restart_due(t.agg) == 0); }
}
