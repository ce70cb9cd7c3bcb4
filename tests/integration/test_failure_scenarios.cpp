// Real gunicorn failing as it does in production, each diagnosed from the
// kernel by `pmtrace run --unit` and by `pmtrace attach UNIT` started before
// the service: the finding, its key evidence and its fix. The database is a
// real PostgreSQL started by the harness on 127.0.0.1 (or a port that refuses
// or stalls); units are made the way systemd makes them (a cgroup under
// system.slice, tests/progs/svc_start playing systemd's spawn).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "postgres.h"
#include "scenario.h"

using namespace pmtest;
using namespace std::chrono_literals;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string facts_text(const json* f) {
  std::string all;
  if (f)
    for (const auto& x : (*f)["facts"]) all += x.get<std::string>() + "\n";
  return all;
}

std::vector<std::string> django(int port, std::vector<std::string> extra = {}) {
  return gunicorn(port, "meats.wsgi:application", std::move(extra), kDjangoApp);
}

#define EACH_MODE()                                  \
  Mode mode = GENERATE(Mode::run, Mode::attach, Mode::run_ptrace);     \
  INFO(mode_name(mode))

std::vector<std::string> django_env(const std::string& database_url) {
  return {"SECRET_KEY=scenario-secret-0123456789", "DATABASE_URL=" + database_url, "PM_CONNECT_AT_IMPORT=1"};
}


}  // namespace

TEST_CASE("scenario: SIGTERM from a supervisor a few seconds after start, while workers run",
          "[root][scenario][signal]") {
  REQUIRE_GUNICORN();
  EACH_MODE();
  FakeUnit unit;
  // The supervisor: a script that starts gunicorn and gives up on it after 3 s
  // (as a deploy script or a platform's boot check does).
  std::string cmd;
  for (const auto& a : gunicorn(free_port(), "app:app")) cmd += a + " ";
  Scenario s;
  s.cmd = {"/bin/sh", "-c", cmd + "& sleep 3; kill -TERM $!; wait"};
  s.settle = "20s";
  auto o = diagnose(mode, unit, s);
  INFO(o.err);
  CHECK(o.status == 1);
  const json* f = finding(o, "killed-by-signal");
  REQUIRE(f);
  std::string title = field(f, "title");
  CHECK(contains(title, "gunicorn master"));
  CHECK(contains(title, "stopped by SIGTERM from its supervisor sh (pid"));
  CHECK(contains(title, "while 2 workers were running"));
  CHECK(field(f, "severity") == "failure");
  // The cascade: the master's SIGTERMs to both workers are in the evidence.
  int cascade = 0;
  for (const auto& e : (*f)["evidence"])
    if (e["type"] == "signal_generate" && e["comm"] == "gunicorn" && e["signal"] == "SIGTERM") ++cascade;
  CHECK(cascade == 2);
  CHECK(contains(field(f, "fix"), "start or health-check timeout"));
  // About 3 s after start (the title says "N.N s after start").
  auto at = title.find(" s after start");
  REQUIRE(at != std::string::npos);
  double secs = std::stod(title.substr(title.rfind(' ', at - 1) + 1));
  CHECK(secs >= 2.5);
  CHECK(secs <= 4.5);
  CHECK((*o.summary())["last_checkpoint"] == "workers booted");
}

TEST_CASE("scenario: a database that refuses the connection at import", "[root][scenario][db]") {
  REQUIRE_GUNICORN();
  EACH_MODE();
  FakeUnit unit;
  int dbport = refused_port();
  Scenario s;
  s.cmd = django(free_port());
  s.env = django_env("postgresql://meats:pw-s3cret@127.0.0.1:" + std::to_string(dbport) + "/meats");
  auto o = diagnose(mode, unit, s);
  INFO(o.err);
  CHECK(o.status == 1);
  const json* f = finding(o, "database-connect");
  REQUIRE(f);
  CHECK(field(f, "title") ==
        "PostgreSQL at 127.0.0.1:" + std::to_string(dbport) + " refused the connection (nothing listens there)");
  CHECK(contains(field(f, "fix"), "ss -ltn 'sport = :" + std::to_string(dbport) + "'"));
  // The root cause comes before the boot failure it caused.
  CHECK((*o.summary())["findings"][0]["rule"] == "database-connect");
  CHECK(contains(field(finding(o, "gunicorn-boot-failure"), "fix"), "see the database-connect finding"));
  CHECK((*o.summary())["failed_checkpoint"] == "database connected");
  // A static check would have caught it: the report points at doctor for this unit.
  const json& pre = (*o.summary())["preflight"];
  CHECK(pre["command"] == "pmtrace doctor " + unit.name);
  CHECK(std::find(pre["checks"].begin(), pre["checks"].end(), "database") != pre["checks"].end());
  CHECK(std::find(pre["checks"].begin(), pre["checks"].end(), "import") != pre["checks"].end());
  // The password in DATABASE_URL appears nowhere.
  CHECK_FALSE(contains(o.out, "pw-s3cret"));
}

