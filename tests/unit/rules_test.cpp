// Rules on synthetic event sequences: each must fire on its failure and stay
// quiet on the look-alikes of a healthy start.
#include <fcntl.h>
#include <netinet/in.h>

#include <catch2/catch.hpp>
#include <map>

#include "analysis/aggregator.h"
#include "rules/finding.h"
#include "rules/traceback.h"

using namespace pm;
using namespace pm::model;

namespace {

struct Stream {
  analysis::Aggregator agg;
  std::uint64_t t = 1000000;
  std::map<std::string, analysis::FileFacts> files;

  Stream() {
    agg.set_file_lookup([this](const std::string& p) -> std::optional<analysis::FileFacts> {
      auto it = files.find(p);
      if (it == files.end()) return std::nullopt;
      return it->second;
    });
    agg.set_name_lookups([](std::uint32_t id) { return id == 0 ? "root" : id == 33 ? "www-data" : ""; },
                         [](std::uint32_t id) { return id == 0 ? "root" : id == 33 ? "www-data" : ""; });
  }
  Event& push(EventType type, std::uint32_t pid, Payload body, std::uint32_t uid = 33, std::string comm = "gunicorn") {
    static Event e;
    e = Event{};
    e.hdr.type = type;
    e.hdr.pid = e.hdr.tid = pid;
    e.hdr.ppid = 1;
    e.hdr.uid = e.hdr.gid = uid;
    e.hdr.comm = std::move(comm);
    e.hdr.ts_ns = (t += 1000000);
    e.body = std::move(body);
    agg.on_event(e);
    return e;
  }
  void exec(std::uint32_t pid, std::vector<std::string> argv, std::string exe, std::string comm = "gunicorn") {
    Exec x;
    x.filename = std::move(exe);
    x.argv = std::move(argv);
    push(EventType::exec, pid, x, 33, std::move(comm));
  }
  void fork(std::uint32_t parent, std::uint32_t child) { push(EventType::fork, parent, Fork{child}); }
  void exit(std::uint32_t pid, int raw) {
    Exit x;
    x.raw = raw;
    push(EventType::exit, pid, x);
  }
  void write(std::uint32_t pid, std::string text) {
    Write w;
    w.fd = 2;
    w.count = text.size();
    w.head = std::move(text);
    push(EventType::write, pid, w);
  }
  void open_fail(std::uint32_t pid, std::string path, int err, std::uint64_t flags) {
    OpenFailed o;
    o.path = std::move(path);
    o.err = err;
    o.flags = flags;
    push(EventType::open_failed, pid, o);
  }
  void file(std::string path, std::uint32_t uid, std::uint32_t gid, std::uint32_t mode) {
    analysis::FileFacts f;
    f.uid = uid;
    f.gid = gid;
    f.mode = mode;
    files[path] = f;
  }
};

const std::vector<std::string> kGunicorn = {"/srv/venv/bin/python3", "/srv/venv/bin/gunicorn", "-b",
                                            "127.0.0.1:8000", "meats.wsgi:application"};

}  // namespace

TEST_CASE("permission-denied: a log file the service user may not write", "[rules]") {
  Stream s;
  s.exec(100, kGunicorn, "/srv/venv/bin/python3");
  s.file("/", 0, 0, 040755);
  s.file("/var", 0, 0, 040755);
  s.file("/var/log", 0, 0, 040755);
  s.file("/var/log/gunicorn", 0, 0, 040755);
  s.file("/var/log/gunicorn/error.log", 0, 0, 0100644);
  s.open_fail(100, "/var/log/gunicorn/error.log", EACCES, O_WRONLY | O_CREAT | O_APPEND);
  s.exit(100, 1 << 8);
  auto f = rules::permission_denied(s.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].title.find("gunicorn master (pid 100, uid 33 gid 33) may not write (and create) "
                        "/var/log/gunicorn/error.log") == 0);
  CHECK(f[0].explanation.find("owned by root:root with mode 0644, which gives www-data no write permission") !=
        std::string::npos);
  CHECK(f[0].fix.find("add LogsDirectory=gunicorn to the unit") == 0);
  CHECK(f[0].fix.find("chown www-data:www-data /var/log/gunicorn/error.log") != std::string::npos);
  CHECK(f[0].facts.size() == 5);
}

