// killed-by-signal on event sequences shaped like real traces (systemd's
// stop, a supervising script, an operator's kill, the kernel's own signals):
// who sent the signal, what the rule reports, and what it must leave alone.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "analysis/aggregator.h"
#include "analysis/checkpoints.h"
#include "rules/finding.h"

#include "trace_builder.h"

TEST_CASE("killed-by-signal: PID 1 stops gunicorn 3 s after start, the master's cascade is evidence", "[rules][killed-by-signal]") {
  Trace t;
  gunicorn_boot(t);
  systemd_stop(t, kT0 + 3 * kS);

  auto f = rules::killed_by_signal(t.agg);
  REQUIRE(f.size() == 1);  // not one more for each of the master's SIGTERMs to its workers
  CHECK(f[0].severity == rules::Severity::failure);
  // systemd's stop of a start: doctor's notify and start-timeout checks find it first.
  CHECK(f[0].preflight == std::vector<rules::CheckId>{rules::CheckId::notify, rules::CheckId::start_timeout});
  CHECK(f[0].title ==
        "gunicorn master (pid 500, uid 33 gid 33) stopped by SIGTERM from PID 1 (systemd) 3.0 s after start, "
        "while 2 workers were running");
  CHECK(f[0].ts_ns == kT0 + 3 * kS);
  // The signal, the master's two SIGTERMs to its workers, their exits, the master's exit.
  REQUIRE(f[0].evidence.size() == 6);
  const auto* first = f[0].evidence[0].as<SignalGenerate>();
  REQUIRE(first);
  CHECK(f[0].evidence[0].hdr.pid == 1);
  CHECK(first->target_pid == 500);
  for (int i : {1, 2}) {
    const auto* c = f[0].evidence[i].as<SignalGenerate>();
    REQUIRE(c);
    CHECK(f[0].evidence[i].hdr.pid == 500);
    CHECK(c->sig == SIGTERM);
    CHECK(c->target_pid == (i == 1 ? 501u : 502u));
  }
  CHECK(f[0].evidence[3].hdr.type == EventType::exit);
  CHECK(f[0].evidence[3].hdr.pid == 501);
  CHECK(f[0].evidence[4].hdr.pid == 502);
  CHECK(f[0].evidence[5].hdr.type == EventType::exit);
  CHECK(f[0].evidence[5].hdr.pid == 500);
  for (std::size_t i = 1; i < f[0].evidence.size(); ++i)
    CHECK(f[0].evidence[i - 1].hdr.ts_ns <= f[0].evidence[i].hdr.ts_ns);
  INFO(facts_text(f[0]));
  CHECK(has_fact(f[0], "2 of 2 running workers had booted (sent a heartbeat) by then"));
  CHECK(has_fact(f[0], "cascade: the master passed the signal on to 2 worker signals"));
  CHECK(has_fact(f[0], "it then exited with code 0 3.3 s after start"));
  CHECK(has_fact(f[0], "sender uid 0, parent pid 0"));
  CHECK(contains(f[0].explanation, "PID 1 (systemd) sent SIGTERM"));
  CHECK(f[0].fix.find("systemd sends SIGTERM when a start times out (TimeoutStartSec=") == 0);

  // Across every rule: the stop is one finding; SIGCONT, SIGCHLD and the
  // master's own SIGTERMs to its workers are nobody's finding.
  auto all = rules::run_rules(t.agg);
  REQUIRE(all.size() == 1);
  CHECK(all[0].rule == "killed-by-signal");
}

TEST_CASE("killed-by-signal: workers not booted yet are counted as running, not booted", "[rules][killed-by-signal]") {
  Trace t;
  t.task(500, 1, "(gunicorn)");
  t.exec(500, kT0, "/usr/bin/gunicorn", kGunicornArgv, "/usr/bin/python3");
  t.bind(500, kT0 + 380 * kMs, 5, inet("127.0.0.1", 8000));
  t.fork(500, kT0 + 400 * kMs, 501);
  t.fork(500, kT0 + 405 * kMs, 502);
  t.heartbeat(501, kT0 + 1200 * kMs);  // 502 is still importing the app at 1.5 s
  systemd_stop(t, kT0 + 1500 * kMs);
  auto f = rules::killed_by_signal(t.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].title ==
        "gunicorn master (pid 500, uid 33 gid 33) stopped by SIGTERM from PID 1 (systemd) 1.5 s after start, "
        "while 2 workers were running");
  CHECK(has_fact(f[0], "1 of 2 running workers had booted (sent a heartbeat) by then"));
}

