// pmtrace's own metrics in the Prometheus textfile-collector format: a file
// node_exporter reads, rewritten whole and atomically (write, fsync, rename).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "util/result.h"

namespace pm::watch {

struct Metrics {
  std::uint64_t events = 0, lost = 0, enoent_counted = 0, window_dropped = 0;
  std::uint64_t services = 0, untracked_services = 0;
  std::map<std::pair<std::string, std::string>, std::uint64_t> incidents;  // (service, rule)
  std::map<std::string, std::uint64_t> restarts;                           // service
  double cpu_seconds = 0;
  std::uint64_t rss_bytes = 0;

  // The text (labels escaped as the format says).
  std::string render() const;
  // Reads this process's CPU time and RSS.
  void sample_self();
};

Result<void> write_textfile(const std::string& path, const std::string& text);

}  // namespace pm::watch
