// database-connect on event sequences shaped like what the kernel shows for
// libpq (non-blocking connect, the answer in the TCP state change), for a
// missing unix socket, and for the healthy and non-database look-alikes.
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

constexpr int kDbFd = 11;

// A worker serving its first request opens a database connection the libpq
// way: socket(O_NONBLOCK), connect() = EINPROGRESS, then poll() and SO_ERROR.
static void serving_worker(Trace& t) {
  gunicorn_boot(t);
  t.accept(501, kT0 + 4 * kS, 10, inet("127.0.0.1", 50312));
}

static std::vector<rules::Finding> db_findings(const Trace& t) { return rules::database_connect(t.agg); }

TEST_CASE("database-connect: libpq's non-blocking connect answered by a reset is refused", "[rules][database-connect]") {
  Trace t;
  serving_worker(t);
  const std::uint64_t at = kT0 + 4 * kS + 2 * kMs;
  t.connect(501, at, kDbFd, inet("127.0.0.1", 5432), EINPROGRESS, 35 * kUs);
  t.tcp(501, at + 300 * kUs, kTcpClose, 300 * kUs + 20 * kUs, inet("127.0.0.1", 5432));
  t.write(501, at + 2 * kMs, 2,
          "psycopg2.OperationalError: connection to server at \"127.0.0.1\", port 5432 failed: Connection "
          "refused\n\tIs the server running on that host and accepting TCP/IP connections?\n");

  auto f = db_findings(t);
  REQUIRE(f.size() == 1);
  CHECK(f[0].severity == rules::Severity::failure);
  CHECK(f[0].title == "PostgreSQL at 127.0.0.1:5432 refused the connection (nothing listens there)");
  CHECK(f[0].fix.find("start the database or point the app at the right one: is PostgreSQL running and listening "
                      "on 127.0.0.1:5432?") == 0);
  CHECK(contains(f[0].fix, "ss -ltn 'sport = :5432'"));
  CHECK(contains(f[0].explanation, "nothing listens on port 5432"));
  INFO(facts_text(f[0]));
  CHECK(has_fact(f[0], "1 attempt seen"));
  CHECK(has_fact(f[0], "by gunicorn worker (pid 501, uid 33 gid 33)"));
  bool tcp_in_evidence = false;
  for (const auto& e : f[0].evidence)
    if (const auto* tc = e.as<TcpConnect>()) tcp_in_evidence = tc->new_state == kTcpClose;
  CHECK(tcp_in_evidence);
  CHECK(t.agg.pending_connects().empty());
}

// On loopback the whole handshake happens inside connect(): the SYN goes out
// through the loopback device, the softirq runs before the call returns and
// release_sock() processes the reset (or the SYN-ACK) on the way out. A
// non-blocking connect() to 127.0.0.1 still returns EINPROGRESS, but the
// socket is already CLOSE (SO_ERROR = ECONNREFUSED) or ESTABLISHED when it
// does (checked on this machine with TCP_INFO right after connect()). So
// inet_sock_set_state (tcp_connect) is emitted before sys_exit_connect.
TEST_CASE("database-connect: loopback refusal, state change seen before connect() returns, is one finding",
          "[rules][database-connect]") {
  Trace t;
  serving_worker(t);
  const std::uint64_t start = kT0 + 4 * kS + 2 * kMs;
  t.tcp(501, start + 22 * kUs, kTcpClose, 18 * kUs, inet("127.0.0.1", 5432));
  t.connect(501, start + 35 * kUs, kDbFd, inet("127.0.0.1", 5432), EINPROGRESS, 35 * kUs);
  t.exit(501, kT0 + 6 * kS, 3 << 8);  // say it connected at import and gave up

  auto f = db_findings(t);
  CHECK(f.size() == 1);
  for (const auto& x : f) CHECK(x.title == "PostgreSQL at 127.0.0.1:5432 refused the connection (nothing listens there)");
  CHECK(t.agg.pending_connects().empty());
}

