// Every doctor check, failing and passing, on a fake machine (fake_host.h):
// no root, no real users, files, ports or databases. The root-only twins on
// the real machine are tests/integration/test_doctor*.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "doctor/doctor.h"
#include "fake_host.h"
#include "rules/check_id.h"
#include "target/unit_file.h"

namespace {

using pm::doctor::Check;
using pm::doctor::Status;
using pm::rules::CheckId;
using pm::testing::FakeHost;

// What a case expects of one check: its id, status and phrases found in its
// title, evidence, fix, commands or unit settings.
struct Want {
  CheckId id;
  Status status;
  std::vector<std::string> phrases;
};

struct Case {
  CheckId about;  // the check the case is for
  std::string name;
  std::function<void(FakeHost&)> machine;  // changes to the healthy machine
  std::string unit;                        // "" for the healthy unit
  std::vector<Want> wants;
  std::function<void(pm::doctor::Options&)> options = nullptr;
};

// A Django app under gunicorn in a virtualenv, run by meats, its database up.
void healthy(FakeHost& h) {
  h.user("meats", 1000, 1000, "/srv/meats").group("meats", 1000);
  h.dir("/srv/meats", 0755, "meats").dir("/srv/meats/meats", 0755, "meats");
  h.file("/srv/meats/meats/wsgi.py", "application = None\n", 0644, "meats");
  h.link("/srv/meats/venv/bin/python", "/usr/bin/python3");
  h.exe("/srv/meats/venv/bin/gunicorn", "#!/srv/meats/venv/bin/python\nfrom gunicorn.app.wsgiapp import run\n");
  h.file("/etc/meats.env", "SECRET_KEY=s3cret-fake-host-key\nDATABASE_URL=postgresql://meats:pw-fake@127.0.0.1:5432/meats\n",
         0640, "root", "meats");
  h.database("127.0.0.1", 5432);
  h.app({{"imported", true}, {"gunicorn_version", "21.2.0"}, {"django", true}});
}

const char* kHealthyUnit = R"(
[Unit]
Description=meats
[Service]
Type=notify
User=meats
Group=meats
WorkingDirectory=/srv/meats
EnvironmentFile=/etc/meats.env
ExecStart=/srv/meats/venv/bin/gunicorn --bind 127.0.0.1:8123 --error-logfile /var/log/meats/error.log meats.wsgi:application
LogsDirectory=meats
Restart=on-failure
)";

// `unit` with `from` replaced by `to` (a line of it, or a part).
std::string edit(std::string unit, const std::string& from, const std::string& to) {
  auto at = unit.find(from);
  REQUIRE(at != std::string::npos);
  return unit.replace(at, from.size(), to);
}
std::string unit_with(const std::string& from, const std::string& to) { return edit(kHealthyUnit, from, to); }

std::vector<Check> run(const FakeHost& host, const std::string& text, pm::doctor::Options opts = {}) {
  pm::target::UnitFile u;
  u.name = "meats.service";
  u.path = "/etc/systemd/system/meats.service";
  u.settings = pm::target::parse_unit_text(text, u.path, &u.issues);
  opts.import_timeout_ms = 20000;
  return pm::doctor::run_checks(u, opts, host);
}

std::string all_text(const Check& c) {
  std::string s = c.title + "\n" + c.fix;
  for (const auto& e : c.evidence) s += "\n" + e;
  for (const auto& e : c.commands) s += "\n" + e;
  for (const auto& l : c.unit_lines) s += "\n[" + l.section + "] " + l.line;
  return s;
}

std::string listing(const std::vector<Check>& checks) {
  std::string s;
  for (const auto& c : checks)
    s += std::string(pm::doctor::status_name(c.status)) + " " + pm::rules::check_name(c.id) + ": " + all_text(c) + "\n";
  return s;
}

bool matches(const Check& c, const Want& w) {
  if (c.id != w.id || c.status != w.status) return false;
  std::string text = all_text(c);
  for (const auto& p : w.phrases)
    if (text.find(p) == std::string::npos) return false;
  return true;
}

