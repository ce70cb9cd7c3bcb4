#include "cli/common.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "pmtrace_version.h"

#include "sources/environment.h"
#include "sources/ptrace_source.h"
#include "target/cgroup.h"
#include "target/environ.h"
#include "target/host.h"
#include "target/unit.h"
#include "util/redact.h"
#include "util/strings.h"

namespace pm::cli {

int report_error(const Error& e) {
  spdlog::error("{}", e.describe());
  if (!e.hint.empty()) spdlog::info("hint: {}", e.hint);
  return exit_status_of(e.kind);
}

Result<std::unique_ptr<sources::BpfSource>> open_bpf(sources::BpfConfig cfg, const CommonOptions& common) {
  auto env = sources::prepare_bpf_environment();
  if (!env) return env.error();
  if (env->mounted_now) spdlog::info("tracefs was not mounted: mounted it at {}", env->path);
  cfg.tracefs = env->path;
  cfg.pidns_inum = env->pidns_inum;
  if (env->pidns_inum) spdlog::debug("pmtrace runs in PID namespace {}: pids are translated to it", env->pidns_inum);
  auto bytes = parse_size_bytes(common.ringbuf_size);
  if (!bytes || *bytes < 4096 || *bytes > (1ull << 30) || (*bytes & (*bytes - 1)) != 0)
    return make_error("--ringbuf-size must be a power of two from 4K to 1G (e.g. 64K, 16M), not '" +
                      common.ringbuf_size + "'");
  cfg.ringbuf_bytes = static_cast<std::uint32_t>(*bytes);
  sources::install_libbpf_logging(common.verbose);
  return sources::BpfSource::create(cfg);
}

Result<std::unique_ptr<sources::Source>> open_source(const sources::BpfConfig& cfg, const CommonOptions& common,
                                                     bool ptrace_ok, bool kill_on_exit) {
  if (common.backend == "ptrace") {
    if (!ptrace_ok) return make_error("--backend ptrace follows a process tree: use it with `run` or `attach PID`");
    return std::unique_ptr<sources::Source>(std::make_unique<sources::PtraceSource>(kill_on_exit));
  }
  auto bpf = open_bpf(cfg, common);
  if (bpf) return std::unique_ptr<sources::Source>(std::move(*bpf));
  // A usage error (a bad --ringbuf-size) is the user's to fix, whatever the backend.
  if (common.backend == "bpf" || !ptrace_ok || bpf.error().kind == ErrorKind::usage)
    return bpf.error();
  spdlog::warn("eBPF cannot be used ({}): using the ptrace backend", bpf.error().message);
  return std::unique_ptr<sources::Source>(std::make_unique<sources::PtraceSource>(kill_on_exit));
}

Result<void> apply_common(const CommonOptions& common, SessionOptions& so) {
  so.json = common.json;
  so.verbose = common.verbose;
  so.full_timeline = common.timeline == "full";
  so.text_report = common.text_report;
  if (common.no_redact) {
    set_redaction(false);
    spdlog::warn("--no-redact: secrets are written in clear; for local debugging only, do not share the output");
  }
  if (!common.record.empty()) {
    auto w = record::Writer::create(common.record);
    if (!w) return w.error();
    so.recording = std::move(*w);
  }
  return {};
}

record::Header recording_header(const report::RunInfo& info) {
  record::Header h;
  h.pmtrace_version = PMTRACE_VERSION;
  struct utsname u{};
  if (::uname(&u) == 0) {
    h.host = u.nodename;
    h.kernel = u.release;
  }
  h.backend = info.backend;
  h.mode = info.mode;
  h.target = info.target;
  h.start_ns = info.start_ns;
  h.clock_offset_ns = info.clock.offset_ns();
  h.redacted = redaction_enabled();
  return h;
}

Result<UnitScope> unit_scope(const std::string& name) {
  auto mount = target::cgroup2_mount();
  if (!mount) return mount.error();
  auto unit = target::resolve_unit(name, target::UnitEnv::from_system(), *mount);
  UnitScope s;
  if (!unit) {
    std::string n = target::normalize_unit_name(name);
    if (n.find('/') != std::string::npos || n.size() > 255) return unit.error();
    s.unit = n;
    // Its cgroup may exist elsewhere than system.slice: a sub-slice, a
    // container's tree.
    if (auto rel = target::find_cgroup_named(*mount, n)) {
      s.rel = *rel;
      s.dir = *mount + *rel;
      s.exists = true;
      return s;
    }
    s.name_only = true;
    s.why_unknown = unit.error().message;
    return s;
  }
  s.unit = unit->name;
  s.rel = unit->cgroup;
  s.dir = *mount + unit->cgroup;
  s.unit_file = unit->unit_file;
  struct stat st{};
  s.exists = ::stat(s.dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  return s;
}

Result<UnitScope> cgroup_scope(const std::string& target) {
  auto mount = target::cgroup2_mount();
  if (!mount) return mount.error();
  UnitScope s;
  if (auto id = parse_int(target)) {
    auto rel = *id > 0 ? target::find_cgroup_by_id(*mount, static_cast<std::uint64_t>(*id)) : std::nullopt;
    if (!rel)
      return make_error("no cgroup with id " + target + " under " + *mount +
                        " (systemctl show -p ControlGroupId UNIT prints a unit's; it changes at every start)");
    s.rel = *rel;
  } else {
    // An absolute path under the mount, or a path relative to it.
    bool under = starts_with(target, *mount + "/");
    std::string rel = under ? target.substr(mount->size()) : target;
    if (!under && starts_with(target, "/sys/"))
      return make_error("'" + target + "' is not in the cgroup v2 hierarchy, which is mounted at " + *mount +
                        " (a cgroup v1 path names no unit's processes here)");
    if (rel.empty() || rel[0] != '/') rel = "/" + rel;
    if (rel.find("/../") != std::string::npos || ends_with(rel, "/..") || starts_with(target, "/proc/"))
      return make_error("'" + target + "' is not a cgroup path (e.g. " + *mount +
                        "/machine.slice/NAME/system.slice/app.service, or a cgroup id)");
    while (rel.size() > 1 && rel.back() == '/') rel.pop_back();
    s.rel = rel;
  }
  s.dir = *mount + s.rel;
  struct stat st{};
  s.exists = ::stat(s.dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  // The unit is the nearest component that names one (a service's own
  // sub-cgroup, a delegated subtree, belongs to it); the settings are read
  // through its processes' root where this machine has no such unit.
  auto parts = split(s.rel, '/');
  for (auto it = parts.rbegin(); it != parts.rend() && s.unit.empty(); ++it)
    if (target::has_unit_suffix(*it) && !ends_with(*it, ".slice")) s.unit = *it;
  if (s.unit.empty() && !parts.empty()) s.unit = parts.back();
  for (auto up = s.rel.rfind('/'); up != std::string::npos && up > 0; up = s.rel.rfind('/', up - 1)) {
    auto procs = target::cgroup_procs(*mount + s.rel.substr(0, up) + "/init.scope");
    if (!procs.empty()) {
      s.root_holder = procs.front();
      break;
    }
  }
  return s;
}

Result<void> add_unit_to_scope(UnitScope& u, sources::BpfConfig& cfg) {
  if (u.name_only) {
    cfg.cgroup_names.push_back(u.unit);
    return {};
  }
  // Inside a cgroup namespace u.rel is relative to its root; the kernel's
  // cgroup_mkdir names the whole path.
  if (target::in_cgroup_namespace()) cfg.cgroup_names.push_back(u.unit);
  else cfg.cgroup_paths.push_back(u.rel);
  if (u.exists) {
    auto id = target::cgroup_id(u.dir);
    if (!id) return id.error();
    cfg.cgroup_ids.push_back(*id);
    u.id = *id;
    for (auto pid : target::cgroup_procs(u.dir)) cfg.pids.push_back(pid);
  }
  return {};
}

}  // namespace pm::cli
