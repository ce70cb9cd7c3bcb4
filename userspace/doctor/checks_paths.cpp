// Every path the service writes, checked with the service user's
// credentials: gunicorn's log and pid files, its worker temp directory, a
// unix socket's directory (from the bind check), Django's MEDIA_ROOT and
// STATIC_ROOT when the import told them (or the environment names them).
// Fixes are precise: the one file or directory, owned by the user, or the
// systemd setting that makes the directory at each start (LogsDirectory=,
// RuntimeDirectory=, StateDirectory=, CacheDirectory=); never a blanket mode.
#include <sys/stat.h>
#include <unistd.h>

#include "doctor/checks.h"
#include "target/host.h"
#include "util/strings.h"

namespace pm::doctor {
namespace {

struct Managed {
  const char* setting;  // "LogsDirectory"
  const char* top;      // "/var/log"
};
constexpr Managed kManaged[] = {{"LogsDirectory", "/var/log"},
                                {"RuntimeDirectory", "/run"},
                                {"StateDirectory", "/var/lib"},
                                {"CacheDirectory", "/var/cache"}};

// The directory systemd would make for a *Directory= setting: for
// /var/log/meats/gunicorn, {LogsDirectory, "meats/gunicorn"}; none for the
// top itself (/var/log) or paths elsewhere.
std::optional<std::pair<const Managed*, std::string>> managed_dir(const std::string& dir) {
  std::string d = dir;
  if (starts_with(d, "/var/run/")) d = d.substr(4);
  for (const auto& m : kManaged) {
    std::string top = std::string(m.top) + "/";
    if (starts_with(d, top) && d.size() > top.size()) return std::make_pair(&m, d.substr(top.size()));
  }
  return std::nullopt;
}

// Whether the unit already has systemd make (and chown) `rel` under that setting.
bool unit_sets(const Context& c, const Managed& m, const std::string& rel) {
  for (const auto* s : c.unit.list("Service", m.setting))
    for (const auto& word : split(s->value, ' ')) {
      std::string w = word.substr(0, word.find(':'));  // "meats:alias" form
      if (rel == w || starts_with(rel, w + "/")) return true;
    }
  return false;
}

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool exists(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

Check check_writable(const Context& c, const std::string& id, const std::string& label, const std::string& raw,
                     PathKind kind) {
  const User& u = c.user;
  std::string path = c.absolute(raw);
  std::string owner = shell_word(u.name + ":" + u.group);
  std::string as_user = "-o " + shell_word(u.name) + " -g " + shell_word(u.group);
  // The directory the service creates its file in, and the thing to test.
  std::string dir = kind == PathKind::dir ? path : parent_of(path);
  auto managed = managed_dir(dir);
  if (managed && unit_sets(c, *managed->first, managed->second))
    return make(id, Status::ok, label + " " + path + ": systemd makes " + std::string(managed->first->top) + "/" +
                                    managed->second + " for " + u.name + " at start (" + managed->first->setting +
                                    "=" + managed->second + ")");
  auto with_setting = [&](Check k) {
    std::string line = std::string(managed->first->setting) + "=" + managed->second;
    k.fix = line + " in [Service]: systemd makes " + std::string(managed->first->top) + "/" + managed->second +
            " owned by " + u.name + " at each start" + (k.fix.empty() ? "" : "; " + k.fix);
    k.unit_lines.push_back({"Service", line});
    return k;
  };
  if (kind != PathKind::entry && exists(path)) {
    int need = kind == PathKind::dir ? W_OK | X_OK : W_OK;
    if (user_can(u, path, need)) return make(id, Status::ok, u.name + " can write " + label + " " + path);
    Check k = make(id, Status::failure, u.name + " cannot write " + label + " " + path, {path + ": " + mode_text(path)});
    if (managed) return with_setting(std::move(k));
    k.fix = "chown " + owner + " " + shell_word(path) + "  (that " + (kind == PathKind::dir ? "directory" : "file") + " only)";
    k.commands.push_back("chown " + owner + " " + shell_word(path));
    if (auto f = target::host_file_lookup()(path); f && !(f->mode & 0200)) k.commands.push_back("chmod u+w " + shell_word(path));
    return k;
  }
  // The file is made at start: its directory must exist and take new entries.
  if (auto why = missing_why(dir); !why.empty()) {
    Check k = make(id, Status::failure, label + " " + path + ": its directory " + why, {raw});
    if (managed) return with_setting(std::move(k));
    k.fix = "install -d " + as_user + " -m 0750 " + shell_word(dir);
    k.commands.push_back(k.fix);
    return k;
  }
  if (user_can(u, dir, W_OK | X_OK))
    return make(id, Status::ok, u.name + " can create " + label + " " + path);
  // (gunicorn opens its log files before anything else and exits 1 with
  // "Error: 'PATH' isn't writable"; a pid file or socket fails the same start.)
  Check k = make(id, Status::failure, u.name + " cannot create " + label + " " + path + " in " + dir,
                 {dir + ": " + mode_text(dir)});
  if (managed) return with_setting(std::move(k));
  auto dir_facts = target::host_file_lookup()(dir);
  if (kind == PathKind::file && (dir == "/var/log" || dir == "/tmp" || dir == "/var/tmp" || !dir_facts || dir_facts->uid == 0)) {
    // A shared directory: make the one file the user's, leave the directory.
    k.fix = "install " + as_user + " -m 0640 /dev/null " + shell_word(path) +
            "  (the file made once, owned by " + u.name + "; the directory stays as it is)";
    k.commands.push_back("install " + as_user + " -m 0640 /dev/null " + shell_word(path));
    return k;
  }
  if (kind == PathKind::entry && (dir == "/run" || dir == "/var/run" || dir == "/tmp")) {
    k.fix = "RuntimeDirectory=" + c.unit.name.substr(0, c.unit.name.rfind('.')) + " in [Service] and the socket in /run/" +
            c.unit.name.substr(0, c.unit.name.rfind('.')) + "/ (systemd makes that directory for " + u.name + ")";
    return k;
  }
  k.fix = "chown " + owner + " " + shell_word(dir) + "  (that directory only)";
  k.commands.push_back("chown " + owner + " " + shell_word(dir));
  return k;
}

std::vector<Check> check_paths(const Context& c) {
  std::vector<Check> out;
  if (!c.user.exists) return out;
  const auto& g = c.g;
  if (!g.error_log.empty() && g.error_log != "-")
    out.push_back(check_writable(c, "writable", "--error-logfile", g.error_log, PathKind::file));
  if (!g.access_log.empty() && g.access_log != "-")
    out.push_back(check_writable(c, "writable", "--access-logfile", g.access_log, PathKind::file));
  if (!g.pid_file.empty()) out.push_back(check_writable(c, "writable", "--pid", g.pid_file, PathKind::entry));
  if (!g.worker_tmp_dir.empty())
    out.push_back(check_writable(c, "writable", "--worker-tmp-dir", g.worker_tmp_dir, PathKind::dir));

  // Django's directories: from the settings the import read, else the environment.
  auto from = [&](const std::string& probed, const char* var) {
    if (!probed.empty()) return probed;
    auto it = c.env.find(var);
    return it == c.env.end() ? std::string() : it->second;
  };
  std::string media = from(c.app.media_root, "MEDIA_ROOT");
  if (!media.empty()) out.push_back(check_writable(c, "writable", "MEDIA_ROOT", media, PathKind::dir));
  std::string statics = from(c.app.static_root, "STATIC_ROOT");
  if (!statics.empty()) {
    // The service writes STATIC_ROOT only when it runs collectstatic itself.
    bool collects = false;
    for (const char* key : {"ExecStartPre", "ExecStart"})
      for (const auto* s : c.unit.list("Service", key)) collects |= s->value.find("collectstatic") != std::string::npos;
    if (collects) {
      out.push_back(check_writable(c, "writable", "STATIC_ROOT (collectstatic)", statics, PathKind::dir));
    } else {
      std::string path = c.absolute(statics);
      if (!exists(path))
        out.push_back(make("writable", Status::warning, "STATIC_ROOT " + path + " does not exist: the static files were not collected",
                           {}, "python manage.py collectstatic --noinput (as part of the deploy)"));
      else if (!user_can(c.user, path, R_OK | X_OK))
        out.push_back(make("writable", Status::failure, c.user.name + " cannot read STATIC_ROOT " + path,
                           {path + ": " + mode_text(path)}, "chmod o+rx " + shell_word(path)));
      else
        out.push_back(make("writable", Status::ok, c.user.name + " can read STATIC_ROOT " + path));
    }
  }
  return out;
}

}  // namespace pm::doctor