// KillMode=control-group is systemd's default: PID 1 sends SIGTERM to the main
// process and then to every other process of the unit's cgroup
// (unit_kill_context -> cg_kill_recursive); the master's own SIGTERMs then
// find them already pending. That is still one stop of one service.
TEST_CASE("killed-by-signal: KillMode=control-group stop is one finding, not one per process",
          "[rules][killed-by-signal]") {
  Trace t;
  gunicorn_boot(t);
  const std::uint64_t at = kT0 + 3 * kS;
  t.signal(1, at, 500, SIGTERM);
  t.signal(1, at + 15 * kUs, 500, SIGCONT);
  t.signal(1, at + 40 * kUs, 501, SIGTERM);
  t.signal(1, at + 50 * kUs, 501, SIGCONT);
  t.signal(1, at + 70 * kUs, 502, SIGTERM);
  t.signal(1, at + 80 * kUs, 502, SIGCONT);
  t.signal(500, at + 1 * kMs, 501, SIGTERM, kSiUser, /*TRACE_SIGNAL_ALREADY_PENDING*/ 2);
  t.signal(500, at + 1 * kMs + 30 * kUs, 502, SIGTERM, kSiUser, 2);
  t.exit(501, at + 210 * kMs, 0);
  t.exit(502, at + 215 * kMs, 0);
  t.exit(500, at + 300 * kMs, 0);

  auto f = rules::killed_by_signal(t.agg);
  CHECK(f.size() == 1);
  REQUIRE_FALSE(f.empty());
  CHECK(f[0].title.find("gunicorn master (pid 500, uid 33 gid 33) stopped by SIGTERM from PID 1 (systemd)") == 0);
}

// `pmtrace run -- /srv/app/deploy.sh`: a bash script that starts gunicorn,
// waits 10 s for a health check that never passes, and kills it.
static void deploy_script_starts_gunicorn(Trace& t) {
  t.task(400, 390, "bash");
  t.exec(400, kT0, "/srv/app/deploy.sh", {"/bin/bash", "/srv/app/deploy.sh"}, "/bin/bash");
  t.fork(400, kT0 + 6 * kMs, 401);
  t.exec(401, kT0 + 9 * kMs, "/srv/app/venv/bin/gunicorn",
         {"/srv/app/venv/bin/python3", "/srv/app/venv/bin/gunicorn", "-w", "2", "-b", "127.0.0.1:8000",
          "shop.wsgi:application"},
         "/srv/app/venv/bin/python3");
  t.bind(401, kT0 + 390 * kMs, 5, inet("127.0.0.1", 8000));
  t.listen(401, kT0 + 390 * kMs + 20 * kUs, inet("127.0.0.1", 8000));
  t.fork(401, kT0 + 410 * kMs, 402);
  t.fork(401, kT0 + 415 * kMs, 403);
  t.heartbeat(402, kT0 + 1300 * kMs);
  t.heartbeat(403, kT0 + 1340 * kMs);
}

static void master_stops_after(Trace& t, std::uint64_t at, std::uint32_t master, std::vector<std::uint32_t> workers) {
  t.deliver(master, at + 50 * kUs, SIGTERM, 0, kNrSelect, -1, -EINTR);
  std::uint64_t d = 1 * kMs;
  for (auto w : workers) t.signal(master, at + (d += 20 * kUs), w, SIGTERM);
  for (auto w : workers) {
    t.exit(w, at + (d += 100 * kMs), 0);
    t.signal(w, at + d + 5 * kUs, master, SIGCHLD, kCldExited);
  }
  t.exit(master, at + d + 50 * kMs, 0);
}

TEST_CASE("killed-by-signal: the traced script that started gunicorn stops it: its supervisor", "[rules][killed-by-signal]") {
  Trace t;
  deploy_script_starts_gunicorn(t);
  REQUIRE(t.agg.process(400)->role == analysis::Role::supervisor);
  t.signal(400, kT0 + 10 * kS, 401, SIGTERM);  // bash's kill builtin
  master_stops_after(t, kT0 + 10 * kS, 401, {402, 403});
  t.exit(400, kT0 + 10600 * kMs, 1 << 8);

  auto f = rules::killed_by_signal(t.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].severity == rules::Severity::failure);
  CHECK(f[0].title ==
        "gunicorn master (pid 401, uid 33 gid 33) stopped by SIGTERM from its supervisor deploy.sh (pid 400) "
        "10.0 s after start, while 2 workers were running");
  INFO(facts_text(f[0]));
  CHECK(has_fact(f[0], "sender's command line: /bin/bash /srv/app/deploy.sh"));
  CHECK(f[0].fix.find("the process that started the service stopped it") == 0);
  CHECK(f[0].evidence.size() == 6);
  CHECK(f[0].preflight.empty());  // a supervisor's stop: nothing doctor reads in the unit
}

