// Real gunicorn failing as it does in production, each diagnosed from the
// kernel by pmtrace: the finding, its key evidence and its fix. The database
// is a real PostgreSQL started by the harness on 127.0.0.1 (or a port that
// refuses or stalls); units are made the way systemd makes them (a cgroup
// under system.slice, tests/progs/svc_start playing systemd's spawn).
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

std::vector<std::string> django_env(const std::string& database_url) {
  return {"SECRET_KEY=scenario-secret-0123456789", "DATABASE_URL=" + database_url, "PM_CONNECT_AT_IMPORT=1"};
}

const json* checkpoint(const Output& o, const std::string& name) {
  const json* s = o.summary();
  if (!s) return nullptr;
  for (const auto& c : (*s)["checkpoints"])
    if (c["name"] == name) return &c;
  return nullptr;
}

}  // namespace

TEST_CASE("scenario: SIGTERM from a supervisor a few seconds after start, while workers run",
          "[root][scenario][signal]") {
  REQUIRE_GUNICORN();
  int port = free_port();
  // The supervisor: a script that starts gunicorn and gives up on it after 3 s
  // (as a deploy script or a platform's boot check does).
  std::string cmd;
  for (const auto& a : gunicorn(port, "app:app")) cmd += a + " ";
  auto o = run_pmtrace(run_args({"/bin/sh", "-c", cmd + "& sleep 3; kill -TERM $!; wait"}, "30s", "20s"));
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
  int dbport = refused_port();
  std::string url = "postgresql://meats:pw-s3cret@127.0.0.1:" + std::to_string(dbport) + "/meats";
  auto o = run_pmtrace(run_args(django(free_port())), 60, django_env(url));
  INFO(o.err);
  CHECK(o.status == 1);
  const json* f = finding(o, "database-connect");
  REQUIRE(f);
  CHECK(field(f, "title") ==
        "PostgreSQL at 127.0.0.1:" + std::to_string(dbport) + " refused the connection (nothing listens there)");
  CHECK(contains(field(f, "fix"), "ss -ltn 'sport = :" + std::to_string(dbport) + "'"));
  // The root cause comes before the boot failure it caused.
  CHECK((*o.summary())["findings"][0]["rule"] == "database-connect");
  CHECK(finding(o, "gunicorn-boot-failure"));
  CHECK((*o.summary())["failed_checkpoint"] == "database connected");
  // The password in DATABASE_URL appears nowhere.
  CHECK_FALSE(contains(o.out, "pw-s3cret"));
}

TEST_CASE("scenario: a database connect that stalls kills the worker by gunicorn's timeout",
          "[root][scenario][db][timeout]") {
  REQUIRE_GUNICORN();
  StalledPort stalled;
  REQUIRE(stalled.ok());
  std::string url = "postgresql://meats:pw-s3cret@127.0.0.1:" + std::to_string(stalled.port()) + "/meats";
  // No connect_timeout (libpq's default): the worker hangs in the connect until
  // gunicorn's 3 s timeout aborts and then kills it.
  auto o = run_pmtrace(run_args(django(free_port(), {"-t", "3"}), "9s", "30s"), 60, django_env(url));
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
  TempDir nowhere;
  std::string url = "postgresql://meats:pw-s3cret@/meats?host=" + nowhere.path() + "&port=5432";
  auto o = run_pmtrace(run_args(django(free_port())), 60, django_env(url));
  INFO(o.err);
  CHECK(o.status == 1);
  const json* f = finding(o, "database-connect");
  REQUIRE(f);
  CHECK(field(f, "title") == "PostgreSQL unix socket " + nowhere.path() + "/.s.PGSQL.5432 does not exist");
  CHECK(contains(field(f, "fix"), "unix_socket_directories"));
}

TEST_CASE("scenario: a healthy Django app on a real PostgreSQL reaches every checkpoint", "[root][scenario][db]") {
  REQUIRE_GUNICORN();
  Postgres pg;
  REQUIRE_POSTGRES(pg);
  int port = free_port();
  // Requests arrive while pmtrace traces the start.
  std::thread client([port] {
    if (wait_listening(port)) {
      std::this_thread::sleep_for(1500ms);
      http_get(port, "/db/");
    }
  });
  auto o = run_pmtrace(run_args(django(port), "30s", "4s"), 60, django_env(pg.url()));
  client.join();
  INFO(o.err);
  const json* s = o.summary();
  REQUIRE(s);
  INFO((*s)["findings"].dump());
  CHECK((*s)["findings"].empty());
  CHECK(o.status == 0);
  for (const char* name : {"started", "configuration read", "port listening", "application imported",
                           "database connected", "workers booted", "serving"}) {
    const json* c = checkpoint(o, name);
    INFO(name);
    REQUIRE(c);
    CHECK((*c)["reached"] == true);
  }
  CHECK((*s)["failed_checkpoint"].is_null());
  auto execs = o.events("exec");
  REQUIRE(!execs.empty());
  kill(static_cast<pid_t>(execs[0]["pid"].get<int>()), SIGTERM);
}