TEST_CASE("scenario: a database connect that stalls kills the worker by gunicorn's timeout",
          "[root][scenario][db][timeout]") {
  REQUIRE_GUNICORN();
  EACH_MODE();
  FakeUnit unit;
  StalledPort stalled;
  REQUIRE(stalled.ok());
  // No connect_timeout (libpq's default): the worker hangs in the connect until
  // gunicorn's 3 s timeout aborts and then kills it.
  Scenario s;
  s.cmd = django(free_port(), {"-t", "3"});
  s.env = django_env("postgresql://meats:pw-s3cret@127.0.0.1:" + std::to_string(stalled.port()) + "/meats");
  s.limit_s = 9;
  s.settle = "30s";
  auto o = diagnose(mode, unit, s);
  INFO(o.err);
  CHECK(o.status == 1);
  const json* d = finding(o, "database-connect");
  REQUIRE(d);
  CHECK(contains(field(d, "title"), "PostgreSQL at 127.0.0.1:" + std::to_string(stalled.port()) +
                                        " did not answer: connect stalled for"));
  CHECK(contains(field(d, "fix"), "connect_timeout=5"));
  const json* w = finding(o, "worker-timeout");
  REQUIRE(w);
  CHECK(contains(field(w, "title"), "killed by the master's worker timeout (3 s): SIGABRT, then SIGKILL"));
  CHECK(contains(field(w, "title"), "connected to 127.0.0.1:" + std::to_string(stalled.port())));
  CHECK(contains(field(w, "fix"), "connect_timeout=5"));
}

TEST_CASE("scenario: a missing PostgreSQL unix socket", "[root][scenario][db]") {
  REQUIRE_GUNICORN();
  EACH_MODE();
  FakeUnit unit;
  TempDir nowhere;
  Scenario s;
  s.cmd = django(free_port());
  s.env = django_env("postgresql://meats:pw-s3cret@/meats?host=" + nowhere.path() + "&port=5432");
  auto o = diagnose(mode, unit, s);
  INFO(o.err);
  CHECK(o.status == 1);
  const json* f = finding(o, "database-connect");
  REQUIRE(f);
  CHECK(field(f, "title") == "PostgreSQL unix socket " + nowhere.path() + "/.s.PGSQL.5432 does not exist");
  CHECK(contains(field(f, "fix"), "unix_socket_directories"));
}

namespace {
// Whether `master` has `n` children, each blocked in select/poll (a gunicorn
// sync worker's wait for a request, after its boot and first heartbeat).
bool workers_idle(pid_t master, int n) {
  if (master <= 0) return false;
  std::ifstream children("/proc/" + std::to_string(master) + "/task/" + std::to_string(master) + "/children");
  int idle = 0, seen = 0;
  for (int pid; children >> pid; ++seen) {
    std::ifstream sc("/proc/" + std::to_string(pid) + "/syscall");
    int nr = -1;
    sc >> nr;
    // x86_64: poll 7, select 23, pselect6 270, ppoll 271, epoll_wait 232
    idle += nr == 7 || nr == 23 || nr == 270 || nr == 271 || nr == 232;
  }
  return seen == n && idle == n;
}
}  // namespace

TEST_CASE("scenario: a healthy Django app on a real PostgreSQL reaches every checkpoint", "[root][scenario][db]") {
  REQUIRE_GUNICORN();
  EACH_MODE();
  Postgres pg;
  REQUIRE_POSTGRES(pg);
  FakeUnit unit;
  int port = free_port();
  int served = 0;
  Scenario s;
  s.cmd = django(port);
  s.env = django_env(pg.url());
  s.settle = "20s";
  s.during = [&] {
    if (!wait_listening(port)) return;
    // Both workers booted (under ptrace and a loaded machine Django's import
    // takes seconds): a booted sync worker waits for requests in select().
    pid_t master = -1;
    for (int i = 0; i < 200 && !workers_idle(master = unit_main_pid(unit), 2); ++i) std::this_thread::sleep_for(100ms);
    served = http_get(port, "/db/");
    // From a shell, as an operator types it (kill is the shell's builtin).
    if (master > 0) wait_exit(spawn({"/bin/sh", "-c", "kill -TERM " + std::to_string(master) + "; sleep 0.5"}));
  };
  auto o = diagnose(mode, unit, s);
  INFO(o.err);
  CHECK(served == 200);
  const json* sum = o.summary();
  REQUIRE(sum);
  INFO((*sum)["findings"].dump());
  for (const auto& f : (*sum)["findings"]) CHECK(f["severity"] != "failure");
  CHECK(o.status == 0);
  for (const char* name : {"started", "configuration read", "port listening", "application imported",
                           "database connected", "workers booted", "serving"}) {
    INFO(name);
    CHECK(reached(o, name));
  }
  CHECK((*sum)["failed_checkpoint"].is_null());
}

