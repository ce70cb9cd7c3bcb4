// Probes the machine before loading BPF: privileges, BTF, tracefs, ring buffer.
// Each check says what is missing and what to do about it.
#pragma once

#include <string>

#include "util/result.h"

namespace pm::sources {

struct EnvironmentPaths {
  std::string proc_mounts = "/proc/mounts";
  std::string pid_ns = "/proc/self/ns/pid";
  std::string btf = "/sys/kernel/btf/vmlinux";
  std::string tracefs = "/sys/kernel/tracing";
};

struct TracefsStatus {
  std::string path;       // where tracefs is mounted
  bool mounted_now = false;  // pmtrace mounted it
};

// Finds tracefs in the mount table (or debugfs's tracing/ directory).
// Returns the mount point, or empty.
std::string find_tracefs(const std::string& proc_mounts_text);

// Mounts tracefs at paths.tracefs when it is not mounted anywhere.
Result<TracefsStatus> ensure_tracefs(const EnvironmentPaths& paths = {});

// Root, or CAP_BPF + CAP_PERFMON (or CAP_SYS_ADMIN on older kernels).
Result<void> check_privileges();

// /sys/kernel/btf/vmlinux readable.
Result<void> check_btf(const EnvironmentPaths& paths = {});

// pmtrace runs in the initial PID namespace. The kernel's events carry the
// pids of that namespace, so from inside a container's (its own PID 1) they
// name processes pmtrace cannot look up or scope: an error that says to run
// on the host. The initial namespace's inode is fixed (PROC_PID_INIT_INO,
// 0xEFFFFFFC, include/linux/proc_ns.h).
Result<void> check_pid_namespace(const EnvironmentPaths& paths = {});

// All of the above, and that the kernel supports BPF ring buffers (5.8+).
Result<TracefsStatus> prepare_bpf_environment(const EnvironmentPaths& paths = {});

}  // namespace pm::sources
