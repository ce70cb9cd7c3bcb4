// infer_checkpoints on event sequences shaped like real gunicorn starts: a
// healthy start, a master that cannot open its log file, workers that fail
// to import the app, a database that refuses at import, and --preload.
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

static std::vector<std::string> names(const analysis::Checkpoints& c) {
  std::vector<std::string> out;
  for (const auto& x : c.list) out.push_back(x.name);
  return out;
}

static const analysis::Checkpoint* find(const analysis::Checkpoints& c, const std::string& name) {
  for (const auto& x : c.list)
    if (x.name == name) return &x;
  return nullptr;
}

static std::ptrdiff_t index_of(const analysis::Checkpoints& c, const std::string& name) {
  for (std::size_t i = 0; i < c.list.size(); ++i)
    if (c.list[i].name == name) return static_cast<std::ptrdiff_t>(i);
  return -1;
}

// gunicorn 20+ as systemd starts it: exec, log files opened, bind+listen,
// workers forked, each imports the app and touches its heartbeat file.
static void master_exec(Trace& t, std::vector<std::string> argv = kGunicornArgv) {
  t.task(500, 1, "(gunicorn)");
  t.exec(500, kT0, "/usr/bin/gunicorn", std::move(argv), "/usr/bin/python3");
  // Import probing on the way: never a failure, never a phase.
  for (int i = 0; i < 20; ++i)
    t.open_failed(500, kT0 + 50 * kMs + i * kUs, "/usr/lib/python3/dist-packages/mod" + std::to_string(i) + ".py",
                  ENOENT, O_RDONLY | O_CLOEXEC);
}

TEST_CASE("checkpoints: a healthy gunicorn start reaches every phase in order", "[checkpoints]") {
  Trace t;
  gunicorn_boot(t);
  t.accept(501, kT0 + 2 * kS, 10, inet("127.0.0.1", 50312));

  for (bool failed : {false, true}) {
    auto c = analysis::infer_checkpoints(t.agg, failed);
    CHECK(names(c) == std::vector<std::string>{"started", "configuration read", "port listening",
                                               "application imported", "workers booted", "serving"});
    for (const auto& x : c.list) {
      INFO(x.name);
      CHECK(x.reached);
      CHECK_FALSE(x.failed);
    }
    CHECK(c.failed() == nullptr);
    REQUIRE(c.last_reached());
    CHECK(c.last_reached()->name == "serving");
  }
  auto c = analysis::infer_checkpoints(t.agg, false);
  CHECK(find(c, "started")->ts_ns == kT0);
  CHECK(find(c, "started")->evidence == "exec /usr/bin/gunicorn (pid 500)");
  CHECK(find(c, "configuration read")->ts_ns == kT0 + 380 * kMs);
  CHECK(find(c, "port listening")->ts_ns == kT0 + 380 * kMs + 20 * kUs);
  CHECK(find(c, "port listening")->evidence == "listening on 127.0.0.1:8000 (pid 500)");
  CHECK(find(c, "application imported")->ts_ns == kT0 + 1200 * kMs);
  CHECK(find(c, "application imported")->evidence == "worker pid 501 booted (first heartbeat)");
  CHECK(find(c, "workers booted")->ts_ns == kT0 + 1240 * kMs);
  CHECK(find(c, "workers booted")->evidence == "2 of 2 workers sent their first heartbeat");
  CHECK(find(c, "serving")->ts_ns == kT0 + 2 * kS);
  CHECK(find(c, "serving")->evidence == "first connection accepted by pid 501 from 127.0.0.1:50312");
  CHECK(find(c, "database connected") == nullptr);  // it never tried one
}

TEST_CASE("checkpoints: one of two workers booted is not 'workers booted'", "[checkpoints]") {
  Trace t;
  master_exec(t);
  t.bind(500, kT0 + 380 * kMs, 5, inet("127.0.0.1", 8000));
  t.listen(500, kT0 + 380 * kMs + 20 * kUs, inet("127.0.0.1", 8000));
  t.fork(500, kT0 + 400 * kMs, 501);
  t.fork(500, kT0 + 405 * kMs, 502);
  t.heartbeat(501, kT0 + 1200 * kMs);
  t.agg.set_end_ns(kT0 + 90 * kS);
  auto c = analysis::infer_checkpoints(t.agg, true);
  REQUIRE(c.failed());
  CHECK(c.failed()->name == "workers booted");
  CHECK(c.failed()->evidence == "1 of 2 workers booted");
  CHECK(c.last_reached()->name == "application imported");
}

