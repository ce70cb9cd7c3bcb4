// CLOCK_MONOTONIC (kernel timestamps) to wall-clock time, converted once.
#pragma once

#include <cstdint>
#include <string>

namespace pm::model {

class Clock {
 public:
  // Samples the offset between CLOCK_REALTIME and CLOCK_MONOTONIC now.
  static Clock now();
  static std::uint64_t monotonic_ns();

  Clock() = default;
  explicit Clock(std::int64_t realtime_minus_monotonic_ns) : offset_ns_(realtime_minus_monotonic_ns) {}

  std::int64_t offset_ns() const { return offset_ns_; }
  std::uint64_t to_wall_ns(std::uint64_t mono_ns) const { return mono_ns + offset_ns_; }
  // ISO 8601 UTC with milliseconds: "2026-11-23T07:40:23.123Z".
  std::string to_iso8601(std::uint64_t mono_ns) const;

 private:
  std::int64_t offset_ns_ = 0;
};

}  // namespace pm::model
