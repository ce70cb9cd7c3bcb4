#include "sources/environment.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/strings.h"

namespace pm::sources {

std::string find_tracefs(const std::string& mounts) {
  std::string debugfs;
  for (const auto& line : split(mounts, '\n')) {
    auto f = split(line, ' ');
    if (f.size() < 3) continue;
    if (f[2] == "tracefs") return f[1];
    if (f[2] == "debugfs") debugfs = f[1] + "/tracing";
  }
  // debugfs automounts tracefs under tracing/ on access.
  return debugfs;
}

Result<TracefsStatus> ensure_tracefs(const EnvironmentPaths& paths) {
  auto mounts = read_file(paths.proc_mounts);
  if (!mounts) return cannot_trace_errno("failed to read the mount table " + paths.proc_mounts);
  std::string found = find_tracefs(*mounts);
  if (!found.empty()) {
    struct stat st{};
    if (::stat((found + "/events").c_str(), &st) == 0) return TracefsStatus{found, false};
  }
  if (::mount("nodev", paths.tracefs.c_str(), "tracefs", 0, nullptr) != 0) {
    int err = errno;
    return cannot_trace_errno("tracefs not mounted and could not be mounted at " + paths.tracefs, err,
                       "mount it by hand: mount -t tracefs nodev " + paths.tracefs +
                           " (the syscall tracepoints are found through it)");
  }
  return TracefsStatus{paths.tracefs, true};
}

Result<void> check_privileges() {
  if (::geteuid() == 0) return {};
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &hdr, data) == 0) {
    auto has = [&](int cap) { return (data[cap / 32].effective >> (cap % 32)) & 1; };
#ifndef CAP_BPF
#define CAP_BPF 39
#define CAP_PERFMON 38
#endif
    if ((has(CAP_BPF) && has(CAP_PERFMON)) || has(CAP_SYS_ADMIN)) return {};
  }
  return cannot_trace_error("pmtrace needs root (or CAP_BPF and CAP_PERFMON) to load its eBPF probes",
                    "run it as root, e.g. with sudo");
}

Result<void> check_btf(const EnvironmentPaths& paths) {
  if (::access(paths.btf.c_str(), R_OK) == 0) return {};
  int err = errno;
  return cannot_trace_errno("this kernel exposes no BTF at " + paths.btf + ", so the CO-RE probes cannot load", err,
                     "use a kernel built with CONFIG_DEBUG_INFO_BTF=y");
}

Result<std::uint32_t> pid_namespace_inum(const EnvironmentPaths& paths) {
  char buf[64] = {};
  ssize_t n = ::readlink(paths.pid_ns.c_str(), buf, sizeof buf - 1);
  if (n <= 0) return std::uint32_t{0};  // no namespace information: the kernel's pids
  std::string link(buf, static_cast<std::size_t>(n));
  auto num = starts_with(link, "pid:[") && ends_with(link, "]") ? parse_int(link.substr(5, link.size() - 6))
                                                                  : std::nullopt;
  if (!num || *num <= 0 || *num > 0xFFFFFFFFll)
    return cannot_trace_error("cannot read pmtrace's PID namespace from " + paths.pid_ns + " ('" + link + "')");
  auto inum = static_cast<std::uint32_t>(*num);
  if (inum == 0xEFFFFFFCu) return std::uint32_t{0};
  char self[32] = {};
  ssize_t m = ::readlink(paths.proc_self.c_str(), self, sizeof self - 1);
  std::string here = std::to_string(::getpid());
  if (m > 0 && std::string(self, static_cast<std::size_t>(m)) != here) {
    return cannot_trace_error("the /proc pmtrace reads belongs to another PID namespace than pmtrace's own (" + link +
                          "): it calls pmtrace " + std::string(self, static_cast<std::size_t>(m)) + ", pmtrace is " +
                          here + ", so no pid it reads would be the kernel's",
                      "mount a /proc for this namespace (unshare -p -f --mount-proc), or run pmtrace on the host");
  }
  return inum;
}

