// A finding as data: what failed, the evidence, why and the fix. Rules make
// them (rules/finding.h); the investigation links them into one story; report/
// renders them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/event.h"
#include "rules/check_id.h"

namespace pm::rules {

// failure: what broke the service; warning: worth fixing; info: what happened,
// not a fault (an operator's stop).
enum class Severity { failure, warning, info };
inline const char* severity_name(Severity s) {  // "failure", "warning", "info"
  switch (s) {
    case Severity::failure: return "failure";
    case Severity::warning: return "warning";
    default: return "info";
  }
}

// The order findings are reported in, root causes first (lower first): a
// finding's rank says how early in a start its kind of failure strikes and
// how often it is the cause of the others.
namespace rank {
inline constexpr int unit_setting = 8;   // a setting or file systemd reads before it runs anything
inline constexpr int before_exec = 9;    // systemd failed the child before its program ran (200-245)
inline constexpr int exec = 10;          // the program, or a file it needs, could not be run or opened
inline constexpr int kernel_kill = 12;   // the kernel killed it (OOM, a fatal signal of its own)
inline constexpr int port = 15;          // the address to listen on was taken
inline constexpr int dependency = 20;    // a module or a database the app needs
inline constexpr int worker = 25;        // a worker's request outlived gunicorn's timeout
inline constexpr int boot = 30;          // gunicorn's boot, systemd's start timeout
inline constexpr int consequence = 40;   // a stop or a restart that follows from a cause
inline constexpr int unranked = 50;
inline constexpr int incidental = 60;    // worth fixing, seldom the cause
}  // namespace rank

struct Finding {
  std::string rule;          // the rule's id, as in docs/rules.md
  Severity severity = Severity::failure;
  std::string title;         // one line: what happened
  std::vector<model::Event> evidence;  // the events that show it, in time order
  std::vector<std::string> facts;      // state read at report time (owners, modes)
  std::string explanation;   // why, in plain words
  std::string fix;           // the concrete change to make
  int rank = rank::unranked; // root causes first: lower ranks are reported first (rank::)
  std::uint64_t ts_ns = 0;   // when it happened
  std::vector<std::uint64_t> repeats;  // when the same finding happened again (merged into this one)
  // The doctor checks that would have found its cause before a start: the
  // rule's (RuleInfo::preflight) unless the rule chose for this finding.
  std::vector<CheckId> preflight;
  // One story: set by the investigation once every rule has run. `id` is
  // "F1", "F2"... in report order; `caused_by` names the findings this one
  // follows from, `causes` the ones it led to.
  std::string id;
  std::vector<std::string> caused_by, causes;
};

}  // namespace pm::rules