TEST_CASE("scenario: a worker killed by gunicorn's timeout while blocked on an upstream",
          "[root][scenario][timeout]") {
  REQUIRE_GUNICORN();
  EACH_MODE();
  FakeUnit unit;
  StalledPort upstream;
  REQUIRE(upstream.ok());
  int port = free_port();
  Scenario s;
  s.cmd = gunicorn(port, "upstream:app", {"-t", "3"});
  s.env = {"UPSTREAM_URL=http://127.0.0.1:" + std::to_string(upstream.port()) + "/"};
  s.limit_s = 10;
  s.settle = "30s";
  s.during = [port] {
    if (wait_listening(port)) http_get(port, "/upstream", 15);
  };
  auto o = diagnose(mode, unit, s);
  INFO(o.err);
  CHECK(o.status == 1);
  const json* w = finding(o, "worker-timeout");
  REQUIRE(w);
  CHECK(contains(field(w, "title"), "killed by the master's worker timeout (3 s): SIGABRT"));
  CHECK(contains(field(w, "title"), "blocked in connect() to 127.0.0.1:" + std::to_string(upstream.port()) + " for"));
  CHECK(contains(field(w, "fix"), "urlopen(url, timeout=10)"));
  bool abrt = false;
  for (const auto& e : (*w)["evidence"])
    if (e["type"] == "signal_generate" && e["signal"] == "SIGABRT") abrt = true;
  CHECK(abrt);
}

TEST_CASE("scenario: a working directory that is a dangling symlink (200/CHDIR)", "[root][scenario][exec]") {
  REQUIRE_GUNICORN();
  EACH_MODE();
  FakeUnit unit;
  TempDir srv;
  std::string current = srv.path() + "/current";
  std::string release = srv.path() + "/releases/20261123-1";
  REQUIRE(symlink(release.c_str(), current.c_str()) == 0);  // the release was cleaned up
  Scenario s;
  s.cmd = gunicorn(free_port(), "app:app");
  s.svc_opts = {"--chdir", current};
  auto o = diagnose(mode, unit, s);
  INFO(o.err);
  CHECK(o.status == 1);
  const json* f = finding(o, "exec-failure");
  REQUIRE(f);
  CHECK(field(f, "title") == "working directory " + current + " is a dangling symlink (to " + release + ")");
  CHECK(contains(facts_text(f), "exit status 200 is systemd's CHDIR"));
  CHECK(contains(field(f, "fix"), "ln -sfn"));
}

TEST_CASE("scenario: ExecStart= names a program that does not exist (203/EXEC)", "[root][scenario][exec]") {
  REQUIRE_GUNICORN();
  EACH_MODE();
  FakeUnit unit;
  TempDir srv;
  std::string missing = srv.path() + "/venv/bin/gunicorn";
  Scenario s;
  s.cmd = {missing, "app:app"};
  auto o = diagnose(mode, unit, s);
  INFO(o.err);
  CHECK(o.status == 1);
  const json* f = finding(o, "exec-failure");
  REQUIRE(f);
  CHECK(field(f, "title") == missing + " does not exist");
  CHECK(contains(facts_text(f), "exit status 203 is systemd's EXEC"));
}

TEST_CASE("scenario: a virtualenv whose python points at a removed interpreter", "[root][scenario][exec]") {
  REQUIRE_GUNICORN();
  EACH_MODE();
  FakeUnit unit;
  TempDir srv;
  std::string bin = srv.path() + "/venv/bin";
  std::filesystem::create_directories(bin);
  // As `python3.9 -m venv` left it, after python3.9 was removed by an upgrade.
  REQUIRE(symlink("/usr/bin/python3.9-removed", (bin + "/python3").c_str()) == 0);
  std::string script = bin + "/gunicorn";
  std::ofstream(script) << "#!" << bin << "/python3\nfrom gunicorn.app.wsgiapp import run\nrun()\n";
  chmod(script.c_str(), 0755);
  Scenario s;
  s.cmd = {script, "app:app"};
  auto o = diagnose(mode, unit, s);
  INFO(o.err);
  CHECK(o.status == 1);
  const json* f = finding(o, "exec-failure");
  REQUIRE(f);
  CHECK(field(f, "title") == script + " exists, but its interpreter " + bin + "/python3 does not");
  CHECK(contains(facts_text(f), bin + "/python3 -> /usr/bin/python3.9-removed, which no longer exists"));
  CHECK(contains(field(f, "fix"), "python3 -m venv --clear"));
}

