// Every path the service writes, checked with the service user's
// credentials: gunicorn's log and pid files, its worker temp directory, a
// unix socket's directory (from the bind check), Django's MEDIA_ROOT and
// STATIC_ROOT when the import told them (or the environment names them).
// Fixes are precise: the one file or directory, owned by the user, or the
// systemd setting that makes the directory at each start (LogsDirectory=,
// RuntimeDirectory=, StateDirectory=, CacheDirectory=); never a blanket mode.
#include <unistd.h>

#include "doctor/checks.h"
#include "util/strings.h"

namespace pm::doctor {
namespace {

using Managed = analysis::ManagedDirectory;
constexpr auto managed_dir = analysis::managed_directory_of;

// Whether the unit already has systemd make (and chown) `rel` under that
// setting: a listed directory ("a:b" also makes b, a symlink to a). Parents
// systemd makes on the way to a listed "a/b" stay root's.
bool unit_sets(const Context& c, const Managed& m, const std::string& rel) {
  for (const auto* s : c.unit.list("Service", m.setting))
    for (const auto& word : split(c.expand(s->value), ' '))
      for (const auto& w : split(word, ':'))
        if (rel == w) return true;  // (parents systemd makes on the way stay root's)
  return false;
}

// Why a fix must not be scripted on `path`, or "": the script runs as root,
// and the paths come from the unit and from the app's own settings.
std::string unsafe_for_fix(const Host& host, const std::string& path) {
  for (char ch : path)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) return "it holds control characters";
  if (path.empty() || path[0] != '/') return "it is not an absolute path";
  for (const auto& part : split(path, '/'))
    if (part == "." || part == "..") return "it has '.' or '..' components";
  static const char* system_trees[] = {"/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
                                       "/boot", "/root", "/proc", "/sys", "/dev"};
  for (const char* t : system_trees)
    if (path == t || starts_with(path, std::string(t) + "/")) return "it is a system path";
  static const char* shared[] = {"/", "/var", "/var/log", "/var/lib", "/var/cache", "/run", "/var/run", "/tmp",
                                 "/var/tmp", "/srv", "/opt", "/home", "/mnt", "/media"};
  for (const char* t : shared)
    if (path == t) return "it is a directory the whole system shares";
  // No symlink on the way: a chown through one would change its target.
  std::string prefix;
  for (const auto& part : split(path, '/')) {
    prefix += "/" + part;
    auto f = host.lstat(prefix);
    if (!f.exists) break;  // the rest does not exist yet
    if (f.type == FileType::symlink) return prefix + " is a symlink (to " + f.link_target + ")";
  }
  return "";
}

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool exists(const Host& host, const std::string& path) { return host.stat(path).exists; }

enum class Change { create, chown, setting };

// A scripted fix on `target` kept only when it is safe; otherwise the fix
// says why and leaves the change to a person. Paths the app's own settings
// name (MEDIA_ROOT) get at most a directory made where there is none.
Check guarded(const Context& c, Check k, const std::string& target, const std::string& label, Change change,
              bool from_app) {
  std::string why = unsafe_for_fix(c.host, target);
  bool there = c.host.lstat(target).exists;
  auto owner = c.host.stat(target);
  auto under = [&](const std::string& top) { return !top.empty() && top != "/" && (target == top || starts_with(target, top + "/")); };
  if (why.empty() && change == Change::setting) {
    if (target.find_first_of(" \t:%\\") != std::string::npos)
      why = "its name has a character systemd reads differently in a *Directory= setting (space, ':', '%', '\\')";
    else if (there && owner.exists && owner.uid != c.user.uid)
      why = "it exists, owned by " + (owner.owner.empty() ? std::to_string(owner.uid) : owner.owner) +
            ", and systemd would chown it, recursively, to " + c.user.name + " at each start";
  }
  if (why.empty() && change == Change::chown) {
    if (under(c.app_dir()) || under(c.workdir)) why = "it is the service's code";
    else if (owner.exists && owner.uid != 0 && owner.uid != c.user.uid)
      why = "it belongs to " + (owner.owner.empty() ? std::to_string(owner.uid) : owner.owner);
    else if (from_app) {
      // Plausible, but only the app says this directory is its own: for a person to confirm.
      k.commands.clear();
      k.fix += "  (not in the fix script: only the app's settings name " + target + "; make sure it is the service's own)";
      return k;
    }
  }
  if (why.empty()) return k;
  k.commands.clear();
  k.unit_lines.clear();
  k.fix = "doctor proposes no change to " + target + ": " + why + "; point " + label +
          " at a directory of the service's own (for example under /var/lib with StateDirectory=)";
  return k;
}

// The *Directory= setting that makes `m`'s directory for the user at each start.
Check with_setting_for(const Context& c, const std::pair<const Managed*, std::string>& m, Check k) {
  std::string line = std::string(m.first->setting) + "=" + m.second;
  k.fix = line + " in [Service]: systemd makes " + std::string(m.first->top) + "/" + m.second + " owned by " +
          c.user.name + " at each start" + (k.fix.empty() ? "" : "; " + k.fix);
  k.unit_lines.push_back({"Service", line});
  return k;
}

}  // namespace

