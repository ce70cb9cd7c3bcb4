#include "doctor/doctor.h"

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>

#include "target/envfile.h"
#include "target/environ.h"
#include "target/host.h"
#include "util/strings.h"

namespace pm::doctor {
namespace {

Check make(const std::string& id, Status st, std::string title, std::vector<std::string> evidence = {},
           std::string fix = {}) {
  return Check{id, std::move(title), st, std::move(evidence), std::move(fix)};
}

struct User {
  std::string name = "root", group;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home = "/root";
  bool exists = true;
};

// Whether `user` may access `path` with `mode` (R_OK, W_OK, X_OK), checked
// with that user's own credentials in a child (root passes every access()).
bool user_can(const User& user, const std::string& path, int mode) {
  if (user.uid == 0) return ::access(path.c_str(), mode) == 0;
  pid_t pid = ::fork();
  if (pid < 0) return ::access(path.c_str(), mode) == 0;
  if (pid == 0) {
    if (::initgroups(user.name.c_str(), user.gid) != 0 && ::setgroups(0, nullptr) != 0) ::_exit(2);
    if (::setgid(user.gid) != 0 || ::setuid(user.uid) != 0) ::_exit(2);
    ::_exit(::access(path.c_str(), mode) == 0 ? 0 : 1);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// "0750 root:www-data", from the file lookup the rules use.
std::string mode_text(const std::string& path) {
  auto f = target::host_file_lookup()(path);
  if (!f) return "?";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", f->mode & 07777);
  return std::string(buf) + " " + (f->owner.empty() ? std::to_string(f->uid) : f->owner) + ":" +
         (f->group.empty() ? std::to_string(f->gid) : f->group);
}

// The "#!" line of the file a path finally names ("" when it is none).
std::string shebang_of(const std::string& path) {
  char* real = ::realpath(path.c_str(), nullptr);
  if (!real) return "";
  auto f = target::host_path_lookup()(real);
  ::free(real);
  return f ? f->shebang : "";
}

std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  for (const auto& dir : split("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", ':')) {
    std::string p = dir + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return name;
}

// A path that must exist: its problem, or "" when it does (lstat, as the
// exec-failure rule reads paths).
std::string missing_why(const std::string& path) {
  auto f = target::host_path_lookup()(path);
  if (!f) return path + " does not exist";
  if (f->symlink && !f->target_exists) return path + " is a symlink to " + f->link_target + ", which does not exist";
  return "";
}

Check check_user(const target::UnitFile& u, User& user) {
  const auto* dyn = u.last("Service", "DynamicUser");
  if (dyn && (dyn->value == "yes" || dyn->value == "true" || dyn->value == "1"))
    return make("user", Status::skipped, "DynamicUser=yes: systemd makes the user at start");
  const auto* us = u.last("Service", "User");
  const auto* gs = u.last("Service", "Group");
  if (us && !us->value.empty()) {
    user.name = us->value;
    struct passwd* pw = parse_int(us->value) ? ::getpwuid(static_cast<uid_t>(*parse_int(us->value)))
                                             : ::getpwnam(us->value.c_str());
    if (!pw) {
      user.exists = false;
      return make("user", Status::failure, "User=" + us->value + " does not exist on this machine",
                  {us->file + ":" + std::to_string(us->line) + ": User=" + us->value},
                  "useradd --system --no-create-home --shell /usr/sbin/nologin " + us->value +
                      "  (or set User= to an existing user); systemd fails the start with 217/USER");
    }
    user.name = pw->pw_name;
    user.uid = pw->pw_uid;
    user.gid = pw->pw_gid;
    user.home = pw->pw_dir;
  }
  if (gs && !gs->value.empty()) {
    struct group* gr = ::getgrnam(gs->value.c_str());
    if (!gr)
      return make("user", Status::failure, "Group=" + gs->value + " does not exist on this machine",
                  {gs->file + ":" + std::to_string(gs->line) + ": Group=" + gs->value},
                  "groupadd --system " + gs->value + "  (or set Group= to an existing group); systemd fails the start with 216/GROUP");
    user.gid = gr->gr_gid;
  }
  if (auto* gr = ::getgrgid(user.gid)) user.group = gr->gr_name;
  return make("user", Status::ok,
              "runs as " + user.name + " (uid " + std::to_string(user.uid) + ", gid " + std::to_string(user.gid) + ")");
}

Check check_exec(const target::UnitFile& u, const User& user, std::vector<std::string>& argv_out) {
  auto execs = u.list("Service", "ExecStart");
  if (execs.empty()) return make("exec", Status::failure, "the unit has no ExecStart=", {u.path}, "add ExecStart= to [Service]");
  const auto* es = execs.front();
  std::string where = es->file + ":" + std::to_string(es->line);
  auto cmd = target::parse_exec(es->value, u.name, user.name);
  if (!cmd) return make("exec", Status::failure, "ExecStart= cannot be parsed: " + cmd.error().message, {where});
  argv_out = cmd->argv;
  std::string prog = find_program(cmd->path);
  if (auto why = missing_why(prog); !why.empty())
    return make("exec", Status::failure, "ExecStart= names a program that is not there: " + why, {where},
                "install it, or fix the path in ExecStart=; systemd fails the start with 203/EXEC");
  if (!user_can(user, prog, X_OK))
    return make("exec", Status::failure, prog + " is not executable by " + user.name, {where},
                "chmod o+x " + prog + "  (and every directory above it must be enterable by " + user.name + ")");
  std::string line = shebang_of(prog);
  if (!line.empty()) {
    std::string interp = shebang_interpreter(line);
    if (!interp.empty()) {
      if (auto why = missing_why(interp); !why.empty()) {
        std::string venv = prog.substr(0, prog.rfind("/bin/"));
        return make("exec", Status::failure,
                    prog + " is a script whose interpreter is missing: " + why, {where, prog + ": " + line},
                    prog.find("/bin/") != std::string::npos
                        ? "recreate the virtualenv: python3 -m venv --clear " + venv + " && " + venv +
                              "/bin/pip install -r requirements.txt  (a virtualenv's python is a symlink to the interpreter it was made with)"
                        : "install " + interp + " or fix the #! line of " + prog);
      }
    }
  }
  return make("exec", Status::ok, "ExecStart= runs " + prog + (line.empty() ? "" : " (" + line + ")"));
}

Check check_workdir(const target::UnitFile& u, const User& user) {
  const auto* wd = u.last("Service", "WorkingDirectory");
  if (!wd || wd->value.empty()) return make("working-directory", Status::skipped, "no WorkingDirectory= (/ is used)");
  std::string dir = wd->value;
  bool optional = starts_with(dir, "-");
  if (optional) dir.erase(0, 1);
  if (dir == "~") dir = user.home;
  auto expanded = target::expand_specifiers(dir, u.name, user.name);
  if (expanded) dir = *expanded;
  std::string where = wd->file + ":" + std::to_string(wd->line);
  if (auto why = missing_why(dir); !why.empty())
    return make("working-directory", optional ? Status::warning : Status::failure, "WorkingDirectory= " + why,
                {where}, "create it or point WorkingDirectory= at the deployed code; systemd fails the start with 200/CHDIR");
  struct stat st{};
  ::stat(dir.c_str(), &st);
  if (!S_ISDIR(st.st_mode))
    return make("working-directory", Status::failure, "WorkingDirectory=" + dir + " is not a directory", {where});
  if (!user_can(user, dir, X_OK))
    return make("working-directory", Status::failure, user.name + " cannot enter WorkingDirectory=" + dir,
                {where, dir + ": " + mode_text(dir)},
                "chmod o+x " + dir + "  (or chgrp " + user.group + " " + dir + " && chmod g+x " + dir + ")");
  return make("working-directory", Status::ok, user.name + " can enter " + dir);
}

// EnvironmentFile= and Environment=: the variables the service will get.
std::vector<Check> check_environment(const target::UnitFile& u, std::map<std::string, std::string>& env) {
  std::vector<Check> out;
  for (const auto* s : u.list("Service", "Environment"))
    for (const auto& word : split(s->value, ' ')) {
      auto eq = word.find('=');
      if (eq != std::string::npos) env[word.substr(0, eq)] = word.substr(eq + 1);
    }
  for (const auto* s : u.list("Service", "EnvironmentFile")) {
    std::string path = s->value;
    bool optional = starts_with(path, "-");
    if (optional) path.erase(0, 1);
    std::string where = s->file + ":" + std::to_string(s->line);
    auto text = read_file(path);
    if (!text) {
      out.push_back(make("environment-file", optional ? Status::ok : Status::failure,
                         optional ? "EnvironmentFile=-" + path + " is missing (allowed by '-')"
                                  : "EnvironmentFile=" + path + " cannot be read: " + std::strerror(errno),
                         {where}, optional ? "" : "create it, or write EnvironmentFile=-" + path + " if it is optional"));
      continue;
    }
    auto parsed = target::parse_env_file(*text);
    for (const auto& v : parsed.vars) env[v.key] = v.value;
    if (parsed.issues.empty()) {
      out.push_back(make("environment-file", Status::ok, path + ": " + std::to_string(parsed.vars.size()) + " variables"));
      continue;
    }
    for (const auto& i : parsed.issues)
      out.push_back(make("environment-file", Status::warning,
                         path + " line " + std::to_string(i.line) + ": " + i.problem,
                         {path + ":" + std::to_string(i.line) + ": " + i.text},
                         i.corrected.empty() ? "" : "write line " + std::to_string(i.line) + " as: " + i.corrected));
  }
  return out;
}

std::vector<Check> check_settings(const std::map<std::string, std::string>& env, const std::vector<std::string>& argv) {
  std::vector<Check> out;
  bool django = env.count("DJANGO_SETTINGS_MODULE");
  for (const auto& a : argv) django |= a.find(".wsgi") != std::string::npos;
  if (auto it = env.find("SECRET_KEY"); it != env.end() && it->second.empty()) {
    out.push_back(make("settings", Status::failure, "SECRET_KEY is set but empty",
                       {"SECRET_KEY="}, "set SECRET_KEY to a long random value (python3 -c 'import secrets; print(secrets.token_urlsafe(50))')"));
  } else if (it == env.end() && django) {
    out.push_back(make("settings", Status::warning,
                       "SECRET_KEY is not in the unit's environment (a Django app refuses to start without it, unless its settings set one)",
                       {}, "add a SECRET_KEY line to the EnvironmentFile= (a long random value)"));
  }
  if (auto it = env.find("DATABASE_URL"); it != env.end()) {
    if (!target::parse_database_url(it->second))
      out.push_back(make("settings", Status::failure, "DATABASE_URL does not parse as a database URL",
                         {"DATABASE_URL=" + it->second}, "write it as postgresql://USER:PASSWORD@HOST:5432/NAME"));
    else if (starts_with(it->second, "postgres://"))
      out.push_back(make("settings", Status::warning,
                         "DATABASE_URL uses the postgres:// scheme: SQLAlchemy 1.4+ refuses it (dj-database-url accepts both)",
                         {"DATABASE_URL=" + it->second}, "write postgresql:// instead of postgres://"));
    else
      out.push_back(make("settings", Status::ok, "DATABASE_URL parses"));
  }
  return out;
}

// gunicorn's -b/--bind values.
std::vector<std::string> binds_of(const std::vector<std::string>& argv) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const auto& a = argv[i];
    if ((a == "-b" || a == "--bind") && i + 1 < argv.size()) out.push_back(argv[++i]);
    else if (starts_with(a, "--bind=")) out.push_back(a.substr(7));
    else if (starts_with(a, "-b") && a.size() > 2) out.push_back(a.substr(2));
  }
  return out;
}

// Connects with a deadline: 0, or the errno (ETIMEDOUT when no answer came).
int connect_with_timeout(const sockaddr* sa, socklen_t len, int timeout_ms) {
  int fd = ::socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int err = 0;
  if (::connect(fd, sa, len) != 0) {
    err = errno;
    if (err == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int n = ::poll(&p, 1, timeout_ms);
      if (n == 0) {
        err = ETIMEDOUT;
      } else {
        socklen_t l = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
      }
    }
  }
  ::close(fd);
  return err;
}

Check check_bind(const std::string& bind, const User& user) {
  if (starts_with(bind, "unix:")) {
    std::string path = bind.substr(5);
    std::string dir = path.substr(0, path.rfind('/'));
    if (dir.empty()) dir = "/";
    if (!missing_why(dir).empty())
      return make("bind", Status::failure, "the directory of gunicorn's socket " + path + " does not exist",
                  {"--bind " + bind}, "RuntimeDirectory=" + basename_of(dir) + " in [Service] (systemd makes /run/" +
                                          basename_of(dir) + " owned by the service user at each start)");
    if (!user_can(user, dir, W_OK | X_OK))
      return make("bind", Status::failure, user.name + " cannot create its socket in " + dir, {"--bind " + bind},
                  "RuntimeDirectory=" + basename_of(dir) + " in [Service], or chown " + user.name + " " + dir);
    return make("bind", Status::ok, user.name + " can create " + path);
  }
  auto colon = bind.rfind(':');
  std::string host = colon == std::string::npos ? bind : bind.substr(0, colon);
  auto port = colon == std::string::npos ? std::optional<long long>(8000) : parse_int(bind.substr(colon + 1));
  if (!port || *port <= 0 || *port > 65535) return make("bind", Status::failure, "--bind " + bind + " has no valid port");
  if (host.empty() || host == "0.0.0.0" || host == "localhost") host = host == "localhost" ? "127.0.0.1" : "0.0.0.0";
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(*port));
  if (::inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1)
    return make("bind", Status::skipped, "--bind " + bind + ": not an IPv4 address, not checked");
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  int err = errno;
  ::close(fd);
  if (rc == 0) {
    if (*port < 1024 && user.uid != 0)
      return make("bind", Status::failure, user.name + " may not bind port " + std::to_string(*port) + " (below 1024)",
                  {"--bind " + bind}, "AmbientCapabilities=CAP_NET_BIND_SERVICE in [Service], or a port above 1023 behind the proxy");
    return make("bind", Status::ok, bind + " is free");
  }
  if (err == EADDRINUSE)
    return make("bind", Status::failure, bind + " is already in use", {"bind(" + bind + "): EADDRINUSE"},
                "find the holder with `ss -ltnp 'sport = :" + std::to_string(*port) +
                    "'` and stop it (an old gunicorn still running?), or bind another port");
  return make("bind", Status::warning, "--bind " + bind + " could not be checked: " + std::strerror(err));
}

Check check_database(const std::map<std::string, std::string>& env, int timeout_ms) {
  auto it = env.find("DATABASE_URL");
  if (it == env.end()) return make("database", Status::skipped, "no DATABASE_URL in the unit's environment");
  auto db = target::parse_database_url(it->second);
  if (!db) return make("database", Status::skipped, "DATABASE_URL does not parse (see settings)");
  const auto& a = db->addr;
  if (a.family == AF_UNIX) {
    struct stat st{};
    if (::stat(a.path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode))
      return make("database", Status::failure, db->what + " socket " + a.path + " does not exist",
                  {"DATABASE_URL -> " + a.to_string()}, "start the database (systemctl start postgresql) or fix the host in DATABASE_URL");
    return make("database", Status::ok, db->what + " socket " + a.path + " exists");
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(a.port);
  if (::inet_pton(AF_INET, a.address.c_str(), &sa.sin_addr) != 1)
    return make("database", Status::skipped, db->what + " at " + a.to_string() + ": a host name, not resolved (doctor stays offline)");
  int err = connect_with_timeout(reinterpret_cast<sockaddr*>(&sa), sizeof sa, timeout_ms);
  if (err == 0) return make("database", Status::ok, db->what + " at " + a.to_string() + " accepts connections");
  if (err == ETIMEDOUT)
    return make("database", Status::failure,
                db->what + " at " + a.to_string() + " did not answer within " + std::to_string(timeout_ms) + " ms",
                {"connect(" + a.to_string() + "): no answer"},
                "check the host in DATABASE_URL and the firewall; add connect_timeout=5 so a dead database fails fast");
  return make("database", Status::failure, db->what + " at " + a.to_string() + " refused the connection",
              {std::string("connect(") + a.to_string() + "): " + std::strerror(err)},
              "start the database (systemctl start postgresql), or fix the port in DATABASE_URL");
}

}  // namespace

const char* status_name(Status s) {
  switch (s) {
    case Status::ok: return "ok";
    case Status::warning: return "warning";
    case Status::failure: return "failure";
    default: return "skipped";
  }
}

std::vector<Check> run_checks(const target::UnitFile& unit, const Options& opts) {
  std::vector<Check> out;
  std::vector<std::string> evidence{unit.path};
  for (const auto& d : unit.dropins) evidence.push_back("drop-in " + d);
  out.push_back(make("unit-file", unit.issues.empty() ? Status::ok : Status::warning,
                     unit.issues.empty() ? "the unit file and its drop-ins parse"
                                         : std::to_string(unit.issues.size()) + " lines systemd ignores",
                     unit.issues.empty() ? evidence : unit.issues));
  User user;
  out.push_back(check_user(unit, user));
  std::vector<std::string> argv;
  out.push_back(check_exec(unit, user, argv));
  out.push_back(check_workdir(unit, user));
  std::map<std::string, std::string> env;
  for (auto& c : check_environment(unit, env)) out.push_back(std::move(c));
  for (auto& c : check_settings(env, argv)) out.push_back(std::move(c));
  for (const auto& b : binds_of(argv)) out.push_back(check_bind(b, user));
  out.push_back(check_database(env, opts.connect_timeout_ms));
  return out;
}

}  // namespace pm::doctor
