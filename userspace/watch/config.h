// What `pmtrace watch` watches and where it writes: from a TOML file
// (default /etc/pmtrace/watch.toml, optional) and the command line, which
// wins. docs/watch.md documents every key.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/result.h"

namespace pm::watch {

struct Config {
  std::vector<std::string> units;   // systemd units by name
  std::vector<std::string> names;   // process names; default {"gunicorn"}
  std::string incidents = "/var/log/pmtrace/incidents.jsonl";
  std::string metrics;              // Prometheus textfile; empty: none
  std::string record_dir;           // a recording of each incident's window; empty: none
  std::string window = "4M";        // flight recorder per service, in bytes
  unsigned restart_limit = 3;       // more starts than this ...
  std::string restart_window = "60s";  // ... within this is a restart loop
  std::string metrics_interval = "15s";
  std::string settle = "1s";        // a trigger is explained this long after
};

// Reads `path` into `cfg` (keys it sets override cfg's). A missing file is
// fine when `optional`; a bad key or value is an error naming the line.
Result<void> load_config(const std::string& path, Config& cfg, bool optional);
Result<void> parse_config(const std::string& text, const std::string& source, Config& cfg);

}  // namespace pm::watch
