// What a unit's settings say about its start, read once (the unit file and
// its drop-ins, or systemd's view of them) and handed to the rules as a fact:
// how the start completes (Type=), how long systemd waits (TimeoutStartSec=),
// who may send READY=1 (NotifyAccess=), what ExecStart= runs, Restart=.
#pragma once

#include <signal.h>

#include <climits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/event.h"

namespace pm::analysis {

struct UnitContext {
  std::string name;                 // "projectmeats.service"
  bool loaded = false;              // its settings were read (else only the name is known)
  std::string type = "simple";      // Type=
  long long timeout_start_ms = 90000;  // TimeoutStartSec= (or the manager's default); LLONG_MAX: none
  std::string notify_access;        // NotifyAccess= as it applies ("main" for Type=notify when unset)
  std::string restart = "no";       // Restart=
  std::vector<std::string> exec_start;  // the ExecStart= command line, words
  bool exec_start_missing = false;      // its program does not exist where the unit runs
  // ExecStartPre= and ExecStartPost= commands in order: each line's words
  // joined by spaces ("-" first when its failure is ignored), and its program.
  std::vector<std::string> exec_start_pre, exec_start_pre_paths;
  std::vector<std::string> exec_start_post, exec_start_post_paths;
  // ExecReload=, ExecStop= and ExecStopPost= the same way: the unit's commands
  // that are no start of it.
  std::vector<std::string> exec_other, exec_other_paths;
  std::string user;                     // User= ("" : root)
  bool user_missing = false;            // no such user where the unit runs
  std::string working_directory;        // WorkingDirectory=
  // LoadCredential=/LoadCredentialEncrypted= as ID:PATH (ID alone: from the
  // credential stores), and the absolute PATHs missing where the unit runs.
  std::vector<std::string> load_credentials, credentials_missing;
  // The restart and start-limit logic (unset: the manager's defaults).
  long long restart_ms = 100;           // RestartSec=
  long long start_limit_interval_ms = 10000;  // StartLimitIntervalSec=
  long long start_limit_burst = 5;      // StartLimitBurst=
  // Sandboxing that changes which paths the service may write.
  std::string protect_system = "no";    // ProtectSystem=
  std::string protect_home = "no";      // ProtectHome=
  bool private_tmp = false;             // PrivateTmp=
  std::vector<std::string> read_write_paths;  // ReadWritePaths= and the *Directory= it creates

  // Whether systemd waits for the service to say it is ready (or to fork)
  // before the start job completes, so that TimeoutStartSec= applies to it.
  bool start_waits() const {
    return type == "notify" || type == "notify-reload" || type == "forking" || type == "dbus" || type == "oneshot";
  }
  bool has_start_timeout() const { return timeout_start_ms > 0 && timeout_start_ms != LLONG_MAX; }
  bool restarts() const { return restart != "no" && !restart.empty(); }
  // Whether Restart= starts the unit again after its main process ended so
  // (systemd.service(5), the table under Restart=). A clean end is exit 0 or
  // a death by SIGHUP, SIGINT, SIGTERM or SIGPIPE, systemd's clean signals.
  bool restarts_after(const model::Exit& end) const {
    int sig = end.signal();
    bool clean = sig ? sig == SIGHUP || sig == SIGINT || sig == SIGTERM || sig == SIGPIPE : end.code() == 0;
    bool signal = sig != 0;
    if (restart == "always") return true;
    if (restart == "on-success") return clean;
    if (restart == "on-failure") return !clean;
    if (restart == "on-abnormal" || restart == "on-abort" || restart == "on-watchdog") return signal && !clean;
    return false;
  }
};

// systemd's *Directory= settings and the tree each makes its directories in
// (systemd.exec(5)), /var/run being /run. One table for the rules, the unit
// context and doctor.
struct ManagedDirectory {
  const char* setting;  // "LogsDirectory"
  const char* top;      // "/var/log"
};
const std::vector<ManagedDirectory>& managed_directories();
// The setting that would make `path` and the path below its top
// ("/var/log/meats/gunicorn": LogsDirectory, "meats/gunicorn"); none for a top
// itself or a path elsewhere.
std::optional<std::pair<const ManagedDirectory*, std::string>> managed_directory_of(const std::string& path);

// What a unit's sandbox does to a path the service writes: the setting that
// makes it read-only (or hides it) for the service ("ProtectSystem=strict",
// "ProtectHome=yes"), "" when the service may write it. ProtectSystem=strict
// leaves only /dev, /proc, /sys (and /tmp, /var/tmp with PrivateTmp=)
// writable, =full protects /usr, /boot, /efi and /etc, =yes /usr, /boot and
// /efi; ProtectHome= hides or protects /home, /root and /run/user; a path
// under ReadWritePaths= or a *Directory= the unit sets is writable
// (systemd.exec(5)). `writable`: those paths ('-'/'+' prefixes allowed).
std::string sandbox_blocks_write(const std::string& protect_system, const std::string& protect_home, bool private_tmp,
                                 const std::vector<std::string>& writable, const std::string& path);

// The unit a cgroup path belongs to: the last "NAME.service" (or ".scope")
// component, wherever it sits ("/system.slice/x.service",
// "/machine.slice/c.scope/system.slice/x.service/init"); "" when none.
std::string unit_of_cgroup_path(const std::string& path);

}  // namespace pm::analysis
