#pragma once

#include <memory>

#include "cli/commands.h"
#include "cli/session.h"
#include "sources/bpf_source.h"

namespace pm::cli {

// Checks the environment (privileges, BTF, tracefs: mounted when missing) and
// loads the BPF source with this scope.
Result<std::unique_ptr<sources::BpfSource>> open_bpf(sources::BpfConfig cfg, const CommonOptions& common);

// The event source --backend asks for. `auto` takes eBPF and falls back to
// ptrace, saying why in one line, when eBPF cannot be used. `ptrace_ok`:
// the target is a process tree (run, attach PID), which ptrace can follow;
// `kill_on_exit`: pmtrace started it (PTRACE_O_EXITKILL).
Result<std::unique_ptr<sources::Source>> open_source(const sources::BpfConfig& cfg, const CommonOptions& common,
                                                     bool ptrace_ok, bool kill_on_exit);

// What every command does with the options they share before tracing:
// --no-redact (said loudly), --record FILE (created now, so a bad path fails
// before anything starts). Fills the session options.
Result<void> apply_common(const CommonOptions& common, SessionOptions& so);

// A recording's header for a capture described by `info`: this pmtrace's
// version, this machine's name and kernel, whether secrets are redacted.
record::Header recording_header(const report::RunInfo& info);

// The unit's cgroup: relative path, absolute directory, and whether it exists.
struct UnitScope {
  std::string unit;
  std::string rel;
  std::string dir;
  bool exists = false;
  std::optional<std::uint64_t> id;  // its cgroup id, when it exists
  std::string unit_file;  // where its unit file is, when known
  // Neither systemd, a unit file nor a cgroup knows it yet (a transient unit
  // before `systemd-run --unit`, a container's unit): it is waited for by
  // its cgroup's name, created anywhere in the hierarchy.
  bool name_only = false;
  std::string why_unknown;  // what was searched, for the message
  // cgroup_scope: a process of the tree the cgroup belongs to (a container's
  // init, from the nearest ancestor's init.scope), whose root the unit is
  // read under before it has a process of its own; 0 when none.
  std::uint32_t root_holder = 0;
};
// The unit's scope; a unit nobody knows yet is a name_only scope, an invalid
// name an error.
Result<UnitScope> unit_scope(const std::string& name);
// A cgroup named by its path (absolute, or relative to the cgroup2 mount)
// or its id: a container's service seen from the host. Its unit is the
// nearest path component with a unit's suffix. A path that does not exist
// yet is waited for (a unit about to start); an id must exist.
Result<UnitScope> cgroup_scope(const std::string& target);

// Adds a unit's cgroup to a BPF scope: watched for creation (by path, or by
// name anywhere for a name_only scope), tracked if it exists.
Result<void> add_unit_to_scope(UnitScope& u, sources::BpfConfig& cfg);

}  // namespace pm::cli
