#include "target/host.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "target/cgroup.h"
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

namespace {
analysis::FileFacts facts_of(const struct stat& st) {
  analysis::FileFacts f;
  f.uid = st.st_uid;
  f.gid = st.st_gid;
  f.mode = st.st_mode;
  f.owner = host_user_name(st.st_uid);
  f.group = host_group_name(st.st_gid);
  return f;
}
}  // namespace

analysis::FileLookup host_file_lookup(const std::string& root) {
  return [root](const std::string& path) -> std::optional<analysis::FileFacts> {
    struct stat st{};
    if (::stat((root + path).c_str(), &st) != 0) return std::nullopt;
    return facts_of(st);
  };
}

analysis::FileLookup host_path_lookup(const std::string& root) {
  return [root](const std::string& path) -> std::optional<analysis::FileFacts> {
    std::string p = root + path;
    struct stat st{};
    if (::lstat(p.c_str(), &st) != 0) return std::nullopt;
    analysis::FileFacts f = facts_of(st);
    if (S_ISLNK(st.st_mode)) {
      f.symlink = true;
      std::vector<char> buf(4096);
      ssize_t n = ::readlink(p.c_str(), buf.data(), buf.size() - 1);
      if (n > 0) f.link_target.assign(buf.data(), static_cast<std::size_t>(n));
      struct stat target{};
      f.target_exists = ::stat(p.c_str(), &target) == 0;
    } else if (S_ISREG(st.st_mode)) {
      std::ifstream in(p, std::ios::binary);
      std::string line;
      if (in && std::getline(in, line) && starts_with(line, "#!")) f.shebang = line.substr(0, 256);
    }
    return f;
  };
}

analysis::CgroupLookup host_cgroup_lookup() {
  return [](std::uint64_t id) -> std::optional<std::string> {
    auto root = cgroup2_mount();
    if (!root || id == 0) return std::nullopt;
    // A cgroup's id is its directory's inode number in cgroupfs.
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(*root, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_directory(ec)) continue;
      struct stat st{};
      if (::stat(it->path().c_str(), &st) != 0 || st.st_ino != id) continue;
      auto max = read_file(it->path().string() + "/memory.max");
      if (!max) return std::nullopt;
      return std::string(trim(*max)) + " (" + it->path().string() + "/memory.max)";
    }
    return std::nullopt;
  };
}

}  // namespace pm::target
