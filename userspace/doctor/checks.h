// The checks of pmtrace doctor, one group a file, and what they share: the
// unit, the service user, the command line and the environment the service
// will get (Context), and the machine they read (Context::host).
// Internal to doctor/.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "analysis/gunicorn_args.h"
#include "doctor/doctor.h"
#include "doctor/host.h"

namespace pm::doctor {

// One Django system-check message (check --deploy).
struct DjangoMessage {
  int level = 0;  // 10 debug, 20 info, 30 warning, 40 error, 50 critical
  std::string id, msg, hint;
};

// What importing the app in a child with the service's user, environment and
// directory showed (checks_app.cpp).
struct AppProbe {
  bool ran = false;
  std::string not_started;  // why doctor could not start the probe (its own problem, not the app's)
  bool imported = false;
  bool timed_out = false;
  std::string python;            // the interpreter used
  std::string spec;              // "meats.wsgi:application"
  std::string error;             // "ModuleNotFoundError: No module named 'x'"
  std::string output;            // the child's stdout and stderr (tail)
  std::string blocked_in;        // the system call it sat in when the time limit hit
  long long ms = 0;
  std::string gunicorn_version;  // "21.2.0", "" when gunicorn does not import
  bool django = false;
  std::string static_root, media_root;
  bool app_checks_ran = false;
  std::vector<DjangoMessage> messages;
  std::vector<std::string> unapplied;  // "meats.0003_price"
  std::string migrations_error;
};

struct Context {
  Context(const target::UnitFile& u, const Options& o, const Host& h)
      : unit(u), opts(o), host(h), defaults(h.manager_defaults()) {}
  const target::UnitFile& unit;
  Options opts;
  const Host& host;  // the machine: every check reaches it through this
  User user;
  std::vector<std::string> argv;  // ExecStart='s first command
  std::string program;            // its program, found as systemd finds it
  bool exec_ok = false;
  bool workdir_ok = true;
  bool gunicorn = false;           // gunicorn runs: directly, or from a wrapper
  std::string wrapper;             // the shell wrapper that runs it ("" when direct)
  std::string wrapper_cd;          // the directory the wrapper cds to before gunicorn ("" when none)
  std::string wrapper_cd_unknown;  // a cd doctor cannot follow ("$APP_DIR"): the import is not tried
  std::string gunicorn_program;    // the gunicorn (or python) that runs the app
  analysis::GunicornArgs g;
  std::map<std::string, std::string> env;  // Environment= and EnvironmentFile=, as systemd sets them
  std::map<std::string, std::pair<std::string, int>> env_where;  // where an env file set it: file, line
  std::string workdir;                     // WorkingDirectory= ("" when unset: /)
  target::ManagerDefaults defaults;  // system.conf: what unset settings mean
  AppProbe app;

  // "file:line" of a setting, for evidence.
  static std::string where(const target::UnitSetting& s) { return s.file + ":" + std::to_string(s.line); }
  // A value with its specifiers (%i, %n, %p, ...) expanded as systemd would;
  // as written when one is unknown.
  std::string expand(const std::string& v) const;
  // A setting's value, or `def` when the unit does not set it.
  std::string value(const char* section, const char* key, const std::string& def = "") const;
  // The directory the app runs in: gunicorn's --chdir, else the wrapper's
  // cd, else WorkingDirectory=, else / (relative ones from the one before).
  std::string app_dir() const;
  // A path as the service sees it: relative ones from the app's directory.
  std::string absolute(const std::string& path) const;
};

// The PATH systemd gives services (and searches for ExecStart= programs).
inline constexpr const char* kServicePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// A NAME=VALUE word into the environment (a word without '=' is skipped).
void set_assignment(std::map<std::string, std::string>& env, const std::string& word);

Check make(CheckId id, Status st, std::string title, std::vector<std::string> evidence = {},
           std::string fix = {});

// "0750 root:www-data".
std::string mode_text(const Host& host, const std::string& path);
// A path that must exist: its problem ("X does not exist", "X is a symlink to
// Y, which does not exist"), or "" when it does.
std::string missing_why(const Host& host, const std::string& path);
// Whether systemd would say yes to a boolean setting ("yes", "true", "on", "1").
bool unit_bool(const std::string& v);

// The text of a shell wrapper ExecStart runs (a #!/bin/sh script, or the
// string of `sh -c "..."`), its name in `name`; "" when it is none.
std::string wrapper_text(const Context& c, std::string& name);

// checks_unit.cpp: what systemd itself does before the program runs.
Check check_user(Context& c);
Check check_exec(Context& c);
Check check_workdir(Context& c);
std::vector<Check> check_environment(Context& c);
std::vector<Check> check_settings(const Context& c);
// checks_app.cpp: the app imports (and --run-app-checks).
void probe_app(Context& c);
Check check_import(const Context& c);
std::vector<Check> check_app(const Context& c);
// checks_paths.cpp: what the service writes.
std::vector<Check> check_paths(const Context& c);
// One path the service must be able to write (an entry: create in its
// directory), checked with the user's credentials; the fix is the precise
// chown/install or the systemd *Directory= setting, never a blanket mode.
enum class PathKind { file, dir, entry };  // entry: made anew in its directory (a socket; a pid file, written by rename)
// `from_app`: the path comes from the app's own settings, not the unit.
Check check_writable(const Context& c, CheckId id, const std::string& label, const std::string& path,
                     PathKind kind, bool from_app = false);
// fix_script.cpp: a word for sh: as it is when it holds only characters sh
// takes literally (A-Z a-z 0-9 _ . / : @ % + = , -), else single-quoted.
// Every path and name in a check's commands and fix passes through it.
std::string shell_word(const std::string& s);
// fix_script.cpp: a shell command that rewrites line `line` of `file` from
// `text` to `corrected` without writing a secret value into the script (a
// comment asking for a hand edit when that cannot be done).
std::string edit_line_command(const std::string& file, int line, const std::string& text, const std::string& corrected);
// checks_network.cpp
Check check_bind(const Context& c, const std::string& bind);
Check check_database(const Context& c);
// checks_systemd.cpp: unit settings behind the failures pmtrace explains.
std::vector<Check> check_unit_settings(const Context& c);

}  // namespace pm::doctor
