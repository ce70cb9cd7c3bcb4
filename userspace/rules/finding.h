// A finding: what failed, the evidence (events, with times), why, and the fix.
// Rules produce them from aggregator state; report/ renders them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/aggregator.h"
#include "model/event.h"

namespace pm::rules {

enum class Severity { failure, warning };

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
};

using RuleFn = std::vector<Finding> (*)(const analysis::Aggregator&);

struct RuleInfo {
  const char* id;
  RuleFn fn;
};

// Every rule, in the order docs/rules.md lists them.
const std::vector<RuleInfo>& all_rules();

// Runs every rule; findings ordered root cause first (rank, then time).
std::vector<Finding> run_rules(const analysis::Aggregator& agg);

// The rules, one file each.
std::vector<Finding> permission_denied(const analysis::Aggregator& agg);
std::vector<Finding> address_in_use(const analysis::Aggregator& agg);
std::vector<Finding> gunicorn_boot_failure(const analysis::Aggregator& agg);
std::vector<Finding> missing_python_module(const analysis::Aggregator& agg);

// Helpers shared by rules.
std::string describe_process(const analysis::Process& p);  // "gunicorn master (pid 12, uid 33)"
double seconds_since_start(const analysis::Aggregator& agg, std::uint64_t ts_ns);

}  // namespace pm::rules
