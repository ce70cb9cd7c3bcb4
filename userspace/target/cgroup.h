// cgroup v2: where it is mounted, a cgroup's id (what bpf_get_current_cgroup_id
// returns) and its processes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace pm::target {

// The cgroup2 mount point in a /proc/mounts text: /sys/fs/cgroup on a unified
// system, /sys/fs/cgroup/unified on a hybrid one; empty if none.
std::string find_cgroup2_mount(const std::string& proc_mounts_text);

// Reads /proc/mounts (under root) and finds the cgroup2 mount, with an error
// the user can act on.
Result<std::string> cgroup2_mount(const std::string& root = "");

// The cgroup id of a cgroup directory: its file handle (name_to_handle_at),
// the same value the kernel's kernfs node id has.
Result<std::uint64_t> cgroup_id(const std::string& abs_dir);

// The first cgroup named `name` ("x.service") under the cgroup2 root, at
// most `max_depth` levels down, as a path relative to the root.
std::optional<std::string> find_cgroup_named(const std::string& root, const std::string& name, int max_depth = 8);
// The cgroup whose id is `id` (`systemctl show -p ControlGroupId`, the
// cgroup_id of pmtrace's JSON), as a path relative to the root ("" for the
// root itself).
std::optional<std::string> find_cgroup_by_id(const std::string& root, std::uint64_t id, int max_depth = 12);

// Whether pmtrace runs in a cgroup namespace of its own (a container's): its
// cgroup paths are then relative to that namespace's root, while the kernel's
// cgroup_mkdir tracepoint names the whole hierarchy's path, so a unit's
// cgroup created later is matched by its name (BpfConfig::cgroup_names).
// The initial namespace is CGROUP_NS_INIT_INO (0xEFFFFFFB).
bool in_cgroup_namespace(const std::string& ns_link = "/proc/self/ns/cgroup");

// One line of /proc/PID/cgroup: "0::/system.slice/x.service" (the v2
// hierarchy: id 0, no controllers) or "5:memory:/x" (a v1 hierarchy). The one
// parser of that file; a path may itself hold ':'.
struct ProcCgroupLine {
  std::string hierarchy, controllers, path;
  bool v2() const { return hierarchy == "0" && controllers.empty(); }
};
std::vector<ProcCgroupLine> parse_proc_cgroup(std::string_view text);

// The pids listed in a cgroup's cgroup.procs.
std::vector<std::uint32_t> cgroup_procs(const std::string& abs_dir);

}  // namespace pm::target
