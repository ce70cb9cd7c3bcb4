// Reading /proc for the processes that exist when pmtrace starts. Every path
// is under a root prefix so tests can use a fixture tree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pm::target {

struct ProcInfo {
  std::uint32_t pid = 0;
  std::uint32_t ppid = 0;
  std::string comm;
  std::vector<std::string> argv;
};

// What a live process is doing now, from /proc/PID/syscall: on a CPU
// ("running"), outside any system call (nr -1), or blocked in call `nr`
// with these arguments.
struct SyscallState {
  bool running = false;
  int nr = -1;
  std::uint64_t args[6] = {};
};
std::optional<SyscallState> parse_syscall(const std::string& text);

class Procfs {
 public:
  explicit Procfs(std::string root = "") : root_(std::move(root)) {}

  bool exists(std::uint32_t pid) const;
  std::optional<ProcInfo> read(std::uint32_t pid) const;
  std::vector<ProcInfo> list() const;
  // pid and all its descendants that exist now.
  std::vector<std::uint32_t> tree(std::uint32_t pid) const;
  // Processes named `name`: comm (as the kernel truncates it), or the
  // basename of argv[0] or of argv[1] (for `python3 /usr/bin/gunicorn`).
  std::vector<std::uint32_t> by_name(const std::string& name) const;
  // The cgroup v2 path of a process ("/system.slice/x.service"), from the
  // "0::" line of /proc/PID/cgroup.
  std::optional<std::string> cgroup_of(std::uint32_t pid) const;
  // The processes holding a TCP socket listening on `port` (IPv4 or IPv6),
  // from /proc/net/tcp{,6} and the socket links in /proc/PID/fd.
  std::vector<ProcInfo> listening_on(std::uint16_t port) const;
  // /proc/PID/syscall (needs the right to ptrace the process: root).
  std::optional<SyscallState> syscall_of(std::uint32_t pid) const;
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

// Parses the content of /proc/PID/stat: ppid and comm (which may hold spaces
// and parentheses).
bool parse_stat(const std::string& stat, ProcInfo& out);

// The inodes of the listening sockets on `port` in the text of /proc/net/tcp
// or /proc/net/tcp6 (state 0A).
std::vector<std::string> listening_inodes(const std::string& net_tcp, std::uint16_t port);

}  // namespace pm::target
