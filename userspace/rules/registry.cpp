#include <algorithm>
#include <cstdio>

#include "rules/finding.h"

namespace pm::rules {

const std::vector<RuleInfo>& all_rules() {
  static const std::vector<RuleInfo> rules = {
      {"permission-denied", permission_denied},
      {"address-in-use", address_in_use},
      {"missing-python-module", missing_python_module},
      {"gunicorn-boot-failure", gunicorn_boot_failure},
  };
  return rules;
}

std::vector<Finding> run_rules(const analysis::Aggregator& agg) {
  std::vector<Finding> out;
  for (const auto& r : all_rules()) {
    auto found = r.fn(agg);
    for (auto& f : found) {
      f.rule = r.id;
      out.push_back(std::move(f));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) {
    if (a.severity != b.severity) return a.severity == Severity::failure;
    if (a.rank != b.rank) return a.rank < b.rank;
    return a.ts_ns < b.ts_ns;
  });
  return out;
}

std::string describe_process(const analysis::Process& p) {
  std::string s = std::string(analysis::role_name(p.role));
  if (p.role == analysis::Role::other) s = p.comm.empty() ? "process" : p.comm;
  s += " (pid " + std::to_string(p.pid);
  if (p.uid_known) s += ", uid " + std::to_string(p.uid) + " gid " + std::to_string(p.gid);
  return s + ")";
}

double seconds_since_start(const analysis::Aggregator& agg, std::uint64_t ts_ns) {
  if (ts_ns < agg.start_ns()) return 0;
  return static_cast<double>(ts_ns - agg.start_ns()) / 1e9;
}

}  // namespace pm::rules
