// Output is an interface over the neutral model: the same run rendered as text
// for people or as JSON lines for machines. Stdout carries only this.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "investigation/summary.h"
#include "model/event.h"

namespace pm::report {

// What is rendered: the investigation's conclusion (investigation/summary.h).
using RunInfo = investigation::RunInfo;
using Summary = investigation::Summary;
using investigation::preflight_command;

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
//
// By default the timeline is the summary's short one (the service's own
// significant events), printed at the end; with `full` every event passed to
// event() is printed as it comes (-v, --timeline full).
class TextSink final : public Sink {
 public:
  explicit TextSink(std::ostream& out, bool full = true) : out_(out), full_(full) {}
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
  void add(const model::Event& e);

  std::ostream& out_;
  bool full_ = true;
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
