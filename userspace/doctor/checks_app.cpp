// Importing the application the way gunicorn would, before the start: in a
// child running as the service user, in its working directory, with the
// unit's environment and interpreter, under a time limit. With
// --run-app-checks the same child runs Django's deployment checks and lists
// unapplied migrations (this runs the application's code, hence the flag).
#include <sys/wait.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "doctor/checks.h"
#include "rules/traceback.h"
#include "util/strings.h"

namespace pm::doctor {
namespace {

// Runs in the service's interpreter; writes one JSON object to fd 3.
constexpr const char* kProbe = R"PY(
import sys, os, json, time, importlib, traceback
out = {"imported": False}
try:
    spec, app_checks = sys.argv[1], sys.argv[2] == "1"
    for p in reversed(sys.argv[3:]):
        sys.path.insert(0, p)
    sys.path.insert(0, os.getcwd())
    try:
        import gunicorn
        out["gunicorn_version"] = gunicorn.__version__
    except Exception:
        pass
    module, _, attr = spec.partition(":")
    start = time.monotonic()
    try:
        m = importlib.import_module(module)
        name = (attr or "application").split("(")[0].strip()
        if name.isidentifier() and not hasattr(m, name):
            raise AttributeError("Failed to find attribute %r in %r." % (name, module))
        out["imported"] = True
    except BaseException as e:
        traceback.print_exc()
        out["error"] = traceback.format_exception_only(type(e), e)[-1].strip()
    out["seconds"] = time.monotonic() - start
    if "django" in sys.modules:
        from django.conf import settings
        if settings.configured:
            out["django"] = True
            try:
                out["static_root"] = str(settings.STATIC_ROOT or "")
                out["media_root"] = str(settings.MEDIA_ROOT or "")
            except Exception:
                pass
            if app_checks and out["imported"]:
                from django.core import checks
                msgs = checks.run_checks(include_deployment_checks=True)
                out["messages"] = [{"level": m.level, "id": m.id or "", "msg": str(m.msg), "hint": str(m.hint or "")}
                                   for m in msgs if not m.is_silenced()]
                try:
                    from django.db import connections
                    from django.db.migrations.executor import MigrationExecutor
                    conn = connections["default"]
                    name = str(conn.settings_dict.get("NAME") or "")
                    if conn.vendor == "sqlite" and name != ":memory:" and not os.path.exists(name):
                        raise RuntimeError("the SQLite database %s does not exist (manage.py migrate creates it)" % name)
                    ex = MigrationExecutor(conn)
                    plan = ex.migration_plan(ex.loader.graph.leaf_nodes())
                    out["unapplied"] = ["%s.%s" % (mg.app_label, mg.name) for mg, backwards in plan if not backwards]
                except Exception as e:
                    out["migrations_error"] = traceback.format_exception_only(type(e), e)[-1].strip()
                out["app_checks"] = True
finally:
    with os.fdopen(3, "w") as w:
        w.write(json.dumps(out))
)PY";

// The Python that runs the app: ExecStart's program when it is python, else
// the #! interpreter of the gunicorn script ("" when neither).
std::string python_of(const Context& c) {
  std::string prog = c.gunicorn_program;
  if (prog.empty() || prog.find_first_of("$`") != std::string::npos) return "";
  if (prog[0] != '/') {  // relative to where the wrapper's shell is
    std::string base = c.workdir.empty() ? "/" : c.workdir;
    if (!c.wrapper_cd.empty()) base = c.wrapper_cd[0] == '/' ? c.wrapper_cd : base + "/" + c.wrapper_cd;
    prog = base + "/" + prog;
  }
  if (starts_with(basename_of(prog), "python")) return prog;
  std::string line = c.host.shebang(prog);  // a venv's bin/ may hold symlinks: followed
  if (line.empty()) return "";
  std::string interp = shebang_interpreter(line);
  if (basename_of(interp) == "env") {  // #!/usr/bin/env python3
    auto words = split(line.substr(2), ' ');
    for (std::size_t i = 1; i < words.size(); ++i)
      if (!starts_with(words[i], "-")) return c.host.find_in_path(words[i]);
    return "";
  }
  return starts_with(basename_of(interp), "python") ? interp : "";
}

// The environment systemd gives the service: its settings plus what systemd
// always sets (PATH, and HOME, USER, LOGNAME, SHELL for User=).
std::vector<std::string> service_environ(const Context& c) {
  std::map<std::string, std::string> env = {
      {"PATH", kServicePath},
      {"HOME", c.user.home}, {"USER", c.user.name}, {"LOGNAME", c.user.name}, {"SHELL", "/bin/sh"}};
  for (const auto& [k, v] : c.env) env[k] = v;
  env["PYTHONDONTWRITEBYTECODE"] = "1";  // doctor writes nothing, not even __pycache__ (python -B as well)
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

}  // namespace

void probe_app(Context& c) {
  AppProbe& a = c.app;
  if (!c.gunicorn || c.g.app.empty() || !c.exec_ok || !c.workdir_ok || !c.user.exists || !c.wrapper_cd_unknown.empty())
    return;
  a.python = python_of(c);
  a.spec = c.g.app;
  if (a.python.empty()) return;
  ChildRun run;
  run.argv = {a.python, "-B", "-c", kProbe, a.spec, c.opts.run_app_checks ? "1" : "0"};
  for (const auto& p : c.g.pythonpath) run.argv.push_back(c.absolute(p));
  run.env = service_environ(c);
  run.dir = c.app_dir();
  run.timeout_ms = c.opts.import_timeout_ms;
  ChildResult r = c.host.run_as(c.user, run);
  if (!r.started) {
    a.not_started = r.failure.empty() ? "the child could not be started" : r.failure;
    return;
  }
  a.ran = true;
  a.timed_out = r.timed_out;
  a.blocked_in = r.blocked_in;
  a.output = r.output;
  a.ms = r.ms;
  int status = r.status;
  auto j = nlohmann::json::parse(r.answer, nullptr, false);
  if (!j.is_object()) {
    if (!a.timed_out)
      a.error = WIFEXITED(status) && WEXITSTATUS(status) == 126
                    ? "could not become " + c.user.name + " in " + run.dir
                    : "the interpreter " + a.python + " did not run the probe (exit " +
                          std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)) + ")";
    return;
  }
  a.imported = j.value("imported", false);
  a.error = j.value("error", "");
  a.gunicorn_version = j.value("gunicorn_version", "");
  a.django = j.value("django", false);
  a.static_root = j.value("static_root", "");
  a.media_root = j.value("media_root", "");
  a.app_checks_ran = j.value("app_checks", false);
  a.migrations_error = j.value("migrations_error", "");
  if (j.contains("unapplied") && j["unapplied"].is_array())
    for (const auto& m : j["unapplied"])
      if (m.is_string()) a.unapplied.push_back(m.get<std::string>());
  if (j.contains("messages") && j["messages"].is_array())
    for (const auto& m : j["messages"])
      if (m.is_object())
        a.messages.push_back({m.value("level", 0), m.value("id", ""), m.value("msg", ""), m.value("hint", "")});
}

