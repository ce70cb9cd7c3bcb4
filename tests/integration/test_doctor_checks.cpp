// pmtrace doctor, one check at a time, each on a real broken setup (unit
// files in a temporary unit path, the real nobody user, real files and
// permissions, /usr/bin/gunicorn, a real PostgreSQL, a real listening
// process) and then on the same setup repaired by hand, so a check that
// always failed would fail its test too.
#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness.h"
#include "postgres.h"
#include "scenario.h"

using namespace pmtest;

namespace {

constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;

// A process started by the test, killed and reaped at scope end.
struct Child {
  pid_t pid = -1;
  explicit Child(const std::vector<std::string>& argv) : pid(spawn(argv)) {}
  void stop() {
    if (pid <= 0) return;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    pid = -1;
  }
  ~Child() { stop(); }
};

// A system group made for one test, removed at scope end whatever happens.
struct GroupGuard {
  std::string name;
  explicit GroupGuard(std::string n) : name(std::move(n)) {}
  ~GroupGuard() {
    if (getgrnam(name.c_str())) run_capture({"/usr/sbin/groupdel", name});
  }
};

// Each check's JSON object with this id and status whose text (title,
// evidence, fix, ...) contains `needle`; null when there is none.
const json* find(const Output& o, const std::string& id, const std::string& status, const std::string& needle = "") {
  if (o.lines.empty()) return nullptr;
  for (const auto& c : o.lines.back()["checks"])
    if (c["id"] == id && c["status"] == status && (needle.empty() || c.dump().find(needle) != std::string::npos))
      return &c;
  return nullptr;
}

// How many checks with this id have this status.
int count(const Output& o, const std::string& id, const std::string& status) {
  int n = 0;
  if (o.lines.empty()) return 0;
  for (const auto& c : o.lines.back()["checks"]) n += c["id"] == id && c["status"] == status;
  return n;
}

std::string str(const json* c, const char* key) {
  if (!c || !c->contains(key) || !(*c)[key].is_string()) return "";
  return (*c)[key].get<std::string>();
}

// Whether one element of the array `key` contains `needle`.
bool any_has(const json* c, const char* key, const std::string& needle) {
  if (!c || !c->contains(key)) return false;
  for (const auto& e : (*c)[key])
    if (e.is_string() && e.get<std::string>().find(needle) != std::string::npos) return true;
  return false;
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

// A temporary unit path and the files of one setup.
struct Setup {
  TempDir dir;
  std::string top = dir.path();
  std::string units = top + "/units";
  Setup() { mkdir(units.c_str(), 0755); }

  std::string write(const std::string& rel, const std::string& text, mode_t mode = 0644) const {
    std::string path = top + "/" + rel;
    std::ofstream(path, std::ios::trunc) << text;
    chmod(path.c_str(), mode);
    return path;
  }
  std::string mkdir_(const std::string& rel, mode_t mode = 0755, uid_t uid = 0, gid_t gid = 0) const {
    std::string path = top + "/" + rel;
    ::mkdir(path.c_str(), mode);
    chmod(path.c_str(), mode);
    if (chown(path.c_str(), uid, gid) != 0) FAIL("chown " << path);
    return path;
  }
  void unit(const std::string& name, const std::string& text) const { write("units/" + name, text); }
  Output doctor(const std::string& name, std::vector<std::string> extra = {}, bool json = true) const {
    std::vector<std::string> args{"doctor", name, "--unit-path", units};
    if (json) args.push_back("--json");
    args.insert(args.end(), extra.begin(), extra.end());
    return run_pmtrace(args, 60);
  }
};

std::string port_text(int port) { return std::to_string(port); }

}  // namespace

// 1. ------------------------------------------------------------------------
TEST_CASE("doctor checks: user: Group= naming a missing group fails with groupadd, ok once it exists",
          "[root][doctor_checks]") {
  REQUIRE_GUNICORN();
  Setup s;
  GroupGuard group("pmdoc" + std::to_string(getpid() % 100000));
  REQUIRE(getgrnam(group.name.c_str()) == nullptr);
  s.unit("u.service", "[Service]\nUser=nobody\nGroup=" + group.name + "\nExecStart=/bin/sleep 60\n");

  auto o = s.doctor("u");
  INFO(o.out << o.err);
  CHECK(o.status == 1);
  const json* k = find(o, "user", "failure");
  REQUIRE(k);
  CHECK(str(k, "title") == "Group=" + group.name + " does not exist on this machine");
  CHECK(any_has(k, "evidence", "u.service:3: Group=" + group.name));
  CHECK(str(k, "fix").rfind("groupadd --system " + group.name, 0) == 0);
  CHECK(contains(str(k, "fix"), "216/GROUP"));
  CHECK(any_has(k, "commands", "groupadd --system " + group.name));

  // Repaired: the group made with doctor's own command.
  auto made = run_capture({"/usr/sbin/groupadd", "--system", group.name});
  REQUIRE(made.status == 0);
  struct group* gr = getgrnam(group.name.c_str());
  REQUIRE(gr);
  auto o2 = s.doctor("u");
  INFO(o2.out << o2.err);
  const json* ok = find(o2, "user", "ok");
  REQUIRE(ok);
  CHECK(str(ok, "title") == "runs as nobody (uid 65534, gid " + std::to_string(gr->gr_gid) + ")");
  CHECK(o2.status == 0);
}

// 2. ------------------------------------------------------------------------
TEST_CASE("doctor checks: exec: a program nobody cannot execute, and a missing one", "[root][doctor_checks]") {
  REQUIRE_GUNICORN();
  Setup s;
  s.mkdir_("bin");
  std::string prog = s.top + "/bin/gunicorn";
  std::filesystem::copy_file("/usr/bin/gunicorn", prog);
  chmod(prog.c_str(), 0700);  // root's only
  s.unit("e.service", "[Service]\nUser=nobody\nWorkingDirectory=" + kFlaskApp + "\nExecStart=" + prog +
                          " -b 127.0.0.1:" + port_text(free_port()) + " app:app\n");
  auto o = s.doctor("e");
  INFO(o.out << o.err);
  CHECK(o.status == 1);
  const json* k = find(o, "exec", "failure");
  REQUIRE(k);
  // A #! script: its interpreter reads it, so nobody needs r as well as x.
  CHECK(str(k, "title") == prog + " is not readable and executable by nobody");
  CHECK(any_has(k, "evidence", prog + ": 0700 root:root"));
  CHECK(str(k, "fix").rfind("chmod o+rx " + prog, 0) == 0);
  CHECK(any_has(k, "commands", "chmod o+rx " + prog));
  CHECK(find(o, "import", "skipped"));  // not tried while the program cannot run

  // Repaired: readable and executable by everyone, as /usr/bin/gunicorn is.
  chmod(prog.c_str(), 0755);
  auto o2 = s.doctor("e");
  INFO(o2.out << o2.err);
  const json* ok = find(o2, "exec", "ok");
  REQUIRE(ok);
  CHECK(str(ok, "title") == "ExecStart= runs " + prog + " (#!/usr/bin/python3)");
  CHECK(find(o2, "import", "ok"));
  CHECK(o2.status == 0);

  // A program that is not there: systemd's 203/EXEC.
  s.unit("m.service", "[Service]\nUser=nobody\nExecStart=" + s.top + "/bin/nope --serve\n");
  auto o3 = s.doctor("m");
  INFO(o3.out << o3.err);
  CHECK(o3.status == 1);
  const json* m = find(o3, "exec", "failure");
  REQUIRE(m);
  CHECK(str(m, "title") == "ExecStart= names a program that is not there: " + s.top + "/bin/nope does not exist");
  CHECK(contains(str(m, "fix"), "203/EXEC"));
  CHECK(any_has(m, "evidence", "m.service:3"));
  s.write("bin/nope", "#!/bin/sh\nexec sleep 60\n", 0755);
  auto o4 = s.doctor("m");
  INFO(o4.out << o4.err);
  CHECK(find(o4, "exec", "ok", "ExecStart= runs " + s.top + "/bin/nope (#!/bin/sh)"));
}

// 3. ------------------------------------------------------------------------
TEST_CASE("doctor checks: working-directory: a dangling symlink and a directory nobody cannot enter",
          "[root][doctor_checks]") {
  REQUIRE_ROOT();
  Setup s;
  std::string link = s.top + "/app-current", gone = s.top + "/releases/42";
  s.mkdir_("releases");
  symlink(gone.c_str(), link.c_str());
  s.unit("w.service", "[Service]\nUser=nobody\nWorkingDirectory=" + link + "\nExecStart=/bin/sleep 60\n");
  auto o = s.doctor("w");
  INFO(o.out << o.err);
  CHECK(o.status == 1);
  const json* k = find(o, "working-directory", "failure");
  REQUIRE(k);
  CHECK(str(k, "title") == "WorkingDirectory= " + link + " is a symlink to " + gone + ", which does not exist");
  CHECK(contains(str(k, "fix"), "200/CHDIR"));
  CHECK(any_has(k, "evidence", "w.service:3"));

  // The release is deployed, but only root may enter it.
  s.mkdir_("releases/42", 0700);
  auto o2 = s.doctor("w");
  INFO(o2.out << o2.err);
  CHECK(o2.status == 1);
  const json* p = find(o2, "working-directory", "failure");
  REQUIRE(p);
  CHECK(str(p, "title") == "nobody cannot enter WorkingDirectory=" + link);
  CHECK(any_has(p, "evidence", link + ": 0700 root:root"));
  CHECK(str(p, "fix").rfind("chmod o+x " + link, 0) == 0);
  CHECK(contains(str(p, "fix"), "chgrp nogroup " + link + " && chmod g+x " + link));
  CHECK(any_has(p, "commands", "chmod o+x " + link));

  // Repaired by hand.
  chmod(gone.c_str(), 0755);
  auto o3 = s.doctor("w");
  INFO(o3.out << o3.err);
  CHECK(find(o3, "working-directory", "ok", "nobody can enter " + link));
  CHECK(o3.status == 0);
}

// 4. ------------------------------------------------------------------------
TEST_CASE("doctor checks: environment-file: lines systemd reads differently, and missing files",
          "[root][doctor_checks]") {
  REQUIRE_ROOT();
  Setup s;
  std::string env = s.write("app.env",
                            "MEATS_MODE==fast\n"
                            "export MEATS_DEBUG=0\n"
                            "OTHER=1\n"
                            "GREETING=\"hello world\n");
  std::string missing = s.top + "/missing.env";
  s.unit("v.service", "[Service]\nUser=nobody\nEnvironmentFile=" + env + "\nEnvironmentFile=" + missing +
                          "\nExecStart=/bin/sleep 60\n");
  auto o = s.doctor("v");
  INFO(o.out << o.err);
  CHECK(o.status == 1);
  CHECK(count(o, "environment-file", "warning") == 3);

  const json* eq = find(o, "environment-file", "warning", env + " line 1:");
  REQUIRE(eq);
  CHECK(str(eq, "fix") == "write line 1 as: MEATS_MODE=fast");
  CHECK(any_has(eq, "evidence", env + ":1: MEATS_MODE==fast"));
  REQUIRE((*eq)["commands"].size() == 1);
  CHECK(contains((*eq)["commands"][0].get<std::string>(), "sed -i '1s/"));

  const json* ex = find(o, "environment-file", "warning", env + " line 2:");
  REQUIRE(ex);
  CHECK(str(ex, "fix") == "write line 2 as: MEATS_DEBUG=0");
  CHECK(contains(str(ex, "title"), "'export MEATS_DEBUG' is not a valid variable name"));
  REQUIRE((*ex)["commands"].size() == 1);

  const json* q = find(o, "environment-file", "warning", env + " line 4:");
  REQUIRE(q);
  CHECK(contains(str(q, "title"), "unterminated double quote"));
  CHECK(str(q, "fix") == "write line 4 as: GREETING=\"hello world\"");
  REQUIRE((*q)["commands"].size() == 1);

  const json* miss = find(o, "environment-file", "failure");
  REQUIRE(miss);
  CHECK(str(miss, "title") == "EnvironmentFile=" + missing + " cannot be read: No such file or directory");
  CHECK(str(miss, "fix") == "create it, or write EnvironmentFile=-" + missing + " if it is optional");

  // The commands doctor proposes, run as they are, make the file right.
  for (const json* c : {eq, ex, q}) {
    auto r = run_capture({"/bin/sh", "-c", (*c)["commands"][0].get<std::string>()});
    CHECK(r.status == 0);
  }
  CHECK(slurp(env) == "MEATS_MODE=fast\nMEATS_DEBUG=0\nOTHER=1\nGREETING=\"hello world\"\n");
  // And the missing file is made optional with '-'.
  s.unit("v.service", "[Service]\nUser=nobody\nEnvironmentFile=" + env + "\nEnvironmentFile=-" + missing +
                          "\nExecStart=/bin/sleep 60\n");
  auto o2 = s.doctor("v");
  INFO(o2.out << o2.err);
  CHECK(count(o2, "environment-file", "warning") == 0);
  CHECK(count(o2, "environment-file", "failure") == 0);
  CHECK(find(o2, "environment-file", "ok", env + ": 4 variables"));
  CHECK(find(o2, "environment-file", "ok", "EnvironmentFile=-" + missing + " is missing (allowed by '-')"));
  CHECK(o2.status == 0);
}

// 5. ------------------------------------------------------------------------
TEST_CASE("doctor checks: settings: an empty SECRET_KEY, a DATABASE_URL that does not parse, postgres://, no secret printed",
          "[root][doctor_checks]") {
  REQUIRE_ROOT();
  Setup s;
  const std::string key = "sk-doctor-settings-31337-secret";
  const std::string pw = "pw-doctor-settings-4242";
  int db = refused_port();
  std::string env = s.write("s.env", "SECRET_KEY=\nDATABASE_URL=postgressql://meats:" + pw + "@127.0.0.1:" +
                                         port_text(db) + "/meats\n");
  s.unit("s.service", "[Service]\nUser=nobody\nEnvironmentFile=" + env + "\nExecStart=/bin/sleep 60\n");
  auto no_secret = [&](const Output& o) {
    CHECK(!contains(o.out, key));
    CHECK(!contains(o.out, pw));
    CHECK(!contains(o.err, key));
    CHECK(!contains(o.err, pw));
  };

  auto o = s.doctor("s");
  INFO(o.out << o.err);
  CHECK(o.status == 1);
  const json* empty = find(o, "settings", "failure", "SECRET_KEY is set but empty");
  REQUIRE(empty);
  CHECK(contains(str(empty, "fix"), "set SECRET_KEY to a long random value"));
  const json* bad = find(o, "settings", "failure", "DATABASE_URL does not parse as a database URL");
  REQUIRE(bad);
  CHECK(any_has(bad, "evidence", "DATABASE_URL=postgressql://meats:"));
  CHECK(str(bad, "fix").rfind("write it in the form postgresql://USER@HOST", 0) == 0);
  CHECK(find(o, "database", "skipped", "does not parse"));
  no_secret(o);
  no_secret(s.doctor("s", {}, false));

  // A set key, and the postgres:// scheme: a warning.
  s.write("s.env", "SECRET_KEY=" + key + "\nDATABASE_URL=postgres://meats:" + pw + "@127.0.0.1:" + port_text(db) +
                       "/meats?connect_timeout=5\n");
  auto o2 = s.doctor("s");
  INFO(o2.out << o2.err);
  CHECK(count(o2, "settings", "failure") == 0);
  const json* w = find(o2, "settings", "warning");
  REQUIRE(w);
  CHECK(contains(str(w, "title"), "DATABASE_URL uses the postgres:// scheme"));
  CHECK(str(w, "fix") == "write postgresql:// instead of postgres://");
  CHECK(any_has(w, "evidence", "DATABASE_URL=postgres://meats:***@127.0.0.1:" + port_text(db) + "/meats"));
  no_secret(o2);
  auto t2 = s.doctor("s", {}, false);
  CHECK(contains(t2.out, "postgres://meats:***@"));
  no_secret(t2);

  // Repaired.
  s.write("s.env", "SECRET_KEY=" + key + "\nDATABASE_URL=postgresql://meats:" + pw + "@127.0.0.1:" + port_text(db) +
                       "/meats?connect_timeout=5\n");
  auto o3 = s.doctor("s");
  INFO(o3.out << o3.err);
  CHECK(find(o3, "settings", "ok", "DATABASE_URL parses"));
  CHECK(count(o3, "settings", "failure") == 0);
  CHECK(count(o3, "settings", "warning") == 0);
  no_secret(o3);
  no_secret(s.doctor("s", {}, false));
}

// 6a/6d. --------------------------------------------------------------------
TEST_CASE("doctor checks: import: a missing module names it and the pip fix, the healthy app imports as nobody",
          "[root][doctor_checks]") {
  REQUIRE_GUNICORN();
  Setup s;
  std::string bind = "127.0.0.1:" + port_text(free_port());
  s.unit("i.service", "[Service]\nUser=nobody\nWorkingDirectory=" + kFlaskApp + "\nExecStart=/usr/bin/gunicorn -b " +
                          bind + " broken_import:app\n");
  auto o = s.doctor("i");
  INFO(o.out << o.err);
  CHECK(o.status == 1);
  const json* k = find(o, "import", "failure");
  REQUIRE(k);
  CHECK(str(k, "title") ==
        "Python module 'rest_framework' is missing for /usr/bin/python3 (broken_import:app does not import)");
  CHECK(any_has(k, "evidence", "ModuleNotFoundError: No module named 'rest_framework'"));
  CHECK(any_has(k, "evidence", kFlaskApp + "/broken_import.py"));
  CHECK(str(k, "fix").rfind("/usr/bin/python3 -m pip install djangorestframework", 0) == 0);

  s.unit("i.service", "[Service]\nUser=nobody\nWorkingDirectory=" + kFlaskApp + "\nExecStart=/usr/bin/gunicorn -b " +
                          bind + " app:app\n");
  auto o2 = s.doctor("i");
  INFO(o2.out << o2.err);
  const json* ok = find(o2, "import", "ok");
  REQUIRE(ok);
  CHECK(str(ok, "title").rfind("app:app imports as nobody with /usr/bin/python3 in " + kFlaskApp + " (", 0) == 0);
  CHECK(o2.status == 0);
}

// 6b. -----------------------------------------------------------------------
TEST_CASE("doctor checks: import: Django settings that raise at import (no SECRET_KEY)", "[root][doctor_checks]") {
  REQUIRE_GUNICORN();
  Setup s;
  std::string env = s.write("dj.env", "DATABASE_URL=postgresql://meats:pw@127.0.0.1:" + port_text(refused_port()) +
                                          "/meats?connect_timeout=2\n");
  s.unit("dj.service", "[Service]\nUser=nobody\nWorkingDirectory=" + kDjangoApp + "\nEnvironmentFile=" + env +
                           "\nExecStart=/usr/bin/gunicorn -b 127.0.0.1:" + port_text(free_port()) +
                           " meats.wsgi:application\n");
  auto o = s.doctor("dj");
  INFO(o.out << o.err);
  CHECK(o.status == 1);
  const json* k = find(o, "import", "failure");
  REQUIRE(k);
  CHECK(str(k, "title") == "meats.wsgi:application does not import as nobody with /usr/bin/python3 in " + kDjangoApp +
                               ": KeyError: 'SECRET_KEY'");
  CHECK(any_has(k, "evidence", kDjangoApp + "/meats/settings.py"));
  CHECK(contains(str(k, "fix"), "cd " + kDjangoApp + " && sudo -u nobody /usr/bin/python3 -c 'import meats.wsgi'"));
  CHECK(find(o, "settings", "warning", "SECRET_KEY is not in the unit's environment"));

  s.write("dj.env", "SECRET_KEY=sk-doctor-import-7777777\nDATABASE_URL=postgresql://meats:pw@127.0.0.1:" +
                        port_text(refused_port()) + "/meats?connect_timeout=2\n");
  auto o2 = s.doctor("dj");
  INFO(o2.out << o2.err);
  CHECK(find(o2, "import", "ok", "meats.wsgi:application imports as nobody"));
  CHECK(count(o2, "settings", "warning") == 0);
}

namespace {
// Processes of nobody whose working directory is `dir` (a probe left behind).
int nobody_procs_in(const std::string& dir) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    struct stat st{};
    if (stat(e.path().c_str(), &st) != 0 || st.st_uid != kNobody) continue;
    std::error_code ec2;
    auto cwd = std::filesystem::read_symlink(e.path() / "cwd", ec2);
    n += !ec2 && cwd == dir;
  }
  return n;
}
}  // namespace