TEST_CASE("killed-by-signal: a /bin/kill the supervising script ran counts as the supervisor", "[rules][killed-by-signal]") {
  Trace t;
  deploy_script_starts_gunicorn(t);
  t.fork(400, kT0 + 10 * kS - 2 * kMs, 404);
  t.exec(404, kT0 + 10 * kS - 1 * kMs, "/usr/bin/kill", {"kill", "-TERM", "401"});
  t.signal(404, kT0 + 10 * kS, 401, SIGTERM);
  t.exit(404, kT0 + 10 * kS + 1 * kMs, 0);
  master_stops_after(t, kT0 + 10 * kS, 401, {402, 403});

  auto f = rules::killed_by_signal(t.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].severity == rules::Severity::failure);
  CHECK(f[0].title.find("stopped by SIGTERM from its supervisor kill (pid 404) 10.0 s after start") !=
        std::string::npos);
}

TEST_CASE("killed-by-signal: an operator's kill from outside the service is info, not a failure", "[rules][killed-by-signal]") {
  Trace t;
  gunicorn_boot(t);
  // `sudo kill 500` in a login shell: /usr/bin/kill, not traced, uid 0.
  t.task(900, 880, "kill", 0, 3301);
  t.signal(900, kT0 + 3 * kS, 500, SIGTERM);
  master_stops_after(t, kT0 + 3 * kS, 500, {501, 502});

  auto f = rules::killed_by_signal(t.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].severity == rules::Severity::info);
  CHECK(f[0].title ==
        "gunicorn master (pid 500, uid 33 gid 33) stopped by SIGTERM from kill (pid 900) 3.0 s after start, "
        "while 2 workers were running (an operator's stop, on purpose)");
  CHECK(f[0].fix == "nothing, if the stop was intended");
  CHECK(has_fact(f[0], "sender uid 0, parent pid 880"));
  for (const auto& g : rules::run_rules(t.agg)) CHECK(g.severity != rules::Severity::failure);
}

TEST_CASE("killed-by-signal: signals that were not delivered, and SIGCHLD, are no stop", "[rules][killed-by-signal]") {
  Trace t;
  gunicorn_boot(t);
  // A SIGTERM the kernel dropped: the master was already exiting
  // (TRACE_SIGNAL_IGNORED), then a second one while the first was pending.
  t.signal(1, kT0 + 3 * kS, 500, SIGTERM, kSiUser, /*TRACE_SIGNAL_IGNORED*/ 1);
  t.task(900, 880, "kill", 0, 3301);
  t.signal(900, kT0 + 3 * kS + 1 * kMs, 501, SIGKILL, kSiUser, /*TRACE_SIGNAL_ALREADY_PENDING*/ 2);
  // A worker that exits on its own: its SIGCHLD to the master comes from the kernel.
  t.exit(502, kT0 + 4 * kS, 0);
  t.signal(502, kT0 + 4 * kS + 5 * kUs, 500, SIGCHLD, kCldExited);
  CHECK(t.agg.signals().empty());
  CHECK(rules::killed_by_signal(t.agg).empty());
}

TEST_CASE("killed-by-signal: a worker's halt-time SIGTERMs from its master are never a finding", "[rules][killed-by-signal]") {
  // Boot failure: both workers exit 3; the master's halt() sends SIGTERM to
  // the one it has not reaped yet (a zombie: ignored) and exits 3.
  Trace t;
  gunicorn_boot(t);
  t.exit(501, kT0 + 1500 * kMs, 3 << 8);
  t.signal(501, kT0 + 1500 * kMs + 5 * kUs, 500, SIGCHLD, kCldExited);
  t.signal(500, kT0 + 1501 * kMs, 502, SIGTERM);
  t.exit(502, kT0 + 1502 * kMs, 0);
  t.exit(500, kT0 + 1600 * kMs, 3 << 8);
  CHECK(rules::killed_by_signal(t.agg).empty());
}

