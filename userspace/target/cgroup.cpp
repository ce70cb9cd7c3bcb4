#include "target/cgroup.h"

#include <dirent.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>

#include "util/strings.h"

namespace pm::target {

std::vector<ProcCgroupLine> parse_proc_cgroup(std::string_view text) {
  std::vector<ProcCgroupLine> out;
  for (const auto& line : split(text, '\n')) {
    auto first = line.find(':');
    auto second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    out.push_back({line.substr(0, first), line.substr(first + 1, second - first - 1), line.substr(second + 1)});
  }
  return out;
}

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
// Breadth first: the shallowest match wins (a host's system.slice/x.service
// before a container's machine.slice/c/system.slice/x.service), at most
// max_depth levels below the root.
std::optional<std::string> find_where(const std::string& root,
                                      const std::function<bool(const std::string&, const std::string&)>& match,
                                      int max_depth) {
  std::vector<std::string> level{""};
  for (int depth = 0; depth <= max_depth && !level.empty(); ++depth) {
    std::vector<std::string> next;
    for (const auto& rel : level) {
      DIR* d = ::opendir((root + rel).c_str());
      if (!d) continue;
      std::vector<std::string> names;
      while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != ".." && e->d_type == DT_DIR) names.push_back(n);
      }
      ::closedir(d);
      std::sort(names.begin(), names.end());
      for (const auto& n : names) {
        if (match(rel + "/" + n, n)) return rel + "/" + n;
        next.push_back(rel + "/" + n);
      }
    }
    level = std::move(next);
  }
  return std::nullopt;
}
}  // namespace

std::optional<std::string> find_cgroup_named(const std::string& root, const std::string& name, int max_depth) {
  return find_where(root, [&](const std::string&, const std::string& n) { return n == name; }, max_depth);
}

std::optional<std::string> find_cgroup_by_id(const std::string& root, std::uint64_t id, int max_depth) {
  if (auto top = cgroup_id(root); top && *top == id) return std::string();
  return find_where(
      root,
      [&](const std::string& rel, const std::string&) {
        auto got = cgroup_id(root + rel);
        return got && *got == id;
      },
      max_depth);
}

bool in_cgroup_namespace(const std::string& ns_link) {
  char buf[64] = {};
  ssize_t n = ::readlink(ns_link.c_str(), buf, sizeof buf - 1);
  return n > 0 && std::string(buf, static_cast<std::size_t>(n)) != "cgroup:[4026531835]";
}

}  // namespace pm::target
