// The loop every tracing command shares: poll the source, feed the process
// table, stop on a signal, a deadline or the command's own end condition, then
// print the report once. Events are rendered as they arrive into a spool file
// (unlinked, in $TMPDIR), so memory stays flat however many there are; the
// spool is copied to stdout at the end.
#pragma once

#include <atomic>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "investigation/investigation.h"
#include "record/recording.h"
#include "report/sink.h"
#include "sources/source.h"
#include "target/procfs.h"

namespace pm::cli {

// Set by SIGINT/SIGTERM; the first one ends the session cleanly.
extern std::atomic<int> g_stop_requests;
void install_stop_handlers();

struct SessionOptions {
  bool json = false;
  bool verbose = false;
  bool full_timeline = false;  // --timeline full (or -v): every event in the text report
  std::string text_report;  // also write the text report here
  std::optional<long long> deadline_ms;  // --timeout / --duration
  std::string deadline_reason = "timeout";
  // Live: facts (environments, memory limits, file owners) are read from this
  // machine. Off when explaining a recording: they come from the recording.
  bool live = true;
  std::unique_ptr<record::Writer> recording;  // --record FILE
};

class Session {
 public:
  Session(sources::Source& src, report::RunInfo info, SessionOptions opts);

  analysis::ProcessTable& table() { return inv_.aggregator().table(); }
  investigation::Investigation& investigation() { return inv_; }

  // Polls until `done` returns a reason, a stop signal arrives or the deadline
  // passes; then drains the source. Returns why it ended.
  std::string run(const std::function<std::optional<std::string>()>& done);

  // Renders everything captured; returns the exit status (0 nothing failed, 1 a failure).
  int finish(const std::string& end_reason);

  // What the unit's settings and files say, read now, for the rules.
  // `cgroup_id`: the unit's cgroup, when it exists already.
  // `root_holder`: a process whose root the unit lives under (a container's
  // init), read there first.
  void add_unit_context(const std::string& unit, std::optional<std::uint64_t> cgroup_id = std::nullopt,
                        std::uint32_t root_holder = 0) {
    if (root_holder) inv_.load_unit_under(unit, {root_holder});
    if (!inv_.aggregator().unit_context(unit) || !inv_.aggregator().unit_context(unit)->loaded) inv_.load_unit(unit);
    if (cgroup_id) inv_.apply_fact(record::unit_cgroup_fact(unit, *cgroup_id));
  }

  // A process already running when tracing began: in the table, and what it
  // was started with read now (its environment's secrets and database).
  void seed(std::uint32_t pid) { inv_.seed(pid); }

  // A fact read of the machine (record/facts.h): applied, and recorded.
  bool apply_fact(const nlohmann::json& fact, std::string* why = nullptr) { return inv_.apply_fact(fact, why); }

  // Forgets live processes that are gone from /proc without an exit event
  // (e.g. the event was lost), so a session never waits for a ghost.
  void prune_gone(const target::Procfs& procfs);

 private:
  void on_event(model::Event&& e);

  sources::Source& src_;
  report::RunInfo info_;
  SessionOptions opts_;
  investigation::Investigation inv_;
  std::fstream spool_;
  std::stringstream memory_;  // when no spool file can be made
  std::unique_ptr<report::Sink> sink_;  // renders into spool_
  std::uint64_t events_ = 0;
  std::unique_ptr<report::Sink> live_;  // -v: events as they come, on stderr
  std::ofstream text_file_;
  std::unique_ptr<report::Sink> text_;  // --text-report
  std::uint64_t end_ns_ = 0;
};

}  // namespace pm::cli
