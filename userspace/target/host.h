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
// memory.max of a cgroup found by id under the cgroup2 mount.
analysis::CgroupLookup host_cgroup_lookup();
std::string host_user_name(std::uint32_t uid);
std::string host_group_name(std::uint32_t gid);

}  // namespace pm::target
