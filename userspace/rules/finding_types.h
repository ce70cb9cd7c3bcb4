// A finding as data: what failed, the evidence, why and the fix. Rules make
// them (rules/finding.h); the investigation links them into one story; report/
// renders them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/event.h"

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

struct Finding {
  std::string rule;          // the rule's id, as in docs/rules.md
  Severity severity = Severity::failure;
  std::string title;         // one line: what happened
  std::vector<model::Event> evidence;  // the events that show it, in time order
  std::vector<std::string> facts;      // state read at report time (owners, modes)
  std::string explanation;   // why, in plain words
  std::string fix;           // the concrete change to make
  int rank = 50;             // root causes first: lower ranks are reported first
  std::uint64_t ts_ns = 0;   // when it happened
  std::vector<std::uint64_t> repeats;  // when the same finding happened again (merged into this one)
  // One story: set by the investigation once every rule has run. `id` is
  // "F1", "F2"... in report order; `caused_by` names the findings this one
  // follows from, `causes` the ones it led to.
  std::string id;
  std::vector<std::string> caused_by, causes;
};

}  // namespace pm::rules