TEST_CASE("permission-denied: a directory on the way that cannot be entered", "[rules]") {
  Stream s;
  s.exec(100, kGunicorn, "/srv/venv/bin/python3");
  s.file("/", 0, 0, 040755);
  s.file("/root", 0, 0, 040700);
  s.file("/root/app", 0, 0, 040755);
  s.file("/root/app/settings.ini", 0, 0, 0100644);
  s.open_fail(100, "/root/app/settings.ini", EACCES, O_RDONLY);
  auto f = rules::permission_denied(s.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].explanation.find("the directory /root (owner root:root, mode 0700) cannot be entered") !=
        std::string::npos);
  CHECK(f[0].fix.find("chmod o+x /root") == 0);
}

TEST_CASE("permission-denied: creating a file in a directory the user cannot write", "[rules]") {
  Stream s;
  s.exec(100, kGunicorn, "/srv/venv/bin/python3");
  s.file("/", 0, 0, 040755);
  s.file("/srv", 0, 0, 040755);
  s.file("/srv/media", 0, 0, 040755);
  s.open_fail(100, "/srv/media/upload.png", EACCES, O_WRONLY | O_CREAT);
  auto f = rules::permission_denied(s.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].fix == "chown www-data:www-data /srv/media");
}

TEST_CASE("permission-denied: import probing and repeated denials do not multiply findings", "[rules]") {
  Stream s;
  s.exec(100, kGunicorn, "/srv/venv/bin/python3");
  for (int i = 0; i < 500; ++i)
    s.open_fail(100, "/srv/venv/lib/python3.11/site-packages/mod" + std::to_string(i) + ".py", ENOENT, O_RDONLY);
  CHECK(rules::permission_denied(s.agg).empty());  // ENOENT is never a denial
  s.fork(100, 101);
  s.fork(100, 102);
  for (std::uint32_t w : {101u, 102u, 101u}) s.open_fail(w, "/etc/meats/secret.env", EACCES, O_RDONLY);
  auto f = rules::permission_denied(s.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].evidence.size() == 3);
}

TEST_CASE("address-in-use: one finding for gunicorn's retries, naming the holder", "[rules]") {
  Stream s;
  s.exec(50, {"python3", "old.py"}, "/usr/bin/python3", "python3");
  Listen l;
  l.addr.family = AF_INET;
  l.addr.address = "127.0.0.1";
  l.addr.port = 8000;
  s.push(EventType::listen, 50, l, 0, "python3");
  s.exec(100, kGunicorn, "/srv/venv/bin/python3");
  for (int i = 0; i < 5; ++i) {
    Bind b;
    b.err = EADDRINUSE;
    b.addr = l.addr;
    s.push(EventType::bind, 100, b);
  }
  Bind ok;
  ok.addr = l.addr;
  ok.addr.port = 9000;
  s.push(EventType::bind, 100, ok);
  auto f = rules::address_in_use(s.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].title == "gunicorn master (pid 100, uid 33 gid 33) could not bind 127.0.0.1:8000: address already in use");
  CHECK(f[0].evidence.size() == 5);
  INFO(f[0].facts[0]);
  CHECK(f[0].facts[0].find("held by python3 (pid 50") == 0);
  CHECK(f[0].fix.find("ss -ltnp 'sport = :8000'") != std::string::npos);
}