Check check_import(const Context& c) {
  const AppProbe& a = c.app;
  if (!c.gunicorn) return make(CheckId::import, Status::skipped, "not a gunicorn app: nothing to import");
  if (c.g.app.empty() && c.g.config.empty())
    return make(CheckId::import, Status::failure, "gunicorn is given no app to load: it exits with \"No application module specified\"",
                {}, "name the app at the end of ExecStart=, e.g. projectmeats.wsgi:application");
  if (c.g.app.empty()) return make(CheckId::import, Status::skipped, "the app is named in gunicorn's config file " + c.g.config + " (not read)");
  if (!a.ran) {
    if (!c.wrapper_cd_unknown.empty())
      return make(CheckId::import, Status::skipped, c.wrapper + " changes to " + c.wrapper_cd_unknown +
                                                 ", a directory only its shell knows: the import is not tried");
    if (a.python.empty() && c.exec_ok && c.workdir_ok && c.user.exists)
      return make(CheckId::import, Status::skipped, "the Python that runs " + c.gunicorn_program +
                                                 " is not known (no #! python line, or a path only the wrapper's shell knows)");
    if (!a.not_started.empty())
      return make(CheckId::import, Status::warning,
                  "not tried: doctor could not start the import probe (" + a.not_started + ")", {},
                  "run pmtrace doctor again; if it persists, check this machine's process and file limits");
    return make(CheckId::import, Status::skipped, "not tried: the checks above must pass first");
  }
  std::string how = " as " + c.user.name + " with " + a.python + " in " + c.app_dir();
  if (a.timed_out) {
    Check k = make(CheckId::import, Status::failure,
                   a.spec + " did not finish importing within " + std::to_string(c.opts.import_timeout_ms / 1000) + " s" + how,
                   {}, "something at import time waits: a database or HTTP connect without a timeout is the usual one "
                       "(connect_timeout=5 in DATABASE_URL); with --preload gunicorn never gets to READY=1");
    if (!a.blocked_in.empty()) k.evidence.push_back("it was in " + a.blocked_in + "() when stopped");
    return k;
  }
  if (a.imported)
    return make(CheckId::import, Status::ok, a.spec + " imports" + how + " (" + std::to_string(a.ms) + " ms)");
  Check k = make(CheckId::import, Status::failure, a.spec + " does not import" + how + ": " + (a.error.empty() ? "no error printed" : a.error));
  // The last lines of the traceback are the evidence.
  auto lines = split(a.output, '\n');
  std::size_t from = lines.size() > 6 ? lines.size() - 6 : 0;
  for (std::size_t i = from; i < lines.size(); ++i) k.evidence.push_back(lines[i]);
  std::string own = a.spec.substr(0, a.spec.find_first_of(".:"));  // the app's own top-level package
  auto module = rules::missing_module(a.output);
  if (module && *module == own) {
    k.title = "the app's own module '" + own + "' is not found in " + c.app_dir() + " (" + a.spec + " does not import)";
    k.fix = "point WorkingDirectory= (or --chdir) at the directory that holds " + own + ", and make it readable by " +
            c.user.name + " (chmod o+rx)";
  } else if (module) {
    k.title = "Python module '" + *module + "' is missing for " + a.python + " (" + a.spec + " does not import)";
    k.fix = rules::pip_install_fix(a.python, *module);
  } else if (a.error.find("PermissionError") != std::string::npos) {
    k.fix = "the app opens a file " + c.user.name + " may not read at import: give the user access to that file (see the traceback)";
  } else {
    k.fix = "fix the error in the traceback; to see it yourself: cd " + shell_word(c.app_dir()) + " && sudo -u " + shell_word(c.user.name) + " " +
            a.python + " -c 'import " + a.spec.substr(0, a.spec.find(':')) + "' (with the unit's environment)";
  }
  return k;
}

