// exec-failure on event sequences shaped like real starts: execvp's PATH
// search, a virtualenv whose interpreter was removed, systemd's 203/EXEC and
// 200/CHDIR children, and the chdir failures nobody cares about. File facts
// come from a fake lstat-style path lookup.
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

static analysis::FileFacts regular(std::uint32_t mode, std::string shebang = "") {
  analysis::FileFacts f;
  f.uid = f.gid = 1001;
  f.owner = f.group = "app";
  f.mode = mode;
  f.shebang = std::move(shebang);
  return f;
}

static analysis::FileFacts symlink_to(std::string target, bool exists) {
  analysis::FileFacts f;
  f.mode = 0120777;
  f.owner = f.group = "app";
  f.uid = f.gid = 1001;
  f.symlink = true;
  f.link_target = std::move(target);
  f.target_exists = exists;
  return f;
}

// A virtualenv made with /usr/bin/python3.9, which an upgrade removed.
static void broken_venv(Trace& t) {
  t.paths["/srv/app/venv/bin/gunicorn"] = regular(0100755, "#!/srv/app/venv/bin/python3");
  t.paths["/srv/app/venv/bin/python3"] = symlink_to("/usr/bin/python3.9", false);
}

TEST_CASE("exec-failure: execvp's PATH search that finds gunicorn later is no failure", "[rules][exec-failure]") {
  // ExecStart=/usr/bin/env gunicorn ...: env's execvp tries each PATH entry.
  Trace t;
  t.task(600, 1, "(env)");
  t.exec(600, kT0, "/usr/bin/env", {"/usr/bin/env", "gunicorn", "--workers", "2", "shop.wsgi:application"});
  t.exec_failed(600, kT0 + 300 * kUs, "/usr/local/sbin/gunicorn", ENOENT);
  t.exec_failed(600, kT0 + 320 * kUs, "/usr/local/bin/gunicorn", ENOENT);
  t.exec_failed(600, kT0 + 340 * kUs, "/usr/sbin/gunicorn", ENOENT);
  t.exec(600, kT0 + 500 * kUs, "/usr/bin/gunicorn",
         {"/usr/bin/python3", "/usr/bin/gunicorn", "--workers", "2", "shop.wsgi:application"}, "/usr/bin/python3");
  REQUIRE(t.agg.process(600)->role == analysis::Role::gunicorn_master);
  t.bind(600, kT0 + 380 * kMs, 5, inet("127.0.0.1", 8000));
  t.fork(600, kT0 + 400 * kMs, 601);
  t.heartbeat(601, kT0 + 1200 * kMs);

  CHECK(t.agg.exec_failures().size() == 3);
  CHECK(rules::exec_failure(t.agg).empty());
  INFO(titles(rules::run_rules(t.agg)));
  CHECK(rules::run_rules(t.agg).empty());
}

TEST_CASE("exec-failure: a virtualenv whose python is a dangling symlink, last in the PATH search", "[rules][exec-failure]") {
  // PATH=/usr/local/bin:/srv/app/venv/bin; env gives up: exit 127.
  Trace t;
  broken_venv(t);
  t.task(600, 1, "(env)");
  t.exec(600, kT0, "/usr/bin/env", {"/usr/bin/env", "gunicorn", "shop.wsgi:application"});
  t.exec_failed(600, kT0 + 300 * kUs, "/usr/local/bin/gunicorn", ENOENT);
  Event last = t.exec_failed(600, kT0 + 330 * kUs, "/srv/app/venv/bin/gunicorn", ENOENT);
  t.write(600, kT0 + 400 * kUs, 2, "/usr/bin/env: 'gunicorn': No such file or directory\n");
  t.exit(600, kT0 + 450 * kUs, 127 << 8);

  auto f = rules::exec_failure(t.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].severity == rules::Severity::failure);
  CHECK(f[0].title == "/srv/app/venv/bin/gunicorn exists, but its interpreter /srv/app/venv/bin/python3 does not");
  INFO(facts_text(f[0]));
  CHECK(has_fact(f[0], "/srv/app/venv/bin/gunicorn starts with #!/srv/app/venv/bin/python3"));
  CHECK(has_fact(f[0], "/srv/app/venv/bin/python3 -> /usr/bin/python3.9, which no longer exists"));
  CHECK(f[0].fix.find("recreate the virtualenv with an interpreter that exists (python3 -m venv --clear DIR") == 0);
  CHECK(contains(f[0].explanation, "#! line"));
  REQUIRE(f[0].evidence.size() == 2);
  CHECK(f[0].evidence[0].hdr.ts_ns == last.hdr.ts_ns);
  CHECK(f[0].evidence[0].as<ExecFailed>()->filename == "/srv/app/venv/bin/gunicorn");
  CHECK(f[0].evidence[1].hdr.type == EventType::exit);
  CHECK(f[0].evidence[1].as<Exit>()->code() == 127);
}

