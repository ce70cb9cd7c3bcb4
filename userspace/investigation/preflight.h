// Which `pmtrace doctor` checks find a finding's cause before a start.
#pragma once

#include <string>
#include <vector>

#include "rules/finding_types.h"

namespace pm::investigation {

// The doctor checks that would have caught a finding's cause statically.
std::vector<std::string> preflight_checks(const rules::Finding& f);

}  // namespace pm::investigation
