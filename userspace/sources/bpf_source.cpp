#include "sources/bpf_source.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <system_error>
#include <thread>
#include <vector>

#include "model/decode.h"
#include "pmtrace_bpf.skel.h"
#include "pmtrace.h"

namespace pm::sources {

static_assert(model::Losses::kTypes == PM_EV_TYPE_MAX,
              "the kernel counts losses of PM_EV_TYPE_MAX event types: model::Losses must hold every one");
namespace {

bool g_verbose_libbpf = false;

int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG && !g_verbose_libbpf) return 0;
  char buf[1024];
  int n = std::vsnprintf(buf, sizeof buf, fmt, args);
  std::string msg(buf, n > 0 ? std::min<std::size_t>(n, sizeof buf - 1) : 0);
  while (!msg.empty() && msg.back() == '\n') msg.pop_back();
  if (level == LIBBPF_WARN)
    spdlog::debug("libbpf: {}", msg);  // load failures are reported by us, with a hint
  else
    spdlog::debug("libbpf: {}", msg);
  return 0;
}

// A tracepoint program to disable when the running kernel lacks it. Every
// tracepoint, tp_btf ones included, has a directory in tracefs: checking there
// avoids loading the kernel's BTF a second time (libbpf loads it once, ~40 ms).
struct Optional {
  bpf_program* prog;
  const char* what;
  const char* name;  // "category/event"
};

bool tracefs_has(const std::string& tracefs, const char* cat_name) {
  std::string p = tracefs + "/events/" + cat_name + "/format";
  return ::access(p.c_str(), F_OK) == 0;
}

}  // namespace

void install_libbpf_logging(bool verbose) {
  g_verbose_libbpf = verbose;
  libbpf_set_print(libbpf_print);
}

void BpfSource::SkelDeleter::operator()(pmtrace_bpf* s) const { pmtrace_bpf::destroy(s); }
void BpfSource::RingDeleter::operator()(ring_buffer* r) const { ring_buffer__free(r); }

namespace {
// Every link's release waits for an RCU grace period of its own (the
// syscall tracepoints' perf events: tracepoint_synchronize_unregister), about
// 75 ms here; released one after another, as the skeleton's detach does, 21
// links kept every `pmtrace run` alive 1.6 s after its command ended.
// Released from one thread each, the waits overlap.
void detach_concurrently(bpf_object_skeleton* s) {
  std::vector<std::thread> threads;
  for (int i = 0; i < s->prog_cnt; ++i) {
    bpf_link** link = s->progs[i].link;
    if (!link || !*link) continue;
    try {
      threads.emplace_back([link] {
        bpf_link__destroy(*link);
        *link = nullptr;
      });
    } catch (const std::system_error&) {  // no thread to be had: this one, in turn
      bpf_link__destroy(*link);
      *link = nullptr;
    }
  }
  for (auto& t : threads) t.join();
}
}  // namespace

BpfSource::~BpfSource() {
  // Detach first, then read what is still in the ring, so nothing captured is lost.
  if (skel_) detach_concurrently(skel_->skeleton);
}

