// permission-denied on event sequences shaped like real starts: gunicorn's
// master opening its log for append, a settings file behind a directory it
// cannot enter, a file it cannot create. Owners and modes are the facts the
// session reads at report time (stat, names from /etc/passwd and /etc/group).
// Look-alikes: Python's import probing (ENOENT by the hundred) and the same
// denial repeated by several workers.
#include <catch2/catch.hpp>

#include "trace_builder.h"

TEST_CASE("permission-denied: a log file the service user may not write", "[rules][permission-denied]") {
  Trace t;
  venv_gunicorn(t);
  t.dirs("/var/log/gunicorn");
  t.file("/var/log/gunicorn/error.log", 0, 0, 0100644);
  // logging.FileHandler opens its file with mode 'a'.
  t.open_failed(500, kT0 + 310 * kMs, "/var/log/gunicorn/error.log", EACCES, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC);
  t.exit(500, kT0 + 330 * kMs, 1 << 8);

  auto fs = rules::run_rules(t.agg);
  INFO(titles(fs));
  REQUIRE(fs.size() == 1);
  const auto& f = fs[0];
  CHECK(f.rule == "permission-denied");
  REQUIRE(f.evidence.size() == 1);
  const auto& e = f.evidence[0];
  REQUIRE(e.as<OpenFailed>());
  CHECK(e.hdr.pid == 500);
  CHECK(e.hdr.uid == 33);
  CHECK(e.hdr.gid == 33);
  CHECK(e.as<OpenFailed>()->path == "/var/log/gunicorn/error.log");
  CHECK(e.as<OpenFailed>()->err == EACCES);
  CHECK(contains(f.title, "may not write (and create)"));
  CHECK(contains(f.explanation, "owned by root:root with mode 0644, which gives www-data no write permission"));
  CHECK(f.fix.find("add LogsDirectory=gunicorn to the unit") == 0);
  CHECK(contains(f.fix, "chown www-data:www-data /var/log/gunicorn/error.log"));
  // The owner and mode of each directory on the way and of the file.
  INFO(facts_text(f));
  CHECK(f.facts.size() == 5);
  for (const char* dir : {"/", "/var", "/var/log", "/var/log/gunicorn"})
    CHECK(has_fact(f, std::string(dir) + ": owner root:root, mode 0755"));
  CHECK(has_fact(f, "/var/log/gunicorn/error.log: owner root:root, mode 0644"));
}

TEST_CASE("permission-denied: a directory on the way that cannot be entered", "[rules][permission-denied]") {
  Trace t;
  venv_gunicorn(t);
  t.dirs("/root/app");
  t.file("/root", 0, 0, 040700);
  t.file("/root/app/settings.ini", 0, 0, 0100644);
  t.open_failed(500, kT0 + 250 * kMs, "/root/app/settings.ini", EACCES, O_RDONLY | O_CLOEXEC);
  auto f = rules::permission_denied(t.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].evidence.at(0).as<OpenFailed>()->path == "/root/app/settings.ini");
  CHECK(contains(f[0].explanation, "the directory /root (owner root:root, mode 0700) cannot be entered"));
  CHECK(f[0].fix.find("chmod o+x /root") == 0);
}

TEST_CASE("permission-denied: creating a file in a directory the user cannot write", "[rules][permission-denied]") {
  Trace t;
  venv_gunicorn(t);
  t.dirs("/srv/media");  // upload.png does not exist yet
  t.fork(500, kT0 + 400 * kMs, 501);
  // A worker's Django FileSystemStorage saving an upload.
  t.open_failed(501, kT0 + 2 * kS, "/srv/media/upload.png", EACCES, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC);
  auto f = rules::permission_denied(t.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].fix == "chown www-data:www-data /srv/media");
}

TEST_CASE("permission-denied: import probing and repeated denials do not multiply findings",
          "[rules][permission-denied]") {
  Trace t;
  venv_gunicorn(t);
  for (int i = 0; i < 500; ++i)
    t.open_failed(500, kT0 + 100 * kMs + i * 20 * kUs,
                  "/srv/venv/lib/python3.11/site-packages/mod" + std::to_string(i) + ".py", ENOENT,
                  O_RDONLY | O_CLOEXEC);
  CHECK(rules::permission_denied(t.agg).empty());  // ENOENT is never a denial
  t.fork(500, kT0 + 400 * kMs, 501);
  t.fork(500, kT0 + 405 * kMs, 502);
  std::uint64_t at = kT0 + 900 * kMs;
  for (std::uint32_t w : {501u, 502u, 501u})
    t.open_failed(w, at += 10 * kMs, "/etc/meats/secret.env", EACCES, O_RDONLY | O_CLOEXEC);
  auto f = rules::permission_denied(t.agg);
  REQUIRE(f.size() == 1);
  REQUIRE(f[0].evidence.size() == 3);
  std::vector<std::uint32_t> pids;
  for (const auto& e : f[0].evidence) {
    CHECK(e.as<OpenFailed>()->path == "/etc/meats/secret.env");
    pids.push_back(e.hdr.pid);
  }
  CHECK(pids == std::vector<std::uint32_t>{501, 502, 501});
}
