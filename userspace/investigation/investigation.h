// One investigation: the pipeline every command shares between the events
// and the report. It owns the aggregator and the facts, loads the unit's
// context once, takes events from any source (the kernel, ptrace, a
// recording, a watch window) and concludes: the verdict, the checkpoints,
// the findings as one story, the service's failures, the exit status and
// the short timeline. `run`, `attach`, `explain` and `watch` (per incident)
// all use it, so the same events give the same answer in every mode.
// docs/investigation.md describes it.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analysis/aggregator.h"
#include "investigation/summary.h"
#include "record/facts.h"

namespace pm::investigation {

class Investigation {
 public:
  using RecordFn = record::FactStore::RecordFn;

  // live: facts are read from this machine (and passed to `record`); else
  // they come only from apply_fact (a recording). `read_starts`: what each
  // process was started with is read at its exec (off where the caller read
  // it already, as watch does; never when not live).
  Investigation(bool live, RecordFn record = nullptr, bool read_starts = true);
  Investigation(const Investigation&) = delete;
  Investigation& operator=(const Investigation&) = delete;

  analysis::Aggregator& aggregator() { return agg_; }
  const analysis::Aggregator& aggregator() const { return agg_; }

  // A fact (record/facts.h): applied, and recorded.
  bool apply_fact(const nlohmann::json& fact, std::string* why = nullptr);
  // The unit traced: its settings (Type=, TimeoutStartSec=, ...) and its
  // EnvironmentFile= read now as systemd reads them (live only; the name
  // alone otherwise).
  void load_unit(const std::string& unit);
  // The unit as seen under the root of the first live process of
  // `candidates` (a container's init when the unit has no process yet):
  // its settings, files, owners and journal read there. Nothing when that
  // root is pmtrace's own.
  void load_unit_under(const std::string& unit, const std::vector<std::uint32_t>& candidates);
  // The process `pmtrace run` started.
  void set_wrapped(std::uint32_t pid);
  // A process in scope before tracing began: in the table, and what it was
  // started with read now.
  void seed(std::uint32_t pid);

  void on_event(const model::Event& e);

  // The conclusion as of end_ns. The caller fills in what only it knows
  // (events, losses, notes, end reason) before and after.
  Summary summarize(std::uint64_t end_ns);

 private:
  void read_process_start(std::uint32_t pid);
  // A traced unit first seen running under another root (a container's
  // systemd): its unit file is read there.
  void load_unit_from_process_root(std::uint32_t pid);
  // The traced units' journal entries since the capture began, up to now
  // (live, once): facts. What could not be read is a note.
  void read_journal(std::uint64_t end_ns, std::vector<std::string>& notes);

  bool live_;
  bool read_starts_;
  RecordFn record_;
  analysis::Aggregator agg_;
  record::FactStore facts_;
  std::vector<model::Event> timeline_;  // the significant events, bounded
  std::uint64_t folded_ = 0, dropped_ = 0;
  std::string unit_root_;  // the root the unit runs under, when not pmtrace's (a container's)
  bool journal_read_ = false;
};

// Joins systemd's journal lines about a finding's unit to the finding, as
// facts: the lines of the service manager a rule's failure makes it write
// ("Control process exited", "start operation timed out"), around the
// finding's time.
void join_journal(const analysis::Aggregator& agg, std::vector<rules::Finding>& findings);

// What a live process was started with, read once at its exec (or when it
// is adopted): its environment's secrets are learned (so its output is
// redacted from then on), and the facts the rules need are returned (the
// database DATABASE_URL names, the memory limit of its cgroup, its cgroup
// path and whether NOTIFY_SOCKET reached it).
std::vector<nlohmann::json> process_start_facts(std::uint32_t pid);

// The facts of a unit as systemd has it: its context and its environment
// files. `root`: read through another root (a container's /proc/PID/root).
std::vector<nlohmann::json> unit_facts(const std::string& unit, const std::string& root = "");

// Whether an event can be in the short timeline at all (not locale or import
// probing, SIGCHLD, routine forks and successful connects).
bool significant(const model::Event& e);

// Links findings into one story: ids in report order, caused_by/causes, and
// each consequence after its causes.
void link_findings(std::vector<rules::Finding>& findings);

}  // namespace pm::investigation
