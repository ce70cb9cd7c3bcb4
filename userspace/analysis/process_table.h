// The traced processes: which are alive, how each ended. The base of the
// aggregator; `run` and `attach` use it to know when the service is gone and
// whether anything failed.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "analysis/process_end.h"
#include "model/event.h"

namespace pm::analysis {

class ProcessTable {
 public:
  // A process in scope before tracing began (seeded from /proc).
  void seed(std::uint32_t pid, std::string comm = {});
  void on_event(const model::Event& e);
  // A process known to have gone without an exit event (e.g. lost).
  void forget(std::uint32_t pid);

  bool live(std::uint32_t pid) const { return live_.count(pid) != 0; }
  std::size_t live_count() const { return live_.size(); }
  std::vector<std::uint32_t> live_pids() const;
  std::size_t seen_count() const { return seen_.size(); }
  const std::vector<ProcessEnd>& failures() const { return failures_; }
  bool listening() const { return listening_; }
  std::uint64_t last_event_ns() const { return last_event_ns_; }

 private:
  std::map<std::uint32_t, std::string> live_;  // pid -> comm
  std::set<std::uint32_t> seen_;
  std::set<std::uint32_t> exited_;
  std::vector<ProcessEnd> failures_;
  bool listening_ = false;
  std::uint64_t last_event_ns_ = 0;
};

}  // namespace pm::analysis
