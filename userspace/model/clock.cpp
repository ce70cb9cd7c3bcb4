#include "model/clock.h"

#include <time.h>

#include <cstdio>

namespace pm::model {
namespace {
std::uint64_t read_ns(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}
}  // namespace

std::uint64_t Clock::monotonic_ns() { return read_ns(CLOCK_MONOTONIC); }

Clock Clock::now() {
  // Bracket the realtime read between two monotonic reads for a tight offset.
  std::uint64_t m1 = read_ns(CLOCK_MONOTONIC);
  std::uint64_t r = read_ns(CLOCK_REALTIME);
  std::uint64_t m2 = read_ns(CLOCK_MONOTONIC);
  return Clock(static_cast<std::int64_t>(r) - static_cast<std::int64_t>(m1 + (m2 - m1) / 2));
}

std::string Clock::to_iso8601(std::uint64_t mono_ns) const {
  std::uint64_t wall = to_wall_ns(mono_ns);
  time_t secs = static_cast<time_t>(wall / 1000000000ull);
  unsigned ms = static_cast<unsigned>((wall / 1000000ull) % 1000);
  tm t{};
  gmtime_r(&secs, &t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", t.tm_year + 1900, t.tm_mon + 1,
                t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ms);
  return buf;
}

}  // namespace pm::model
