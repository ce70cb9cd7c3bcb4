// Importing the application the way gunicorn would, before the start: in a
// child running as the service user, in its working directory, with the
// unit's environment and interpreter, under a time limit. With
// --run-app-checks the same child runs Django's deployment checks and lists
// unapplied migrations (this runs the application's code, hence the flag).
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <nlohmann/json.hpp>

#include "doctor/checks.h"
#include "model/names.h"
#include "rules/traceback.h"
#include "target/cgroup.h"
#include "target/host.h"
#include "util/strings.h"
#include "util/subprocess.h"

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

long long now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

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
  std::string line = shebang_of(prog);  // a venv's bin/ may hold symlinks: followed
  if (line.empty()) return "";
  std::string interp = shebang_interpreter(line);
  if (basename_of(interp) == "env") {  // #!/usr/bin/env python3
    auto words = split(line.substr(2), ' ');
    for (std::size_t i = 1; i < words.size(); ++i)
      if (!starts_with(words[i], "-")) return find_in_path(words[i]);
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

std::string blocked_syscall(pid_t pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/syscall");
  if (!text) return "";
  auto nr = parse_int(text->substr(0, text->find(' ')));
  if (!nr) return "";
  return *nr < 0 ? "" : model::syscall_name(static_cast<int>(*nr));
}

// A cgroup of its own for the import: whatever the app starts stays in it
// (setsid and setpgid do not leave a cgroup) and is killed with it. Without
// a writable cgroup2 mount the process group is all there is.
class Jail {
 public:
  Jail() {
    // Orphans of the app (a double fork) are reparented to doctor, not to a
    // PID 1 that may never reap them.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    auto root = target::cgroup2_mount();
    if (!root) return;
    dir_ = *root + "/pmtrace-doctor-" + std::to_string(::getpid());
    if (::mkdir(dir_.c_str(), 0755) != 0 && errno != EEXIST) dir_.clear();
  }
  ~Jail() { kill_all(); }
  Jail(const Jail&) = delete;
  Jail& operator=(const Jail&) = delete;
  // In the forked child, still root: move itself in.
  void enter() const {
    if (dir_.empty()) return;
    int fd = ::open((dir_ + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    (void)!::write(fd, "0", 1);
    ::close(fd);
  }
  void kill_all() {
    if (dir_.empty()) return;
    for (int round = 0; round < 100; ++round) {
      auto procs = target::cgroup_procs(dir_);
      if (procs.empty()) break;
      for (auto p : procs) ::kill(static_cast<pid_t>(p), SIGKILL);
      ::usleep(10000);
      while (::waitpid(-1, nullptr, WNOHANG) > 0) {  // orphans come to us (subreaper): reap them
      }
    }
    ::rmdir(dir_.c_str());
    dir_.clear();
  }

 private:
  std::string dir_;
};

// SIGINT, SIGTERM and SIGHUP caught while the import runs, then raised again
// once it is cleaned up.
volatile std::sig_atomic_t g_caught = 0;
class Interrupts {
 public:
  Interrupts() {
    struct sigaction sa{};
    sa.sa_handler = [](int sig) { g_caught = sig; };
    ::sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; ++i) ::sigaction(kSignals[i], &sa, &old_[i]);
  }
  ~Interrupts() { restore(); }
  bool caught() const { return g_caught != 0; }
  void reraise() {
    restore();
    if (int sig = g_caught) {
      g_caught = 0;
      ::raise(sig);
    }
  }

 private:
  void restore() {
    if (restored_) return;
    for (int i = 0; i < 3; ++i) ::sigaction(kSignals[i], &old_[i], nullptr);
    restored_ = true;
  }
  static constexpr int kSignals[3] = {SIGINT, SIGTERM, SIGHUP};
  struct sigaction old_[3] {};
  bool restored_ = false;
};

}  // namespace

void probe_app(Context& c) {
  AppProbe& a = c.app;
  if (!c.gunicorn || c.g.app.empty() || !c.exec_ok || !c.workdir_ok || !c.user.exists || !c.wrapper_cd_unknown.empty())
    return;
  a.python = python_of(c);
  a.spec = c.g.app;
  if (a.python.empty()) return;
  int out_pipe[2], res_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return;
  if (::pipe2(res_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return;
  }
  std::vector<std::string> argv = {a.python, "-B", "-c", kProbe, a.spec, c.opts.run_app_checks ? "1" : "0"};
  for (const auto& p : c.g.pythonpath) argv.push_back(c.absolute(p));
  std::vector<std::string> envs = service_environ(c);
  std::vector<char*> av, ev;
  for (auto& s : argv) av.push_back(s.data());
  av.push_back(nullptr);
  for (auto& s : envs) ev.push_back(s.data());
  ev.push_back(nullptr);
  std::string dir = c.app_dir();
  Jail jail;
  long long start = now_ms();
  pid_t pid = ::fork();
  if (pid < 0) return;
  if (pid == 0) {
    ::setpgid(0, 0);
    jail.enter();
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(out_pipe[1], 2);
    ::dup2(res_pipe[1], 3);
    if (!become(c.user) || ::chdir(dir.c_str()) != 0) ::_exit(126);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // after the uid change, which clears it
    if (::getppid() == 1) ::_exit(126);   // doctor already gone
    ::execve(av[0], av.data(), ev.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(res_pipe[1]);
  a.ran = true;
  // Ctrl-C, SIGTERM or SIGHUP while the app imports: kill it (and all it
  // started) first, then die of the same signal.
  Interrupts interrupts;
  std::string result;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {res_pipe[0], POLLIN, 0}};
  int status = 0;
  bool reaped = false;
  auto stop = [&](bool timed_out) {
    if (timed_out && !a.timed_out) {
      a.timed_out = true;
      a.blocked_in = blocked_syscall(pid);
    }
    ::kill(pid, SIGKILL);  // itself, even if it left its process group
    ::kill(-pid, SIGKILL);
    jail.kill_all();
  };
  // Until the probe has exited and its answer is read. Its output pipe may
  // stay open in something it left running: that is not waited for.
  for (;;) {
    if (!reaped && ::waitpid(pid, &status, WNOHANG) == pid) reaped = true;
    if (reaped && fds[1].fd < 0) break;
    if (interrupts.caught()) {
      stop(false);
      break;
    }
    long long left = c.opts.import_timeout_ms - (now_ms() - start);
    if (left <= 0) {
      stop(true);
      break;
    }
    int n = ::poll(fds, 2, static_cast<int>(std::min<long long>(left, 100)));
    if (n < 0 && errno != EINTR) break;
    for (auto& f : fds) {
      if (f.fd < 0 || !(f.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t r = ::read(f.fd, buf, sizeof buf);
      if (r <= 0) {
        ::close(f.fd);
        f.fd = -1;
        continue;
      }
      std::string& to = &f == &fds[0] ? a.output : result;
      to.append(buf, static_cast<std::size_t>(r));
      if (to.size() > (1u << 20)) to.erase(0, to.size() - (1u << 20));
    }
  }
  if (fds[0].fd >= 0) {  // what is already in the output pipe
    ::fcntl(fds[0].fd, F_SETFL, O_NONBLOCK);
    char buf[4096];
    ssize_t r;
    while ((r = ::read(fds[0].fd, buf, sizeof buf)) > 0) a.output.append(buf, static_cast<std::size_t>(r));
  }
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);
  if (!reaped)
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  ::kill(-pid, SIGKILL);  // anything the app left behind
  jail.kill_all();
  interrupts.reraise();
  a.ms = now_ms() - start;
  if (a.output.size() > 65536) a.output.erase(0, a.output.size() - 65536);
  auto j = nlohmann::json::parse(result, nullptr, false);
  if (!j.is_object()) {
    if (!a.timed_out)
      a.error = WIFEXITED(status) && WEXITSTATUS(status) == 126
                    ? "could not become " + c.user.name + " in " + dir
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