TEST_CASE("killed-by-signal: the OOM killer's SIGKILL is left to oom-kill", "[rules][killed-by-signal]") {
  Trace t;
  gunicorn_boot(t);
  // __oom_kill_process(): SIGKILL first (in the allocating task, here the
  // victim itself), then mark_oom_victim().
  t.signal(502, kT0 + 20 * kS, 502, SIGKILL, kSiKernel);
  t.oom_victim(502, kT0 + 20 * kS + 3 * kUs, 502, 131072);
  t.exit(502, kT0 + 20 * kS + 40 * kMs, SIGKILL);
  t.signal(502, kT0 + 20 * kS + 40 * kMs + 5 * kUs, 500, SIGCHLD, kCldKilled);
  t.fork(500, kT0 + 21 * kS, 503);
  t.heartbeat(503, kT0 + 21800 * kMs);

  CHECK(rules::killed_by_signal(t.agg).empty());
  auto all = rules::run_rules(t.agg);
  REQUIRE(all.size() == 1);
  CHECK(all[0].rule == "oom-kill");
}

TEST_CASE("killed-by-signal: a kernel SIGKILL without an OOM record is reported", "[rules][killed-by-signal]") {
  Trace t;
  gunicorn_boot(t);
  t.signal(501, kT0 + 20 * kS, 501, SIGKILL, kSiKernel);  // e.g. cgroup.kill
  t.exit(501, kT0 + 20 * kS + 10 * kMs, SIGKILL);
  auto f = rules::killed_by_signal(t.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].title == "gunicorn worker (pid 501, uid 33 gid 33) killed by SIGKILL from the kernel 20.0 s after start");
  CHECK(f[0].fix.find("the kernel killed it without an OOM record") == 0);
}

TEST_CASE("killed-by-signal: SIGSEGV from the kernel is a native crash", "[rules][killed-by-signal]") {
  Trace t;
  gunicorn_boot(t);
  // force_sig_fault() runs in the faulting worker: sender == target, si_code SEGV_MAPERR.
  t.signal(502, kT0 + 5 * kS, 502, SIGSEGV, kSegvMaperr);
  t.deliver(502, kT0 + 5 * kS + 2 * kUs, SIGSEGV, 0, -1, -1, 0, /*SIG_DFL*/ 0);
  t.exit(502, kT0 + 5 * kS + 30 * kMs, SIGSEGV | 0x80);  // core dumped
  t.signal(502, kT0 + 5 * kS + 30 * kMs + 5 * kUs, 500, SIGCHLD, /*CLD_DUMPED*/ 3);
  t.fork(500, kT0 + 5 * kS + 60 * kMs, 503);  // the master replaces it
  t.heartbeat(503, kT0 + 6 * kS);

  auto f = rules::killed_by_signal(t.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].severity == rules::Severity::failure);
  CHECK(f[0].rank == rules::rank::kernel_kill);
  CHECK(f[0].title == "gunicorn worker (pid 502, uid 33 gid 33) stopped by SIGSEGV from the kernel 5.0 s after start");
  CHECK(f[0].fix.find("the process crashed in native code: run it with PYTHONFAULTHANDLER=1") == 0);
  REQUIRE(f[0].evidence.size() == 2);
  CHECK(f[0].evidence[0].hdr.type == EventType::signal_generate);
  CHECK(f[0].evidence[1].hdr.type == EventType::exit);
  INFO(facts_text(f[0]));
  CHECK(has_fact(f[0], "it then died of SIGSEGV 5.0 s after start"));
}

// `systemctl reload` with ExecReload=/bin/kill -s HUP $MAINPID: the kill runs
// in the unit's cgroup (so it is traced), gunicorn's master handles SIGHUP by
// reloading: new workers, SIGTERM to the old ones, and it keeps running.
TEST_CASE("killed-by-signal: SIGHUP to the master is a reload, not a stop", "[rules][killed-by-signal]") {
  Trace t;
  gunicorn_boot(t);
  const std::uint64_t at = kT0 + 60 * kS;
  t.task(950, 1, "(kill)", 0);
  t.exec(950, at - 1 * kMs, "/usr/bin/kill", {"/bin/kill", "-s", "HUP", "500"});
  t.signal(950, at, 500, SIGHUP);
  t.exit(950, at + 200 * kUs, 0);
  t.deliver(500, at + 300 * kUs, SIGHUP, 950, kNrSelect, -1, -EINTR);
  t.fork(500, at + 40 * kMs, 503);
  t.fork(500, at + 45 * kMs, 504);
  t.signal(500, at + 50 * kMs, 501, SIGTERM);
  t.signal(500, at + 51 * kMs, 502, SIGTERM);
  t.exit(501, at + 150 * kMs, 0);
  t.exit(502, at + 160 * kMs, 0);
  t.heartbeat(503, at + 900 * kMs);
  t.heartbeat(504, at + 950 * kMs);
  t.agg.set_end_ns(at + 30 * kS);  // the master is still running when the trace ends

  auto f = rules::killed_by_signal(t.agg);
  INFO(titles(f));
  CHECK(f.empty());
}
