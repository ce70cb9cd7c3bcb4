#include "target/procfs.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include <algorithm>
#include <map>

#include "model/names.h"
#include "target/cgroup.h"
#include "util/strings.h"

namespace pm::target {
namespace {

}  // namespace

bool parse_stat(const std::string& stat, ProcInfo& out) {
  auto open = stat.find('(');
  auto close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return false;
  auto pid = parse_int(std::string_view(stat).substr(0, open));
  if (!pid) return false;
  out.pid = static_cast<std::uint32_t>(*pid);
  out.comm = stat.substr(open + 1, close - open - 1);
  auto fields = split(std::string_view(stat).substr(close + 1), ' ');
  // fields[0] = state, fields[1] = ppid
  if (fields.size() < 2) return false;
  auto ppid = parse_int(fields[1]);
  if (!ppid) return false;
  out.ppid = static_cast<std::uint32_t>(*ppid);
  return true;
}

bool Procfs::exists(std::uint32_t pid) const {
  struct stat st{};
  return ::stat((root_ + "/proc/" + std::to_string(pid)).c_str(), &st) == 0;
}

std::optional<ProcInfo> Procfs::read(std::uint32_t pid) const {
  std::string dir = root_ + "/proc/" + std::to_string(pid);
  auto stat = read_file(dir + "/stat");
  if (!stat) return std::nullopt;
  ProcInfo info;
  if (!parse_stat(*stat, info)) return std::nullopt;
  if (auto cmdline = read_file(dir + "/cmdline")) {
    info.argv = split_args(*cmdline);
  }
  return info;
}

std::vector<ProcInfo> Procfs::list() const {
  std::vector<ProcInfo> out;
  DIR* d = ::opendir((root_ + "/proc").c_str());
  if (!d) return out;
  while (dirent* ent = ::readdir(d)) {
    auto pid = parse_int(ent->d_name);
    if (!pid || *pid <= 0) continue;
    if (auto info = read(static_cast<std::uint32_t>(*pid))) out.push_back(std::move(*info));
  }
  ::closedir(d);
  return out;
}

std::vector<std::string> listening_inodes(const std::string& net_tcp, std::uint16_t port) {
  std::vector<std::string> out;
  for (const auto& line : split(net_tcp, '\n')) {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    auto f = split(line, ' ');
    if (f.size() < 10 || f[3] != "0A") continue;
    auto colon = f[1].rfind(':');
    if (colon == std::string::npos) continue;
    unsigned long p = std::strtoul(f[1].c_str() + colon + 1, nullptr, 16);
    if (p == port && f[9] != "0") out.push_back(f[9]);
  }
  return out;
}

std::vector<ProcInfo> Procfs::listening_on(std::uint16_t port) const {
  std::vector<std::string> links;
  for (const char* net : {"/proc/net/tcp", "/proc/net/tcp6"})
    if (auto text = read_file(root_ + net))
      for (const auto& inode : listening_inodes(*text, port)) links.push_back("socket:[" + inode + "]");
  std::vector<ProcInfo> out;
  if (links.empty()) return out;
  for (auto& p : list()) {
    std::string dir = root_ + "/proc/" + std::to_string(p.pid) + "/fd";
    DIR* d = ::opendir(dir.c_str());
    if (!d) continue;
    bool holds = false;
    while (dirent* ent = ::readdir(d)) {
      char buf[64];
      ssize_t n = ::readlink((dir + "/" + ent->d_name).c_str(), buf, sizeof buf - 1);
      if (n > 0 && std::find(links.begin(), links.end(), std::string(buf, n)) != links.end()) {
        holds = true;
        break;
      }
    }
    ::closedir(d);
    if (holds) out.push_back(std::move(p));
  }
  return out;
}

std::vector<std::uint32_t> Procfs::tree(std::uint32_t pid) const {
  std::multimap<std::uint32_t, std::uint32_t> children;
  for (const auto& p : list()) children.emplace(p.ppid, p.pid);
  std::vector<std::uint32_t> out;
  if (!exists(pid)) return out;
  std::vector<std::uint32_t> todo{pid};
  while (!todo.empty()) {
    auto cur = todo.back();
    todo.pop_back();
    if (std::find(out.begin(), out.end(), cur) != out.end()) continue;
    out.push_back(cur);
    auto [b, e] = children.equal_range(cur);
    for (auto it = b; it != e; ++it) todo.push_back(it->second);
  }
  return out;
}

std::vector<std::uint32_t> Procfs::by_name(const std::string& name) const {
  std::vector<std::uint32_t> out;
  for (const auto& p : list())
    if (model::process_named(name, p.comm, p.argv)) out.push_back(p.pid);
  return out;
}

std::optional<std::string> Procfs::cgroup_of(std::uint32_t pid) const {
  auto text = read_file(root_ + "/proc/" + std::to_string(pid) + "/cgroup");
  if (!text) return std::nullopt;
  for (const auto& line : parse_proc_cgroup(*text))
    if (line.v2()) return line.path;
  return std::nullopt;
}

std::optional<SyscallState> parse_syscall(const std::string& text) {
  SyscallState st;
  std::string t(trim(text));
  if (t.empty()) return std::nullopt;
  if (t == "running") {
    st.running = true;
    return st;
  }
  auto words = split(t, ' ');
  if (words.empty()) return std::nullopt;
  auto nr = parse_int(words[0]);
  if (!nr || *nr < -1 || *nr > 4096) return std::nullopt;
  st.nr = static_cast<int>(*nr);
  for (std::size_t i = 0; i < 6 && i + 1 < words.size(); ++i) {
    const std::string& w = words[i + 1];
    if (w.size() < 3 || w.compare(0, 2, "0x") != 0) return std::nullopt;
    st.args[i] = std::strtoull(w.c_str() + 2, nullptr, 16);
  }
  return st;
}

std::optional<SyscallState> Procfs::syscall_of(std::uint32_t pid) const {
  auto text = read_file(root_ + "/proc/" + std::to_string(pid) + "/syscall");
  if (!text) return std::nullopt;
  return parse_syscall(*text);
}

}  // namespace pm::target