TEST_CASE("checkpoints: the master exits 1 before it binds (log file EACCES): configuration read failed",
          "[checkpoints]") {
  Trace t;
  master_exec(t);
  t.open_failed(500, kT0 + 300 * kMs, "/var/log/gunicorn/error.log", EACCES, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC);
  t.write(500, kT0 + 301 * kMs, 2,
          "Error: Error: '/var/log/gunicorn/error.log' isn't writable [PermissionError(13, 'Permission denied')]\n");
  t.exit(500, kT0 + 320 * kMs, 1 << 8);

  auto c = analysis::infer_checkpoints(t.agg, true);
  REQUIRE(c.failed());
  CHECK(c.failed()->name == "configuration read");
  REQUIRE(c.last_reached());
  CHECK(c.last_reached()->name == "started");
  CHECK(names(c) == std::vector<std::string>{"started", "configuration read", "port listening",
                                             "application imported", "workers booted", "serving"});
  int reached = 0, failed = 0;
  for (const auto& x : c.list) reached += x.reached, failed += x.failed;
  CHECK(reached == 1);
  CHECK(failed == 1);

  // Without a failure nothing is marked failed (a trace that simply ended early).
  CHECK(analysis::infer_checkpoints(t.agg, false).failed() == nullptr);
}

TEST_CASE("checkpoints: workers exit 3 (import error): application imported failed", "[checkpoints]") {
  Trace t;
  master_exec(t);
  t.bind(500, kT0 + 380 * kMs, 5, inet("127.0.0.1", 8000));
  t.listen(500, kT0 + 380 * kMs + 20 * kUs, inet("127.0.0.1", 8000));
  t.fork(500, kT0 + 400 * kMs, 501);
  t.fork(500, kT0 + 405 * kMs, 502);
  t.write(501, kT0 + 900 * kMs, 2, "ModuleNotFoundError: No module named 'shop'\n");
  t.exit(501, kT0 + 910 * kMs, 3 << 8);
  t.write(502, kT0 + 905 * kMs, 2, "ModuleNotFoundError: No module named 'shop'\n");
  t.exit(502, kT0 + 915 * kMs, 3 << 8);
  t.signal(501, kT0 + 910 * kMs + 5 * kUs, 500, SIGCHLD, kCldExited);
  t.exit(500, kT0 + 1100 * kMs, 3 << 8);

  auto c = analysis::infer_checkpoints(t.agg, true);
  REQUIRE(c.failed());
  CHECK(c.failed()->name == "application imported");
  CHECK(c.last_reached()->name == "port listening");
  CHECK(find(c, "workers booted")->evidence == "0 of 2 workers booted");
  CHECK_FALSE(find(c, "workers booted")->failed);
}

TEST_CASE("checkpoints: a database refused at import: database connected is the failed phase", "[checkpoints]") {
  // A Flask app that connects (SQLAlchemy engine.connect()) at import; default -w 1.
  Trace t;
  master_exec(t, {"/usr/bin/python3", "/usr/bin/gunicorn", "--bind", "127.0.0.1:8000", "app:app"});
  t.bind(500, kT0 + 380 * kMs, 5, inet("127.0.0.1", 8000));
  t.listen(500, kT0 + 380 * kMs + 20 * kUs, inet("127.0.0.1", 8000));
  t.fork(500, kT0 + 400 * kMs, 501);
  t.connect(501, kT0 + 800 * kMs, 7, inet("127.0.0.1", 5432), EINPROGRESS, 35 * kUs);
  t.tcp(501, kT0 + 800 * kMs + 300 * kUs, kTcpClose, 320 * kUs, inet("127.0.0.1", 5432));
  t.write(501, kT0 + 805 * kMs, 2, "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection refused\n");
  t.exit(501, kT0 + 810 * kMs, 3 << 8);
  t.exit(500, kT0 + 1000 * kMs, 3 << 8);

  auto c = analysis::infer_checkpoints(t.agg, true);
  REQUIRE(find(c, "database connected"));
  CHECK_FALSE(find(c, "database connected")->reached);
  REQUIRE(c.failed());
  CHECK(c.failed()->name == "database connected");
  CHECK_FALSE(find(c, "application imported")->failed);
  CHECK(c.last_reached()->name == "port listening");
}

TEST_CASE("checkpoints: a database reached at import is a reached phase", "[checkpoints]") {
  Trace t;
  gunicorn_boot(t);
  t.connect(501, kT0 + 800 * kMs, 7, inet("10.20.0.5", 5432), EINPROGRESS, 35 * kUs);
  t.tcp(501, kT0 + 800 * kMs + 700 * kUs, kTcpEstablished, 720 * kUs, inet("10.20.0.5", 5432));
  auto c = analysis::infer_checkpoints(t.agg, false);
  REQUIRE(find(c, "database connected"));
  CHECK(find(c, "database connected")->reached);
  CHECK(find(c, "database connected")->ts_ns == kT0 + 800 * kMs + 700 * kUs);
  CHECK(find(c, "database connected")->evidence == "PostgreSQL at 10.20.0.5:5432 (pid 501)");
  CHECK(index_of(c, "port listening") < index_of(c, "database connected"));
  CHECK(index_of(c, "database connected") < index_of(c, "workers booted"));
}

