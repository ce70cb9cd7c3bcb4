// State of this machine read at report time: file owners and modes, user and
// group names (the aggregator's lookups, real ones).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "analysis/aggregator.h"

namespace pm::target {

analysis::FileLookup host_file_lookup(const std::string& root = "");
// lstat: symlinks as such, with their target and whether it exists; the "#!"
// line of a script.
analysis::FileLookup host_path_lookup(const std::string& root = "");
// The memory limit of a running process's cgroup: memory.max (cgroup v2) or
// memory.limit_in_bytes (v1, on hybrid machines), with the file it came from;
// nullopt when the process is gone or its cgroup sets no limit.
std::optional<std::string> host_memory_limit(std::uint32_t pid);
std::string host_user_name(std::uint32_t uid);
// Who listens on a TCP port on this machine now (/proc/net/tcp{,6}).
std::vector<analysis::PortHolder> host_port_holders(std::uint16_t port);
std::string host_group_name(std::uint32_t gid);
// Names as a root's own /etc/passwd and /etc/group give them (a container's,
// through /proc/PID/root): "" root is this machine's (NSS).
analysis::NameLookup user_names_in(const std::string& root);
analysis::NameLookup group_names_in(const std::string& root);
// Whether `user` (a name, or a number) is a user under `root`.
bool user_exists_in(const std::string& root, const std::string& user);
// The name of `id` in a passwd or group file's text (its third field), "".
std::string account_name(const std::string& file_text, std::uint32_t id);

}  // namespace pm::target
