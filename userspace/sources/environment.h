// Probes the machine before loading BPF: privileges, BTF, tracefs, ring buffer.
// Each check says what is missing and what to do about it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/result.h"

namespace pm::sources {

struct EnvironmentPaths {
  std::string proc_mounts = "/proc/mounts";
  std::string pid_ns = "/proc/self/ns/pid";
  std::string proc_self = "/proc/self";  // names pmtrace's pid in the /proc it reads
  std::string proc_self_status = "/proc/self/status";
  std::string btf = "/sys/kernel/btf/vmlinux";
  std::string tracefs = "/sys/kernel/tracing";
};

struct TracefsStatus {
  std::string path;       // where tracefs is mounted
  bool mounted_now = false;  // pmtrace mounted it
  std::uint32_t pidns_inum = 0;  // pid_namespace_inum()
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

// The PID namespace pmtrace runs in, as its nsfs inode number, when it is not
// the initial one (inside a container: systemd-nspawn, `machinectl shell`,
// docker exec): the BPF side then translates every pid to the ones this
// namespace sees. 0 for the initial namespace (PROC_PID_INIT_INO, 0xEFFFFFFC,
// include/linux/proc_ns.h) or when the link cannot be read. An error when
// the /proc pmtrace reads belongs to another namespace than its own (after
// `unshare -p -f` without a new /proc): its pids would not be the events'.
Result<std::uint32_t> pid_namespace_inum(const EnvironmentPaths& paths = {});

// The Seccomp: field of a /proc/PID/status text ("0" none, "2" a filter), "" if absent.
std::string seccomp_mode(const std::string& proc_status_text);

// That a BPF ring buffer map can be created, and if not why: the bpf() call
// refused (EPERM: a container's seccomp filter or capability set, with what
// to grant) is not a kernel without ring buffers (EINVAL where an array map
// works).
Result<void> check_bpf_maps(const EnvironmentPaths& paths = {});

// What this machine offers pmtrace's eBPF backend, one line each ("BTF:
// /sys/kernel/btf/vmlinux", "tracefs: not mounted (pmtrace mounts it when it
// traces)", "bpf(): refused: ..."), read without changing anything: for
// `pmtrace --version` and bug reports.
std::vector<std::string> describe_bpf_features(const EnvironmentPaths& paths = {});

// All of the above, and that the kernel supports BPF ring buffers (5.8+).
Result<TracefsStatus> prepare_bpf_environment(const EnvironmentPaths& paths = {});

}  // namespace pm::sources