Check check_writable(const Context& c, CheckId id, const std::string& label, const std::string& raw,
                     PathKind kind, bool from_app) {
  const User& u = c.user;
  std::string path = c.absolute(raw);
  std::string owner = shell_word(u.name + ":" + u.group);
  std::string as_user = "-o " + shell_word(u.name) + " -g " + shell_word(u.group);
  // The directory the service creates its file in, and the thing to test.
  std::string dir = kind == PathKind::dir ? path : parent_of(path);
  auto managed = managed_dir(dir);
  // The unit's sandbox: read-only for the service whatever the owner and mode.
  auto sandbox = target::sandbox_of(c.unit);
  if (auto setting = analysis::sandbox_blocks_write(sandbox.protect_system, sandbox.protect_home, sandbox.private_tmp,
                                                    sandbox.writable, path);
      !setting.empty()) {
    Check k = make(id, Status::failure,
                   label + " " + path + ": " + setting + " makes it read-only for the service (EROFS at start)",
                   {setting + (sandbox.writable.empty() ? "" : "; writable: " + join(sandbox.writable, " "))});
    if (managed) return guarded(c, with_setting_for(c, *managed, std::move(k)), std::string(managed->first->top) + "/" + managed->second, label, Change::setting, from_app);
    std::string line = "ReadWritePaths=" + dir;
    k.fix = line + " in [Service] (the sandbox then lets the service write " + dir + ")";
    k.unit_lines.push_back({"Service", line});
    return guarded(c, std::move(k), dir, label, Change::setting, from_app);
  }
  if (managed && unit_sets(c, *managed->first, managed->second))
    return make(id, Status::ok, label + " " + path + ": systemd makes " + std::string(managed->first->top) + "/" +
                                    managed->second + " for " + u.name + " at start (" + managed->first->setting +
                                    "=" + managed->second + ")");
  auto with_setting = [&](Check k) { return with_setting_for(c, *managed, std::move(k)); };
  if (kind != PathKind::entry && exists(c.host, path)) {
    int need = kind == PathKind::dir ? W_OK | X_OK : W_OK;
    if (c.host.can(u, path, need)) return make(id, Status::ok, u.name + " can write " + label + " " + path);
    Check k = make(id, Status::failure, u.name + " cannot write " + label + " " + path, {path + ": " + mode_text(c.host, path)});
    if (managed) return guarded(c, with_setting(std::move(k)), std::string(managed->first->top) + "/" + managed->second, label, Change::setting, from_app);
    k.fix = "chown " + owner + " " + shell_word(path) + "  (that " + (kind == PathKind::dir ? "directory" : "file") + " only)";
    k.commands.push_back("chown " + owner + " " + shell_word(path));
    if (auto f = c.host.stat(path); f.exists && !(f.mode & 0200)) k.commands.push_back("chmod u+w " + shell_word(path));
    return guarded(c, std::move(k), path, label, Change::chown, from_app);
  }
  // The file is made at start: its directory must exist and take new entries.
  if (auto why = missing_why(c.host, dir); !why.empty()) {
    Check k = make(id, Status::failure, label + " " + path + ": its directory " + why, {raw});
    if (managed) return guarded(c, with_setting(std::move(k)), std::string(managed->first->top) + "/" + managed->second, label, Change::setting, from_app);
    k.fix = "install -d " + as_user + " -m 0750 " + shell_word(dir);
    k.commands.push_back(k.fix);
    return guarded(c, std::move(k), dir, label, Change::create, from_app);
  }
  if (c.host.can(u, dir, W_OK | X_OK))
    return make(id, Status::ok, u.name + " can create " + label + " " + path);
  // (gunicorn opens its log files before anything else and exits 1 with
  // "Error: 'PATH' isn't writable"; a pid file or socket fails the same start.)
  Check k = make(id, Status::failure, u.name + " cannot create " + label + " " + path + " in " + dir,
                 {dir + ": " + mode_text(c.host, dir)});
  if (managed) return guarded(c, with_setting(std::move(k)), std::string(managed->first->top) + "/" + managed->second, label, Change::setting, from_app);
  auto dir_facts = c.host.stat(dir);
  // The app's own code directory is never handed to the service user.
  bool code_dir = dir == c.app_dir() || dir == c.workdir;
  if (kind == PathKind::file && (dir == "/var/log" || dir == "/tmp" || dir == "/var/tmp" || code_dir || !dir_facts.exists ||
                                 dir_facts.uid == 0)) {
    // A shared directory: make the one file the user's, leave the directory.
    k.fix = "install " + as_user + " -m 0640 /dev/null " + shell_word(path) +
            "  (the file made once, owned by " + u.name + "; the directory stays as it is)";
    k.commands.push_back("install " + as_user + " -m 0640 /dev/null " + shell_word(path));
    return guarded(c, std::move(k), path, label, Change::create, from_app);
  }
  std::string unit_base = c.unit.name.substr(0, c.unit.name.rfind('.'));
  if (kind == PathKind::entry && (dir == "/run" || dir == "/var/run" || dir == "/tmp" || code_dir)) {
    k.fix = "RuntimeDirectory=" + unit_base + " in [Service] and " + label + " in /run/" + unit_base +
            "/ (systemd makes that directory for " + u.name + ")";
    return k;
  }
  k.fix = "chown " + owner + " " + shell_word(dir) + "  (that directory only)";
  k.commands.push_back("chown " + owner + " " + shell_word(dir));
  return guarded(c, std::move(k), dir, label, Change::chown, from_app);
}