TEST_CASE("database-connect: a healthy loopback connect, established inside connect(), is no finding",
          "[rules][database-connect]") {
  Trace t;
  serving_worker(t);
  const std::uint64_t start = kT0 + 4 * kS + 2 * kMs;
  t.tcp(501, start + 25 * kUs, kTcpEstablished, 20 * kUs, inet("127.0.0.1", 5432));
  t.connect(501, start + 38 * kUs, kDbFd, inet("127.0.0.1", 5432), EINPROGRESS, 38 * kUs);
  t.agg.set_end_ns(kT0 + 60 * kS);  // the trace ends with the worker still serving

  auto f = db_findings(t);
  INFO(titles(f));
  CHECK(f.empty());
  CHECK(t.agg.pending_connects().empty());
}

TEST_CASE("database-connect: libpq's connect_timeout=2 gives up on a host that drops SYNs", "[rules][database-connect]") {
  Trace t;
  serving_worker(t);
  const std::uint64_t at = kT0 + 4 * kS + 2 * kMs;
  t.connect(501, at, kDbFd, inet("10.20.0.5", 5432), EINPROGRESS, 30 * kUs);
  // No answer; after 2 s libpq closes the socket: SYN_SENT -> CLOSE in the worker.
  t.tcp(501, at + 2 * kS, kTcpClose, 2 * kS, inet("10.20.0.5", 5432));
  t.write(501, at + 2 * kS + 1 * kMs, 2, "psycopg2.OperationalError: connection to server at \"10.20.0.5\", port 5432 failed: timeout expired\n");

  auto f = db_findings(t);
  REQUIRE(f.size() == 1);
  CHECK(f[0].title == "PostgreSQL at 10.20.0.5:5432 did not answer: connect gave up after 2.0 s");
  CHECK(f[0].fix.find("nothing answers at 10.20.0.5:5432") == 0);
  CHECK(contains(f[0].fix, "connect_timeout=5"));
  CHECK(contains(f[0].explanation, "no SYN-ACK, no reset"));
}

// Without connect_timeout libpq waits as long as the kernel retries SYNs; the
// master's worker timeout kills the worker first.
static void stall_until_worker_killed(Trace& t, bool socket_close_seen) {
  serving_worker(t);
  const std::uint64_t at = kT0 + 5 * kS;
  t.connect(501, at, kDbFd, inet("10.20.0.5", 5432), EINPROGRESS, 30 * kUs);
  t.signal(500, at + 29 * kS, 501, SIGABRT);
  t.deliver(501, at + 29 * kS + 20 * kUs, SIGABRT, 500, kNrPoll, kDbFd, -516);
  t.signal(500, at + 30 * kS - 1 * kMs, 501, SIGKILL);
  t.exit(501, at + 30 * kS, SIGKILL);
  // exit_files() runs after sched_process_exit: closing the socket still in
  // SYN_SENT is a SYN_SENT -> CLOSE change, with the header saved at connect().
  if (socket_close_seen) t.tcp(501, at + 30 * kS + 15 * kUs, kTcpClose, 30 * kS, inet("10.20.0.5", 5432));
}

TEST_CASE("database-connect: a connect in flight until its worker died stalled for 30 s", "[rules][database-connect]") {
  Trace t;
  stall_until_worker_killed(t, false);
  auto f = db_findings(t);
  REQUIRE(f.size() == 1);
  CHECK(f[0].title == "PostgreSQL at 10.20.0.5:5432 did not answer: connect stalled for 30.0 s until its process ended");
  CHECK(f[0].fix.find("nothing answers at 10.20.0.5:5432") == 0);
  CHECK(contains(f[0].fix, "connect_timeout=5"));
  REQUIRE(t.agg.pending_connects().size() == 1);
  CHECK(t.agg.pending_connects()[0].process_ended);
}

TEST_CASE("database-connect: the stalled socket's close at exit does not make a second finding",
          "[rules][database-connect]") {
  Trace t;
  stall_until_worker_killed(t, true);
  auto f = db_findings(t);
  INFO(titles(f));
  CHECK(f.size() == 1);
  REQUIRE_FALSE(f.empty());
  CHECK(f[0].title == "PostgreSQL at 10.20.0.5:5432 did not answer: connect stalled for 30.0 s until its process ended");
}

