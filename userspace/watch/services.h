// Which watched service each event belongs to, and when a service needs
// explaining. Pure logic over model events (no I/O), so it is tested on
// synthetic sequences; `pmtrace watch` feeds it the kernel's events.
//
// A service is a systemd unit (its processes are those in the unit's
// cgroup, a cgroup re-created at a restart included) or a process name (a
// process of that name whose parent is not one: a gunicorn master; its
// descendants belong to it). A name service is keyed by the command line of
// its root process, so a restarted master with the same command is the same
// service.
//
// Triggers: the root process of a service exits non-zero, is killed by a
// signal, or exits after a terminating signal from outside the service; a
// process of it is the OOM killer's victim; a gunicorn master aborts a
// worker (its timeout); the service starts more than N times in M seconds.
// A trigger is due a settle time later, so the cascade it starts is in the
// window when the rules run.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "model/event.h"
#include "watch/window.h"

namespace pm::watch {

struct Limits {
  std::size_t window_bytes = 4u << 20;         // per service
  std::size_t max_services = 64;
  unsigned restart_limit = 3;                  // more starts than this ...
  std::uint64_t restart_window_ns = 60000000000ull;  // ... within this is a loop
  std::uint64_t settle_ns = 1000000000ull;     // a trigger is explained this long after
};

struct Trigger {
  std::string kind;   // "exit", "signal", "oom", "worker-timeout", "restart-loop"
  std::string what;   // "exited with code 3", "killed by SIGKILL", ...
  std::uint64_t ts_ns = 0;
};

struct Service {
  std::string key;     // "unit meats.service", or the root's command line
  std::string unit;    // for a unit service
  Window window;
  std::deque<std::uint64_t> starts;  // times the root process started, in the restart window
  std::uint64_t starts_total = 0;
  // Triggers waiting for their settle time, oldest first (a second trigger
  // within the settle time of the first, before the service started again,
  // is the same failure's cascade, and is merged into it).
  std::deque<Trigger> pending;
  bool run_triggered = false;  // the current run already has a trigger
  std::uint64_t last_trigger_ns = 0;
  explicit Service(std::size_t bytes) : window(bytes) {}
  // Starts within the restart window, as of now_ns.
  unsigned recent_starts(std::uint64_t now_ns, std::uint64_t window_ns) const;
};

class ServiceTracker {
 public:
  explicit ServiceTracker(Limits limits) : limits_(limits) {}

  void watch_name(const std::string& comm) { names_.push_back(comm); }
  // A unit and the cgroup path it lives at (relative to the cgroup2 root).
  void watch_unit(const std::string& unit, const std::string& cgroup_rel, std::optional<std::uint64_t> id);
  // A process that was running before the watch began.
  void seed(std::uint32_t pid, std::uint32_t ppid, std::uint64_t cgroup_id, const std::vector<std::string>& argv,
            const std::string& comm);

  // Routes an event into its service's window; returns the service, if any.
  // A new service is reported once through new_services().
  Service* on_event(const model::Event& e);

  // Triggers due at now_ns, with their services; each is handed out once.
  std::vector<std::pair<Service*, Trigger>> due(std::uint64_t now_ns);

  std::vector<std::string> take_new_services();
  const std::map<std::string, std::unique_ptr<Service>>& services() const { return services_; }
  std::uint64_t untracked_services() const { return untracked_services_; }
  std::uint64_t dropped() const;  // events the windows had to drop

 private:
  struct Proc {
    std::string service;
    std::uint32_t ppid = 0;
    bool root = false;  // the service's main process (its parent is not in it)
    bool counted = false;  // its start is counted
    std::optional<std::pair<int, std::uint32_t>> term_signal;  // (signal, sender) from outside
    std::uint64_t term_ns = 0;
  };
  Service* service_for(const std::string& key, const std::string& unit);
  std::string unit_of_cgroup(std::uint64_t id) const;
  bool name_matches(const std::string& comm, const std::vector<std::string>& argv) const;
  void trigger(Service& s, const std::string& kind, const std::string& what, std::uint64_t ts);
  void started(Service& s, std::uint64_t ts, std::uint32_t pid);
  bool other_root_alive(const std::string& service, std::uint32_t pid) const;

  Limits limits_;
  std::vector<std::string> names_;
  std::map<std::string, std::string> unit_paths_;    // cgroup path -> unit
  std::map<std::uint64_t, std::string> unit_ids_;    // cgroup id -> unit
  std::map<std::string, std::unique_ptr<Service>> services_;
  std::map<std::uint32_t, Proc> procs_;
  std::vector<std::string> new_services_;
  std::uint64_t untracked_services_ = 0;
  std::set<std::string> refused_;  // services not tracked (the limit), each counted once
  void remember_exit(std::uint32_t pid);
  std::deque<std::uint32_t> exited_;  // recently exited pids, oldest first (bounded)
  std::set<std::uint32_t> exited_set_;
};

}  // namespace pm::watch