// 6c. -----------------------------------------------------------------------
TEST_CASE("doctor checks: import: a database connect at import that stalls hits --import-timeout",
          "[root][doctor_checks]") {
  REQUIRE_GUNICORN();
  Setup s;
  StalledPort stalled;
  REQUIRE(stalled.ok());
  std::string env = s.write("dj.env", "SECRET_KEY=sk-doctor-stall-55555555\nPM_CONNECT_AT_IMPORT=1\n"
                                      "DATABASE_URL=postgresql://meats:pw-stall-1@127.0.0.1:" +
                                          port_text(stalled.port()) + "/meats\n");
  s.unit("st.service", "[Service]\nUser=nobody\nWorkingDirectory=" + kDjangoApp + "\nEnvironmentFile=" + env +
                           "\nExecStart=/usr/bin/gunicorn -b 127.0.0.1:" + port_text(free_port()) +
                           " meats.wsgi:application\n");
  auto start = std::chrono::steady_clock::now();
  auto o = s.doctor("st", {"--import-timeout", "3s"});
  auto took = std::chrono::steady_clock::now() - start;
  INFO(o.out << o.err);
  CHECK(o.status == 1);
  CHECK(took < std::chrono::seconds(15));
  const json* k = find(o, "import", "failure");
  REQUIRE(k);
  CHECK(str(k, "title") == "meats.wsgi:application did not finish importing within 3 s as nobody with /usr/bin/python3 in " +
                               kDjangoApp);
  CHECK(contains(str(k, "fix"), "connect_timeout=5 in DATABASE_URL"));
  // The system call it sat in (libpq waits in poll() for the connect).
  if (!(*k)["evidence"].empty()) {
    std::string e = (*k)["evidence"][0].get<std::string>();
    CHECK(e.rfind("it was in ", 0) == 0);
    CHECK(contains(e, "() when stopped"));
    CHECK((contains(e, "poll") || contains(e, "select") || contains(e, "connect")));
  }
  CHECK(find(o, "database", "failure", "did not answer within"));
  CHECK(!contains(o.out, "pw-stall-1"));
  // The probe is gone: nothing of nobody's is left in the app directory.
  int left = 1;
  for (int i = 0; i < 20 && (left = nobody_procs_in(kDjangoApp)) > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(left == 0);

  // Repaired: a database that answers.
  Postgres pg;
  REQUIRE_POSTGRES(pg);
  s.write("dj.env", "SECRET_KEY=sk-doctor-stall-55555555\nPM_CONNECT_AT_IMPORT=1\nDATABASE_URL=" + pg.url() +
                        "?connect_timeout=5\n");
  auto o2 = s.doctor("st", {"--import-timeout", "3s"});
  INFO(o2.out << o2.err);
  CHECK(find(o2, "import", "ok", "meats.wsgi:application imports as nobody"));
  CHECK(find(o2, "database", "ok", "accepts connections"));
  CHECK(o2.status == 0);
}

// 7. ------------------------------------------------------------------------
TEST_CASE("doctor checks: writable: gunicorn's log and pid files and Django's MEDIA_ROOT, with nobody's credentials",
          "[root][doctor_checks]") {
  REQUIRE_GUNICORN();
  Setup s;
  std::string logs = s.mkdir_("logs", 0755);  // root's
  std::string error_log = logs + "/error.log";
  std::string old_log = s.write("logs/old.log", "earlier run\n", 0644);
  std::string logs_name = "pmtrace-doctor-" + std::to_string(getpid()) + "-w";
  std::string var_log = "/var/log/" + logs_name;
  REQUIRE(access(var_log.c_str(), F_OK) != 0);
  std::string access_log = var_log + "/access.log";
  std::string pid_dir = s.top + "/run/gunicorn";
  std::string pid_file = pid_dir + "/gunicorn.pid";
  std::string bind = "127.0.0.1:" + port_text(free_port());
  auto write_unit = [&](const std::string& error, const std::string& extra) {
    s.unit("wr.service", "[Service]\nUser=nobody\nWorkingDirectory=" + kFlaskApp + "\n" + extra +
                             "ExecStart=/usr/bin/gunicorn -b " + bind + " --error-logfile " + error +
                             " --access-logfile " + access_log + " --pid " + pid_file + " app:app\n");
  };
  write_unit(error_log, "");
  auto o = s.doctor("wr");
  INFO(o.out << o.err);
  CHECK(o.status == 1);
  CHECK(count(o, "writable", "failure") == 3);

  const json* el = find(o, "writable", "failure", "--error-logfile");
  REQUIRE(el);
  CHECK(str(el, "title") == "nobody cannot create --error-logfile " + error_log + " in " + logs);
  CHECK(any_has(el, "evidence", logs + ": 0755 root:root"));
  CHECK(str(el, "fix").rfind("install -o nobody -g nogroup -m 0640 /dev/null " + error_log, 0) == 0);
  CHECK(any_has(el, "commands", "install -o nobody -g nogroup -m 0640 /dev/null " + error_log));

  const json* al = find(o, "writable", "failure", "--access-logfile");
  REQUIRE(al);
  CHECK(str(al, "title") == "--access-logfile " + access_log + ": its directory " + var_log + " does not exist");
  CHECK(any_has(al, "unit_settings", "[Service] LogsDirectory=" + logs_name));
  CHECK(str(al, "fix").rfind("LogsDirectory=" + logs_name + " in [Service]", 0) == 0);

  const json* pf = find(o, "writable", "failure", "--pid");
  REQUIRE(pf);
  CHECK(str(pf, "title") == "--pid " + pid_file + ": its directory " + pid_dir + " does not exist");
  CHECK(str(pf, "fix") == "install -d -o nobody -g nogroup -m 0750 " + pid_dir);
  CHECK(any_has(pf, "commands", "install -d -o nobody -g nogroup -m 0750 " + pid_dir));

  // An existing log file of root's: the one file is chowned.
  write_unit(old_log, "");
  auto o2 = s.doctor("wr");
  INFO(o2.out << o2.err);
  const json* ol = find(o2, "writable", "failure", "--error-logfile");
  REQUIRE(ol);
  CHECK(str(ol, "title") == "nobody cannot write --error-logfile " + old_log);
  CHECK(any_has(ol, "evidence", old_log + ": 0644 root:root"));
  CHECK(str(ol, "fix").rfind("chown nobody:nogroup " + old_log, 0) == 0);
  CHECK(any_has(ol, "commands", "chown nobody:nogroup " + old_log));

  // Repaired by hand as doctor says; /var/log is left alone (LogsDirectory=).
  REQUIRE(chown(old_log.c_str(), kNobody, kNogroup) == 0);
  s.mkdir_("run", 0755);
  s.mkdir_("run/gunicorn", 0750, kNobody, kNogroup);
  write_unit(old_log, "LogsDirectory=" + logs_name + "\n");
  auto o3 = s.doctor("wr");
  INFO(o3.out << o3.err);
  CHECK(count(o3, "writable", "failure") == 0);
  CHECK(find(o3, "writable", "ok", "nobody can write --error-logfile " + old_log));
  CHECK(find(o3, "writable", "ok", "systemd makes " + var_log + " for nobody at start (LogsDirectory=" + logs_name + ")"));
  CHECK(find(o3, "writable", "ok", "nobody can create --pid " + pid_file));
  CHECK(o3.status == 0);
  CHECK(access(var_log.c_str(), F_OK) != 0);
}

TEST_CASE("doctor checks: writable: Django's MEDIA_ROOT, learned from the app's settings", "[root][doctor_checks]") {
  REQUIRE_GUNICORN();
  Setup s;
  std::string uploads = s.mkdir_("uploads", 0755);  // root's
  std::string env = s.write("dj.env", "SECRET_KEY=sk-doctor-media-1234567\nDATABASE_URL=postgresql://meats:pw@127.0.0.1:" +
                                          port_text(refused_port()) + "/meats?connect_timeout=2\nMEATS_UPLOADS=" +
                                          uploads + "\n");
  s.unit("md.service", "[Service]\nUser=nobody\nWorkingDirectory=" + kDjangoApp + "\nEnvironmentFile=" + env +
                           "\nExecStart=/usr/bin/gunicorn -b 127.0.0.1:" + port_text(free_port()) +
                           " meats.wsgi:application\n");
  auto o = s.doctor("md");
  INFO(o.out << o.err);
  CHECK(!contains(slurp(env), "MEDIA_ROOT"));  // only Django's settings know the name
  CHECK(find(o, "import", "ok"));
  // Uploads fail, the start does not: a warning; only the app names the directory, so the chown is for a
  // person to confirm, not in the script.
  const json* k = find(o, "writable", "warning", "MEDIA_ROOT");
  REQUIRE(k);
  CHECK(str(k, "title") == "nobody cannot write MEDIA_ROOT " + uploads);
  CHECK(any_has(k, "evidence", uploads + ": 0755 root:root"));
  CHECK(str(k, "fix").rfind("chown nobody:nogroup " + uploads, 0) == 0);
  CHECK(contains(str(k, "fix"), "not in the fix script: only the app's settings name"));
  CHECK((*k)["commands"].empty());

  REQUIRE(chown(uploads.c_str(), kNobody, kNogroup) == 0);
  auto o2 = s.doctor("md");
  INFO(o2.out << o2.err);
  CHECK(find(o2, "writable", "ok", "nobody can write MEDIA_ROOT " + uploads));
  CHECK(count(o2, "writable", "failure") == 0);
}

// 8. ------------------------------------------------------------------------
TEST_CASE("doctor checks: bind: a port held by another process, a socket's missing directory, port 80",
          "[root][doctor_checks]") {
  REQUIRE_GUNICORN();
  Setup s;
  int port = free_port();
  Child holder({kSystemPython, "-c",
                "import socket, time\ns = socket.socket()\ns.bind(('127.0.0.1', " + port_text(port) +
                    "))\ns.listen(8)\ntime.sleep(120)\n"});
  REQUIRE(holder.pid > 0);
  REQUIRE(wait_listening(port, 10000));
  std::string bind = "127.0.0.1:" + port_text(port);
  auto unit = [&](const std::string& binds) {
    s.unit("b.service", "[Service]\nUser=nobody\nWorkingDirectory=" + kFlaskApp + "\nExecStart=/usr/bin/gunicorn " +
                            binds + " app:app\n");
  };
  unit("-b " + bind);
  auto o = s.doctor("b");
  INFO(o.out << o.err);
  CHECK(o.status == 1);
  const json* k = find(o, "bind", "failure");
  REQUIRE(k);
  CHECK(str(k, "title") == bind + " is already in use by python3 (pid " + std::to_string(holder.pid) + ")");
  CHECK(any_has(k, "evidence", "bind(" + bind + "): EADDRINUSE"));
  CHECK(any_has(k, "evidence", "listening on port " + port_text(port) + ": python3 (pid " + std::to_string(holder.pid) + ")"));
  CHECK(contains(str(k, "fix"), "stop python3 (pid " + std::to_string(holder.pid) + ")"));
  holder.stop();
  auto o2 = s.doctor("b");
  INFO(o2.out << o2.err);
  CHECK(find(o2, "bind", "ok", bind + " is free"));
  CHECK(o2.status == 0);

  // A unix socket whose directory is missing.
  std::string sock_dir = s.top + "/sock", sock = sock_dir + "/gunicorn.sock";
  unit("-b unix:" + sock);
  auto o3 = s.doctor("b");
  INFO(o3.out << o3.err);
  const json* u = find(o3, "bind", "failure");
  REQUIRE(u);
  CHECK(str(u, "title") == "gunicorn's socket " + sock + ": its directory " + sock_dir + " does not exist");
  CHECK(str(u, "fix") == "install -d -o nobody -g nogroup -m 0750 " + sock_dir);
  s.mkdir_("sock", 0750, kNobody, kNogroup);
  auto o4 = s.doctor("b");
  INFO(o4.out << o4.err);
  CHECK(find(o4, "bind", "ok", "nobody can create gunicorn's socket " + sock));

  // Port 80 for nobody.
  unit("-b 127.0.0.1:80");
  auto o5 = s.doctor("b");
  INFO(o5.out << o5.err);
  const json* p = find(o5, "bind", "failure");
  REQUIRE(p);
  CHECK(str(p, "title") == "nobody may not bind port 80 (below 1024)");
  CHECK(str(p, "fix").rfind("AmbientCapabilities=CAP_NET_BIND_SERVICE in [Service]", 0) == 0);
  // Repaired the other way the fix offers: a port above 1023.
  int high = free_port();
  unit("-b 127.0.0.1:" + port_text(high));
  auto o6 = s.doctor("b");
  INFO(o6.out << o6.err);
  CHECK(find(o6, "bind", "ok", "127.0.0.1:" + port_text(high) + " is free"));
}

// 9. ------------------------------------------------------------------------
TEST_CASE("doctor checks: database: a real PostgreSQL, a stalled port, a refused port", "[root][doctor_checks]") {
  REQUIRE_ROOT();
  Setup s;
  Postgres pg;
  REQUIRE_POSTGRES(pg);
  StalledPort stalled;
  REQUIRE(stalled.ok());
  int refused = refused_port();
  std::string env = s.top + "/db.env";
  s.unit("db.service", "[Service]\nUser=nobody\nEnvironmentFile=" + env + "\nExecStart=/bin/sleep 60\n");
  auto with_url = [&](const std::string& url) {
    s.write("db.env", "DATABASE_URL=" + url + "\n");
    return s.doctor("db");
  };

  auto o = with_url(pg.url() + "?connect_timeout=5");
  INFO(o.out << o.err);
  CHECK(find(o, "database", "ok", "PostgreSQL at 127.0.0.1:" + port_text(pg.port()) + " accepts connections"));
  CHECK(o.status == 0);

  std::string base = std::string("postgresql://meats:") + Postgres::kPassword + "@127.0.0.1:";
  auto o2 = with_url(base + port_text(stalled.port()) + "/meats");
  INFO(o2.out << o2.err);
  CHECK(o2.status == 1);
  const json* st = find(o2, "database", "failure");
  REQUIRE(st);
  CHECK(str(st, "title") == "PostgreSQL at 127.0.0.1:" + port_text(stalled.port()) + " did not answer within 2000 ms");
  CHECK(any_has(st, "evidence", "connect(127.0.0.1:" + port_text(stalled.port()) + "): no answer"));
  CHECK(contains(str(st, "fix"), "connect_timeout=5"));

  auto o3 = with_url(base + port_text(refused) + "/meats");
  INFO(o3.out << o3.err);
  CHECK(o3.status == 1);
  const json* rf = find(o3, "database", "failure");
  REQUIRE(rf);
  CHECK(str(rf, "title") == "PostgreSQL at 127.0.0.1:" + port_text(refused) + " refused the connection");
  CHECK(any_has(rf, "evidence", "Connection refused"));
  CHECK(contains(str(rf, "fix"), "start the database"));
  for (const auto* out : {&o, &o2, &o3}) CHECK(!contains(out->out, Postgres::kPassword));
}

// 10. -----------------------------------------------------------------------
TEST_CASE("doctor checks: notify: shell wrappers under Type=notify, gunicorn -D under Type=simple",
          "[root][doctor_checks]") {
  REQUIRE_GUNICORN();
  Setup s;
  std::string gun = "/usr/bin/gunicorn -b 127.0.0.1:" + port_text(free_port()) + " app:app";
  std::string wrap = s.write("start.sh", "#!/bin/sh\n" + gun + "\n", 0755);
  auto unit = [&](const std::string& extra) {
    s.unit("n.service", "[Service]\nType=notify\n" + extra + "User=nobody\nWorkingDirectory=" + kFlaskApp +
                            "\nExecStart=" + wrap + "\n");
  };
  unit("");
  auto o = s.doctor("n");
  INFO(o.out << o.err);
  CHECK(o.status == 1);
  const json* k = find(o, "notify", "failure");
  REQUIRE(k);
  CHECK(contains(str(k, "title"), "Type=notify, but " + wrap + " runs gunicorn without exec"));
  CHECK(contains(str(k, "title"), "NotifyAccess=main drops it"));
  CHECK(any_has(k, "evidence", wrap + ":2: " + gun));
  CHECK(any_has(k, "unit_settings", "[Service] NotifyAccess=all"));
  CHECK(contains(str(k, "fix"), "write `exec gunicorn ...` in " + wrap));

  // With NotifyAccess=all as the fix says, or with exec.
  unit("NotifyAccess=all\n");
  auto o2 = s.doctor("n");
  INFO(o2.out << o2.err);
  CHECK(find(o2, "notify", "ok", wrap + " runs gunicorn with NotifyAccess=all"));
  s.write("start.sh", "#!/bin/sh\nexec " + gun + "\n", 0755);
  unit("");
  auto o3 = s.doctor("n");
  INFO(o3.out << o3.err);
  CHECK(find(o3, "notify", "ok", "Type=notify: " + wrap + " execs gunicorn"));
  CHECK(o3.status == 0);

  // A wrapper that drops NOTIFY_SOCKET, even with exec.
  s.write("start.sh", "#!/bin/sh\nunset NOTIFY_SOCKET\nexec " + gun + "\n", 0755);
  auto o4 = s.doctor("n");
  INFO(o4.out << o4.err);
  const json* d = find(o4, "notify", "failure");
  REQUIRE(d);
  CHECK(contains(str(d, "title"), wrap + " drops NOTIFY_SOCKET before starting gunicorn"));
  CHECK(any_has(d, "evidence", wrap + ":2: unset NOTIFY_SOCKET"));
  CHECK(contains(str(d, "fix"), "remove the unset / env -i"));

  // gunicorn -D under Type=simple.
  s.unit("d.service", "[Service]\nType=simple\nUser=nobody\nWorkingDirectory=" + kFlaskApp +
                          "\nExecStart=/usr/bin/gunicorn -D -b 127.0.0.1:" + port_text(free_port()) + " app:app\n");
  auto o5 = s.doctor("d");
  INFO(o5.out << o5.err);
  CHECK(o5.status == 1);
  const json* dm = find(o5, "notify", "failure");
  REQUIRE(dm);
  CHECK(contains(str(dm, "title"), "gunicorn -D (daemon) under Type=simple"));
  CHECK(contains(str(dm, "fix"), "drop -D/--daemon"));
  s.unit("d.service", "[Service]\nType=simple\nUser=nobody\nWorkingDirectory=" + kFlaskApp +
                          "\nExecStart=/usr/bin/gunicorn -b 127.0.0.1:" + port_text(free_port()) + " app:app\n");
  auto o6 = s.doctor("d");
  INFO(o6.out << o6.err);
  CHECK(find(o6, "notify", "ok", "Type=simple"));
  CHECK(o6.status == 0);
}

// 11. -----------------------------------------------------------------------
TEST_CASE("doctor checks: start-timeout: --preload under Type=notify with a database connect without a timeout",
          "[root][doctor_checks]") {
  REQUIRE_GUNICORN();
  Setup s;
  // A database on another host (a name: doctor connects nowhere off this machine): its SYNs can be lost on
  // the way, unlike on loopback, where a database that is down refuses at once.
  std::string url = "postgresql://meats:pw-start-1@db.internal:5432/meats";
  std::string env = s.write("st.env", "SECRET_KEY=sk-doctor-start-timeout-1\nDATABASE_URL=" + url + "\n");
  s.unit("t.service", "[Service]\nType=notify\nUser=nobody\nTimeoutStartSec=30s\nWorkingDirectory=" + kFlaskApp +
                          "\nEnvironmentFile=" + env + "\nExecStart=/usr/bin/gunicorn --preload --timeout 30 -b 127.0.0.1:" +
                          port_text(free_port()) + " app:app\n");
  auto o = s.doctor("t");
  INFO(o.out << o.err);
  const json* k = find(o, "start-timeout", "warning");
  REQUIRE(k);
  CHECK(contains(str(k, "title"), "--preload with TimeoutStartSec 30 s: a database connect at import can take"));
  CHECK(any_has(k, "evidence", "DATABASE_URL has no connect_timeout"));
  CHECK(str(k, "fix").rfind("append ?connect_timeout=10 to DATABASE_URL (" + env + " line 2)", 0) == 0);
  REQUIRE((*k)["commands"].size() == 1);
  std::string sed = (*k)["commands"][0].get<std::string>();
  CHECK(sed.rfind("LC_ALL=C sed -i '2s/", 0) == 0);
  CHECK(!contains(sed, "pw-start-1"));
  CHECK(!contains(o.out, "pw-start-1"));

  // The command as proposed: the URL gets its timeout, the warning goes.
  auto r = run_capture({"/bin/sh", "-c", sed});
  CHECK(r.status == 0);
  CHECK(slurp(env) == "SECRET_KEY=sk-doctor-start-timeout-1\nDATABASE_URL=" + url + "?connect_timeout=10\n");
  auto o2 = s.doctor("t");
  INFO(o2.out << o2.err);
  CHECK(find(o2, "start-timeout", "ok", "inside TimeoutStartSec 30 s"));

  // And connect_timeout=5 written by hand.
  s.write("st.env", "SECRET_KEY=sk-doctor-start-timeout-1\nDATABASE_URL=" + url + "?connect_timeout=5\n");
  auto o3 = s.doctor("t");
  INFO(o3.out << o3.err);
  CHECK(find(o3, "start-timeout", "ok", "a database connect at import ends within 5 s, inside TimeoutStartSec 30 s"));
  CHECK(o3.status == 0);
  CHECK(o3.lines.back()["warnings"] == 0);
}

// 12. -----------------------------------------------------------------------
TEST_CASE("doctor checks: worker-timeout: --slowest-request against gunicorn's --timeout", "[root][doctor_checks]") {
  REQUIRE_GUNICORN();
  Setup s;
  s.unit("wt.service", "[Service]\nUser=nobody\nWorkingDirectory=" + kFlaskApp +
                           "\nExecStart=/usr/bin/gunicorn --timeout 30 -b 127.0.0.1:" + port_text(free_port()) +
                           " app:app\n");
  auto o = s.doctor("wt", {"--slowest-request", "45s"});
  INFO(o.out << o.err);
  CHECK(o.status == 1);
  const json* k = find(o, "worker-timeout", "failure");
  REQUIRE(k);
  CHECK(str(k, "title") == "the slowest request takes 45 s, longer than --timeout 30 s: the master aborts the worker in "
                           "the middle of it (WORKER TIMEOUT, SIGABRT)");
  CHECK(any_has(k, "evidence", "--slowest-request 45 s"));
  CHECK(contains(str(k, "fix"), "--timeout 90"));

  auto o2 = s.doctor("wt", {"--slowest-request", "10s"});
  INFO(o2.out << o2.err);
  CHECK(find(o2, "worker-timeout", "ok", "the slowest request (10 s) ends inside --timeout 30 s"));
  CHECK(o2.status == 0);
}

// 13. -----------------------------------------------------------------------
TEST_CASE("doctor checks: restart-limit: Restart= without a start limit that can trip", "[root][doctor_checks]") {
  REQUIRE_ROOT();
  Setup s;
  s.unit("r.service", "[Service]\nUser=nobody\nRestart=always\nRestartSec=10\nExecStart=/bin/sleep 60\n");
  auto o = s.doctor("r");
  INFO(o.out << o.err);
  const json* k = find(o, "restart-limit", "warning");
  REQUIRE(k);
  CHECK(contains(str(k, "title"), "5 starts RestartSec=10 s apart take 40 s, never inside StartLimitIntervalSec=10 s"));
  CHECK(any_has(k, "unit_settings", "[Unit] StartLimitIntervalSec=100"));
  CHECK(any_has(k, "unit_settings", "[Unit] StartLimitBurst=5"));
  CHECK(str(k, "fix").rfind("StartLimitIntervalSec=100 and StartLimitBurst=5 in [Unit]", 0) == 0);
  // Those settings, as the fix gives them, satisfy the check.
  s.unit("r.service", "[Unit]\nStartLimitIntervalSec=100\nStartLimitBurst=5\n[Service]\nUser=nobody\nRestart=always\n"
                      "RestartSec=10\nExecStart=/bin/sleep 60\n");
  auto o1 = s.doctor("r");
  INFO(o1.out << o1.err);
  CHECK(find(o1, "restart-limit", "ok"));

  s.unit("r.service", "[Unit]\nStartLimitIntervalSec=0\n[Service]\nUser=nobody\nRestart=on-failure\nExecStart=/bin/sleep 60\n");
  auto o2 = s.doctor("r");
  INFO(o2.out << o2.err);
  const json* z = find(o2, "restart-limit", "warning");
  REQUIRE(z);
  CHECK(contains(str(z, "title"), "StartLimitIntervalSec=0 turns the limit off"));
  CHECK(any_has(z, "unit_settings", "[Unit] StartLimitIntervalSec=60"));

  s.unit("r.service", "[Service]\nUser=nobody\nRestart=on-failure\nExecStart=/bin/sleep 60\n");
  auto o3 = s.doctor("r");
  INFO(o3.out << o3.err);
  CHECK(find(o3, "restart-limit", "ok", "Restart=on-failure with StartLimitBurst=5 in StartLimitIntervalSec=10 s"));
  CHECK(o3.status == 0);
  CHECK(o3.lines.back()["warnings"] == 0);
}

// 14. -----------------------------------------------------------------------
TEST_CASE("doctor checks: app-checks and migrations: Django against a fresh PostgreSQL, then migrated",
          "[root][doctor_checks]") {
  REQUIRE_GUNICORN();
  Setup s;
  Postgres pg;
  REQUIRE_POSTGRES(pg);
  const std::string key = "sk-doctor-migrations-0123456789";
  const std::string apps = "django.contrib.contenttypes django.contrib.auth";
  std::string env = s.write("dj.env", "SECRET_KEY=" + key + "\nDATABASE_URL=" + pg.url() +
                                          "?connect_timeout=5\nMEATS_INSTALLED_APPS=\"" + apps + "\"\n");
  s.unit("mg.service", "[Service]\nUser=nobody\nWorkingDirectory=" + kDjangoApp + "\nEnvironmentFile=" + env +
                           "\nExecStart=/usr/bin/gunicorn -b 127.0.0.1:" + port_text(free_port()) +
                           " meats.wsgi:application\n");
  // Without --run-app-checks the app's own checks do not run.
  auto o0 = s.doctor("mg");
  INFO(o0.out << o0.err);
  CHECK(find(o0, "import", "ok"));
  CHECK(find(o0, "app-checks", "skipped", "run with --run-app-checks"));
  CHECK(count(o0, "migrations", "failure") + count(o0, "migrations", "ok") == 0);

  auto o = s.doctor("mg", {"--run-app-checks"});
  INFO(o.out << o.err);
  CHECK(o.status == 1);
  const json* m = find(o, "migrations", "failure");
  REQUIRE(m);
  CHECK(contains(str(m, "title"), "migrations are not applied"));
  CHECK(any_has(m, "evidence", "contenttypes.0001_initial"));
  CHECK(any_has(m, "evidence", "auth.0001_initial"));
  CHECK(contains(str(m, "fix"), "cd " + kDjangoApp + " && sudo -u nobody /usr/bin/python3 manage.py migrate"));
  const json* w = find(o, "app-checks", "warning");
  REQUIRE(w);
  CHECK(any_has(w, "evidence", "security.W0"));
  CHECK(contains(str(w, "title"), "manage.py check --deploy:"));
  CHECK(!contains(o.out, key));
  CHECK(!contains(o.out, Postgres::kPassword));

  // Migrated by hand, with the unit's environment.
  auto r = run_capture({kSystemPython, kDjangoApp + "/manage.py", "migrate", "--noinput"},
                       {"SECRET_KEY=" + key, "DATABASE_URL=" + pg.url(), "MEATS_INSTALLED_APPS=" + apps,
                        "DJANGO_SETTINGS_MODULE=meats.settings", "PYTHONDONTWRITEBYTECODE=1"});
  INFO(r.output);
  REQUIRE(r.status == 0);
  auto o2 = s.doctor("mg", {"--run-app-checks"});
  INFO(o2.out << o2.err);
  CHECK(find(o2, "migrations", "ok", "every migration is applied"));
  CHECK(find(o2, "app-checks", "warning", "security.W0"));
  CHECK(count(o2, "migrations", "failure") == 0);
}

// 15. -----------------------------------------------------------------------
TEST_CASE("doctor checks: the fix script repairs what can be fixed offline, without writing a secret",
          "[root][doctor_checks]") {
  REQUIRE_GUNICORN();
  Setup s;
  const std::string key = "sk-doctor-fixscript-secret-42";
  const std::string pw = "pw-fixscript-777";
  std::string logs_name = "pmtrace-doctor-" + std::to_string(getpid()) + "-fix";
  std::string var_log = "/var/log/" + logs_name;
  REQUIRE(access(var_log.c_str(), F_OK) != 0);

  // A: gunicorn itself: its paths, a shell-style environment file, Restart=.
  std::string logs = s.mkdir_("logs", 0755);
  std::string env_a = s.write("a.env", "export SECRET_KEY=" + key + "\nMEATS_MODE==fast\nexport MEATS_DEBUG=0\n"
                                       "DATABASE_URL=postgresql://meats:" + pw + "@db.internal:5432" +
                                       "/meats\nGREETING=\"hello world\n");
  s.unit("fa.service", "[Service]\nUser=nobody\nRestart=always\nRestartSec=10\nWorkingDirectory=" + kFlaskApp +
                           "\nEnvironmentFile=" + env_a + "\nExecStart=/usr/bin/gunicorn -b 127.0.0.1:" +
                           port_text(free_port()) + " --error-logfile " + logs + "/error.log --access-logfile " + var_log +
                           "/access.log --pid " + s.top + "/run/gunicorn/gunicorn.pid app:app\n");
  // B: a wrapper under Type=notify without exec, a directory nobody cannot
  // enter, a start limit turned off.
  std::string wrap = s.write("start.sh", "#!/bin/sh\n/usr/bin/gunicorn --chdir " + kFlaskApp + " -b 127.0.0.1:" +
                                             port_text(free_port()) + " app:app\n", 0755);
  std::string home = s.mkdir_("home", 0700);
  std::string env_b = s.write("b.env", "SECRET_KEY=" + key + "\nexport MEATS_DEBUG=0\n");
  s.unit("fb.service", "[Unit]\nStartLimitIntervalSec=0\n[Service]\nType=notify\nUser=nobody\nRestart=on-failure\n"
                       "WorkingDirectory=" + home + "\nEnvironmentFile=" + env_b + "\nExecStart=" + wrap + "\n");

  for (const std::string name : {"fa", "fb"}) {
    DYNAMIC_SECTION(name) {
      std::string script = s.top + "/" + name + "-fix.sh";
      auto o = s.doctor(name, {"--fix-script", script});
      INFO(o.out << o.err);
      CHECK(o.status == 1);
      REQUIRE(access(script.c_str(), F_OK) == 0);
      std::string text = slurp(script);
      INFO(text);
      CHECK(!contains(text, key));
      CHECK(!contains(text, pw));
      CHECK(!contains(text, "Not fixable by a script"));
      CHECK(contains(text, s.units + "/" + name + ".service.d"));
      auto r = run_capture({"/bin/sh", script});
      INFO(r.output);
      CHECK(r.status == 0);
      auto o2 = s.doctor(name);
      INFO(o2.out << o2.err);
      CHECK(o2.status == 0);
      REQUIRE(!o2.lines.empty());
      CHECK(o2.lines.back()["failures"] == 0);
      CHECK(o2.lines.back()["warnings"] == 0);
      if (name == "fa") {
        CHECK(find(o2, "writable", "ok", "LogsDirectory=" + logs_name));
        CHECK(find(o2, "writable", "ok", "nobody can write --error-logfile " + logs + "/error.log"));
        CHECK(find(o2, "worker-timeout", "ok"));
        CHECK(slurp(env_a) == "SECRET_KEY=" + key + "\nMEATS_MODE=fast\nMEATS_DEBUG=0\nDATABASE_URL=postgresql://meats:" +
                                  pw + "@db.internal:5432" +
                                  "/meats?connect_timeout=10\nGREETING=\"hello world\"\n");
      } else {
        CHECK(find(o2, "notify", "ok", "NotifyAccess=all"));
        CHECK(find(o2, "working-directory", "ok"));
        CHECK(find(o2, "restart-limit", "ok"));
      }
    }
  }
  CHECK(access(var_log.c_str(), F_OK) != 0);
}

// ---------------------------------------------------------------------------
// Bugs in pmtrace doctor found while writing the tests above (all fixed): each
// test shows the bug on a real setup.

TEST_CASE("doctor checks: settings: a DATABASE_URL without a scheme does not print its password",
          "[root][doctor_checks]") {
  REQUIRE_ROOT();
  Setup s;
  const std::string pw = "pw-doctor-noscheme-9090";
  std::string env = s.write("s.env", "SECRET_KEY=sk-doctor-noscheme-1234567\nDATABASE_URL=meats:" + pw +
                                         "@127.0.0.1:5432/meats\n");
  s.unit("s.service", "[Service]\nUser=nobody\nEnvironmentFile=" + env + "\nExecStart=/bin/sleep 60\n");
  auto o = s.doctor("s");
  INFO(o.out << o.err);
  CHECK(find(o, "settings", "failure", "DATABASE_URL does not parse as a database URL"));
  CHECK(!contains(o.out, pw));  // was: the evidence DATABASE_URL=meats:PASSWORD@127.0.0.1:5432/meats
  auto t = s.doctor("s", {}, false);
  INFO(t.out);
  CHECK(!contains(t.out, pw));
}

TEST_CASE("doctor checks: settings: the DATABASE_URL fix keeps its PASSWORD placeholder",
          "[root][doctor_checks]") {
  REQUIRE_ROOT();
  Setup s;
  std::string env = s.write("s.env", "DATABASE_URL=postgressql://meats:pw-x-123456@127.0.0.1:5432/meats\n");
  s.unit("s.service", "[Service]\nUser=nobody\nEnvironmentFile=" + env + "\nExecStart=/bin/sleep 60\n");
  auto o = s.doctor("s");
  INFO(o.out << o.err);
  const json* k = find(o, "settings", "failure", "does not parse");
  REQUIRE(k);
  // Redaction would turn a USER:PASSWORD@ placeholder into USER:***@: the fix is worded around it.
  CHECK(str(k, "fix") == "write it in the form postgresql://USER@HOST:5432/NAME, with :PASSWORD after USER");
}

TEST_CASE("doctor checks: bind: port 80 with AmbientCapabilities=CAP_NET_BIND_SERVICE, as the fix says, passes",
          "[root][doctor_checks]") {
  REQUIRE_GUNICORN();
  Setup s;
  s.unit("b.service", "[Service]\nUser=nobody\nAmbientCapabilities=CAP_NET_BIND_SERVICE\nWorkingDirectory=" + kFlaskApp +
                          "\nExecStart=/usr/bin/gunicorn -b 127.0.0.1:80 app:app\n");
  auto o = s.doctor("b");
  INFO(o.out << o.err);
  CHECK(count(o, "bind", "failure") == 0);  // was: still "nobody may not bind port 80 (below 1024)"
  CHECK(find(o, "bind", "ok"));
}

TEST_CASE("doctor checks: exec: after doctor's chmod o+x a #! script really runs as nobody",
          "[root][doctor_checks]") {
  REQUIRE_GUNICORN();
  Setup s;
  s.mkdir_("bin");
  std::string prog = s.top + "/bin/gunicorn";
  std::filesystem::copy_file("/usr/bin/gunicorn", prog);
  chmod(prog.c_str(), 0700);
  s.unit("e.service", "[Service]\nUser=nobody\nWorkingDirectory=" + kFlaskApp + "\nExecStart=" + prog +
                          " -b 127.0.0.1:" + port_text(free_port()) + " app:app\n");
  auto o = s.doctor("e");
  INFO(o.out << o.err);
  const json* k = find(o, "exec", "failure");
  REQUIRE(k);
  for (const auto& c : (*k)["commands"]) REQUIRE(run_capture({"/bin/sh", "-c", c.get<std::string>()}).status == 0);
  auto o2 = s.doctor("e");
  INFO(o2.out << o2.err);
  auto run = run_capture(as_nobody({prog, "--version"}), {}, 20);
  INFO(run.output);
  // was: doctor said "ok" (mode 0701), but the interpreter cannot read the
  // script: "/usr/bin/python3: can't open file '...': [Errno 13] Permission denied"
  CHECK((find(o2, "exec", "ok") != nullptr) == (run.status == 0));
  CHECK(run.status == 0);
}

TEST_CASE("doctor checks: working-directory: after doctor's chmod o+x the app in it imports",
          "[root][doctor_checks]") {
  REQUIRE_GUNICORN();
  Setup s;
  std::string app = s.mkdir_("app", 0700);
  std::filesystem::copy_file(kFlaskApp + "/app.py", app + "/app.py");
  chmod((app + "/app.py").c_str(), 0644);
  s.unit("w.service", "[Service]\nUser=nobody\nWorkingDirectory=" + app + "\nExecStart=/usr/bin/gunicorn -b 127.0.0.1:" +
                          port_text(free_port()) + " app:app\n");
  auto o = s.doctor("w");
  INFO(o.out << o.err);
  const json* k = find(o, "working-directory", "failure");
  REQUIRE(k);
  for (const auto& c : (*k)["commands"]) REQUIRE(run_capture({"/bin/sh", "-c", c.get<std::string>()}).status == 0);
  auto o2 = s.doctor("w");
  INFO(o2.out << o2.err);
  CHECK(find(o2, "working-directory", "ok"));
  // was: with 0701 Python cannot list the directory, so the import fails
  // (gunicorn's worker fails to boot the same way) and doctor's fix for it is
  // "/usr/bin/python3 -m pip install app".
  CHECK(count(o2, "import", "failure") == 0);
  CHECK(!contains(o2.out, "pip install app"));
}

TEST_CASE("doctor checks: the fix script quotes the paths it writes", "[root][doctor_checks]") {
  REQUIRE_GUNICORN();
  Setup s;
  // A log directory with a space in its name.
  std::string logs = s.mkdir_("my logs", 0755);
  s.unit("q.service", "[Service]\nUser=nobody\nWorkingDirectory=" + kFlaskApp +
                          "\nExecStart=/usr/bin/gunicorn -b 127.0.0.1:" + port_text(free_port()) +
                          " \"--error-logfile=" + logs + "/error.log\" app:app\n");
  std::string script = s.top + "/q-fix.sh";
  auto o = s.doctor("q", {"--fix-script", script});
  INFO(o.out << o.err << slurp(script));
  REQUIRE(find(o, "writable", "failure", logs + "/error.log"));
  auto r = run_capture({"/bin/sh", script});
  INFO(r.output);
  CHECK(r.status == 0);  // was: install ... /dev/null TOP/my logs/error.log: "install: target 'logs/error.log': ..."

  // A MEDIA_ROOT (from the app's settings) with shell syntax in it: the
  // script, run as root, must not run it.
  std::string marker = s.top + "/ran-by-fix-script";
  std::string env = s.write("dj.env", "SECRET_KEY=sk-doctor-quote-1234567\nDATABASE_URL=postgresql://meats:pw@127.0.0.1:" +
                                          port_text(refused_port()) + "/meats?connect_timeout=2\nMEATS_UPLOADS=" + s.top +
                                          "/media$(touch " + marker + ")\n");
  s.unit("dj.service", "[Service]\nUser=nobody\nWorkingDirectory=" + kDjangoApp + "\nEnvironmentFile=" + env +
                           "\nExecStart=/usr/bin/gunicorn -b 127.0.0.1:" + port_text(free_port()) +
                           " meats.wsgi:application\n");
  std::string script2 = s.top + "/dj-fix.sh";
  auto o2 = s.doctor("dj", {"--fix-script", script2});
  INFO(o2.out << o2.err << slurp(script2));
  REQUIRE(find(o2, "writable", "warning", "MEDIA_ROOT"));
  auto r2 = run_capture({"/bin/sh", script2});
  INFO(r2.output);
  CHECK(access(marker.c_str(), F_OK) != 0);  // was: the $(touch ...) in the path runs as root
}

TEST_CASE("doctor checks: import: a wrapper that cd's into the app before running gunicorn",
          "[root][doctor_checks]") {
  REQUIRE_GUNICORN();
  Setup s;
  std::string wrap = s.write("start.sh", "#!/bin/sh\ncd " + kFlaskApp + "\nexec /usr/bin/gunicorn -b 127.0.0.1:" +
                                             port_text(free_port()) + " app:app\n", 0755);
  s.unit("c.service", "[Service]\nUser=nobody\nExecStart=" + wrap + "\n");
  auto o = s.doctor("c");
  INFO(o.out << o.err);
  // was: the import ran in / (WorkingDirectory= unset), not where the
  // wrapper's cd puts gunicorn: "Python module 'app' is missing", fix
  // "/usr/bin/python3 -m pip install app".
  CHECK(count(o, "import", "failure") == 0);
  CHECK(!contains(o.out, "pip install app"));
}