std::string seccomp_mode(const std::string& proc_status_text) {
  for (const auto& line : split(proc_status_text, '\n'))
    if (starts_with(line, "Seccomp:")) return std::string(trim(std::string_view(line).substr(8)));
  return "";
}

Result<void> check_bpf_maps(const EnvironmentPaths& paths) {
  // A ring buffer map, as the probes need: EPERM is a refusal (a seccomp
  // filter, a container's capability set), EINVAL a kernel without ring
  // buffers (an array map still works there). libbpf's own probe answers
  // "unsupported" for both.
  auto create = [](bpf_map_type type, std::uint32_t key, std::uint32_t value, std::uint32_t entries) {
    int fd = bpf_map_create(type, nullptr, key, value, entries, nullptr);
    if (fd >= 0) {
      ::close(fd);
      return 0;
    }
    return fd == -1 ? errno : -fd;
  };
  int err = create(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096);
  if (err == 0) return {};
  if (err == EPERM || err == EACCES) {
    auto status = read_file(paths.proc_self_status);
    std::string mode = status ? seccomp_mode(*status) : "";
    std::string why = mode == "2" ? "a seccomp filter on pmtrace (Seccomp: 2 in /proc/self/status) refuses it, as "
                                    "container runtimes install by default"
                                  : "a capability it needs is missing from pmtrace's bounding set, or a security "
                                    "module (SELinux, AppArmor, lockdown) refuses it";
    return cannot_trace_error("the bpf() system call is not permitted here although pmtrace runs privileged: " + why,
                      "run pmtrace on the host, or let the container use eBPF: systemd-nspawn "
                      "--capability=CAP_BPF,CAP_PERFMON --system-call-filter='bpf perf_event_open'; docker "
                      "--cap-add BPF --cap-add PERFMON --security-opt seccomp=unconfined; or --backend ptrace");
  }
  if (err == EINVAL && create(BPF_MAP_TYPE_ARRAY, 4, 4, 1) == 0)
    return cannot_trace_error("this kernel has no BPF ring buffer (added in Linux 5.8)", "upgrade the kernel");
  return cannot_trace_errno("failed to create a BPF map", err,
                     "check kernel.unprivileged_bpf_disabled, the memlock limit (ulimit -l) and seccomp");
}

std::vector<std::string> describe_bpf_features(const EnvironmentPaths& paths) {
  std::vector<std::string> out;
  auto said = [](const Error& e) { return e.message; };
  if (auto r = check_btf(paths); r) out.push_back("BTF: " + paths.btf);
  else out.push_back("BTF: none (" + said(r.error()) + ")");
  auto mounts = read_file(paths.proc_mounts);
  std::string tracefs = mounts ? find_tracefs(*mounts) : "";
  out.push_back(tracefs.empty() ? "tracefs: not mounted (pmtrace mounts it at " + paths.tracefs + " when it traces)"
                                : "tracefs: " + tracefs);
  if (auto r = check_privileges(); !r) {
    out.push_back("bpf(): not tried (" + said(r.error()) + ")");
  } else if (auto maps = check_bpf_maps(paths); !maps) {
    out.push_back("bpf(): " + said(maps.error()) + " (the ptrace backend is used instead)");
  } else {
    out.push_back("bpf(): ring buffer maps can be created");
  }
  if (auto ns = pid_namespace_inum(paths); ns && *ns) out.push_back("PID namespace: not the initial one (pids translated)");
  return out;
}

Result<TracefsStatus> prepare_bpf_environment(const EnvironmentPaths& paths) {
  if (auto r = check_privileges(); !r) return r.error();
  auto pidns = pid_namespace_inum(paths);
  if (!pidns) return pidns.error();
  if (auto r = check_btf(paths); !r) return r.error();
  auto tf = ensure_tracefs(paths);
  if (!tf) return tf.error();
  if (auto r = check_bpf_maps(paths); !r) return r.error();
  tf->pidns_inum = *pidns;
  return tf;
}

}  // namespace pm::sources
