// What a unit's settings say about its start, read once (the unit file and
// its drop-ins, or systemd's view of them) and handed to the rules as a fact:
// how the start completes (Type=), how long systemd waits (TimeoutStartSec=),
// who may send READY=1 (NotifyAccess=), what ExecStart= runs, Restart=.
#pragma once

#include <climits>
#include <string>
#include <vector>

namespace pm::analysis {

struct UnitContext {
  std::string name;                 // "projectmeats.service"
  bool loaded = false;              // its settings were read (else only the name is known)
  std::string type = "simple";      // Type=
  long long timeout_start_ms = 90000;  // TimeoutStartSec= (or the manager's default); LLONG_MAX: none
  std::string notify_access;        // NotifyAccess= as it applies ("main" for Type=notify when unset)
  std::string restart = "no";       // Restart=
  std::vector<std::string> exec_start;  // the ExecStart= command line, words

  // Whether systemd waits for the service to say it is ready (or to fork)
  // before the start job completes, so that TimeoutStartSec= applies to it.
  bool start_waits() const {
    return type == "notify" || type == "notify-reload" || type == "forking" || type == "dbus" || type == "oneshot";
  }
  bool has_start_timeout() const { return timeout_start_ms > 0 && timeout_start_ms != LLONG_MAX; }
};

// The unit a cgroup path belongs to: the last "NAME.service" (or ".scope")
// component, wherever it sits ("/system.slice/x.service",
// "/machine.slice/c.scope/system.slice/x.service/init"); "" when none.
std::string unit_of_cgroup_path(const std::string& path);

}  // namespace pm::analysis