Result<std::unique_ptr<BpfSource>> BpfSource::create(const BpfConfig& cfg) {
  std::unique_ptr<BpfSource> self(new BpfSource());

  self->skel_.reset(pmtrace_bpf::open());
  if (!self->skel_) return cannot_trace_errno("failed to open the eBPF object");
  auto* skel = self->skel_.get();

  skel->rodata->cfg_self_tgid = static_cast<__u32>(::getpid());
  skel->rodata->cfg_scope_cgroups = !cfg.cgroup_ids.empty() || !cfg.cgroup_paths.empty() || !cfg.cgroup_names.empty();
  skel->rodata->cfg_adopt_comms = !cfg.comms.empty();
  skel->rodata->cfg_watch_cgpaths = !cfg.cgroup_paths.empty();
  skel->rodata->cfg_watch_cgnames = !cfg.cgroup_names.empty();
  skel->rodata->cfg_count_enoent = cfg.count_enoent;
  skel->rodata->cfg_pidns_inum = cfg.pidns_inum;
  // Wake the reader once a quarter of the ring is waiting (64 KiB at most),
  // so a small ring is drained before it fills.
  skel->rodata->cfg_wakeup_bytes = std::min<__u64>(64 * 1024, cfg.ringbuf_bytes / 4);

  if (int err = bpf_map__set_max_entries(skel->maps.events, cfg.ringbuf_bytes); err) {
    return cannot_trace_errno("failed to size the ring buffer to " + std::to_string(cfg.ringbuf_bytes) + " bytes",
                       -err, "--ringbuf-size must be a power of two number of MiB");
  }

  // Optional tracepoints degrade: disable what this kernel lacks and say so.
  const Optional optional[] = {
      {skel->progs.tp__syscalls__sys_enter_openat2, "openat2 failures", "syscalls/sys_enter_openat2"},
      {skel->progs.tp__syscalls__sys_exit_openat2, "openat2 failures", "syscalls/sys_exit_openat2"},
      {skel->progs.tp__syscalls__sys_enter_execveat, "execveat failures", "syscalls/sys_enter_execveat"},
      {skel->progs.tp__syscalls__sys_exit_execveat, "execveat failures", "syscalls/sys_exit_execveat"},
      {skel->progs.tp_btf__cgroup__cgroup_mkdir, "unit cgroups created after start", "cgroup/cgroup_mkdir"},
      {skel->progs.tp_btf__sock__inet_sock_set_state, "TCP connect results and LISTEN",
       "sock/inet_sock_set_state"},
      {skel->progs.tp_btf__oom__mark_victim, "OOM kills", "oom/mark_victim"},
  };
  for (const auto& o : optional) {
    if (!tracefs_has(cfg.tracefs, o.name)) {
      bpf_program__set_autoload(o.prog, false);
      self->notes_.push_back(std::string("no tracepoint ") + o.name + ": " + o.what + " are not seen");
    }
  }
  if (!tracefs_has(cfg.tracefs, "syscalls/sys_enter_openat")) {
    return cannot_trace_error("this kernel has no syscall tracepoints (" + cfg.tracefs +
                          "/events/syscalls is missing)",
                      "pmtrace needs a kernel built with CONFIG_FTRACE_SYSCALLS=y");
  }

  if (int err = pmtrace_bpf::load(skel); err) {
    return cannot_trace_errno("failed to load the eBPF programs into the kernel", -err,
                       "run with -v to see the verifier's log");
  }

  // Scope before attach: no out-of-scope event is ever emitted.
  __u8 one = 1;
  for (auto pid : cfg.pids) {
    __u32 key = pid;
    if (bpf_map__update_elem(skel->maps.tracked_tgids, &key, sizeof key, &one, sizeof one, BPF_ANY))
      return cannot_trace_errno("failed to track pid " + std::to_string(pid));
  }
  for (auto id : cfg.cgroup_ids) {
    if (auto r = self->track_cgroup(id); !r) return r.error();
  }
  for (const auto& path : cfg.cgroup_paths) {
    pm_cgpath_key key{};
    if (path.size() >= sizeof key.path)
      return cannot_trace_error("cgroup path too long to watch (" + std::to_string(sizeof key.path - 1) +
                        " bytes at most): " + path);
    std::memcpy(key.path, path.data(), path.size());
    if (bpf_map__update_elem(skel->maps.watch_cgpaths, &key, sizeof key, &one, sizeof one, BPF_ANY))
      return cannot_trace_errno("failed to watch cgroup " + path);
  }
  for (const auto& name : cfg.cgroup_names) {
    pm_cgpath_key key{};
    if (name.empty() || name.size() >= sizeof key.path || name.find('/') != std::string::npos)
      return cannot_trace_error("not a cgroup name to watch: " + name);
    std::memcpy(key.path, name.data(), name.size());
    if (bpf_map__update_elem(skel->maps.watch_cgnames, &key, sizeof key, &one, sizeof one, BPF_ANY))
      return cannot_trace_errno("failed to watch cgroups named " + name);
  }
  for (const auto& comm : cfg.comms) {
    char key[PM_COMM_LEN] = {};
    std::memcpy(key, comm.data(), std::min<std::size_t>(comm.size(), PM_COMM_LEN - 1));
    if (bpf_map__update_elem(skel->maps.adopt_comms, key, sizeof key, &one, sizeof one, BPF_ANY))
      return cannot_trace_errno("failed to watch process name " + comm);
  }

  if (int err = pmtrace_bpf::attach(skel); err) {
    return cannot_trace_errno("failed to attach the eBPF programs to their tracepoints", -err,
                       "run with -v for libbpf's messages");
  }

  self->ring_.reset(ring_buffer__new(bpf_map__fd(skel->maps.events), &BpfSource::on_record, self.get(), nullptr));
  if (!self->ring_) return cannot_trace_errno("failed to set up the ring buffer reader");
  return self;
}