TEST_CASE("exec-failure: systemd's ExecStart= of the broken virtualenv exits 203/EXEC", "[rules][exec-failure]") {
  Trace t;
  broken_venv(t);
  t.task(700, 1, "(gunicorn)");
  t.exec_failed(700, kT0, "/srv/app/venv/bin/gunicorn", ENOENT);
  t.exit(700, kT0 + 200 * kUs, 203 << 8);
  auto f = rules::exec_failure(t.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].title == "/srv/app/venv/bin/gunicorn exists, but its interpreter /srv/app/venv/bin/python3 does not");
  INFO(facts_text(f[0]));
  CHECK(has_fact(f[0], "exit status 203 is systemd's EXEC: ExecStart= could not run"));
  CHECK(has_fact(f[0], "/srv/app/venv/bin/python3 -> /usr/bin/python3.9, which no longer exists"));
}

// glibc's execvp goes on to the next PATH entry after ENOENT, whatever caused
// it; with the virtualenv first on PATH (the usual activation order) the last
// failed exec is a gunicorn that simply is not there, and the one that
// explains the failure is the virtualenv's.
TEST_CASE("exec-failure: the broken virtualenv is still the cause when execvp tried more PATH entries after it",
          "[rules][exec-failure]") {
  Trace t;
  broken_venv(t);
  t.task(600, 1, "(env)");
  t.exec(600, kT0, "/usr/bin/env", {"/usr/bin/env", "gunicorn", "shop.wsgi:application"});
  t.exec_failed(600, kT0 + 300 * kUs, "/srv/app/venv/bin/gunicorn", ENOENT);
  t.exec_failed(600, kT0 + 320 * kUs, "/usr/local/bin/gunicorn", ENOENT);
  t.exec_failed(600, kT0 + 340 * kUs, "/usr/bin/gunicorn", ENOENT);
  t.exec_failed(600, kT0 + 360 * kUs, "/bin/gunicorn", ENOENT);
  t.exit(600, kT0 + 450 * kUs, 127 << 8);
  auto f = rules::exec_failure(t.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].title == "/srv/app/venv/bin/gunicorn exists, but its interpreter /srv/app/venv/bin/python3 does not");
}

TEST_CASE("exec-failure: a program that is not there at all", "[rules][exec-failure]") {
  Trace t;
  t.task(700, 1, "(gunicorn)");
  t.exec_failed(700, kT0, "/srv/app/venv/bin/gunicorn", ENOENT);  // no such file: the lookup finds nothing
  t.exit(700, kT0 + 200 * kUs, 203 << 8);
  auto f = rules::exec_failure(t.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].title == "/srv/app/venv/bin/gunicorn does not exist");
  CHECK(f[0].fix.find("correct ExecStart=") == 0);
}

TEST_CASE("exec-failure: a wrapper script's exec of gunicorn fails after the wrapper itself started", "[rules][exec-failure]") {
  // The earlier, successful exec (the wrapper) is no PATH search that succeeded.
  Trace t;
  t.task(700, 1, "(start.sh)");
  t.exec(700, kT0, "/srv/app/start.sh", {"/bin/sh", "/srv/app/start.sh"}, "/bin/sh");
  t.exec_failed(700, kT0 + 2 * kMs, "/srv/app/.venv/bin/gunicorn", ENOENT);
  t.write(700, kT0 + 2 * kMs + 50 * kUs, 2, "/srv/app/start.sh: 4: exec: /srv/app/.venv/bin/gunicorn: not found\n");
  t.exit(700, kT0 + 3 * kMs, 127 << 8);
  auto f = rules::exec_failure(t.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].title == "/srv/app/.venv/bin/gunicorn does not exist");
}

