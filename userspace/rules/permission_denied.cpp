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
  static const std::pair<const char*, const char*> dirs[] = {
      {"/var/log/", "LogsDirectory"},
      {"/run/", "RuntimeDirectory"},
      {"/var/run/", "RuntimeDirectory"},
      {"/var/lib/", "StateDirectory"},
      {"/var/cache/", "CacheDirectory"},
  };
  for (const auto& [prefix, setting] : dirs) {
    if (!starts_with(path, prefix)) continue;
    std::string rest = path.substr(std::string(prefix).size());
    auto slash = rest.find('/');
    if (slash == std::string::npos || slash == 0) return "";  // a file right in /var/log
    name = rest.substr(0, slash);
    return setting;
  }
  return "";
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
    f.rank = 10;
    f.ts_ns = e.hdr.ts_ns;
    f.evidence.push_back(e);
    f.title = who + " may not " + op + " " + o->path + " (" + model::errno_name(o->err) + ")";

    if (o->err == EROFS) {
      f.explanation = o->path + " is on a read-only file system. Under systemd, ProtectSystem=strict or "
                      "=full makes /usr and /etc (and with strict, everything but /dev, /proc, /sys) "
                      "read-only for the service.";
      f.fix = "write somewhere the unit allows, or add ReadWritePaths=" + parent_of(o->path) +
              " to the unit's [Service] section";
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

}  // namespace pm::rules
