// start-timeout on event sequences shaped like systemd's start job for a
// Type=notify unit: PID 1 forks the service into the unit's cgroup and waits
// TimeoutStartSec= for READY=1 on $NOTIFY_SOCKET (a datagram the trace does
// not see). When it does not come, systemd logs "start operation timed out.
// Terminating." and sends KillSignal= (SIGTERM) to the service: the rule
// knows the timeout by that signal from PID 1 at TimeoutStartSec= after the
// start. Look-alikes: a start that completed in time and a stop job later, a
// unit whose start does not wait (Type=exec), an operator's kill at the very
// moment of the timeout.
#include <catch2/catch.hpp>

#include "trace_builder.h"

namespace {

analysis::UnitContext notify_unit(long long timeout_ms = 90000, std::string type = "notify") {
  analysis::UnitContext u;
  u.name = "shop.service";
  u.type = std::move(type);
  u.timeout_start_ms = timeout_ms;
  u.notify_access = u.type == "notify" ? "main" : "";
  u.exec_start = {"/usr/bin/gunicorn", "--workers", "2", "--bind", "127.0.0.1:8000", "shop.wsgi:application"};
  return u;
}

const SignalGenerate* sent(const Event& e, std::uint32_t sender, std::uint32_t target, int sig) {
  const auto* s = e.as<SignalGenerate>();
  return s && e.hdr.pid == sender && s->target_pid == target && s->sig == sig ? s : nullptr;
}

}  // namespace

TEST_CASE("start-timeout: gunicorn never sends READY=1 and PID 1 sends SIGTERM at TimeoutStartSec=",
          "[rules][start-timeout]") {
  Trace t;
  t.unit(notify_unit(90000));
  // gunicorn 19 binds, listens and boots its workers, but never sends READY=1.
  gunicorn_boot(t);
  // systemd's timer started with the start job, a little before the fork.
  const std::uint64_t timeout = kT0 + 90 * kS - 20 * kMs;
  systemd_stop(t, timeout);

  CHECK(rules::start_timeout(t.agg).size() == 1);
  auto fs = rules::run_rules(t.agg);
  INFO(titles(fs));
  const auto* f = only(fs, "start-timeout");
  REQUIRE(f);
  CHECK_FALSE(only(fs, "killed-by-signal"));  // the timeout's SIGTERM is this rule's
  CHECK(f->severity == rules::Severity::failure);
  CHECK(f->ts_ns == timeout);
  CHECK(contains(f->title, "waiting for READY=1"));
  // PID 1's SIGTERM, the master's to its workers, the master's exit.
  REQUIRE(f->evidence.size() == 4);
  CHECK(sent(f->evidence[0], 1, 500, SIGTERM));
  CHECK(f->evidence[0].hdr.ts_ns == timeout);
  CHECK(sent(f->evidence[1], 500, 501, SIGTERM));
  CHECK(sent(f->evidence[2], 500, 502, SIGTERM));
  REQUIRE(f->evidence[3].as<Exit>());
  CHECK(f->evidence[3].hdr.pid == 500);
  INFO(facts_text(*f));
  CHECK(has_fact(*f, "Type=notify, NotifyAccess=main, TimeoutStartSec=90 s"));
  CHECK(has_fact(*f, "main process: gunicorn master (pid 500, uid 33 gid 33)"));
  CHECK(has_fact(*f, "2 workers were stopped with it"));
  CHECK(contains(f->explanation, "gunicorn < 20 never sends it"));
  // The cause first, raising TimeoutStartSec= second.
  CHECK(contains(f->fix, "gunicorn --version"));
  CHECK(f->fix.find("gunicorn --version") < f->fix.find("TimeoutStartSec="));
}

