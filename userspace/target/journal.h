// systemd's own words about a unit: the journal entries of the service
// manager about it (UNIT=, "start operation timed out", "Control process
// exited ...") and what its processes logged (_SYSTEMD_UNIT=), read with
// libsystemd's sd-journal where the journal is readable.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/aggregator.h"
#include "util/result.h"

namespace pm::target {

// The journal entries about `unit` written at or after `since_wall_us`
// (CLOCK_REALTIME, µs), oldest first, at most `max` of them (the newest).
// `root`: the journal of another root (a container's /proc/PID/root: its
// /var/log/journal and /run/log/journal); "" this machine's. Each line's time
// is CLOCK_MONOTONIC, taken from the entry's realtime through `wall_minus_mono_ns`
// (the capture's clock offset: a container's journal has its own boot id).
Result<std::vector<analysis::JournalLine>> journal_lines(const std::string& unit, std::uint64_t since_wall_us,
                                                         std::int64_t wall_minus_mono_ns, const std::string& root = "",
                                                         std::size_t max = 200);

}  // namespace pm::target
