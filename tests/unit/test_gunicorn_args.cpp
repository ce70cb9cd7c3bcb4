// The one reader of gunicorn's command line (analysis/gunicorn_args).
#include <catch2/catch.hpp>

#include "analysis/aggregator.h"
#include "analysis/gunicorn_args.h"

using pm::analysis::parse_gunicorn_args;

TEST_CASE("gunicorn args: every spelling of an option", "[gunicorn_args]") {
  auto g = parse_gunicorn_args({"/srv/venv/bin/gunicorn", "-b", "127.0.0.1:8000", "--bind=unix:/run/m/m.sock",
                                "-b0.0.0.0:9000", "-w4", "--timeout", "120", "--preload", "--chdir", "/srv/app",
                                "--error-logfile", "/var/log/m/error.log", "--access-logfile=/var/log/m/access.log",
                                "-p", "/run/m.pid", "--pythonpath", "/a,/b", "-e", "K=V", "m.wsgi:application"});
  CHECK(g.binds == std::vector<std::string>{"127.0.0.1:8000", "unix:/run/m/m.sock", "0.0.0.0:9000"});
  CHECK(g.workers == 4);
  CHECK(g.timeout == "120");
  CHECK(g.timeout_given);
  CHECK(g.preload);
  CHECK_FALSE(g.daemon);
  CHECK(g.chdir == "/srv/app");
  CHECK(g.error_log == "/var/log/m/error.log");
  CHECK(g.access_log == "/var/log/m/access.log");
  CHECK(g.pid_file == "/run/m.pid");
  CHECK(g.pythonpath == std::vector<std::string>{"/a", "/b"});
  CHECK(g.env == std::vector<std::string>{"K=V"});
  CHECK(g.app == "m.wsgi:application");
}

TEST_CASE("gunicorn args: defaults, python launchers and values that look like the app", "[gunicorn_args]") {
  auto d = parse_gunicorn_args({"gunicorn", "app:app"});
  CHECK(d.timeout == "30");
  CHECK_FALSE(d.timeout_given);
  CHECK(d.workers == 1);
  CHECK(d.binds.empty());
  CHECK(d.app == "app:app");

  // python3 -m gunicorn / python3 /usr/bin/gunicorn: the launcher is not the app.
  CHECK(parse_gunicorn_args({"python3", "-m", "gunicorn", "-k", "gthread", "x.wsgi"}).app == "x.wsgi");
  CHECK(parse_gunicorn_args({"/usr/bin/python3", "/usr/bin/gunicorn", "--log-level", "debug", "y:app"}).app == "y:app");
  // An option's value is never the app, -D and --log-file are understood.
  auto g = parse_gunicorn_args({"gunicorn", "z:app", "-c", "conf.py", "-D", "--log-file", "-"});
  CHECK(g.app == "z:app");
  CHECK(g.config == "conf.py");
  CHECK(g.daemon);
  CHECK(g.error_log == "-");
  // A worker count that is not a number keeps the default; a missing value is not read past the end.
  CHECK(parse_gunicorn_args({"gunicorn", "-w", "many", "a:b"}).workers == 1);
  CHECK(parse_gunicorn_args({"gunicorn", "a:b", "--timeout"}).timeout == "30");
}

TEST_CASE("gunicorn args: the app among values of options pmtrace does not know", "[gunicorn_args]") {
  // A value-taking option pmtrace knows, after the app.
  CHECK(parse_gunicorn_args({"gunicorn", "ok:app", "--log-syslog-prefix", "meats"}).app == "ok:app");
  CHECK(parse_gunicorn_args({"gunicorn", "--reload-extra-file", "/etc/hosts", "m.wsgi"}).app == "m.wsgi");
  // One it does not know: a spec with ':' wins, then a module name over a path or number.
  CHECK(parse_gunicorn_args({"gunicorn", "m.wsgi:application", "--future-option", "meats"}).app == "m.wsgi:application");
  CHECK(parse_gunicorn_args({"gunicorn", "--future-option", "/srv/x", "m.wsgi"}).app == "m.wsgi");
  CHECK(parse_gunicorn_args({"gunicorn", "--future-option", "42", "m.wsgi"}).app == "m.wsgi");
}

TEST_CASE("gunicorn args: which command lines run gunicorn", "[gunicorn_args]") {
  CHECK(pm::analysis::runs_gunicorn({"python3", "-m", "gunicorn", "app:app"}));
  CHECK_FALSE(pm::analysis::runs_gunicorn({"python3", "manage.py", "runserver"}));
}
