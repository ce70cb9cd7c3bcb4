// When a start is over: the one place `run` decides to stop tracing, and
// `attach` decides to say the service has started. docs/investigation.md
// states the rules:
//   - never while the wrapped command is still running, unless it is the
//     service itself (its own process listens);
//   - never while a traced process sits in a call that waits on something
//     (a connect still in flight, a read from a peer it connected to, a
//     gunicorn worker anywhere but its idle wait);
//   - the quiet period (--settle) counts from the last event or the last
//     moment something was in flight, whichever is later;
//   - never while a unit's Restart= is about to start it again;
//   - --timeout bounds everything (the caller's deadline) and says what was
//     still going on.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "analysis/aggregator.h"
#include "target/procfs.h"

namespace pm::investigation {

// A traced process in a call that waits on something.
struct InFlight {
  std::uint32_t pid = 0;
  std::string what;  // "connect() to 127.0.0.1:5432 in flight since +1.2s"
};

// What a live process is in now (/proc/PID/syscall); empty: unknown.
using SyscallProbe = std::function<std::optional<target::SyscallState>(std::uint32_t pid)>;

// The processes of `agg` in such a call now.
std::vector<InFlight> in_flight(const analysis::Aggregator& agg, const SyscallProbe& probe);

struct EndInputs {
  std::uint64_t now_ns = 0, start_ns = 0, settle_ns = 0;
  bool wrapped = false;             // run: a command was started
  bool wrapped_running = false;
  bool wrapped_is_service = false;  // its own process listens
  std::size_t live = 0;             // traced processes alive
  bool listening = false;           // a traced process listens
  std::uint64_t last_event_ns = 0;
  std::vector<InFlight> busy;
  // A traced unit's Restart= will start it again before this (its last
  // process ended the way Restart= restarts on, RestartSec= ago at most, plus
  // a margin for the start itself): nothing is over before then.
  std::uint64_t restart_due_ns = 0;
};

// When a traced unit none of whose processes lives will be started again by
// its Restart=, at the latest; 0 when none will.
std::uint64_t restart_due(const analysis::Aggregator& agg);

class EndRules {
 public:
  // Why the capture is over, or nothing to go on.
  std::optional<std::string> check(const EndInputs& in);
  // What kept it going at the last check, in words ("" when nothing did):
  // said when --timeout ends the capture.
  std::string still_going(const EndInputs& in) const;

 private:
  std::uint64_t last_busy_ns_ = 0;
};

}  // namespace pm::investigation