TEST_CASE("missing module and boot failure: a worker exits 3 on ModuleNotFoundError", "[rules]") {
  Stream s;
  s.exec(100, kGunicorn, "/srv/venv/bin/python3");
  s.fork(100, 101);
  s.write(101, "Traceback (most recent call last):\n  File \"/srv/app/meats/settings.py\", line 3\n");
  s.write(101, "    import rest_framework\nModuleNotFoundError: No module named 'rest_framework'\n");
  s.exit(101, 3 << 8);
  s.write(100, "[2026-11-23 08:00:00 +0000] [100] [INFO] Shutting down: Master\n"
               "[2026-11-23 08:00:00 +0000] [100] [INFO] Reason: Worker failed to boot.\n");
  s.exit(100, 3 << 8);

  auto m = rules::missing_python_module(s.agg);
  REQUIRE(m.size() == 1);
  CHECK(m[0].title == "Python module 'rest_framework' is missing for /srv/venv/bin/python3");
  CHECK(m[0].fix.find("/srv/venv/bin/python3 -m pip install djangorestframework") == 0);

  auto b = rules::gunicorn_boot_failure(s.agg);
  REQUIRE(b.size() == 1);  // one per gunicorn, not one per process that exited 3
  CHECK(b[0].title ==
        "gunicorn worker failed to boot (exit code 3): ModuleNotFoundError: No module named 'rest_framework'");

  auto all = rules::run_rules(s.agg);
  REQUIRE(all.size() == 2);
  CHECK(all[0].rule == "missing-python-module");  // the root cause first
  CHECK(all[1].rule == "gunicorn-boot-failure");
}

TEST_CASE("boot failure: exit 4 points at the app spec", "[rules]") {
  Stream s;
  s.exec(100, kGunicorn, "/srv/venv/bin/python3");
  s.fork(100, 101);
  s.write(101, "Failed to find attribute 'application' in 'meats.wsgi'.\n");
  s.exit(101, 4 << 8);
  s.exit(100, 4 << 8);
  auto b = rules::gunicorn_boot_failure(s.agg);
  REQUIRE(b.size() == 1);
  CHECK(b[0].title.find("gunicorn could not load the app (exit code 4)") == 0);
  CHECK(b[0].fix.find("'meats.wsgi:application'") != std::string::npos);
}

TEST_CASE("a healthy start triggers no rule", "[rules]") {
  Stream s;
  s.exec(100, kGunicorn, "/srv/venv/bin/python3");
  for (int i = 0; i < 50; ++i) s.open_fail(100, "/srv/venv/lib/x" + std::to_string(i), ENOENT, O_RDONLY);
  Bind b;
  b.addr.family = AF_INET;
  b.addr.address = "127.0.0.1";
  b.addr.port = 8000;
  s.push(EventType::bind, 100, b);
  s.fork(100, 101);
  s.write(100, "[INFO] Booting worker with pid: 101\n");
  s.exit(101, 0);
  s.exit(100, 0);
  CHECK(rules::run_rules(s.agg).empty());
}

TEST_CASE("tracebacks: error lines, missing modules, package names", "[rules]") {
  CHECK(rules::python_error_line("Traceback...\n  File x\nKeyError: 'SECRET_KEY'\n[INFO] bye\n") ==
        std::optional<std::string>("KeyError: 'SECRET_KEY'"));
  CHECK_FALSE(rules::python_error_line("[INFO] Booting worker\n"));
  CHECK(rules::missing_module("ModuleNotFoundError: No module named 'yaml.loader'") == std::optional<std::string>("yaml"));
  CHECK(rules::missing_module("ImportError: No module named flask") == std::optional<std::string>("flask"));
  CHECK_FALSE(rules::missing_module("ImportError: cannot import name 'x' from 'y'"));
  CHECK(rules::package_for_module("yaml") == "PyYAML");
  CHECK(rules::package_for_module("psycopg2") == "psycopg2-binary");
  CHECK(rules::package_for_module("requests") == "requests");
  CHECK(analysis::runs_gunicorn({"python3", "-m", "gunicorn", "app:app"}));
  CHECK_FALSE(analysis::runs_gunicorn({"python3", "manage.py", "runserver"}));
}
