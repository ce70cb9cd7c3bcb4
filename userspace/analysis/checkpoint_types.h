// The checkpoints a service reached, as data (inferred by analysis/checkpoints,
// rendered by report/): no logic beyond the two look-ups.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pm::analysis {

struct Checkpoint {
  std::string name;          // "started", "configuration read", ...
  bool reached = false;
  bool failed = false;       // the phase the service failed in
  std::uint64_t ts_ns = 0;   // when it was reached
  std::string evidence;      // how it was seen, or why it counts as failed
};

struct Checkpoints {
  std::vector<Checkpoint> list;  // in the order the service goes through them
  const Checkpoint* last_reached() const;
  const Checkpoint* failed() const;
};

}  // namespace pm::analysis