TEST_CASE("scenario: a worker killed by the OOM killer under the unit's memory limit", "[root][scenario][oom]") {
  REQUIRE_GUNICORN();
  EACH_MODE();
  FakeUnit unit;
  REQUIRE(unit.create_cgroup());
  // The memory controller: cgroup v2's memory.max where it is enabled, else
  // the v1 memory hierarchy of a hybrid machine.
  std::string v1 = "/sys/fs/cgroup/memory/pmtrace-oom-scenario-" + std::to_string(getpid());
  std::string limit_file = unit.cgroup + "/memory.max";
  int port = free_port();
  Scenario s;
  s.cmd = gunicorn(port, "hog:app", {"-w", "1"});
  struct stat st{};
  bool hybrid = stat(limit_file.c_str(), &st) != 0;
  if (hybrid) {
    REQUIRE((mkdir(v1.c_str(), 0755) == 0 || errno == EEXIST));
    limit_file = v1 + "/memory.limit_in_bytes";
    s.cmd.insert(s.cmd.begin(), {prog("cg_exec"), v1});
  }
  { std::ofstream(limit_file) << (160 << 20); }
  s.limit_s = 12;
  s.settle = "30s";
  s.during = [port] {
    if (wait_listening(port)) http_get(port, "/hog", 10);
  };
  auto o = diagnose(mode, unit, s);
  if (hybrid) rmdir(v1.c_str());
  INFO(o.err);
  CHECK(o.status == 1);
  if (mode == Mode::run_ptrace) {
    // ptrace sees the worker die of SIGKILL but not the OOM killer's record:
    // no oom-kill finding, and the report says what it could not see.
    CHECK_FALSE(finding(o, "oom-kill"));
    bool killed = false;
    for (const auto& fl : (*o.summary())["failures"]) killed |= fl.value("signal", "") == "SIGKILL";
    CHECK(killed);
    CHECK(contains((*o.summary())["notes"].dump(), "OOM-killer records"));
    return;
  }
  const json* f = finding(o, "oom-kill");
  REQUIRE(f);
  CHECK(contains(field(f, "title"), "gunicorn worker"));
  CHECK(contains(field(f, "title"), "killed by the kernel's OOM killer"));
  CHECK(contains(field(f, "title"), "(cgroup memory limit 160M)"));
  CHECK_FALSE(finding(o, "killed-by-signal"));  // the kernel's SIGKILL is the OOM kill, not a second finding
}

TEST_CASE("scenario: an environment file systemd half-ignores (export SECRET_KEY=...)",
          "[root][scenario][envfile]") {
  REQUIRE_GUNICORN();
  EACH_MODE();
  FakeUnit unit;
  Scenario s;
  // Written for a shell: systemd ignores the `export` line, so SECRET_KEY is unset.
  s.env = {"# projectmeats settings", "export SECRET_KEY=k7-very-secret-value",
           "DATABASE_URL=postgresql://meats:pw-s3cret@127.0.0.1:5432/meats"};
  s.cmd = django(free_port(), {"-w", "1"});
  std::string env_file = unit.units.path() + "/" + unit.name + ".env";
  auto o = diagnose(mode, unit, s);
  INFO(o.err);
  CHECK(o.status == 1);
  const json* f = finding(o, "environment-file");
  REQUIRE(f);
  CHECK(field(f, "severity") == "failure");
  CHECK(field(f, "title") ==
        "SECRET_KEY is missing in the service: systemd does not read " + env_file + " line 2 as meant");
  CHECK(contains(field(f, "fix"), "write line 2 of " + env_file + " as: SECRET_KEY="));
  CHECK((*o.summary())["findings"][0]["rule"] == "environment-file");
  // Neither the secret nor the database password leaves pmtrace in clear.
  CHECK_FALSE(contains(o.out, "k7-very-secret-value"));
  CHECK_FALSE(contains(o.out, "pw-s3cret"));
}

TEST_CASE("scenario: an environment file named in a drop-in (NAME.d/*.conf) is read as systemd reads it",
          "[root][scenario][envfile]") {
  REQUIRE_GUNICORN();
  FakeUnit unit;
  Scenario s;
  s.env = {"export SECRET_KEY=k7-very-secret-value"};
  s.env_in_dropin = true;
  s.cmd = django(free_port(), {"-w", "1"});
  std::string env_file = unit.units.path() + "/" + unit.name + ".env";
  auto o = diagnose(Mode::run, unit, s);
  INFO(o.err);
  const json* f = finding(o, "environment-file");
  REQUIRE(f);
  CHECK(field(f, "title") ==
        "SECRET_KEY is missing in the service: systemd does not read " + env_file + " line 1 as meant");
  CHECK_FALSE(contains(o.out, "k7-very-secret-value"));
}
