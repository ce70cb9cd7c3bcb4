// Rule: permission denied on open. Which file, which operation, which user,
// the owner and mode of the file and of each directory on the way (read at
// report time), which one is in the way, and the exact fix.
#include <fcntl.h>

#include <cerrno>
#include <cstdio>
#include <set>

#include "model/names.h"
#include "rules/finding.h"
#include "util/strings.h"

namespace pm::rules {
namespace {

using analysis::FileFacts;

constexpr unsigned kR = 4, kW = 2, kX = 1;

bool allows(const FileFacts& f, std::uint32_t uid, std::uint32_t gid, unsigned bit) {
  if (uid == 0) return true;
  unsigned m = f.mode & 0777;
  if (f.uid == uid) return (m >> 6) & bit;
  if (f.gid == gid) return (m >> 3) & bit;
  return m & bit;
}

std::string parent_of(const std::string& p) {
  auto pos = p.rfind('/');
  if (pos == std::string::npos) return ".";
  return pos == 0 ? "/" : p.substr(0, pos);
}

// "/var/log/gunicorn/error.log" -> {"/", "/var", "/var/log", "/var/log/gunicorn"}
std::vector<std::string> directories_of(const std::string& path) {
  std::vector<std::string> dirs;
  if (path.empty() || path[0] != '/') return dirs;
  dirs.push_back("/");
  std::string cur;
  auto parts = split(path, '/');
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    cur += "/" + parts[i];
    dirs.push_back(cur);
  }
  return dirs;
}

// /var/log/NAME/..., /run/NAME/..., /var/lib/NAME/..., /var/cache/NAME/...:
// systemd creates these for the service user when the unit asks for them.
std::string systemd_directory_setting(const std::string& path, std::string& name) {
  auto m = analysis::managed_directory_of(path);
  if (!m) return "";
  auto slash = m->second.find('/');
  if (slash == std::string::npos || slash == 0) return "";  // a file right in /var/log
  name = m->second.substr(0, slash);
  return m->first->setting;
}

// A write refused with EROFS: the unit's sandbox when it has one (ProtectSystem=
// makes trees read-only in the service's mount namespace only, so the same
// path is writable from a shell), else a read-only mount.
void explain_read_only(const analysis::Aggregator& agg, const analysis::Process* p, const std::string& path,
                       Finding& f) {
  const analysis::UnitContext* u = p ? agg.unit_context(p->unit) : nullptr;
  std::string dir = parent_of(path);
  std::string setting =
      u && u->loaded ? analysis::sandbox_blocks_write(u->protect_system, u->protect_home, u->private_tmp,
                                                      u->read_write_paths, path)
                     : "";
  if (!setting.empty()) {
    const std::string& ps = u->protect_system;
    bool strict = ps == "strict";
    f.title += ": " + setting + " of " + u->name + " makes it read-only for the service";
    if (starts_with(setting, "ProtectHome="))
      f.facts.push_back(setting + ": /home, /root and /run/user are hidden or read-only for the service");
    else
      f.facts.push_back(setting + ": read-only for the service: " +
                        (strict ? std::string("the whole file system except /dev, /proc, /sys and what ReadWritePaths= or "
                                              "the *Directory= settings name")
                                : ps == "full" ? std::string("/usr, /boot, /efi and /etc") : std::string("/usr, /boot and /efi")));
    if (!u->read_write_paths.empty()) f.facts.push_back("writable: " + join(u->read_write_paths, " "));
    f.explanation = "systemd gives the service its own mount namespace in which " + setting.substr(0, setting.find('=')) +
                    "= remounts those trees "
                    "read-only: the path is writable from a shell, not from the service, and the kernel answers "
                    "EROFS.";
    std::string name;
    std::string setting = systemd_directory_setting(path, name);
    if (!setting.empty())
      f.fix = setting + "=" + name + " in [Service] of " + u->name + " (systemd creates it writable for the service "
              "at start; systemctl edit " + u->name + ", then systemctl restart " + u->name + ")";
    else
      f.fix = "ReadWritePaths=" + dir + " in [Service] of " + u->name + " (systemctl edit " + u->name +
              ", then systemctl restart " + u->name + "), or write under a directory LogsDirectory=/StateDirectory= makes";
    return;
  }
  f.explanation = path + " is on a read-only file system. Under systemd, ProtectSystem=strict or "
                  "=full makes /usr and /etc (and with strict, everything but /dev, /proc, /sys) "
                  "read-only for the service.";
  f.fix = "write somewhere the unit allows, or add ReadWritePaths=" + dir + " to the unit's [Service] section";
}

}  // namespace

