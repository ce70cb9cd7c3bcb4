// How a traced process ended, as data for the summary.
#pragma once

#include <cstdint>
#include <string>

#include "model/event.h"

namespace pm::analysis {

struct ProcessEnd {
  std::uint32_t pid = 0;
  std::string comm;
  model::Exit exit;
  std::uint64_t ts_ns = 0;
};

}  // namespace pm::analysis
