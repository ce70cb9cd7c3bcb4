// What an investigation concludes, as data: the verdict, the checkpoints,
// the findings as one story (root cause first, with their links), the
// service's failures, the wrapped command's own status and the short
// timeline. report/ renders it and computes nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analysis/checkpoint_types.h"
#include "analysis/process_end.h"
#include "model/clock.h"
#include "model/event.h"
#include "model/losses.h"
#include "rules/finding_types.h"

namespace pm::investigation {

// The version of every JSON pmtrace writes: the --json lines, the summary,
// watch incidents. Raised when a field changes meaning or goes away.
inline constexpr int kJsonSchema = 2;

struct RunInfo {
  std::string mode;     // "run", "attach", "watch", "explain"
  std::string target;   // the command line, or the attach target
  std::string backend;  // "bpf", "ptrace", "replay"
  std::uint64_t start_ns = 0;  // CLOCK_MONOTONIC
  model::Clock clock;
};

// failed: the service failed (a service process failed or a rule found a
// failure); healthy: it ran without a failure (and may still run);
// stopped: it was healthy and was stopped on purpose; exited: it ended by
// itself without failing; not_seen: no process of the service was traced,
// so nothing can be said of it (never "healthy").
enum class Verdict { failed, healthy, stopped, exited, not_seen };
inline const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::failed: return "failed";
    case Verdict::healthy: return "healthy";
    case Verdict::stopped: return "stopped";
    case Verdict::exited: return "exited";
    default: return "not_seen";
  }
}

// The command `pmtrace run` started, when it is not the service itself.
struct WrappedCommand {
  bool present = false;
  std::uint32_t pid = 0;
  std::string command;
  bool is_service = false;      // it is (or became) the service's own process
  std::optional<model::Exit> exit;  // how it ended; empty: still running
  std::uint64_t exit_ns = 0;
};

struct Summary {
  std::uint64_t end_ns = 0;
  std::uint64_t events = 0;
  model::Losses losses;
  std::vector<std::string> notes;  // probes not available, etc.
  Verdict verdict = Verdict::healthy;
  std::string verdict_text;        // one line in words
  std::vector<analysis::ProcessEnd> failures;         // the service's processes that failed
  std::vector<analysis::ProcessEnd> helper_failures;  // helpers' non-zero exits: context only
  std::vector<rules::Finding> findings;  // root cause first, linked by id
  analysis::Checkpoints checkpoints;
  std::string end_reason;          // "command and its processes exited", "timeout", ...
  int exit_status = 0;
  std::string unit;                // the systemd unit traced, when known
  std::string service_basis;       // how the service was told apart from helpers
  WrappedCommand wrapped;
  // The `pmtrace doctor` checks that find these findings' causes before a
  // start (import, writable, bind...); empty when none would.
  std::vector<std::string> preflight_checks;
  // The short timeline: the service's own significant events. `folded`
  // counts the events left out of it (noise, helpers' routine).
  std::vector<model::Event> timeline;
  std::uint64_t folded = 0;
  bool timeline_complete = true;   // false when more were significant than kept
};

// "pmtrace doctor projectmeats.service" (or "pmtrace doctor UNIT" when unknown).
inline std::string preflight_command(const Summary& s) {
  return "pmtrace doctor " + (s.unit.empty() ? std::string("UNIT") : s.unit);
}

}  // namespace pm::investigation