std::vector<Finding> permission_denied(const analysis::Aggregator& agg) {
  std::vector<Finding> out;
  std::set<std::string> seen;
  for (const auto& e : agg.denied_opens()) {
    const auto* o = e.as<model::OpenFailed>();
    bool writes = (o->flags & O_ACCMODE) != O_RDONLY;
    bool creates = o->flags & O_CREAT;
    std::string op = writes ? (creates ? "write (and create)" : "write") : "read";
    if (!seen.insert(o->path + "\n" + op + "\n" + std::to_string(e.hdr.uid)).second) {
      // Same file, same operation, same user: one finding, more evidence.
      for (auto& f : out)
        if (f.evidence.front().as<model::OpenFailed>()->path == o->path && f.evidence.size() < 5)
          f.evidence.push_back(e);
      continue;
    }
    const analysis::Process* p = agg.process(e.hdr.pid);
    std::string who = p ? describe_process(*p) : e.hdr.comm + " (pid " + std::to_string(e.hdr.pid) + ")";
    std::string user = agg.user_name(e.hdr.uid), group = agg.group_name(e.hdr.gid);

    Finding f;
    f.ts_ns = e.hdr.ts_ns;
    f.evidence.push_back(e);
    f.title = who + " may not " + op + " " + o->path + " (" + model::errno_name(o->err) + ")";

    if (o->err == EROFS) {
      explain_read_only(agg, p, o->path, f);
      out.push_back(std::move(f));
      continue;
    }

    // Find what is in the way: a directory that cannot be entered, the file
    // itself, or (creating) its directory.
    std::string culprit, culprit_why, fix;
    for (const auto& dir : directories_of(o->path)) {
      auto facts = agg.file_facts(dir);
      if (!facts) continue;
      f.facts.push_back(ownership(agg, dir, *facts));
      if (culprit.empty() && !allows(*facts, e.hdr.uid, e.hdr.gid, kX)) {
        culprit = dir;
        culprit_why = "the directory " + dir + " (owner " + owner_of(agg, *facts) + ", mode " +
                      mode_string(facts->mode) + ") cannot be entered by " + user;
        fix = "chmod o+x " + dir + "  (or let group " + group + " in: chgrp " + group + " " + dir +
              " && chmod g+x " + dir + ")";
      }
    }
    auto file = agg.file_facts(o->path);
    if (file) f.facts.push_back(ownership(agg, o->path, *file));
    if (culprit.empty() && file) {
      unsigned bit = writes ? kW : kR;
      if (!allows(*file, e.hdr.uid, e.hdr.gid, bit)) {
        culprit = o->path;
        culprit_why = o->path + " is owned by " + owner_of(agg, *file) + " with mode " + mode_string(file->mode) +
                      ", which gives " + user + " no " + (writes ? "write" : "read") + " permission";
        fix = writes ? "chown " + user + ":" + group + " " + o->path
                     : "chgrp " + group + " " + o->path + " && chmod g+r " + o->path;
      }
    }
    if (culprit.empty() && !file && creates) {
      std::string dir = parent_of(o->path);
      auto d = agg.file_facts(dir);
      if (d && !allows(*d, e.hdr.uid, e.hdr.gid, kW)) {
        culprit = dir;
        culprit_why = o->path + " does not exist and its directory " + dir + " (owner " + owner_of(agg, *d) +
                      ", mode " + mode_string(d->mode) + ") gives " + user + " no write permission to create it";
        fix = "chown " + user + ":" + group + " " + dir;
      }
    }

    std::string setting_name;
    std::string setting = writes ? systemd_directory_setting(o->path, setting_name) : "";
    f.explanation = "The kernel refused open(" + o->path + ", " + model::open_flags(o->flags) + ") for " + user +
                    " (uid " + std::to_string(e.hdr.uid) + ", gid " + std::to_string(e.hdr.gid) + "): " +
                    (culprit.empty() ? std::string("the owner and mode could not be read now (the file may have "
                                                   "changed since), or an ACL or security module refused it")
                                     : culprit_why) +
                    ".";
    if (!setting.empty()) {
      f.fix = "add " + setting + "=" + setting_name + " to the unit's [Service] section: systemd then creates " +
              parent_of(o->path) + " owned by the service user at every start" +
              (fix.empty() ? "" : "; or, by hand: " + fix);
    } else {
      f.fix = fix.empty() ? "give " + user + " " + (writes ? "write" : "read") + " access to " + o->path : fix;
    }
    out.push_back(std::move(f));
  }
  return out;
}

PM_RULE(permission_denied, "permission-denied", Severity::failure, rank::exec, {CheckId::writable, CheckId::working_directory})

}  // namespace pm::rules