TEST_CASE("database-connect: a connect still in flight when the trace ends stalled until the trace ended", "[rules][database-connect]") {
  Trace t;
  serving_worker(t);
  t.connect(501, kT0 + 5 * kS, kDbFd, inet("10.20.0.5", 5432), EINPROGRESS, 30 * kUs);
  t.agg.set_end_ns(kT0 + 17 * kS);
  auto f = db_findings(t);
  REQUIRE(f.size() == 1);
  CHECK(f[0].title == "PostgreSQL at 10.20.0.5:5432 did not answer: connect stalled for 12.0 s until the trace ended");
}

TEST_CASE("database-connect: the PostgreSQL unix socket is missing", "[rules][database-connect]") {
  Trace t;
  serving_worker(t);
  t.connect(501, kT0 + 4 * kS + 2 * kMs, kDbFd, unix_socket("/var/run/postgresql/.s.PGSQL.5432"), ENOENT, 9 * kUs);
  t.write(501, kT0 + 4 * kS + 3 * kMs, 2,
          "psycopg2.OperationalError: connection to server on socket \"/var/run/postgresql/.s.PGSQL.5432\" "
          "failed: No such file or directory\n");
  auto f = db_findings(t);
  REQUIRE(f.size() == 1);
  CHECK(f[0].title == "PostgreSQL unix socket /var/run/postgresql/.s.PGSQL.5432 does not exist");
  CHECK(f[0].fix.find("no socket at /var/run/postgresql/.s.PGSQL.5432: PostgreSQL is not running") == 0);
  CHECK(contains(f[0].fix, "host=127.0.0.1"));
  REQUIRE(f[0].evidence.size() == 1);
  CHECK(f[0].evidence[0].as<Connect>()->err == ENOENT);
}

// A PostgreSQL killed with SIGKILL leaves its socket file behind: connect()
// finds the file and nobody listening, ECONNREFUSED. The file exists.
TEST_CASE("database-connect: a stale unix socket (ECONNREFUSED) is not reported as missing",
          "[rules][database-connect]") {
  Trace t;
  serving_worker(t);
  t.connect(501, kT0 + 4 * kS + 2 * kMs, kDbFd, unix_socket("/var/run/postgresql/.s.PGSQL.5432"), ECONNREFUSED,
            9 * kUs);
  auto f = db_findings(t);
  REQUIRE(f.size() == 1);
  CHECK_FALSE(contains(f[0].title, "does not exist"));
}

// redis-py (no socket_connect_timeout) connects blocking: on loopback the
// reset ends SYN_SENT inside the call (tcp_connect first), then connect()
// returns ECONNREFUSED. One connect() is one attempt.
TEST_CASE("database-connect: a blocking loopback refusal counts as one attempt", "[rules][database-connect]") {
  Trace t;
  serving_worker(t);
  const std::uint64_t start = kT0 + 4 * kS + 2 * kMs;
  t.tcp(501, start + 20 * kUs, kTcpClose, 16 * kUs, inet("127.0.0.1", 6379));
  t.connect(501, start + 31 * kUs, 12, inet("127.0.0.1", 6379), ECONNREFUSED, 31 * kUs);
  auto f = db_findings(t);
  REQUIRE(f.size() == 1);
  CHECK(f[0].title == "Redis at 127.0.0.1:6379 refused the connection (nothing listens there)");
  INFO(facts_text(f[0]));
  CHECK(has_fact(f[0], "1 attempt seen"));
}

TEST_CASE("database-connect: a healthy non-blocking connect is no finding", "[rules][database-connect]") {
  Trace t;
  serving_worker(t);
  const std::uint64_t at = kT0 + 4 * kS + 2 * kMs;
  t.connect(501, at, kDbFd, inet("10.20.0.5", 5432), EINPROGRESS, 30 * kUs);
  t.tcp(501, at + 700 * kUs, kTcpEstablished, 720 * kUs, inet("10.20.0.5", 5432));
  t.exit(501, kT0 + 50 * kS, 0);
  t.agg.set_end_ns(kT0 + 60 * kS);
  CHECK(t.agg.pending_connects().empty());
  CHECK(db_findings(t).empty());
  CHECK(rules::run_rules(t.agg).empty());
}