std::vector<Check> check_app(const Context& c) {
  std::vector<Check> out;
  const AppProbe& a = c.app;
  if (!c.opts.run_app_checks) {
    if (a.django) out.push_back(make(CheckId::app_checks, Status::skipped, "Django's check --deploy and migrations: run with --run-app-checks (runs the app's code)"));
    return out;
  }
  if (!a.django) {
    out.push_back(make(CheckId::app_checks, Status::skipped, a.imported ? "not a Django app" : "the app does not import (see import)"));
    return out;
  }
  if (!a.app_checks_ran) {
    out.push_back(make(CheckId::app_checks, Status::skipped, "Django's checks did not run (see import)"));
    return out;
  }
  std::vector<std::string> errors, warnings;
  for (const auto& m : a.messages) {
    std::string line = m.id + ": " + m.msg + (m.hint.empty() ? "" : " (" + m.hint + ")");
    (m.level >= 40 ? errors : warnings).push_back(line);
  }
  if (!errors.empty())
    out.push_back(make(CheckId::app_checks, Status::failure, "manage.py check --deploy: " + std::to_string(errors.size()) + " errors", errors,
                       "fix each error in the settings (the hint says how)"));
  if (!warnings.empty())
    out.push_back(make(CheckId::app_checks, Status::warning, "manage.py check --deploy: " + std::to_string(warnings.size()) + " warnings",
                       warnings, "review each warning in the settings (the hint says how), or silence it in SILENCED_SYSTEM_CHECKS"));
  if (errors.empty() && warnings.empty())
    out.push_back(make(CheckId::app_checks, Status::ok, "manage.py check --deploy: no issues"));
  if (!a.migrations_error.empty()) {
    out.push_back(make(CheckId::migrations, Status::failure,
                       "the migrations could not be read from the database: " + split(a.migrations_error, '\n')[0], {},
                       "check DATABASE_URL and that the database is up (see database)"));
  } else if (!a.unapplied.empty()) {
    std::vector<std::string> ev(a.unapplied.begin(), a.unapplied.begin() + std::min<std::size_t>(a.unapplied.size(), 10));
    if (a.unapplied.size() > 10) ev.push_back("... and " + std::to_string(a.unapplied.size() - 10) + " more");
    Check k = make(CheckId::migrations, Status::failure, std::to_string(a.unapplied.size()) + " migrations are not applied", ev,
                   "cd " + shell_word(c.app_dir()) + " && sudo -u " + shell_word(c.user.name) + " " + a.python + " manage.py migrate  (with the unit's environment, as part of the deploy)");
    out.push_back(std::move(k));
  } else {
    out.push_back(make(CheckId::migrations, Status::ok, "every migration is applied"));
  }
  return out;
}

}  // namespace pm::doctor