TEST_CASE("scenario: a worker killed by gunicorn's timeout while blocked on an upstream",
          "[root][scenario][timeout]") {
  REQUIRE_GUNICORN();
  StalledPort upstream;
  REQUIRE(upstream.ok());
  int port = free_port();
  std::thread client([port] {
    if (wait_listening(port)) http_get(port, "/upstream", 15);
  });
  auto o = run_pmtrace(run_args(gunicorn(port, "upstream:app", {"-t", "3"}), "10s", "30s"), 60,
                       {"UPSTREAM_URL=http://127.0.0.1:" + std::to_string(upstream.port()) + "/"});
  client.join();
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
  auto execs = o.events("exec");
  REQUIRE(!execs.empty());
  kill(static_cast<pid_t>(execs[0]["pid"].get<int>()), SIGTERM);
}

TEST_CASE("scenario: a working directory that is a dangling symlink (200/CHDIR)", "[root][scenario][exec]") {
  REQUIRE_GUNICORN();
  FakeUnit unit;
  REQUIRE(unit.create_cgroup());
  TempDir srv;
  std::string current = srv.path() + "/current";
  std::string release = srv.path() + "/releases/20261123-1";
  REQUIRE(symlink(release.c_str(), current.c_str()) == 0);  // the release was cleaned up
  auto o = run_pmtrace(run_args(unit.start_argv(gunicorn(free_port(), "app:app"), {"--chdir", current})), 60,
                       unit.env());
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
  FakeUnit unit;
  REQUIRE(unit.create_cgroup());
  TempDir srv;
  std::string missing = srv.path() + "/venv/bin/gunicorn";
  auto o = run_pmtrace(run_args(unit.start_argv({missing, "app:app"})), 60, unit.env());
  INFO(o.err);
  CHECK(o.status == 1);
  const json* f = finding(o, "exec-failure");
  REQUIRE(f);
  CHECK(field(f, "title") == missing + " does not exist");
  CHECK(contains(facts_text(f), "exit status 203 is systemd's EXEC"));
}

TEST_CASE("scenario: a virtualenv whose python points at a removed interpreter", "[root][scenario][exec]") {
  REQUIRE_GUNICORN();
  FakeUnit unit;
  REQUIRE(unit.create_cgroup());
  TempDir srv;
  std::string bin = srv.path() + "/venv/bin";
  std::filesystem::create_directories(bin);
  // As `python3.9 -m venv` left it, after python3.9 was removed by an upgrade.
  REQUIRE(symlink("/usr/bin/python3.9-removed", (bin + "/python3").c_str()) == 0);
  std::string script = bin + "/gunicorn";
  std::ofstream(script) << "#!" << bin << "/python3\nfrom gunicorn.app.wsgiapp import run\nrun()\n";
  chmod(script.c_str(), 0755);
  auto o = run_pmtrace(run_args(unit.start_argv({script, "app:app"})), 60, unit.env());
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
  FakeUnit unit;
  REQUIRE(unit.create_cgroup());
  // The memory controller: cgroup v2's memory.max where it is enabled, else
  // the v1 memory hierarchy of a hybrid machine.
  std::string v1 = "/sys/fs/cgroup/memory/pmtrace-oom-scenario-" + std::to_string(getpid());
  std::string limit_file = unit.cgroup + "/memory.max";
  int port = free_port();
  std::vector<std::string> cmd = gunicorn(port, "hog:app", {"-w", "1"});
  struct stat st{};
  bool hybrid = stat(limit_file.c_str(), &st) != 0;
  if (hybrid) {
    REQUIRE((mkdir(v1.c_str(), 0755) == 0 || errno == EEXIST));
    limit_file = v1 + "/memory.limit_in_bytes";
    cmd.insert(cmd.begin(), {prog("cg_exec"), v1});
  }
  { std::ofstream(limit_file) << (160 << 20); }
  std::thread client([port] {
    if (wait_listening(port)) http_get(port, "/hog", 10);
  });
  auto o = run_pmtrace(run_args(unit.start_argv(cmd), "12s", "30s"), 60, unit.env());
  client.join();
  INFO(o.err);
  CHECK(o.status == 1);
  const json* f = finding(o, "oom-kill");
  REQUIRE(f);
  CHECK(contains(field(f, "title"), "gunicorn worker"));
  CHECK(contains(field(f, "title"), "killed by the kernel's OOM killer"));
  CHECK(contains(field(f, "title"), "(cgroup memory limit 160M)"));
  CHECK_FALSE(finding(o, "killed-by-signal"));  // the kernel's SIGKILL is the OOM kill, not a second finding
  auto execs = o.events("exec");
  REQUIRE(!execs.empty());
  kill(static_cast<pid_t>(execs.back()["pid"].get<int>()), SIGTERM);
  std::this_thread::sleep_for(1s);
  if (hybrid) rmdir(v1.c_str());
}