std::vector<Check> run_case(const Case& k) {
  FakeHost h;
  healthy(h);
  if (k.machine) k.machine(h);
  pm::doctor::Options opts;
  if (k.options) k.options(opts);
  return run(h, k.unit.empty() ? kHealthyUnit : k.unit, opts);
}

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      // unit-file
      {CheckId::unit_file, "a line without '=' is ignored by systemd", nullptr,
       unit_with("Restart=on-failure", "Restart=on-failure\nthis is not an assignment"),
       {{CheckId::unit_file, Status::warning, {"1 lines systemd ignores", "meats.service:"}}}},
      {CheckId::unit_file, "a clean unit parses", nullptr, "",
       {{CheckId::unit_file, Status::ok, {"parse", "/etc/systemd/system/meats.service"}}}},
      // user
      {CheckId::user, "User= names a user the machine does not have", nullptr, unit_with("User=meats", "User=ghost"),
       {{CheckId::user, Status::failure,
         {"User=ghost does not exist", "useradd --system --no-create-home --shell /usr/sbin/nologin ghost", "217/USER"}}}},
      {CheckId::user, "Group= names a missing group", nullptr, unit_with("Group=meats", "Group=ghosts"),
       {{CheckId::user, Status::failure, {"Group=ghosts does not exist", "groupadd --system ghosts", "216/GROUP"}}}},
      {CheckId::user, "SupplementaryGroups= names a missing group", nullptr,
       unit_with("Group=meats", "Group=meats\nSupplementaryGroups=www"),
       {{CheckId::user, Status::failure, {"SupplementaryGroups= names www", "groupadd --system www"}}}},
      {CheckId::user, "a numeric User= without a passwd entry", nullptr, unit_with("User=meats", "User=4242"),
       {{CheckId::user, Status::warning, {"User=4242 has no passwd entry", "useradd --system --uid 4242"}}}},
      {CheckId::user, "an invalid user name", nullptr, unit_with("User=meats", "User=-meats"),
       {{CheckId::user, Status::failure, {"User=-meats is not a valid user name"}}}},
      {CheckId::user, "the user and group exist", nullptr, "",
       {{CheckId::user, Status::ok, {"runs as meats (uid 1000, gid 1000)"}}}},
      {CheckId::user, "DynamicUser= runs the later checks as nobody", nullptr,
       unit_with("User=meats\nGroup=meats\n", "DynamicUser=yes\n"),
       {{CheckId::user, Status::skipped, {"DynamicUser=yes", "nobody"}}}},
      // exec
      {CheckId::exec, "ExecStart= names a program that is not there",
       [](FakeHost& h) { h.remove("/srv/meats/venv/bin/gunicorn"); }, "",
       {{CheckId::exec, Status::failure, {"not there: /srv/meats/venv/bin/gunicorn does not exist", "203/EXEC"}}}},
      {CheckId::exec, "the gunicorn script is not readable by the user",
       [](FakeHost& h) { h.exe("/srv/meats/venv/bin/gunicorn", "#!/srv/meats/venv/bin/python\n", 0711); }, "",
       {{CheckId::exec, Status::failure,
         {"is not readable and executable by meats", "0711 root:root", "chmod o+rx /srv/meats/venv/bin/gunicorn"}}}},
      {CheckId::exec, "a virtualenv whose python points at a removed interpreter",
       [](FakeHost& h) { h.remove("/usr/bin/python3"); }, "",
       {{CheckId::exec, Status::failure,
         {"interpreter is missing", "symlink to /usr/bin/python3, which does not exist",
          "python3 -m venv --clear /srv/meats/venv"}}}},
      {CheckId::exec, "ExecStart= names a directory", nullptr,
       unit_with("ExecStart=/srv/meats/venv/bin/gunicorn", "ExecStart=/srv/meats"),
       {{CheckId::exec, Status::failure, {"/srv/meats, which is not a regular file"}}}},
      {CheckId::exec, "a bare program name is found in systemd's PATH", nullptr,
       unit_with("ExecStart=/srv/meats/venv/bin/gunicorn", "ExecStart=gunicorn"),
       {{CheckId::exec, Status::ok, {"ExecStart= runs /usr/bin/gunicorn (#!/usr/bin/python3)"}}}},
      // working-directory
      {CheckId::working_directory, "WorkingDirectory= does not exist",
       [](FakeHost& h) { h.remove("/srv/meats"); }, unit_with("WorkingDirectory=/srv/meats", "WorkingDirectory=/srv/gone"),
       {{CheckId::working_directory, Status::failure, {"/srv/gone does not exist", "200/CHDIR"}}}},
      {CheckId::working_directory, "WorkingDirectory= is a symlink to nothing",
       [](FakeHost& h) { h.link("/srv/app", "/srv/release-7"); },
       unit_with("WorkingDirectory=/srv/meats", "WorkingDirectory=/srv/app"),
       {{CheckId::working_directory, Status::failure, {"/srv/app is a symlink to /srv/release-7, which does not exist"}}}},
      {CheckId::working_directory, "the user can enter but not list the app's directory",
       [](FakeHost& h) { h.dir("/srv/meats", 0711); }, "",
       {{CheckId::working_directory, Status::failure,
         {"meats can enter but not list WorkingDirectory=/srv/meats", "0711 root:root", "chmod o+rx /srv/meats"}}}},
      {CheckId::working_directory, "a directory the user cannot enter, opened by SupplementaryGroups=",
       [](FakeHost& h) {
         h.group("www", 33);
         h.dir("/srv/meats", 0750, "root", "www");
       },
       unit_with("Group=meats", "Group=meats\nSupplementaryGroups=www"),
       {{CheckId::working_directory, Status::ok, {"meats can enter /srv/meats"}}}},
      {CheckId::working_directory, "the same directory without the group",
       [](FakeHost& h) {
         h.group("www", 33);
         h.dir("/srv/meats", 0750, "root", "www");
       },
       "", {{CheckId::working_directory, Status::failure, {"meats cannot enter WorkingDirectory=/srv/meats", "chgrp meats"}}}},
      // environment-file
      {CheckId::environment_file, "an EnvironmentFile= that does not exist",
       [](FakeHost& h) { h.remove("/etc/meats.env"); }, "",
       {{CheckId::environment_file, Status::failure,
         {"EnvironmentFile=/etc/meats.env cannot be read: No such file or directory", "EnvironmentFile=-/etc/meats.env"}}}},
      {CheckId::environment_file, "an optional one that does not exist", [](FakeHost& h) { h.remove("/etc/meats.env"); },
       unit_with("EnvironmentFile=/etc/meats.env", "EnvironmentFile=-/etc/meats.env"),
       {{CheckId::environment_file, Status::ok, {"is missing (allowed by '-')"}}}},
      {CheckId::environment_file, "a line written for a shell",
       [](FakeHost& h) { h.file("/etc/meats.env", "export SECRET_KEY=s3cret-fake-host-key\n", 0640, "root", "meats"); }, "",
       {{CheckId::environment_file, Status::warning, {"/etc/meats.env line 1", "export", "write line 1 as: SECRET_KEY="}}}},
      {CheckId::environment_file, "a wildcard reads every file it matches",
       [](FakeHost& h) {
         h.file("/etc/meats.d/a.env", "SECRET_KEY=s3cret-fake-host-key\n");
         h.file("/etc/meats.d/b.env", "DATABASE_URL=postgresql://meats@127.0.0.1:5432/meats\n");
       },
       unit_with("EnvironmentFile=/etc/meats.env", "EnvironmentFile=/etc/meats.d/*.env"),
       {{CheckId::environment_file, Status::ok, {"/etc/meats.d/a.env: 1 variables"}},
        {CheckId::environment_file, Status::ok, {"/etc/meats.d/b.env: 1 variables"}},
        {CheckId::database, Status::ok, {"127.0.0.1:5432 accepts connections"}}}},
      {CheckId::environment_file, "a socket is not read as an environment file",
       [](FakeHost& h) { h.socket("/etc/meats.env"); }, "",
       {{CheckId::environment_file, Status::failure, {"cannot be read: it is not a regular file"}}}},
      // settings
      {CheckId::settings, "SECRET_KEY set but empty",
       [](FakeHost& h) { h.file("/etc/meats.env", "SECRET_KEY=\n", 0640, "root", "meats"); }, "",
       {{CheckId::settings, Status::failure, {"SECRET_KEY is set but empty", "secrets.token_urlsafe"}}}},
      {CheckId::settings, "SECRET_KEY missing for a Django app whose settings did not import",
       [](FakeHost& h) {
         h.file("/etc/meats.env", "DATABASE_URL=postgresql://meats@127.0.0.1:5432/meats\n", 0640, "root", "meats");
         h.app({{"imported", false}, {"error", "KeyError: 'SECRET_KEY'"}}, "KeyError: 'SECRET_KEY'\n");
       },
       "", {{CheckId::settings, Status::warning, {"SECRET_KEY is not in the unit's environment"}}}},
      {CheckId::settings, "a DATABASE_URL that does not parse keeps its password hidden",
       [](FakeHost& h) { h.file("/etc/meats.env", "SECRET_KEY=k\nDATABASE_URL=meats:hunter2@\n", 0640, "root", "meats"); }, "",
       {{CheckId::settings, Status::failure, {"DATABASE_URL does not parse", "meats:***@"}}}},
      {CheckId::settings, "DATABASE_URL parses", nullptr, "", {{CheckId::settings, Status::ok, {"DATABASE_URL parses"}}}},
      // import
      {CheckId::import, "a module the app needs is not installed",
       [](FakeHost& h) {
         h.app({{"imported", false}, {"error", "ModuleNotFoundError: No module named 'requests'"}},
               "Traceback (most recent call last):\n  File \"/srv/meats/meats/wsgi.py\", line 3, in <module>\n"
               "ModuleNotFoundError: No module named 'requests'\n");
       },
       "",
       {{CheckId::import, Status::failure,
         {"Python module 'requests' is missing for /srv/meats/venv/bin/python", "pip install requests"}}}},
      {CheckId::import, "an import that never finishes", [](FakeHost& h) { h.app_hangs("connect"); }, "",
       {{CheckId::import, Status::failure, {"did not finish importing within 20 s", "it was in connect() when stopped",
                                            "connect_timeout=5"}}}},
      {CheckId::import, "the child cannot become the user", [](FakeHost& h) { h.app(nullptr, "", 126); }, "",
       {{CheckId::import, Status::failure, {"could not become meats in /srv/meats"}}}},
      {CheckId::import, "gunicorn given no app", nullptr, unit_with(" meats.wsgi:application", ""),
       {{CheckId::import, Status::failure, {"No application module specified"}}}},
      {CheckId::import, "the app imports", nullptr, "",
       {{CheckId::import, Status::ok,
         {"meats.wsgi:application imports as meats with /srv/meats/venv/bin/python in /srv/meats"}}}},
      // writable
      {CheckId::writable, "a log file in a root-owned directory", [](FakeHost& h) { h.dir("/srv/logs"); },
       unit_with("/var/log/meats/error.log", "/srv/logs/error.log"),
       {{CheckId::writable, Status::failure,
         {"meats cannot create --error-logfile /srv/logs/error.log in /srv/logs", "/srv/logs: 0755 root:root",
          "install -o meats -g meats -m 0640 /dev/null /srv/logs/error.log"}}}},
      {CheckId::writable, "a log directory systemd would make, not set", nullptr, unit_with("LogsDirectory=meats\n", ""),
       {{CheckId::writable, Status::failure,
         {"its directory /var/log/meats does not exist", "[Service] LogsDirectory=meats"}}}},
      {CheckId::writable, "a log file the user owns but cannot write",
       [](FakeHost& h) {
         h.dir("/srv/logs", 0755, "meats");
         h.file("/srv/logs/error.log", "", 0444, "meats");
       },
       unit_with("/var/log/meats/error.log", "/srv/logs/error.log"),
       {{CheckId::writable, Status::failure,
         {"meats cannot write --error-logfile /srv/logs/error.log", "chown meats:meats /srv/logs/error.log",
          "chmod u+w /srv/logs/error.log"}}}},
      {CheckId::writable, "ProtectSystem=strict makes the log directory read-only", [](FakeHost& h) { h.dir("/srv/logs", 0755, "meats"); },
       unit_with("/var/log/meats/error.log", "/srv/logs/error.log") + "ProtectSystem=strict\nPrivateTmp=yes\n",
       {{CheckId::writable, Status::failure, {"ProtectSystem=strict makes it read-only", "[Service] ReadWritePaths=/srv/logs"}}}},
      {CheckId::writable, "MEDIA_ROOT from the settings, root's",
       [](FakeHost& h) {
         h.dir("/srv/uploads");
         h.app({{"imported", true}, {"gunicorn_version", "21.2.0"}, {"django", true}, {"media_root", "/srv/uploads"}});
       },
       "",
       {{CheckId::writable, Status::warning,
         {"meats cannot write MEDIA_ROOT /srv/uploads", "not in the fix script: only the app's settings name /srv/uploads"}}}},
      {CheckId::writable, "STATIC_ROOT not collected",
       [](FakeHost& h) {
         h.app({{"imported", true}, {"gunicorn_version", "21.2.0"}, {"django", true}, {"static_root", "/srv/meats/static"}});
       },
       "", {{CheckId::writable, Status::warning, {"STATIC_ROOT /srv/meats/static does not exist", "collectstatic"}}}},
      {CheckId::writable, "a log file the user may create", [](FakeHost& h) { h.dir("/srv/logs", 0750, "meats"); },
       unit_with("/var/log/meats/error.log", "/srv/logs/error.log"),
       {{CheckId::writable, Status::ok, {"meats can create --error-logfile /srv/logs/error.log"}}}},
      {CheckId::writable, "LogsDirectory= makes it", nullptr, "",
       {{CheckId::writable, Status::ok, {"systemd makes /var/log/meats for meats at start (LogsDirectory=meats)"}}}},
      // bind
      {CheckId::bind, "the port is held by another process",
       [](FakeHost& h) { h.listener(8123, 4242, "gunicorn", {"/srv/old/bin/gunicorn", "-b", "127.0.0.1:8123"}); }, "",
       {{CheckId::bind, Status::failure,
         {"127.0.0.1:8123 is already in use by gunicorn (pid 4242)", "EADDRINUSE",
          "listening on port 8123: gunicorn (pid 4242): /srv/old/bin/gunicorn -b 127.0.0.1:8123", "stop gunicorn (pid 4242)"}}}},
      {CheckId::bind, "a port below 1024 for a user without the capability", nullptr, unit_with("127.0.0.1:8123", "0.0.0.0:80"),
       {{CheckId::bind, Status::failure, {"meats may not bind port 80", "[Service] AmbientCapabilities=CAP_NET_BIND_SERVICE"}}}},
      {CheckId::bind, "a port below 1024 with AmbientCapabilities=", nullptr,
       unit_with("127.0.0.1:8123", "0.0.0.0:80") + "AmbientCapabilities=CAP_NET_BIND_SERVICE\n",
       {{CheckId::bind, Status::ok, {"binds it with AmbientCapabilities=CAP_NET_BIND_SERVICE"}}}},
      {CheckId::bind, "a unix socket in a directory the user cannot write", nullptr,
       unit_with("127.0.0.1:8123", "unix:/run/meats.sock"),
       {{CheckId::bind, Status::failure, {"meats cannot create gunicorn's socket /run/meats.sock in /run", "RuntimeDirectory=meats"}}}},
      {CheckId::bind, "the address is free", nullptr, "", {{CheckId::bind, Status::ok, {"127.0.0.1:8123 is free"}}}},
      // database
      {CheckId::database, "the database refuses", [](FakeHost& h) { h.database("127.0.0.1", 5432, ECONNREFUSED); }, "",
       {{CheckId::database, Status::failure,
         {"PostgreSQL at 127.0.0.1:5432 refused the connection", "Connection refused", "systemctl start postgresql"}}}},
      {CheckId::database, "the database does not answer", [](FakeHost& h) { h.database("127.0.0.1", 5432, ETIMEDOUT); }, "",
       {{CheckId::database, Status::failure, {"did not answer within 2000 ms", "connect_timeout=5"}}}},
      {CheckId::database, "a unix socket that is not there",
       [](FakeHost& h) {
         h.file("/etc/meats.env", "SECRET_KEY=k\nDATABASE_URL=postgresql://meats@/meats?host=/run/postgresql\n", 0640, "root", "meats");
       },
       "", {{CheckId::database, Status::failure, {"socket /run/postgresql/.s.PGSQL.5432 does not exist"}}}},
      {CheckId::database, "a unix socket that is there",
       [](FakeHost& h) {
         h.file("/etc/meats.env", "SECRET_KEY=k\nDATABASE_URL=postgresql://meats@/meats?host=/run/postgresql\n", 0640, "root", "meats");
         h.socket("/run/postgresql/.s.PGSQL.5432", "root");
       },
       "", {{CheckId::database, Status::ok, {"socket /run/postgresql/.s.PGSQL.5432 exists"}}}},
      {CheckId::database, "the database accepts", nullptr, "",
       {{CheckId::database, Status::ok, {"PostgreSQL at 127.0.0.1:5432 accepts connections"}}}},
      // notify
      {CheckId::notify, "a wrapper that runs gunicorn without exec",
       [](FakeHost& h) {
         h.exe("/srv/meats/run.sh", "#!/bin/sh\ncd /srv/meats\n/srv/meats/venv/bin/gunicorn \"$@\"\n");
       },
       unit_with("ExecStart=/srv/meats/venv/bin/gunicorn", "ExecStart=/srv/meats/run.sh"),
       {{CheckId::notify, Status::failure,
         {"runs gunicorn without exec", "/srv/meats/run.sh:3: /srv/meats/venv/bin/gunicorn \"$@\"",
          "[Service] NotifyAccess=all"}},
        {CheckId::exec, Status::ok, {"which runs /srv/meats/venv/bin/gunicorn"}},
        {CheckId::bind, Status::ok, {"127.0.0.1:8123 is free"}}}},
      {CheckId::notify, "a wrapper that execs gunicorn",
       [](FakeHost& h) { h.exe("/srv/meats/run.sh", "#!/bin/sh\ncd /srv/meats\nexec /srv/meats/venv/bin/gunicorn \"$@\"\n"); },
       unit_with("ExecStart=/srv/meats/venv/bin/gunicorn", "ExecStart=/srv/meats/run.sh"),
       {{CheckId::notify, Status::ok, {"/srv/meats/run.sh execs gunicorn"}}}},
      {CheckId::notify, "gunicorn 19 never sends READY=1",
       [](FakeHost& h) { h.app({{"imported", true}, {"gunicorn_version", "19.9.0"}, {"django", true}}); }, "",
       {{CheckId::notify, Status::failure, {"gunicorn 19.9.0 never sends READY=1", "TimeoutStartSec (90 s)"}}}},
      {CheckId::notify, "gunicorn -D under Type=simple", nullptr,
       edit(unit_with("Type=notify", "Type=simple"), "--bind", "-D --bind"),
       {{CheckId::notify, Status::failure, {"gunicorn -D (daemon) under Type=simple", "drop -D"}}}},
      {CheckId::notify, "gunicorn sends READY=1 itself", nullptr, "",
       {{CheckId::notify, Status::ok, {"gunicorn sends READY=1 itself (gunicorn 21.2.0)"}}}},
      // start-timeout
      {CheckId::start_timeout, "--preload with a remote database without connect_timeout",
       [](FakeHost& h) {
         h.file("/etc/meats.env", "SECRET_KEY=k\nDATABASE_URL=postgresql://meats@10.0.0.5:5432/meats\n", 0640, "root", "meats");
         h.file("/proc/sys/net/ipv4/tcp_syn_retries", "6\n");
       },
       unit_with("--bind", "--preload --bind"),
       {{CheckId::start_timeout, Status::warning,
         {"--preload with TimeoutStartSec 90 s", "can take 127 s", "net.ipv4.tcp_syn_retries=6",
          "append ?connect_timeout=10 to DATABASE_URL (/etc/meats.env line 2)",
          "LC_ALL=C sed -i"}}}},
      {CheckId::start_timeout, "--preload with connect_timeout in DATABASE_URL",
       [](FakeHost& h) {
         h.file("/etc/meats.env", "SECRET_KEY=k\nDATABASE_URL=postgresql://meats@10.0.0.5:5432/meats?connect_timeout=5\n", 0640,
                "root", "meats");
       },
       unit_with("--bind", "--preload --bind"),
       {{CheckId::start_timeout, Status::ok, {"ends within 5 s, inside TimeoutStartSec 90 s"}}}},
      // worker-timeout
      {CheckId::worker_timeout, "the slowest request outlasts --timeout", nullptr, "",
       {{CheckId::worker_timeout, Status::failure, {"takes 45 s, longer than --timeout 30 s (gunicorn's default)", "WORKER TIMEOUT",
                                                    "--timeout 90"}}},
       [](pm::doctor::Options& o) { o.slowest_request_ms = 45000; }},
      {CheckId::worker_timeout, "a remote database without connect_timeout",
       [](FakeHost& h) {
         h.file("/etc/meats.env", "SECRET_KEY=k\nDATABASE_URL=postgresql://meats@10.0.0.5:5432/meats\n", 0640, "root", "meats");
         h.file("/proc/sys/net/ipv4/tcp_syn_retries", "3\n");
       },
       unit_with("--bind", "--timeout 10 --bind"),
       {{CheckId::worker_timeout, Status::warning, {"waits 15 s, longer than --timeout 10 s", "tcp_syn_retries=3"}},
        {CheckId::database, Status::failure, {"10.0.0.5:5432 refused"}}}},
      {CheckId::worker_timeout, "the slowest request ends in time", nullptr, "",
       {{CheckId::worker_timeout, Status::ok, {"the slowest request (10 s) ends inside --timeout 30 s"}}},
       [](pm::doctor::Options& o) { o.slowest_request_ms = 10000; }},
      // restart-limit
      {CheckId::restart_limit, "StartLimitIntervalSec=0", nullptr,
       unit_with("[Unit]\n", "[Unit]\nStartLimitIntervalSec=0\n"),
       {{CheckId::restart_limit, Status::warning,
         {"Restart=on-failure without a start limit", "StartLimitIntervalSec=0 turns the limit off", "[Unit] StartLimitBurst=5"}}}},
      {CheckId::restart_limit, "RestartSec= too long for the manager's interval",
       [](FakeHost& h) { h.defaults.start_limit_interval_ms = 5000; }, unit_with("Restart=on-failure", "Restart=always\nRestartSec=2"),
       {{CheckId::restart_limit, Status::warning, {"5 starts RestartSec=2 s apart take 8 s, never inside StartLimitIntervalSec=5 s"}}}},
      {CheckId::restart_limit, "the default start limit trips", nullptr, "",
       {{CheckId::restart_limit, Status::ok, {"StartLimitBurst=5 in StartLimitIntervalSec=10 s"}}}},
      // app-checks and migrations
      {CheckId::app_checks, "Django's deploy checks report an error and a warning",
       [](FakeHost& h) {
         h.app({{"imported", true},
                {"gunicorn_version", "21.2.0"},
                {"django", true},
                {"app_checks", true},
                {"messages",
                 nlohmann::json::array(
                     {{{"level", 40}, {"id", "security.E100"}, {"msg", "DEFAULT_HASHING_ALGORITHM is bad"}, {"hint", ""}},
                      {{"level", 30}, {"id", "security.W004"}, {"msg", "no SECURE_HSTS_SECONDS"}, {"hint", "set it"}}})},
                {"unapplied", nlohmann::json::array()}});
       },
       "",
       {{CheckId::app_checks, Status::failure, {"manage.py check --deploy: 1 errors", "security.E100"}},
        {CheckId::app_checks, Status::warning, {"manage.py check --deploy: 1 warnings", "security.W004: no SECURE_HSTS_SECONDS (set it)"}},
        {CheckId::migrations, Status::ok, {"every migration is applied"}}},
       [](pm::doctor::Options& o) { o.run_app_checks = true; }},
      {CheckId::app_checks, "no issues",
       [](FakeHost& h) {
         h.app({{"imported", true}, {"gunicorn_version", "21.2.0"}, {"django", true}, {"app_checks", true},
                {"messages", nlohmann::json::array()}, {"migrations_error", "OperationalError: no such table"}});
       },
       "",
       {{CheckId::app_checks, Status::ok, {"no issues"}},
        {CheckId::migrations, Status::failure, {"could not be read from the database: OperationalError"}}},
       [](pm::doctor::Options& o) { o.run_app_checks = true; }},
      {CheckId::app_checks, "not asked for", nullptr, "",
       {{CheckId::app_checks, Status::skipped, {"run with --run-app-checks"}}}},
      {CheckId::migrations, "migrations not applied",
       [](FakeHost& h) {
         h.app({{"imported", true}, {"gunicorn_version", "21.2.0"}, {"django", true}, {"app_checks", true},
                {"unapplied", nlohmann::json::array({"meats.0003_price", "meats.0004_stock"})}});
       },
       "",
       {{CheckId::migrations, Status::failure,
         {"2 migrations are not applied", "meats.0003_price", "cd /srv/meats && sudo -u meats /srv/meats/venv/bin/python manage.py migrate"}}},
       [](pm::doctor::Options& o) { o.run_app_checks = true; }},
      {CheckId::migrations, "every migration applied",
       [](FakeHost& h) {
         h.app({{"imported", true}, {"gunicorn_version", "21.2.0"}, {"django", true}, {"app_checks", true},
                {"unapplied", nlohmann::json::array()}});
       },
       "", {{CheckId::migrations, Status::ok, {"every migration is applied"}}},
       [](pm::doctor::Options& o) { o.run_app_checks = true; }},
  };
  return all;
}

