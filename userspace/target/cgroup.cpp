#include "target/cgroup.h"

#include <dirent.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "util/strings.h"

namespace pm::target {

std::string find_cgroup2_mount(const std::string& mounts) {
  for (const auto& line : split(mounts, '\n')) {
    auto f = split(line, ' ');
    if (f.size() >= 3 && f[2] == "cgroup2") return f[1];
  }
  return "";
}

Result<std::string> cgroup2_mount(const std::string& root) {
  auto mounts = read_file(root + "/proc/mounts");
  if (!mounts) return errno_error("failed to read " + root + "/proc/mounts");
  std::string m = find_cgroup2_mount(*mounts);
  if (m.empty())
    return make_error("no cgroup v2 hierarchy is mounted, so a unit's processes cannot be found",
                      "mount it (mount -t cgroup2 none /sys/fs/cgroup/unified) or attach by pid or name");
  return root + m;
}

Result<std::uint64_t> cgroup_id(const std::string& abs_dir) {
  struct {
    file_handle fh;
    unsigned char bytes[64];
  } h{};
  h.fh.handle_bytes = sizeof h.bytes;
  int mount_id = 0;
  if (::name_to_handle_at(AT_FDCWD, abs_dir.c_str(), &h.fh, &mount_id, 0) != 0)
    return errno_error("failed to read the cgroup id of " + abs_dir);
  if (h.fh.handle_bytes < sizeof(std::uint64_t))
    return make_error("unexpected cgroup file handle size for " + abs_dir);
  std::uint64_t id = 0;
  std::memcpy(&id, h.fh.f_handle, sizeof id);
  return id;
}

std::vector<std::uint32_t> cgroup_procs(const std::string& abs_dir) {
  std::vector<std::uint32_t> out;
  auto text = read_file(abs_dir + "/cgroup.procs");
  if (!text) return out;
  for (const auto& line : split(*text, '\n')) {
    if (auto pid = parse_int(line); pid && *pid > 0) out.push_back(static_cast<std::uint32_t>(*pid));
  }
  return out;
}

namespace {
std::optional<std::string> find_named(const std::string& root, const std::string& rel, const std::string& name,
                                      int depth) {
  if (depth < 0) return std::nullopt;
  DIR* d = ::opendir((root + rel).c_str());
  if (!d) return std::nullopt;
  std::vector<std::string> dirs;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == ".." || e->d_type != DT_DIR) continue;
    dirs.push_back(n);
  }
  ::closedir(d);
  for (const auto& n : dirs)
    if (n == name) return rel + "/" + n;
  for (const auto& n : dirs)
    if (auto found = find_named(root, rel + "/" + n, name, depth - 1)) return found;
  return std::nullopt;
}
}  // namespace

std::optional<std::string> find_cgroup_named(const std::string& root, const std::string& name, int max_depth) {
  return find_named(root, "", name, max_depth);
}

bool in_cgroup_namespace(const std::string& ns_link) {
  char buf[64] = {};
  ssize_t n = ::readlink(ns_link.c_str(), buf, sizeof buf - 1);
  return n > 0 && std::string(buf, static_cast<std::size_t>(n)) != "cgroup:[4026531835]";
}

}  // namespace pm::target
