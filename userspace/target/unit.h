// Resolving a systemd unit name to its cgroup: from systemd where it runs,
// otherwise from the unit file (Slice=) the way systemd would place it.
#pragma once

#include <string>
#include <vector>

#include "util/result.h"

namespace pm::target {

struct UnitEnv {
  std::string root;                     // prefix for fixture trees ("" = this machine)
  std::vector<std::string> unit_paths;  // unit file search path
  bool systemd_running = false;         // PID 1 is systemd (/run/systemd/system exists)

  // This machine: $SYSTEMD_UNIT_PATH (as systemd reads it) or the standard
  // directories, and whether systemd manages it.
  static UnitEnv from_system();
  // Another root's (a container's, seen through /proc/PID/root): its
  // standard unit directories under that root; systemd is not asked.
  static UnitEnv of_root(const std::string& root);
};

struct Unit {
  std::string name;       // "projectmeats.service"
  std::string cgroup;     // relative to the cgroup2 root: "/system.slice/projectmeats.service"
  std::string unit_file;  // where its file was found, if it was
  std::string source;     // how it was resolved: "systemd", "unit file", "cgroup"
};

// "projectmeats" -> "projectmeats.service"; names with a unit suffix are kept.
std::string normalize_unit_name(const std::string& name);
bool has_unit_suffix(const std::string& name);

// systemd's slice naming: "a-b.slice" -> "/a.slice/a-b.slice"; "-.slice" -> "".
std::string slice_to_path(const std::string& slice);

// The last Slice= value in a unit file's text, or "" when it sets none.
std::string slice_from_unit_text(const std::string& text);

// Finds the unit; `cgroup2_root` is the cgroup2 mount (for units known only by
// an existing cgroup). Unknown units are an error naming how to list them.
Result<Unit> resolve_unit(const std::string& name, const UnitEnv& env, const std::string& cgroup2_root);

// `systemctl [opts] start|restart|reload-or-restart A B` -> the units started.
std::vector<std::string> units_started_by(const std::vector<std::string>& argv);

}  // namespace pm::target
