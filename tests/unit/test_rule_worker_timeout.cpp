// worker-timeout on event sequences shaped like gunicorn's murder_workers():
// SIGABRT from the master to a worker whose heartbeat is older than
// --timeout, then SIGKILL on a later pass; the signal's delivery tells the
// call the worker was in (orig_ax) and its descriptor, and the aggregator
// knows what that descriptor was connected to.
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

// murder_workers(): SIGABRT at `at`, SIGKILL a second later, the worker dies.
static void murder(Trace& t, std::uint32_t worker, std::uint64_t at, int nr, int fd, std::int64_t ret) {
  t.signal(500, at, worker, SIGABRT);
  t.deliver(worker, at + 25 * kUs, SIGABRT, 500, nr, fd, ret);
  t.signal(500, at + 1 * kS, worker, SIGKILL);
  t.deliver(worker, at + 1 * kS + 10 * kUs, SIGKILL, 500, nr, fd, ret, 0);
  t.exit(worker, at + 1 * kS + 2 * kMs, SIGKILL);
  t.signal(worker, at + 1 * kS + 2 * kMs + 5 * kUs, 500, SIGCHLD, kCldKilled);
  t.write(500, at + 1 * kS + 3 * kMs, 2,
          "[2024-06-11 10:00:35 +0000] [500] [CRITICAL] WORKER TIMEOUT (pid:" + std::to_string(worker) + ")\n");
  t.fork(500, at + 1 * kS + 10 * kMs, 503);
}

TEST_CASE("worker-timeout: a worker stuck 30 s in a blocking connect to an HTTP API", "[rules][worker-timeout]") {
  Trace t;
  gunicorn_boot(t);
  t.accept(501, kT0 + 4 * kS, 10, inet("127.0.0.1", 50312));
  const std::uint64_t abort_at = kT0 + 34600 * kMs;
  // urllib's blocking connect started at 4.6 s; the SIGABRT interrupts it:
  // sys_exit_connect sees -ERESTARTSYS after 30 s, then the signal is delivered.
  t.signal(500, abort_at, 501, SIGABRT);
  Event c = t.connect(501, abort_at + 20 * kUs, 12, inet("203.0.113.10", 443), kErestartsys, 30 * kS + 20 * kUs);
  t.deliver(501, abort_at + 25 * kUs, SIGABRT, 500, kNrConnect, 12, -kErestartsys);
  t.signal(500, abort_at + 1 * kS, 501, SIGKILL);
  t.exit(501, abort_at + 1 * kS + 2 * kMs, SIGKILL);
  t.fork(500, abort_at + 1 * kS + 10 * kMs, 503);

  auto f = rules::worker_timeout(t.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].severity == rules::Severity::failure);
  CHECK(f[0].title ==
        "gunicorn worker (pid 501) killed by the master's worker timeout (30 s): SIGABRT, then SIGKILL; it was "
        "blocked in connect() to 203.0.113.10:443 for 30.0 s");
  CHECK(f[0].fix.find("the call to 203.0.113.10:443 had no timeout: give it one shorter than gunicorn's --timeout "
                      "(30 s)") == 0);
  INFO(facts_text(f[0]));
  CHECK(has_fact(f[0], "blocked in connect() to 203.0.113.10:443 for 30.0 s when the signal arrived"));
  CHECK(has_fact(f[0], "the worker booted 1.2 s after start and was aborted 33.4 s later"));
  // The interrupted connect, the SIGABRT, the SIGKILL and the exit, in time order.
  REQUIRE(f[0].evidence.size() == 4);
  CHECK(f[0].evidence[0].as<SignalGenerate>()->sig == SIGABRT);
  CHECK(f[0].evidence[1].hdr.ts_ns == c.hdr.ts_ns);
  CHECK(f[0].evidence[1].hdr.type == EventType::connect);
  CHECK(f[0].evidence[2].as<SignalGenerate>()->sig == SIGKILL);
  CHECK(f[0].evidence[3].hdr.type == EventType::exit);

  // The master's signals are no stop from outside; port 443 is no database.
  INFO(titles(rules::run_rules(t.agg)));
  auto all = rules::run_rules(t.agg);
  REQUIRE(all.size() == 1);
  CHECK(all[0].rule == "worker-timeout");
}

TEST_CASE("worker-timeout: a worker in poll() on an established PostgreSQL connection: a slow query", "[rules][worker-timeout]") {
  Trace t;
  gunicorn_boot(t);
  t.accept(501, kT0 + 4 * kS, 10, inet("127.0.0.1", 50312));
  t.connect(501, kT0 + 4 * kS + 2 * kMs, 11, inet("127.0.0.1", 5432), EINPROGRESS, 35 * kUs);
  t.tcp(501, kT0 + 4 * kS + 2 * kMs + 200 * kUs, kTcpEstablished, 230 * kUs, inet("127.0.0.1", 5432));
  murder(t, 501, kT0 + 35 * kS, kNrPoll, 11, -516 /* ERESTART_RESTARTBLOCK */);

  auto f = rules::worker_timeout(t.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].title ==
        "gunicorn worker (pid 501) killed by the master's worker timeout (30 s): SIGABRT, then SIGKILL; it was "
        "blocked in poll() on a socket connected to 127.0.0.1:5432");
  CHECK(f[0].fix.find("a query on PostgreSQL ran longer than the worker timeout") == 0);
  CHECK(contains(f[0].fix, "statement_timeout"));
  CHECK(rules::database_connect(t.agg).empty());
  CHECK(rules::killed_by_signal(t.agg).empty());
}