TEST_CASE("database-connect: refused connects to a port that is no database are not its business", "[rules][database-connect]") {
  Trace t;
  serving_worker(t);
  const std::uint64_t at = kT0 + 4 * kS + 2 * kMs;
  // An internal HTTP API on 8080: non-blocking (requests with a timeout) and blocking.
  t.connect(501, at, 12, inet("127.0.0.1", 8080), EINPROGRESS, 30 * kUs);
  t.tcp(501, at + 300 * kUs, kTcpClose, 320 * kUs, inet("127.0.0.1", 8080));
  t.connect(501, at + 5 * kMs, 13, inet("127.0.0.1", 8080), ECONNREFUSED, 30 * kUs);
  t.connect(502, at + 9 * kMs, 12, inet("10.20.0.9", 8080), EINPROGRESS, 30 * kUs);
  t.tcp(502, at + 3 * kS, kTcpClose, 3 * kS, inet("10.20.0.9", 8080));
  CHECK(db_findings(t).empty());
}

// Django with CONN_MAX_AGE=0 opens a connection per request. After a few
// hundred healthy requests PostgreSQL restarts and refuses: that refusal is
// what the report must show, however many healthy connects came before.
TEST_CASE("database-connect: a refusal after hundreds of healthy per-request connects is still found",
          "[rules][database-connect]") {
  Trace t;
  serving_worker(t);
  std::uint64_t at = kT0 + 5 * kS;
  for (int i = 0; i < 600; ++i, at += 100 * kMs) {
    t.connect(501 + i % 2, at, kDbFd, inet("10.20.0.5", 5432), EINPROGRESS, 30 * kUs);
    t.tcp(501 + i % 2, at + 700 * kUs, kTcpEstablished, 720 * kUs, inet("10.20.0.5", 5432));
  }
  t.connect(501, at, kDbFd, inet("10.20.0.5", 5432), EINPROGRESS, 30 * kUs);
  t.tcp(501, at + 650 * kUs, kTcpClose, 680 * kUs, inet("10.20.0.5", 5432));
  auto f = db_findings(t);
  INFO(titles(f));
  REQUIRE(f.size() == 1);
  CHECK(f[0].title == "PostgreSQL at 10.20.0.5:5432 refused the connection (nothing listens there)");
}

// libpq tries every address a host name resolves to, in order. With
// DATABASE_URL host=localhost, Debian's /etc/hosts ("::1 localhost ...")
// makes ::1 the first; a PostgreSQL with listen_addresses='127.0.0.1' resets
// it and libpq connects to 127.0.0.1 at once. The service is healthy.
TEST_CASE("database-connect: ::1 refused and 127.0.0.1 accepted in the same libpq connect is no failure",
          "[rules][database-connect]") {
  Trace t;
  serving_worker(t);
  SockAddr v6;
  v6.family = AF_INET6;
  v6.address = "::1";
  v6.port = 5432;
  const std::uint64_t start = kT0 + 4 * kS + 2 * kMs;
  // Loopback: each state change happens inside its connect() (see above).
  t.tcp(501, start + 20 * kUs, kTcpClose, 16 * kUs, v6);
  t.connect(501, start + 30 * kUs, kDbFd, v6, EINPROGRESS, 30 * kUs);
  t.tcp(501, start + 150 * kUs, kTcpEstablished, 20 * kUs, inet("127.0.0.1", 5432));
  t.connect(501, start + 165 * kUs, kDbFd, inet("127.0.0.1", 5432), EINPROGRESS, 35 * kUs);
  auto f = db_findings(t);
  INFO(titles(f));
  for (const auto& x : f) CHECK_FALSE(contains(x.title, "refused"));
}
