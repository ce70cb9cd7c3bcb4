// An event source: BPF (kernel tracepoints), ptrace, or a recording (replay). Each
// delivers model events and counts what it lost.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "model/event.h"
#include "model/losses.h"
#include "util/result.h"

namespace pm::sources {

using EventFn = std::function<void(model::Event&&)>;

// Which kind of source: what callers decide on (never its name).
enum class Backend { bpf, ptrace, replay };

class Source {
 public:
  virtual ~Source() = default;
  virtual Backend backend() const = 0;
  // "bpf", "ptrace", or for a replay the backend that made the recording.
  virtual const char* name() const = 0;

  // Delivers the events available, waiting at most timeout_ms for some.
  // Returns how many were delivered.
  virtual Result<int> poll(int timeout_ms, const EventFn& fn) = 0;

  // Adds a process to the scope (e.g. the command `run` forked, before exec).
  virtual Result<void> track_pid(std::uint32_t pid) = 0;

  virtual model::Losses losses() const = 0;

  // What this source could not set up and so cannot see (disabled probes).
  virtual std::vector<std::string> notes() const = 0;

  // A source that reads the past (a recording) knows when it ended, and has
  // no more to give at some point; live sources end when they are stopped.
  virtual std::optional<std::uint64_t> end_ns() const { return std::nullopt; }
  virtual bool exhausted() const { return false; }
};

}  // namespace pm::sources
