#include "investigation/preflight.h"

namespace pm::investigation {

std::vector<std::string> preflight_checks(const rules::Finding& f) {
  // What doctor reads without a start (docs/doctor.md) against what each rule
  // sees happen (docs/rules.md): each rule declares it (PM_RULE), or a rule
  // chose for one finding.
  std::vector<std::string> out;
  for (auto id : f.preflight) out.push_back(rules::check_name(id));
  return out;
}

}  // namespace pm::investigation
