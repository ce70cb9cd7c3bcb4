// What the user asked about: which traced processes are the service and
// which are helpers around it. The service is the unit's processes (by
// cgroup), the gunicorn master and its workers, processes that listen, and
// everything they start; the main process is the first of them the service
// manager started. Helpers are the rest: the command `pmtrace run` wrapped
// (when it is not the service itself), scripts, curl, systemctl. When no
// process can be told to be the service, every traced process is.
// Verdicts, FAILED lines and the exit status follow the service; helpers are
// context. docs/investigation.md describes it.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "analysis/aggregator.h"

namespace pm::analysis {

struct ServiceScope {
  std::set<std::uint32_t> service;
  std::set<std::uint32_t> helpers;
  std::uint32_t main_pid = 0;     // the service's first root process; 0 when none
  std::uint32_t manager_pid = 0;  // who started it, when it lives outside the service (PID 1, a manager)
  std::string basis;              // how the service was told apart: "unit x.service", "gunicorn", ...
  bool identified() const { return basis != "every traced process" && !service.empty(); }
  bool is_service(std::uint32_t pid) const { return service.count(pid) != 0; }
};

ServiceScope service_scope(const Aggregator& agg);

// When the service was first up: serving (a worker accepted a connection) or,
// failing that, listening with a booted worker or listening at all. 0: never.
std::uint64_t serving_since(const Aggregator& agg, const ServiceScope& scope);
std::uint64_t up_since(const Aggregator& agg, const ServiceScope& scope);

}  // namespace pm::analysis