int BpfSource::on_record(void* ctx, void* data, std::size_t size) noexcept {
  auto* self = static_cast<BpfSource*>(ctx);
  try {
    auto r = model::decode_record(data, size);
    switch (r.error) {
      case model::DecodeError::none:
        if (self->current_fn_) (*self->current_fn_)(std::move(r.event));
        ++self->delivered_;
        break;
      case model::DecodeError::unknown_type: ++self->unknown_; break;
      default: ++self->malformed_; break;
    }
  } catch (const std::exception& e) {
    spdlog::warn("an event consumer failed: {}", e.what());
    ++self->malformed_;
  } catch (...) {
    ++self->malformed_;
  }
  return 0;  // a negative value would abort ring_buffer__poll
}

Result<int> BpfSource::poll(int timeout_ms, const EventFn& fn) {
  current_fn_ = &fn;
  delivered_ = 0;
  // Records are submitted without a wakeup (see submit() in the BPF side), so
  // a timed-out wait is followed by a consume of whatever arrived meanwhile.
  int err = ring_buffer__poll(ring_.get(), timeout_ms);
  if (err >= 0 || err == -EINTR) err = ring_buffer__consume(ring_.get());
  current_fn_ = nullptr;
  if (err < 0 && err != -EINTR) return cannot_trace_errno("failed to read the ring buffer", -err);
  return delivered_;
}

Result<void> BpfSource::track_pid(std::uint32_t pid) {
  __u32 key = pid;
  __u8 one = 1;
  if (bpf_map__update_elem(skel_->maps.tracked_tgids, &key, sizeof key, &one, sizeof one, BPF_ANY))
    return cannot_trace_errno("failed to track pid " + std::to_string(pid));
  return {};
}

Result<void> BpfSource::track_cgroup(std::uint64_t id) {
  __u8 one = 1;
  if (!skel_->rodata->cfg_scope_cgroups)
    return internal_error("cgroup scope was not enabled before load");
  if (bpf_map__update_elem(skel_->maps.tracked_cgrps, &id, sizeof id, &one, sizeof one, BPF_ANY))
    return cannot_trace_errno("failed to track cgroup " + std::to_string(id));
  return {};
}

model::Losses BpfSource::losses() const {
  model::Losses l;
  const auto* bss = skel_->bss;
  for (std::size_t i = 0; i < PM_EV_TYPE_MAX && i < l.ring_full.size(); ++i)
    l.ring_full[i] = __atomic_load_n(&bss->pm_lost[i], __ATOMIC_RELAXED);
  l.track_full = __atomic_load_n(&bss->pm_track_full, __ATOMIC_RELAXED);
  l.malformed = malformed_;
  l.unknown = unknown_;
  return l;
}

std::uint64_t BpfSource::enoent_counted() const {
  return __atomic_load_n(&skel_->bss->pm_enoent_counted, __ATOMIC_RELAXED);
}

std::uint64_t BpfSource::enoent_count(std::uint32_t tgid) const {
  __u64 n = 0;
  if (bpf_map__lookup_elem(skel_->maps.enoent_counts, &tgid, sizeof tgid, &n, sizeof n, 0) != 0) return 0;
  return n;
}

}  // namespace pm::sources