// The same, with the loopback handshake as the kernel orders it: ESTABLISHED
// is set inside connect(), so tcp_connect comes before sys_exit_connect.
TEST_CASE("worker-timeout: a slow query on a loopback connection established inside connect()",
          "[rules][worker-timeout]") {
  Trace t;
  gunicorn_boot(t);
  t.accept(501, kT0 + 4 * kS, 10, inet("127.0.0.1", 50312));
  const std::uint64_t start = kT0 + 4 * kS + 2 * kMs;
  t.tcp(501, start + 25 * kUs, kTcpEstablished, 20 * kUs, inet("127.0.0.1", 5432));
  t.connect(501, start + 38 * kUs, 11, inet("127.0.0.1", 5432), EINPROGRESS, 38 * kUs);
  murder(t, 501, kT0 + 35 * kS, kNrPoll, 11, -516);

  auto f = rules::worker_timeout(t.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].title ==
        "gunicorn worker (pid 501) killed by the master's worker timeout (30 s): SIGABRT, then SIGKILL; it was "
        "blocked in poll() on a socket connected to 127.0.0.1:5432");
  CHECK(contains(f[0].fix, "statement_timeout"));
}

TEST_CASE("worker-timeout: a worker in poll() on a PostgreSQL connect that never completed", "[rules][worker-timeout]") {
  // libpq without connect_timeout: connect() = EINPROGRESS, then poll() until the master's timeout.
  Trace t;
  gunicorn_boot(t);
  t.accept(501, kT0 + 4 * kS, 10, inet("127.0.0.1", 50312));
  t.connect(501, kT0 + 4600 * kMs, 11, inet("10.20.0.5", 5432), EINPROGRESS, 30 * kUs);
  murder(t, 501, kT0 + 34600 * kMs, kNrPoll, 11, -516);

  auto f = rules::worker_timeout(t.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].title ==
        "gunicorn worker (pid 501) killed by the master's worker timeout (30 s): SIGABRT, then SIGKILL; it was "
        "blocked in poll() on a socket connected to 10.20.0.5:5432 for 30.0 s");
  CHECK(f[0].fix.find("the PostgreSQL connect never completed") == 0);
  CHECK(contains(f[0].fix, "connect_timeout=5"));
}

TEST_CASE("worker-timeout: --timeout from the command line is the one named", "[rules][worker-timeout]") {
  Trace t;
  auto argv = kGunicornArgv;
  argv.insert(argv.end() - 1, "--timeout=90");
  gunicorn_boot(t, 500, {501, 502}, argv);
  murder(t, 501, kT0 + 95 * kS, -1, -1, 0);  // busy in Python code, not in a system call
  auto f = rules::worker_timeout(t.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].title ==
        "gunicorn worker (pid 501) killed by the master's worker timeout (90 s): SIGABRT, then SIGKILL; it was "
        "blocked in running (not in a system call)");
  CHECK(f[0].fix.find("find the slow call (py-spy dump --pid WORKER") == 0);
}

TEST_CASE("worker-timeout: the master's SIGTERMs to its workers in a normal stop are no timeout", "[rules][worker-timeout]") {
  Trace t;
  gunicorn_boot(t);
  const std::uint64_t at = kT0 + 3 * kS;
  t.signal(1, at, 500, SIGTERM);
  t.signal(500, at + 1 * kMs, 501, SIGTERM);
  t.signal(500, at + 1 * kMs + 30 * kUs, 502, SIGTERM);
  t.deliver(501, at + 1 * kMs + 80 * kUs, SIGTERM, 500, kNrSelect, -1, -EINTR);
  t.deliver(502, at + 1 * kMs + 90 * kUs, SIGTERM, 500, kNrSelect, -1, -EINTR);
  t.exit(501, at + 210 * kMs, 0);
  t.exit(502, at + 215 * kMs, 0);
  t.exit(500, at + 300 * kMs, 0);
  CHECK(rules::worker_timeout(t.agg).empty());
}

TEST_CASE("worker-timeout: SIGABRT from someone other than the worker's master is no timeout", "[rules][worker-timeout]") {
  // systemd's TimeoutStartFailureMode=abort: PID 1 sends SIGABRT to the master.
  Trace t;
  gunicorn_boot(t);
  t.signal(1, kT0 + 90 * kS, 500, SIGABRT);
  t.exit(500, kT0 + 90 * kS + 50 * kMs, SIGABRT | 0x80);
  CHECK(rules::worker_timeout(t.agg).empty());
  auto k = rules::killed_by_signal(t.agg);
  REQUIRE(k.size() == 1);
  CHECK(k[0].title.find("gunicorn master (pid 500, uid 33 gid 33) stopped by SIGABRT from PID 1 (systemd) 90.0 s") == 0);
}
