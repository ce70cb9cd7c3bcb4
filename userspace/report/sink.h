// Output is an interface over the neutral model: the same run rendered as text
// for people or as JSON lines for machines. Stdout carries only this.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "analysis/aggregator.h"
#include "analysis/checkpoints.h"
#include "analysis/process_table.h"
#include "model/clock.h"
#include "model/event.h"
#include "model/losses.h"
#include "rules/finding.h"

namespace pm::report {

struct RunInfo {
  std::string mode;     // "run", "attach"
  std::string target;   // the command line, or the attach target
  std::string backend;  // "bpf"
  std::uint64_t start_ns = 0;  // CLOCK_MONOTONIC
  model::Clock clock;
};

struct Summary {
  std::uint64_t end_ns = 0;
  std::uint64_t events = 0;
  model::Losses losses;
  std::vector<std::string> notes;  // probes not available, etc.
  std::vector<analysis::ProcessEnd> failures;
  std::vector<rules::Finding> findings;  // root cause first
  analysis::Checkpoints checkpoints;
  std::string end_reason;          // "command and its processes exited", "timeout", ...
  int exit_status = 0;
  std::string unit;                // the systemd unit traced, when known
  // The `pmtrace doctor` checks that find these findings' causes before a
  // start (import, writable, bind...); empty when none would.
  std::vector<std::string> preflight_checks;
};

// The doctor checks that would have caught a finding's cause statically.
std::vector<std::string> preflight_checks(const rules::Finding& f);
// "pmtrace doctor projectmeats.service" (or "pmtrace doctor UNIT" when unknown).
std::string preflight_command(const Summary& s);

// The explanation of what an aggregator holds, as of end_ns: the failures,
// the findings (root cause first), the checkpoints and the exit status. The
// caller adds what only it knows (events, losses, notes, end reason).
Summary summarize(analysis::Aggregator& agg, std::uint64_t end_ns);

class Sink {
 public:
  virtual ~Sink() = default;
  virtual void begin(const RunInfo& info) = 0;
  virtual void event(const model::Event& e) = 0;
  virtual void end(const Summary& s) = 0;
};

// The timeline for people. Runs of the same small thing from one process are
// folded into one line: consecutive writes to the same fd (Python writes a
// traceback in dozens of pieces) and consecutive ENOENT opens (library and
// locale probing). JSON keeps every event.
class TextSink final : public Sink {
 public:
  explicit TextSink(std::ostream& out) : out_(out) {}
  void begin(const RunInfo& info) override;
  void event(const model::Event& e) override;
  void end(const Summary& s) override;

 private:
  struct Run {
    model::Event first;
    std::uint64_t count = 0;
    std::uint64_t bytes = 0;
    std::string text;     // writes: what was written, head and tail kept
    std::string last_path;  // opens: the last path probed
  };
  bool extends(const model::Event& e) const;
  void flush();
  void print(const model::Event& e, const std::string& what);

  std::ostream& out_;
  RunInfo info_;
  std::optional<Run> run_;
};

class JsonSink final : public Sink {
 public:
  explicit JsonSink(std::ostream& out) : out_(out) {}
  void begin(const RunInfo& info) override;
  void event(const model::Event& e) override;
  void end(const Summary& s) override;

 private:
  std::ostream& out_;
  RunInfo info_;
};

// "+1.234s" since the start of tracing.
std::string relative_time(std::uint64_t ts_ns, std::uint64_t start_ns);

}  // namespace pm::report
