// One-line descriptions of events for people, redacted.
#pragma once

#include <string>

#include "model/event.h"

namespace pm::report {

std::string describe(const model::Event& e);

// "1.234s", "850ms", "12us"
std::string format_duration(std::uint64_t ns);

}  // namespace pm::report