TEST_CASE("start-timeout: a --preload import stalled on its database is what the start waited on",
          "[rules][start-timeout]") {
  Trace t;
  t.unit(notify_unit(15000));
  t.spawn(500, kT0, "/usr/bin/gunicorn",
          {"/usr/bin/python3", "/usr/bin/gunicorn", "--preload", "-b", "127.0.0.1:8000", "shop.wsgi:application"},
          "/usr/bin/python3");
  // libpq connects without blocking and polls the socket; no SYN-ACK ever comes.
  t.connect(500, kT0 + 300 * kMs, 7, inet("10.1.2.3", 5432), EINPROGRESS);
  // The master has no signal handlers before the import is done: SIGTERM's
  // default action ends it, in poll() with no timeout (-ERESTARTNOHAND).
  t.signal(1, kT0 + 15 * kS, 500, SIGTERM);
  t.signal(1, kT0 + 15 * kS + 15 * kUs, 500, SIGCONT);
  t.deliver(500, kT0 + 15 * kS + 40 * kUs, SIGTERM, 1, kNrPoll, 7, -514, 0);
  t.exit(500, kT0 + 15 * kS + 45 * kUs, SIGTERM);

  auto fs = rules::run_rules(t.agg);
  INFO(titles(fs));
  const auto* f = only(fs, "start-timeout");
  REQUIRE(f);
  CHECK_FALSE(only(fs, "killed-by-signal"));
  // The connect still in flight, PID 1's SIGTERM, the master's death by it.
  REQUIRE(f->evidence.size() == 3);
  REQUIRE(f->evidence[0].as<Connect>());
  CHECK(f->evidence[0].hdr.pid == 500);
  CHECK(f->evidence[0].as<Connect>()->addr == inet("10.1.2.3", 5432));
  CHECK(sent(f->evidence[1], 1, 500, SIGTERM));
  REQUIRE(f->evidence[2].as<Exit>());
  CHECK(f->evidence[2].as<Exit>()->signal() == SIGTERM);
  INFO(facts_text(*f));
  CHECK(contains(facts_text(*f), "(pid 500) was in poll() on a socket connected to 10.1.2.3:5432"));
  CHECK(has_fact(*f, "Type=notify, NotifyAccess=main, TimeoutStartSec=15 s"));
  CHECK(contains(f->explanation, "--preload"));
  CHECK(f->fix.find("10.1.2.3:5432") < f->fix.find("TimeoutStartSec="));
  CHECK(contains(f->fix, "drop --preload"));
}

TEST_CASE("start-timeout: a start that completed in time, stopped later by systemd, is no timeout",
          "[rules][start-timeout]") {
  for (std::uint64_t stop : {std::uint64_t{0}, 30 * kS, 120 * kS}) {
    INFO("stopped at +" << stop / kS << " s (0: not stopped)");
    Trace t;
    t.unit(notify_unit(90000));
    gunicorn_boot(t);  // gunicorn 20 sends READY=1 once it listens
    t.accept(501, kT0 + 2 * kS, 10, inet("127.0.0.1", 40000));
    if (stop) systemd_stop(t, kT0 + stop);
    CHECK(rules::start_timeout(t.agg).empty());
    if (stop) CHECK_FALSE(rules::is_start_timeout(t.agg, t.agg.signals().front()));
  }
}

TEST_CASE("start-timeout: a unit whose start does not wait (Type=exec) has no start timeout",
          "[rules][start-timeout]") {
  Trace t;
  t.unit(notify_unit(90000, "exec"));
  gunicorn_boot(t);
  systemd_stop(t, kT0 + 90 * kS - 20 * kMs);  // a stop job, at the same moment
  auto fs = rules::run_rules(t.agg);
  INFO(titles(fs));
  CHECK_FALSE(only(fs, "start-timeout"));
  CHECK(only(fs, "killed-by-signal"));  // the stop is still told
}

TEST_CASE("start-timeout: an operator's kill at TimeoutStartSec= is not the service manager's",
          "[rules][start-timeout]") {
  Trace t;
  t.unit(notify_unit(90000));
  gunicorn_boot(t);
  t.task(900, 880, "bash", 0, 2);  // a root shell in a login session
  t.signal(900, kT0 + 90 * kS, 500, SIGTERM);  // kill -TERM 500
  gunicorn_terminates(t, 900, kT0 + 90 * kS);
  auto fs = rules::run_rules(t.agg);
  INFO(titles(fs));
  CHECK_FALSE(only(fs, "start-timeout"));
  const auto* k = only(fs, "killed-by-signal");
  REQUIRE(k);
  CHECK(sent(k->evidence.at(0), 900, 500, SIGTERM));
}