std::vector<Check> check_paths(const Context& c) {
  std::vector<Check> out;
  if (!c.user.exists) return out;
  const auto& g = c.g;
  if (!g.error_log.empty() && g.error_log != "-")
    out.push_back(check_writable(c, CheckId::writable, "--error-logfile", g.error_log, PathKind::file));
  if (!g.access_log.empty() && g.access_log != "-")
    out.push_back(check_writable(c, CheckId::writable, "--access-logfile", g.access_log, PathKind::file));
  if (!g.pid_file.empty()) out.push_back(check_writable(c, CheckId::writable, "--pid", g.pid_file, PathKind::entry));
  if (!g.worker_tmp_dir.empty()) {
    out.push_back(check_writable(c, CheckId::writable, "--worker-tmp-dir", g.worker_tmp_dir, PathKind::dir));
  } else {
    // gunicorn's workers make their heartbeat files in $TMPDIR or /tmp: a
    // sandbox that makes it read-only kills every worker at boot.
    auto it = c.env.find("TMPDIR");
    std::string tmp = it == c.env.end() || it->second.empty() ? "/tmp" : it->second;
    auto sandbox = target::sandbox_of(c.unit);
    if (auto setting = analysis::sandbox_blocks_write(sandbox.protect_system, sandbox.protect_home,
                                                      sandbox.private_tmp, sandbox.writable, tmp + "/x");
        !setting.empty()) {
      Check k = make(CheckId::writable, Status::failure,
                     "gunicorn's worker heartbeat files in " + tmp + " (no --worker-tmp-dir): " + setting +
                         " makes it read-only for the service, so every worker fails at boot",
                     {setting + ", PrivateTmp=" + (sandbox.private_tmp ? "yes" : "no")},
                     "PrivateTmp=yes in [Service] (a /tmp of the service's own, writable under " + setting +
                         "), or --worker-tmp-dir /dev/shm");
      k.unit_lines.push_back({"Service", "PrivateTmp=yes"});
      out.push_back(std::move(k));
    }
  }

  // Django's directories: from the settings the import read, else the environment.
  auto from = [&](const std::string& probed, const char* var) {
    if (!probed.empty()) return probed;
    auto it = c.env.find(var);
    return it == c.env.end() ? std::string() : it->second;
  };
  std::string media = from(c.app.media_root, "MEDIA_ROOT");
  if (!media.empty()) {
    // Uploads fail, the start does not: a warning.
    Check k = check_writable(c, CheckId::writable, "MEDIA_ROOT", media, PathKind::dir, !c.app.media_root.empty());
    if (k.status == Status::failure) k.status = Status::warning;
    out.push_back(std::move(k));
  }
  std::string statics = from(c.app.static_root, "STATIC_ROOT");
  if (!statics.empty()) {
    // The service writes STATIC_ROOT only when it runs collectstatic itself.
    bool collects = false;
    for (const char* key : {"ExecStartPre", "ExecStart"})
      for (const auto* s : c.unit.list("Service", key)) collects |= s->value.find("collectstatic") != std::string::npos;
    if (collects) {
      out.push_back(check_writable(c, CheckId::writable, "STATIC_ROOT (collectstatic)", statics, PathKind::dir, !c.app.static_root.empty()));
    } else {
      std::string path = c.absolute(statics);
      if (!exists(c.host, path))
        out.push_back(make(CheckId::writable, Status::warning, "STATIC_ROOT " + path + " does not exist: the static files were not collected",
                           {}, "python manage.py collectstatic --noinput (as part of the deploy)"));
      else if (!c.host.can(c.user, path, R_OK | X_OK))
        out.push_back(make(CheckId::writable, Status::failure, c.user.name + " cannot read STATIC_ROOT " + path,
                           {path + ": " + mode_text(c.host, path)}, "chmod o+rx " + shell_word(path)));
      else
        out.push_back(make(CheckId::writable, Status::ok, c.user.name + " can read STATIC_ROOT " + path));
    }
  }
  return out;
}

}  // namespace pm::doctor