void check_cases(CheckId about) {
  std::size_t n = 0;
  for (const auto& k : cases()) {
    if (k.about != about) continue;
    ++n;
    auto checks = run_case(k);
    INFO(k.name << "\n" << listing(checks));
    for (const auto& w : k.wants) {
      INFO("wanted: " << pm::doctor::status_name(w.status) << " " << pm::rules::check_name(w.id));
      bool found = false;
      for (const auto& c : checks) found |= matches(c, w);
      CHECK(found);
    }
  }
  CHECK(n >= 2);
}

}  // namespace

TEST_CASE("doctor on a fake host: a healthy service passes every check", "[doctor][fake-host]") {
  FakeHost h;
  healthy(h);
  auto checks = run(h, kHealthyUnit);
  INFO(listing(checks));
  for (const auto& c : checks) CHECK((c.status == Status::ok || c.status == Status::skipped));
  // The import ran as the service would: its user, directory, interpreter, environment.
  REQUIRE(h.runs.size() == 1);
  const auto& r = h.runs[0];
  CHECK(r.user.name == "meats");
  CHECK(r.user.uid == 1000);
  CHECK(r.run.dir == "/srv/meats");
  CHECK(r.run.argv[0] == "/srv/meats/venv/bin/python");
  CHECK(r.run.argv[1] == "-B");
  CHECK(r.run.argv[4] == "meats.wsgi:application");
  auto has_env = [&](const std::string& e) { return std::find(r.run.env.begin(), r.run.env.end(), e) != r.run.env.end(); };
  CHECK(has_env("SECRET_KEY=s3cret-fake-host-key"));
  CHECK(has_env("PYTHONDONTWRITEBYTECODE=1"));
  CHECK(has_env("HOME=/srv/meats"));
  CHECK(has_env("USER=meats"));
  CHECK(r.run.timeout_ms == 20000);
}

