#include "target/host.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>

#include <vector>

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

analysis::FileLookup host_file_lookup(const std::string& root) {
  return [root](const std::string& path) -> std::optional<analysis::FileFacts> {
    struct stat st{};
    if (::stat((root + path).c_str(), &st) != 0) return std::nullopt;
    analysis::FileFacts f;
    f.uid = st.st_uid;
    f.gid = st.st_gid;
    f.mode = st.st_mode;
    f.owner = host_user_name(st.st_uid);
    f.group = host_group_name(st.st_gid);
    return f;
  };
}

}  // namespace pm::target
