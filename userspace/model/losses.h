// What a source could not deliver: every loss is counted, never silent.
#pragma once

#include <array>
#include <cstdint>

#include "model/event.h"

namespace pm::model {

struct Losses {
  // Every event type the kernel counts, milestone (16) included: a hand-kept
  // 16 here once left the milestone's losses unreported.
  static constexpr std::size_t kTypes = kEventTypeEnd;
  std::array<std::uint64_t, kTypes> ring_full{};  // by event type: ring buffer had no room
  std::uint64_t track_full = 0;  // a new process could not be tracked (map full)
  std::uint64_t malformed = 0;   // records that failed to decode
  std::uint64_t unknown = 0;     // records of a type this version does not know

  std::uint64_t ring_total() const {
    std::uint64_t n = 0;
    for (auto v : ring_full) n += v;
    return n;
  }
  std::uint64_t total() const { return ring_total() + track_full + malformed + unknown; }
};

}  // namespace pm::model
