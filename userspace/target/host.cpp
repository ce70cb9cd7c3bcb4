#include "target/host.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <vector>

#include "target/cgroup.h"
#include "target/procfs.h"
#include "util/strings.h"

namespace pm::target {

std::string host_user_name(std::uint32_t uid) {
  passwd pw{}, *res = nullptr;
  std::vector<char> buf(4096);
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &res) == 0 && res) return res->pw_name;
  return "";
}

std::string host_group_name(std::uint32_t gid) {
  group gr{}, *res = nullptr;
  std::vector<char> buf(4096);
  if (getgrgid_r(gid, &gr, buf.data(), buf.size(), &res) == 0 && res) return res->gr_name;
  return "";
}

std::string account_name(const std::string& text, std::uint32_t id) {
  for (const auto& line : split(text, '\n')) {
    auto f = split(line, ':', false);
    if (f.size() < 3 || f[0].empty() || f[0][0] == '#') continue;
    if (auto n = parse_int(f[2]); n && *n == static_cast<long long>(id)) return f[0];
  }
  return "";
}

namespace {
analysis::NameLookup names_in(const std::string& root, const char* file, std::string (*nss)(std::uint32_t)) {
  if (root.empty()) return nss;
  return [path = root + file](std::uint32_t id) {
    auto text = read_file(path);
    return text ? account_name(*text, id) : std::string();
  };
}
}  // namespace

analysis::NameLookup user_names_in(const std::string& root) { return names_in(root, "/etc/passwd", host_user_name); }
analysis::NameLookup group_names_in(const std::string& root) { return names_in(root, "/etc/group", host_group_name); }

bool user_exists_in(const std::string& root, const std::string& user) {
  if (user.empty() || parse_int(user)) return true;  // systemd runs a numeric User= without an entry
  if (root.empty()) {
    passwd pw{}, *res = nullptr;
    std::vector<char> buf(4096);
    return getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &res) == 0 && res;
  }
  auto text = read_file(root + "/etc/passwd");
  if (!text) return true;  // cannot tell: do not claim it is missing
  for (const auto& line : split(*text, '\n'))
    if (starts_with(line, user + ":")) return true;
  return false;
}

namespace {
// Owners named as the root's own accounts name them.
analysis::FileFacts facts_of(const struct stat& st, const std::string& root) {
  analysis::FileFacts f;
  f.uid = st.st_uid;
  f.gid = st.st_gid;
  f.mode = st.st_mode;
  f.owner = user_names_in(root)(st.st_uid);
  f.group = group_names_in(root)(st.st_gid);
  return f;
}
}  // namespace

analysis::FileLookup host_file_lookup(const std::string& root) {
  return [root](const std::string& path) -> std::optional<analysis::FileFacts> {
    struct stat st{};
    if (::stat((root + path).c_str(), &st) != 0) return std::nullopt;
    return facts_of(st, root);
  };
}

analysis::FileLookup host_path_lookup(const std::string& root) {
  return [root](const std::string& path) -> std::optional<analysis::FileFacts> {
    std::string p = root + path;
    struct stat st{};
    if (::lstat(p.c_str(), &st) != 0) return std::nullopt;
    analysis::FileFacts f = facts_of(st, root);
    if (S_ISLNK(st.st_mode)) {
      f.symlink = true;
      std::vector<char> buf(4096);
      ssize_t n = ::readlink(p.c_str(), buf.data(), buf.size() - 1);
      if (n > 0) f.link_target.assign(buf.data(), static_cast<std::size_t>(n));
      struct stat target{};
      f.target_exists = ::stat(p.c_str(), &target) == 0;
    } else if (S_ISREG(st.st_mode)) {
      f.shebang = read_shebang(p);
    }
    return f;
  };
}

std::optional<std::string> host_memory_limit(std::uint32_t pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/cgroup");
  if (!text) return std::nullopt;
  for (const auto& line : parse_proc_cgroup(*text)) {
    std::string file;
    if (line.controllers == "memory") {
      file = "/sys/fs/cgroup/memory" + line.path + "/memory.limit_in_bytes";
    } else if (line.v2()) {
      auto root = cgroup2_mount();
      if (!root) continue;
      file = *root + line.path + "/memory.max";
    } else {
      continue;
    }
    auto value = read_file(file);
    if (!value) continue;
    std::string v(trim(*value));
    auto bytes = parse_int(v);
    if (v == "max" || (bytes && *bytes >= (1LL << 60))) continue;  // no limit here
    std::string shown = bytes && *bytes % (1 << 20) == 0 ? std::to_string(*bytes >> 20) + "M" : v;
    return shown + " (" + file + ")";
  }
  return std::nullopt;
}

}  // namespace pm::target

namespace pm::target {

std::vector<analysis::PortHolder> host_port_holders(std::uint16_t port) {
  std::vector<analysis::PortHolder> out;
  const auto self = static_cast<std::uint32_t>(::getpid());
  for (const auto& p : Procfs().listening_on(port)) out.push_back({p.pid, p.comm, p.argv});
  // pmtrace itself holds the socket only as a copy inherited from the process
  // that started it (which passes it on to the command): naming pmtrace as the
  // holder would hide the one to stop.
  if (out.size() > 1)
    out.erase(std::remove_if(out.begin(), out.end(), [&](const analysis::PortHolder& h) { return h.pid == self; }),
              out.end());
  return out;
}

}  // namespace pm::target
