// The eBPF source: loads bpf/pmtrace.bpf.c, scopes it, and reads its ring buffer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sources/source.h"

struct pmtrace_bpf;
struct ring_buffer;

namespace pm::sources {

struct BpfConfig {
  std::vector<std::uint32_t> pids;          // processes traced from the start
  std::vector<std::uint64_t> cgroup_ids;    // cgroups whose processes are traced
  std::vector<std::string> cgroup_paths;    // cgroup paths (relative to the cgroup2
                                            // root) adopted when created
  std::vector<std::string> cgroup_names;    // cgroup names ("x.service") adopted
                                            // when created anywhere
  std::vector<std::string> comms;           // process names adopted at exec
  std::uint32_t ringbuf_bytes = 16u << 20;  // power of two
  // watch: read-only opens failing ENOENT/ENOTDIR (import probing) are
  // counted per process in the kernel instead of emitted.
  bool count_enoent = false;
  std::string tracefs = "/sys/kernel/tracing";
  // pmtrace's PID namespace (sources::pid_namespace_inum), 0 for the
  // initial one: pids in events and in `pids` are that namespace's.
  std::uint32_t pidns_inum = 0;
};

class BpfSource final : public Source {
 public:
  static Result<std::unique_ptr<BpfSource>> create(const BpfConfig& cfg);
  ~BpfSource() override;
  BpfSource(const BpfSource&) = delete;
  BpfSource& operator=(const BpfSource&) = delete;

  Backend backend() const override { return Backend::bpf; }
  const char* name() const override { return "bpf"; }
  Result<int> poll(int timeout_ms, const EventFn& fn) override;
  Result<void> track_pid(std::uint32_t pid) override;
  model::Losses losses() const override;
  std::vector<std::string> notes() const override { return notes_; }

  // Adds a cgroup to the scope while running (e.g. found after start).
  Result<void> track_cgroup(std::uint64_t id);

  // With count_enoent: the opens counted in the kernel, in all and for a process.
  std::uint64_t enoent_counted() const;
  std::uint64_t enoent_count(std::uint32_t tgid) const;

 private:
  BpfSource() = default;
  static int on_record(void* ctx, void* data, std::size_t size) noexcept;

  struct SkelDeleter {
    void operator()(pmtrace_bpf* s) const;
  };
  struct RingDeleter {
    void operator()(ring_buffer* r) const;
  };
  std::unique_ptr<pmtrace_bpf, SkelDeleter> skel_;
  std::unique_ptr<ring_buffer, RingDeleter> ring_;
  const EventFn* current_fn_ = nullptr;
  int delivered_ = 0;
  std::uint64_t malformed_ = 0;
  std::uint64_t unknown_ = 0;
  std::vector<std::string> notes_;
};

// Forwards libbpf's messages to spdlog (debug level unless verbose).
void install_libbpf_logging(bool verbose);

}  // namespace pm::sources
