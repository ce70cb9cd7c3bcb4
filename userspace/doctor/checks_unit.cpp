// What systemd does before the service's program runs: the user and group,
// the program and its interpreter, the working directory, the environment.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "doctor/checks.h"
#include "target/envfile.h"
#include "target/environ.h"
#include "util/redact.h"
#include "util/strings.h"

namespace pm::doctor {
namespace {

// systemd's PATH for services, where ExecStart= programs without a '/' are found.
std::string find_program(const Host& host, const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  for (const auto& dir : split(kServicePath, ':')) {
    std::string p = dir + "/" + name;
    if (host.can(User{}, p, X_OK)) return p;  // as root, doctor itself
  }
  return name;
}

// A name useradd/groupadd accept and systemd takes for a name (not a uid):
// [A-Za-z_][A-Za-z0-9_-]*, at most 31 characters.
bool valid_user_name(const std::string& n) {
  if (n.empty() || n.size() > 31 || !(std::isalpha(static_cast<unsigned char>(n[0])) || n[0] == '_')) return false;
  for (char ch : n)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-')) return false;
  return true;
}

// User= or Group= names an account this machine does not have.
Check missing_account(const target::UnitSetting& s, const std::string& command, const std::string& status) {
  Check k = make(CheckId::user, Status::failure, s.key + "=" + s.value + " does not exist on this machine",
                 {Context::where(s) + ": " + s.key + "=" + s.value},
                 command + "  (or set " + s.key + "= to an existing " + (s.key == "User" ? "user" : "group") +
                     "); systemd fails the start with " + status);
  k.commands.push_back(command);
  return k;
}

// gunicorn run by a shell wrapper: the line that runs it, its options and
// the wrapper's own arguments where it passes "$@" on.
void read_wrapper(Context& c) {
  std::string name;
  std::string text = wrapper_text(c, name);
  std::string wrapper_dir = c.program.substr(0, c.program.rfind('/'));
  std::vector<std::string> args(c.argv.size() > 1 ? c.argv.begin() + 1 : c.argv.end(), c.argv.end());
  auto w = target::read_shell_wrapper(text, wrapper_dir, args);
  c.wrapper_cd = w.cd;
  c.wrapper_cd_unknown = w.cd_unknown;
  if (!w.runs_gunicorn) return;
  const std::string& program = w.gunicorn_argv[0];
  c.gunicorn = true;
  c.wrapper = name;
  // A bare "gunicorn" after an activate or PATH= is the one in that bin/.
  c.gunicorn_program = program.find('/') != std::string::npos ? program
                       : !w.venv_bin.empty()                  ? w.venv_bin + "/" + program
                                                              : find_program(c.host, program);
  c.g = analysis::parse_gunicorn_args(w.gunicorn_argv);
}

// Why read_file failed, in words (it refuses what is not a small regular file).
std::string read_error(int err) {
  if (err == EINVAL) return "it is not a regular file";
  if (err == EFBIG) return "it is larger than " + std::to_string(kMaxReadFile >> 20) + " MiB";
  return std::strerror(err);
}

// A URL-like value that did not parse may still hold a password: what comes
// before its last '@' after the first ':' is not shown ("meats:***@host").
std::string hide_userinfo(const std::string& v) {
  auto at = v.rfind('@');
  if (at == std::string::npos) return v;
  auto start = v.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  auto colon = v.find(':', start);
  if (colon == std::string::npos || colon > at) return v;
  return v.substr(0, colon + 1) + "***" + v.substr(at);
}

}  // namespace

std::string wrapper_text(const Context& c, std::string& name) {
  if (c.argv.size() >= 3 && (basename_of(c.argv[0]) == "sh" || basename_of(c.argv[0]) == "bash") && c.argv[1] == "-c") {
    name = c.argv[0] + " -c";
    return c.argv[2];
  }
  // (lstat: a symlink's #! line is not read)
  std::string shebang = c.host.lstat(c.program).type == FileType::regular ? c.host.shebang(c.program) : "";
  std::string interp = basename_of(shebang_interpreter(shebang));
  if (interp != "sh" && interp != "bash" && interp != "dash" && shebang.find("env bash") == std::string::npos &&
      shebang.find("env sh") == std::string::npos)
    return "";
  name = c.program;
  return c.host.read_file(c.program).value_or("");
}

Check check_user(Context& c) {
  User& user = c.user;
  if (unit_bool(c.value("Service", "DynamicUser"))) {
    user.dynamic = true;
    user.name = "nobody";  // the checks that need a user run as an unprivileged one
    if (auto pw = c.host.user_by_name("nobody")) {
      user.uid = pw->id;
      user.gid = pw->gid;
    }
    return make(CheckId::user, Status::skipped, "DynamicUser=yes: systemd makes the user at start (paths checked as nobody)");
  }
  // Specifiers expanded (User=%i in a template), as systemd does.
  target::UnitSetting us_x, gs_x;
  const auto* us = c.unit.last("Service", "User");
  const auto* gs = c.unit.last("Service", "Group");
  if (us) {
    us_x = *us;
    us_x.value = c.expand(us->value);
    us = &us_x;
  }
  if (gs) {
    gs_x = *gs;
    gs_x.value = c.expand(gs->value);
    gs = &gs_x;
  }
  if (us && !us->value.empty()) {
    user.name = us->value;
    auto uid = parse_int(us->value);
    auto pw = uid ? c.host.user_by_id(static_cast<std::uint32_t>(*uid)) : c.host.user_by_name(us->value);
    if (!pw && uid && *uid > 0 && *uid < 4294967295LL) {
      // systemd runs a numeric User= without a passwd entry (no home, no name).
      user.uid = static_cast<uid_t>(*uid);
      user.gid = static_cast<gid_t>(*uid);
      user.home = "/";
      user.group = std::to_string(user.gid);
      return make(CheckId::user, Status::warning, "User=" + us->value + " has no passwd entry: systemd runs it as uid and gid " +
                                               us->value + ", with no home directory", {Context::where(*us)},
                  "create the user (useradd --system --uid " + us->value + " NAME), or use a named user");
    }
    if (!pw && !valid_user_name(us->value)) {
      user.exists = false;
      return make(CheckId::user, Status::failure, "User=" + us->value + " is not a valid user name", {Context::where(*us)},
                  "a name of letters, digits, '_' and '-', not starting with '-' or a digit");
    }
    if (!pw) {
      user.exists = false;
      return missing_account(*us, "useradd --system --no-create-home --shell /usr/sbin/nologin " + shell_word(us->value), "217/USER");
    }
    user.name = pw->name;
    user.uid = pw->id;
    user.gid = pw->gid;
    user.home = pw->home;
  }
  if (gs && !gs->value.empty()) {
    auto gid = parse_int(gs->value);
    auto gr = gid ? c.host.group_by_id(static_cast<std::uint32_t>(*gid)) : c.host.group_by_name(gs->value);
    if (!gr && !valid_user_name(gs->value))
      return make(CheckId::user, Status::failure, "Group=" + gs->value + " is not a valid group name", {Context::where(*gs)},
                  "a name of letters, digits, '_' and '-', not starting with '-' or a digit");
    if (!gr) {
      return missing_account(*gs, "groupadd --system " + shell_word(gs->value), "216/GROUP");
    }
    user.gid = gr->id;
  }
  if (auto gr = c.host.group_by_id(user.gid)) user.group = gr->name;
  else user.group = std::to_string(user.gid);
  for (const auto* sg : c.unit.list("Service", "SupplementaryGroups"))
    for (const auto& name : split(c.expand(sg->value), ' ')) {
      auto gid = parse_int(name);
      auto gr = gid ? c.host.group_by_id(static_cast<std::uint32_t>(*gid)) : c.host.group_by_name(name);
      if (!gr)
        return make(CheckId::user, Status::failure, "SupplementaryGroups= names " + name + ", which does not exist on this machine",
                    {Context::where(*sg)}, "groupadd --system " + shell_word(name) + "  (or remove it from SupplementaryGroups=)");
      user.extra_groups.push_back(gr->id);
    }
  return make(CheckId::user, Status::ok,
              "runs as " + user.name + " (uid " + std::to_string(user.uid) + ", gid " + std::to_string(user.gid) + ")");
}

Check check_exec(Context& c) {
  auto execs = c.unit.list("Service", "ExecStart");
  if (execs.empty()) return make(CheckId::exec, Status::failure, "the unit has no ExecStart=", {c.unit.path}, "add ExecStart= to [Service]");
  const auto* es = execs.front();
  std::string where = Context::where(*es);
  auto cmd = target::parse_exec(es->value, c.unit.name, c.user.name);
  if (!cmd) return make(CheckId::exec, Status::failure, "ExecStart= cannot be parsed: " + cmd.error().message, {where});
  c.argv = cmd->argv;
  // systemd puts the environment into ExecStart=: ${NAME} inside a word,
  // $NAME as a word of its own split at white space (not with the ':' prefix).
  if (!cmd->no_env_expand) {
    std::vector<std::string> expanded;
    for (const auto& w : c.argv) {
      if (w.size() > 1 && w[0] == '$' && w[1] != '{') {
        auto it = c.env.find(w.substr(1));
        if (it != c.env.end())
          for (const auto& part : split(it->second, ' ')) expanded.push_back(part);
        continue;
      }
      std::string out;
      for (std::size_t i = 0; i < w.size(); ++i) {
        auto close = w.find('}', i);
        if (w.compare(i, 2, "${") == 0 && close != std::string::npos) {
          auto it = c.env.find(w.substr(i + 2, close - i - 2));
          if (it != c.env.end()) out += it->second;
          i = close;
        } else {
          out += w[i];
        }
      }
      expanded.push_back(out);
    }
    c.argv = expanded;
  }
  learn_secrets_from_argv(c.argv);  // gunicorn -e SECRET_KEY=..., --password ...
  std::string prog = find_program(c.host, cmd->path);
  c.program = prog;
  // ExecStart=@/usr/bin/gunicorn meats-master ...: argv[0] is a name, the path says gunicorn.
  std::vector<std::string> as_run = c.argv;
  if (!as_run.empty()) as_run[0] = prog;
  c.gunicorn = analysis::runs_gunicorn(as_run);
  if (c.gunicorn) {
    c.g = analysis::parse_gunicorn_args(as_run);
    c.gunicorn_program = prog;
  } else {
    read_wrapper(c);
  }
  for (const auto& e : c.g.env) set_assignment(c.env, e);  // gunicorn -e KEY=VALUE: set in the app over the unit's
  if (auto why = missing_why(c.host, prog); !why.empty())
    return make(CheckId::exec, Status::failure, "ExecStart= names a program that is not there: " + why, {where},
                "install it, or fix the path in ExecStart=; systemd fails the start with 203/EXEC");
  if (auto pst = c.host.stat(prog); pst.exists && pst.type != FileType::regular)
    return make(CheckId::exec, Status::failure, "ExecStart= names " + prog + ", which is not a regular file", {where},
                "point ExecStart= at the program itself; systemd fails the start with 203/EXEC");
  if (!c.user.exists) return make(CheckId::exec, Status::skipped, "the user does not exist (see user)");
  // A script is read by its interpreter: the user needs r as well as x.
  std::string line = c.host.shebang(prog);
  int need = line.empty() ? X_OK : R_OK | X_OK;
  if (!c.host.can(c.user, prog, need)) {
    std::string mode = line.empty() ? "o+x" : "o+rx";
    Check k = make(CheckId::exec, Status::failure,
                   prog + " is not " + (line.empty() ? "executable" : "readable and executable") + " by " + c.user.name,
                   {where, prog + ": " + mode_text(c.host, prog)},
                   "chmod " + mode + " " + shell_word(prog) + "  (and every directory above it must be enterable by " +
                       c.user.name + ")");
    k.commands.push_back("chmod " + mode + " " + shell_word(prog));
    return k;
  }
  if (!line.empty()) {
    std::string interp = shebang_interpreter(line);
    if (!interp.empty()) {
      if (auto why = missing_why(c.host, interp); !why.empty()) {
        std::string venv = prog.substr(0, prog.rfind("/bin/"));
        return make(CheckId::exec, Status::failure,
                    prog + " is a script whose interpreter is missing: " + why, {where, prog + ": " + line},
                    prog.find("/bin/") != std::string::npos
                        ? "recreate the virtualenv: python3 -m venv --clear " + shell_word(venv) + " && " + shell_word(venv + "/bin/pip") +
                              " install -r requirements.txt  (a virtualenv's python is a symlink to the interpreter it was made with)"
                        : "install " + interp + " or fix the #! line of " + prog);
      }
    }
  }
  // (A wrapper's gunicorn named through a variable or a relative path is
  // found only in the shell; the import check says so.)
  if (!c.wrapper.empty() && c.gunicorn_program[0] == '/' && c.gunicorn_program.find('$') == std::string::npos)
    if (auto why = missing_why(c.host, c.gunicorn_program); !why.empty())
      return make(CheckId::exec, Status::failure, c.wrapper + " runs gunicorn from a path that is not there: " + why, {where},
                  "fix the gunicorn path in " + c.wrapper + " (the virtualenv's bin/gunicorn)");
  c.exec_ok = true;
  return make(CheckId::exec, Status::ok, "ExecStart= runs " + prog + (line.empty() ? "" : " (" + line + ")") +
                                      (c.wrapper.empty() ? "" : ", which runs " + c.gunicorn_program));
}

Check check_workdir(Context& c) {
  const auto* wd = c.unit.last("Service", "WorkingDirectory");
  if (!wd || wd->value.empty()) return make(CheckId::working_directory, Status::skipped, "no WorkingDirectory= (/ is used)");
  std::string dir = wd->value;
  bool optional = starts_with(dir, "-");
  if (optional) dir.erase(0, 1);
  if (dir == "~") dir = c.user.home;
  if (auto expanded = target::expand_specifiers(dir, c.unit.name, c.user.name)) dir = *expanded;
  c.workdir = dir;
  std::string where = Context::where(*wd);
  c.workdir_ok = false;
  if (auto why = missing_why(c.host, dir); !why.empty())
    return make(CheckId::working_directory, optional ? Status::warning : Status::failure, "WorkingDirectory= " + why,
                {where}, "create it or point WorkingDirectory= at the deployed code; systemd fails the start with 200/CHDIR");
  if (c.host.stat(dir).type != FileType::directory)
    return make(CheckId::working_directory, Status::failure, "WorkingDirectory=" + dir + " is not a directory", {where});
  // systemd needs x to chdir; Python also lists the directory to import from it.
  bool python_app = c.gunicorn && c.g.chdir.empty() && c.wrapper_cd.empty();
  int need = python_app ? R_OK | X_OK : X_OK;
  if (c.user.exists && !c.host.can(c.user, dir, need)) {
    bool enters = c.host.can(c.user, dir, X_OK);
    std::string mode = python_app ? "rx" : "x";
    Check k = make(CheckId::working_directory, Status::failure,
                   c.user.name + (enters ? " can enter but not list WorkingDirectory=" + dir +
                                               " (Python finds no module in a directory it cannot list)"
                                         : " cannot enter WorkingDirectory=" + dir),
                   {where, dir + ": " + mode_text(c.host, dir)},
                   "chmod o+" + mode + " " + shell_word(dir) + "  (or chgrp " + shell_word(c.user.group) + " " +
                       shell_word(dir) + " && chmod g+" + mode + " " + shell_word(dir) + ")");
    k.commands.push_back("chmod o+" + mode + " " + shell_word(dir));
    return k;
  }
  c.workdir_ok = true;
  return make(CheckId::working_directory, Status::ok, c.user.name + " can enter " + dir);
}

// EnvironmentFile= and Environment=: the variables the service will get.
std::vector<Check> check_environment(Context& c) {
  std::vector<Check> out;
  for (const auto& word : c.defaults.environment) set_assignment(c.env, word);  // DefaultEnvironment=, the lowest layer
  for (const auto* s : c.unit.list("Service", "Environment")) {
    auto words = target::parse_exec(s->value, c.unit.name, c.user.name);  // systemd splits it as a command line
    for (const auto& word : words ? words->argv : split(s->value, ' ')) set_assignment(c.env, word);
  }
  // Each EnvironmentFile= as systemd reads it (specifiers, wildcards).
  target::EnvFileSource files;
  files.read = [&c](const std::string& p) { return c.host.read_file(p); };
  files.glob = [&c](const std::string& p) { return c.host.glob(p); };
  for (const auto& f : target::read_environment_files(c.unit, c.user.name, files)) {
    const std::string& path = f.path;
    if (!f.readable) {
      out.push_back(make(CheckId::environment_file, f.optional ? Status::ok : Status::failure,
                         f.optional ? "EnvironmentFile=-" + path + " is missing (allowed by '-')"
                                    : "EnvironmentFile=" + path + " cannot be read: " + read_error(f.err),
                         {Context::where(*f.setting)},
                         f.optional ? "" : "create it, or write EnvironmentFile=-" + path + " if it is optional"));
      continue;
    }
    const auto& parsed = f.parsed;
    for (const auto& v : parsed.vars) {
      c.env[v.key] = v.value;
      c.env_where[v.key] = {path, v.line};
      if (secret_name(v.key)) learn_secret(v.value);
    }
    if (parsed.issues.empty()) {
      out.push_back(make(CheckId::environment_file, Status::ok, path + ": " + std::to_string(parsed.vars.size()) + " variables"));
      continue;
    }
    for (const auto& i : parsed.issues) {
      Check k = make(CheckId::environment_file, Status::warning, path + " line " + std::to_string(i.line) + ": " + i.problem,
                     {path + ":" + std::to_string(i.line) + ": " + i.text},
                     i.corrected.empty() ? "" : "write line " + std::to_string(i.line) + " as: " + i.corrected);
      if (!i.corrected.empty()) k.commands.push_back(edit_line_command(path, i.line, i.text, i.corrected));
      out.push_back(std::move(k));
    }
  }
  for (const auto& [k, v] : c.env) {
    if (secret_name(k)) learn_secret(v);
    // A URL's password, whatever it holds (spaces, quotes, '@'): from the
    // user's ':' to the last '@'.
    auto sep = v.find("://");
    auto at = v.rfind('@');
    if (sep != std::string::npos && at != std::string::npos && at > sep) {
      auto colon = v.find(':', sep + 3);
      if (colon != std::string::npos && colon < at) learn_secret(v.substr(colon + 1, at - colon - 1));
    }
  }
  return out;
}

std::vector<Check> check_settings(const Context& c) {
  std::vector<Check> out;
  const auto& env = c.env;
  bool django = c.app.django || env.count("DJANGO_SETTINGS_MODULE") || c.g.app.find(".wsgi") != std::string::npos;
  if (auto it = env.find("SECRET_KEY"); it != env.end() && it->second.empty()) {
    out.push_back(make(CheckId::settings, Status::failure, "SECRET_KEY is set but empty", {"SECRET_KEY="},
                       "set SECRET_KEY to a long random value (python3 -c 'import secrets; print(secrets.token_urlsafe(50))')"));
  } else if (it == env.end() && django && !(c.app.imported && c.app.django)) {  // the settings found one
    out.push_back(make(CheckId::settings, Status::warning,
                       "SECRET_KEY is not in the unit's environment (a Django app refuses to start without it, unless its settings set one)",
                       {}, "add a SECRET_KEY line to the EnvironmentFile= (a long random value)"));
  }
  if (auto it = env.find("DATABASE_URL"); it != env.end()) {
    if (!target::parse_database_url(it->second))
      out.push_back(make(CheckId::settings, Status::failure, "DATABASE_URL does not parse as a database URL",
                         {"DATABASE_URL=" + hide_userinfo(it->second)},
                         "write it in the form postgresql://USER@HOST:5432/NAME, with :PASSWORD after USER"));
    else if (starts_with(it->second, "postgres://") && !django)  // dj-database-url takes both
      out.push_back(make(CheckId::settings, Status::warning,
                         "DATABASE_URL uses the postgres:// scheme: SQLAlchemy 1.4+ refuses it (dj-database-url accepts both)",
                         {"DATABASE_URL=" + it->second}, "write postgresql:// instead of postgres://"));
    else
      out.push_back(make(CheckId::settings, Status::ok, "DATABASE_URL parses"));
  }
  return out;
}

}  // namespace pm::doctor