TEST_CASE("exec-failure: WorkingDirectory= is a symlink to a release that is gone (200/CHDIR)", "[rules][exec-failure]") {
  Trace t;
  t.paths["/srv/app/current"] = symlink_to("/srv/app/releases/20240611-1", false);
  t.task(700, 1, "(gunicorn)");
  Event c = t.chdir_failed(700, kT0, "/srv/app/current", ENOENT);
  t.exit(700, kT0 + 150 * kUs, 200 << 8);

  auto f = rules::exec_failure(t.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].severity == rules::Severity::failure);
  CHECK(f[0].title == "working directory /srv/app/current is a dangling symlink (to /srv/app/releases/20240611-1)");
  INFO(facts_text(f[0]));
  CHECK(has_fact(f[0], "/srv/app/current -> /srv/app/releases/20240611-1, which does not exist"));
  CHECK(has_fact(f[0], "exit status 200 is systemd's CHDIR: WorkingDirectory= failed"));
  CHECK(f[0].fix.find("point the symlink at an existing release (ln -sfn /srv/app/releases/CURRENT /srv/app/current)") ==
        0);
  REQUIRE(f[0].evidence.size() == 2);
  CHECK(f[0].evidence[0].hdr.ts_ns == c.hdr.ts_ns);
  CHECK(f[0].evidence[1].as<Exit>()->code() == 200);
}

TEST_CASE("exec-failure: a working directory that does not exist", "[rules][exec-failure]") {
  Trace t;
  t.task(700, 1, "(gunicorn)");
  t.chdir_failed(700, kT0, "/srv/shop", ENOENT);
  t.exit(700, kT0 + 150 * kUs, 200 << 8);
  auto f = rules::exec_failure(t.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].title == "working directory /srv/shop does not exist");
}

TEST_CASE("exec-failure: a chdir that fails in a process that then exits 0 is no failure", "[rules][exec-failure]") {
  // A helper script: `cd /srv/app/current/static 2>/dev/null || true`.
  Trace t;
  t.paths["/srv/app/current"] = symlink_to("/srv/app/releases/20240611-1", false);
  t.task(650, 1, "(collect.sh)");
  t.exec(650, kT0, "/srv/app/collect.sh", {"/bin/sh", "/srv/app/collect.sh"}, "/bin/sh");
  t.chdir_failed(650, kT0 + 1 * kMs, "/srv/app/current", ENOENT);
  t.chdir_failed(650, kT0 + 2 * kMs, "/srv/app/current/static", ENOENT);
  t.exit(650, kT0 + 3 * kMs, 0);
  CHECK(t.agg.chdir_failures().size() == 2);
  CHECK(rules::exec_failure(t.agg).empty());
}

TEST_CASE("exec-failure: a chdir failure in a process still running is no failure", "[rules][exec-failure]") {
  Trace t;
  gunicorn_boot(t);
  t.chdir_failed(501, kT0 + 3 * kS, "/srv/app/uploads", ENOENT);
  CHECK(rules::exec_failure(t.agg).empty());
}

TEST_CASE("exec-failure: a script with CRLF line endings names an interpreter ending in a carriage return",
          "[rules][exec-failure]") {
  Trace t;
  t.paths["/srv/app/bin/start"] = regular(0100755, "#!/usr/bin/python3\r");
  t.task(710, 1, "(start)");
  t.exec_failed(710, kT0, "/srv/app/bin/start", ENOENT);
  t.exit(710, kT0 + 200 * kUs, 203 << 8);
  auto f = rules::exec_failure(t.agg);
  REQUIRE(f.size() == 1);
  INFO(facts_text(f[0]));
  CHECK(has_fact(f[0], "the #! line ends in a carriage return: the file has Windows (CRLF) line endings"));
  CHECK(f[0].fix == "convert the script to Unix line endings: sed -i 's/\\r$//' /srv/app/bin/start");
}