// --preload: the master imports the app in Arbiter.setup(), before it binds;
// the workers, forked with the app loaded, beat at once.
static void preload_start(Trace& t, bool db_at_import) {
  master_exec(t, {"/usr/bin/python3", "/usr/bin/gunicorn", "--preload", "--workers", "2", "--bind",
                  "127.0.0.1:8000", "shop.wsgi:application"});
  if (db_at_import) {
    t.connect(500, kT0 + 1500 * kMs, 7, inet("10.20.0.5", 5432), EINPROGRESS, 35 * kUs);
    t.tcp(500, kT0 + 1500 * kMs + 700 * kUs, kTcpEstablished, 720 * kUs, inet("10.20.0.5", 5432));
  }
  t.bind(500, kT0 + 2500 * kMs, 5, inet("127.0.0.1", 8000));
  t.listen(500, kT0 + 2500 * kMs + 20 * kUs, inet("127.0.0.1", 8000));
  t.fork(500, kT0 + 2520 * kMs, 501);
  t.fork(500, kT0 + 2525 * kMs, 502);
  t.heartbeat(501, kT0 + 2540 * kMs);
  t.heartbeat(502, kT0 + 2545 * kMs);
  t.accept(502, kT0 + 3 * kS, 10, inet("127.0.0.1", 50400));
}

TEST_CASE("checkpoints: --preload imports the app in the master before the bind", "[checkpoints]") {
  Trace t;
  preload_start(t, false);
  auto c = analysis::infer_checkpoints(t.agg, false);
  CHECK(names(c) == std::vector<std::string>{"started", "configuration read", "application imported",
                                             "port listening", "workers booted", "serving"});
  for (const auto& x : c.list) CHECK(x.reached);
  CHECK(find(c, "application imported")->ts_ns == kT0 + 2500 * kMs);
  CHECK(find(c, "application imported")->evidence == "--preload: the master imports the app before it binds");
  CHECK(find(c, "workers booted")->ts_ns == kT0 + 2545 * kMs);
  CHECK(c.failed() == nullptr);
}

// With --preload the database connect made during the import comes before the
// bind that stands for "configuration read": the configuration was read
// before the import started, so it must not be listed after the database.
TEST_CASE("checkpoints: --preload with a database connect at import keeps configuration read first",
          "[checkpoints]") {
  Trace t;
  preload_start(t, true);
  auto c = analysis::infer_checkpoints(t.agg, false);
  std::string order;
  for (const auto& n : names(c)) order += n + ", ";
  INFO(order);
  REQUIRE(index_of(c, "database connected") >= 0);
  CHECK(index_of(c, "configuration read") < index_of(c, "database connected"));
}

TEST_CASE("checkpoints: --preload with the database refusing at import in the master", "[checkpoints]") {
  Trace t;
  master_exec(t, {"/usr/bin/python3", "/usr/bin/gunicorn", "--preload", "--bind", "127.0.0.1:8000",
                  "shop.wsgi:application"});
  t.connect(500, kT0 + 1500 * kMs, 7, inet("127.0.0.1", 5432), EINPROGRESS, 35 * kUs);
  t.tcp(500, kT0 + 1500 * kMs + 300 * kUs, kTcpClose, 320 * kUs, inet("127.0.0.1", 5432));
  t.exit(500, kT0 + 1600 * kMs, 1 << 8);
  auto c = analysis::infer_checkpoints(t.agg, true);
  REQUIRE(c.failed());
  CHECK(c.failed()->name == "database connected");
  // Connecting out while importing means the configuration was read.
  CHECK(c.last_reached()->name == "configuration read");
}

TEST_CASE("checkpoints: a process that is not gunicorn gets the generic phases", "[checkpoints]") {
  Trace t;
  t.task(800, 1, "(python3)");
  t.exec(800, kT0, "/usr/bin/python3", {"/usr/bin/python3", "/srv/app/app.py"});
  t.bind(800, kT0 + 600 * kMs, 3, inet("0.0.0.0", 5000));
  t.listen(800, kT0 + 600 * kMs + 10 * kUs, inet("0.0.0.0", 5000));
  auto c = analysis::infer_checkpoints(t.agg, true);
  CHECK(names(c) == std::vector<std::string>{"started", "port listening", "serving"});
  REQUIRE(c.failed());
  CHECK(c.failed()->name == "serving");
  CHECK(c.last_reached()->name == "port listening");
}