TEST_CASE("scenario: attach to a unit before it starts: a healthy start, requests, then a deliberate stop",
          "[root][scenario][attach]") {
  REQUIRE_GUNICORN();
  FakeUnit unit;
  int port = free_port();
  Background bg({"attach", "--json", "--unit", unit.name, "--duration", "40s"}, unit.env());
  REQUIRE(bg.wait_ready());
  REQUIRE(unit.create_cgroup());
  pid_t svc = spawn(unit.start_argv(gunicorn(port, "app:app")));
  REQUIRE(wait_listening(port));
  std::this_thread::sleep_for(1s);
  CHECK(http_get(port, "/") == 200);
  CHECK(http_get(port, "/") == 200);
  // The operator stops it on purpose.
  CHECK(wait_exit(spawn({"/bin/kill", "-TERM", std::to_string(svc)})) == 0);
  CHECK(wait_exit(svc) == 0);
  std::this_thread::sleep_for(500ms);
  auto o = bg.stop(SIGINT);
  INFO(o.err);
  CHECK(o.status == 0);
  const json* s = o.summary();
  REQUIRE(s);
  for (const auto& f : (*s)["findings"]) CHECK(f["severity"] != "failure");
  const json* stop = finding(o, "killed-by-signal");
  REQUIRE(stop);
  CHECK(field(stop, "severity") == "info");
  CHECK(contains(field(stop, "title"), "from kill (pid"));
  const json* serving = checkpoint(o, "serving");
  REQUIRE(serving);
  CHECK((*serving)["reached"] == true);
}

TEST_CASE("scenario: attach to a unit before it starts: the log file the service user cannot write",
          "[root][scenario][attach]") {
  REQUIRE_GUNICORN();
  FakeUnit unit;
  TempDir dir;
  std::string log = dir.path() + "/error.log";
  { std::ofstream(log) << ""; }
  chmod(log.c_str(), 0644);
  Background bg({"attach", "--json", "--unit", unit.name, "--duration", "30s"}, unit.env());
  REQUIRE(bg.wait_ready());
  REQUIRE(unit.create_cgroup());
  pid_t svc = spawn(unit.start_argv(gunicorn(free_port(), "app:app", {"--error-logfile", log}),
                                    {"--uid", "65534", "--gid", "65534"}));
  CHECK(wait_exit(svc) == 1);
  std::this_thread::sleep_for(500ms);
  auto o = bg.stop(SIGINT);
  INFO(o.err);
  CHECK(o.status == 1);
  const json* f = finding(o, "permission-denied");
  REQUIRE(f);
  CHECK(field(f, "fix") == "chown nobody:nogroup " + log);
  CHECK((*o.summary())["failed_checkpoint"] == "configuration read");
}

TEST_CASE("scenario: an environment file systemd half-ignores (export SECRET_KEY=...)",
          "[root][scenario][envfile]") {
  REQUIRE_GUNICORN();
  TempDir etc;
  std::string env_file = etc.path() + "/projectmeats.env";
  // Written for a shell: systemd ignores the `export` line, so SECRET_KEY is unset.
  std::ofstream(env_file) << "# projectmeats settings\n"
                          << "export SECRET_KEY=k7-very-secret-value\n"
                          << "DATABASE_URL=postgresql://meats:pw-s3cret@127.0.0.1:5432/meats\n";
  FakeUnit unit("[Unit]\nDescription=projectmeats\n\n[Service]\nUser=nobody\nEnvironmentFile=" + env_file +
                "\nExecStart=/usr/bin/gunicorn meats.wsgi:application\n");
  REQUIRE(unit.create_cgroup());
  auto o = run_pmtrace(
      {"run", "--json", "--unit", unit.name, "--timeout", "30s", "--settle", "2s", "--",
       prog("svc_start"), "--cgroup", unit.cgroup, "--env-file", env_file, "--", "/usr/bin/gunicorn", "--chdir",
       kDjangoApp, "-b", "127.0.0.1:" + std::to_string(free_port()), "-w", "1", "meats.wsgi:application"},
      60, unit.env());
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