TEST_CASE("doctor on a fake host: the import is not tried when an earlier check fails", "[doctor][fake-host]") {
  FakeHost h;
  healthy(h);
  h.remove("/srv/meats");
  auto checks = run(h, kHealthyUnit);
  CHECK(h.runs.empty());
  bool skipped = false;
  for (const auto& c : checks) skipped |= c.id == CheckId::import && c.status == Status::skipped;
  CHECK(skipped);
}

TEST_CASE("doctor on a fake host: an import probe doctor cannot start is said as such, not as an earlier failure",
          "[doctor][fake-host]") {
  FakeHost h;
  healthy(h);
  h.child_not_started("cannot fork: Resource temporarily unavailable");
  auto checks = run(h, kHealthyUnit);
  const pm::doctor::Check* import = nullptr;
  for (const auto& c : checks)
    if (c.id == CheckId::import) import = &c;
  REQUIRE(import);
  CHECK(import->status == Status::warning);
  CHECK(import->title.find("doctor could not start the import probe (cannot fork: Resource temporarily unavailable)") !=
        std::string::npos);
  CHECK(import->title.find("must pass first") == std::string::npos);
}

TEST_CASE("doctor on a fake host: unit-file", "[doctor][fake-host]") { check_cases(CheckId::unit_file); }
TEST_CASE("doctor on a fake host: user", "[doctor][fake-host]") { check_cases(CheckId::user); }
TEST_CASE("doctor on a fake host: exec", "[doctor][fake-host]") { check_cases(CheckId::exec); }
TEST_CASE("doctor on a fake host: working-directory", "[doctor][fake-host]") { check_cases(CheckId::working_directory); }
TEST_CASE("doctor on a fake host: environment-file", "[doctor][fake-host]") { check_cases(CheckId::environment_file); }
TEST_CASE("doctor on a fake host: settings", "[doctor][fake-host]") { check_cases(CheckId::settings); }
TEST_CASE("doctor on a fake host: import", "[doctor][fake-host]") { check_cases(CheckId::import); }
TEST_CASE("doctor on a fake host: writable", "[doctor][fake-host]") { check_cases(CheckId::writable); }
TEST_CASE("doctor on a fake host: bind", "[doctor][fake-host]") { check_cases(CheckId::bind); }
TEST_CASE("doctor on a fake host: database", "[doctor][fake-host]") { check_cases(CheckId::database); }
TEST_CASE("doctor on a fake host: notify", "[doctor][fake-host]") { check_cases(CheckId::notify); }
TEST_CASE("doctor on a fake host: start-timeout", "[doctor][fake-host]") { check_cases(CheckId::start_timeout); }
TEST_CASE("doctor on a fake host: worker-timeout", "[doctor][fake-host]") { check_cases(CheckId::worker_timeout); }
TEST_CASE("doctor on a fake host: restart-limit", "[doctor][fake-host]") { check_cases(CheckId::restart_limit); }
TEST_CASE("doctor on a fake host: app-checks", "[doctor][fake-host]") { check_cases(CheckId::app_checks); }
TEST_CASE("doctor on a fake host: migrations", "[doctor][fake-host]") { check_cases(CheckId::migrations); }

// A new check needs a fake-host case: every id fails or warns in some case
// above, and passes in some case.
TEST_CASE("doctor on a fake host: every check id fails or warns, and passes, in some case", "[doctor][fake-host]") {
  std::set<CheckId> bad, good;
  for (const auto& k : cases()) {
    auto checks = run_case(k);
    for (const auto& w : k.wants) {
      bool held = false;
      for (const auto& c : checks) held |= matches(c, w);
      if (!held) continue;
      if (w.status == Status::failure || w.status == Status::warning) bad.insert(w.id);
      if (w.status == Status::ok) good.insert(w.id);
    }
  }
  for (CheckId id : pm::rules::kAllChecks) {
    INFO(pm::rules::check_name(id));
    CHECK(bad.count(id));
    CHECK(good.count(id));
  }
}
