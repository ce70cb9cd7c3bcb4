// Rule: systemd failed the service before its program ran. The service
// manager forks a child for each command of a unit ("(gunicorn)" in ps), which
// sets up what the unit asks for (user, directory, sandbox, credentials,
// environment files) and only then calls execve(). When a step fails the child
// exits with one of systemd's own statuses (src/basic/exit-status.h: 200/CHDIR
// ... 245/BPF) and no exec is ever seen: `systemctl status` says "status=217/
// USER". The kernel shows the child, its failed calls, and that status; the
// unit's settings (read where the unit runs) name the one to change.
// A failed chdir or execve is exec-failure's; this rule takes the rest.
#include <map>

#include "rules/finding.h"
#include "util/strings.h"

namespace pm::rules {
namespace {

struct Status {
  const char* name;  // "USER"
  const char* what;  // what failed
  const char* fix;   // what to change
};

// systemd's exit statuses for a failed service setup (systemd.exec(5),
// "Process Exit Codes").
const std::map<int, Status>& statuses() {
  static const std::map<int, Status> table = {
      {200, {"CHDIR", "changing to WorkingDirectory= failed", "create the directory or correct WorkingDirectory="}},
      {201, {"NICE", "setting Nice= failed", "correct Nice="}},
      {202, {"FDS", "closing or passing file descriptors failed", "check the unit's sockets and FileDescriptorStoreMax="}},
      {203, {"EXEC", "the program of ExecStart= could not be run", "correct ExecStart= (an absolute path to a program that exists and is executable)"}},
      {204, {"MEMORY", "memory ran out while setting up the process", "free memory or raise MemoryMax="}},
      {205, {"LIMITS", "setting a resource limit (Limit*=) failed", "correct the Limit*= settings (a hard limit above the manager's)"}},
      {206, {"OOM_ADJUST", "setting OOMScoreAdjust= failed", "correct OOMScoreAdjust="}},
      {207, {"SIGNAL_MASK", "setting the signal mask failed", "report it: systemd could not reset signals"}},
      {208, {"STDIN", "setting up standard input failed", "correct StandardInput= (a TTY or file that exists)"}},
      {209, {"STDOUT", "setting up standard output failed", "correct StandardOutput= (a file:/append: path whose directory exists and is writable)"}},
      {210, {"CHROOT", "changing to RootDirectory=/RootImage= failed", "correct RootDirectory= or RootImage="}},
      {211, {"IOPRIO", "setting IOSchedulingClass=/IOSchedulingPriority= failed", "correct the IOScheduling*= settings"}},
      {212, {"TIMERSLACK", "setting TimerSlackNSec= failed", "correct TimerSlackNSec="}},
      {213, {"SECUREBITS", "setting SecureBits= failed", "correct SecureBits="}},
      {214, {"SETSCHEDULER", "setting CPUSchedulingPolicy= failed", "correct the CPUScheduling*= settings"}},
      {215, {"CPUAFFINITY", "setting CPUAffinity= failed", "correct CPUAffinity= (CPUs that exist)"}},
      {216, {"GROUP", "the Group= or SupplementaryGroups= of the unit could not be resolved or set", "create the group (groupadd) or correct Group=/SupplementaryGroups="}},
      {217, {"USER", "the User= of the unit could not be resolved or set", "create the user (useradd --system) or correct User="}},
      {218, {"CAPABILITIES", "dropping or setting capabilities failed", "correct CapabilityBoundingSet=/AmbientCapabilities="}},
      {219, {"CGROUP", "setting up the unit's cgroup failed", "check the cgroup settings (Delegate=, a controller the kernel lacks)"}},
      {220, {"SETSID", "creating a session failed", "report it: setsid() failed"}},
      {221, {"CONFIRM", "the start was refused at the confirmation prompt", "answer the prompt or boot without systemd.confirm_spawn"}},
      {222, {"STDERR", "setting up standard error failed", "correct StandardError= (a file:/append: path whose directory exists and is writable)"}},
      {224, {"PAM", "the PAM session (PAMName=) failed", "check the PAM configuration of PAMName="}},
      {225, {"NETWORK", "setting up PrivateNetwork= failed", "correct PrivateNetwork=/NetworkNamespacePath="}},
      {226, {"NAMESPACE", "setting up the unit's mount namespace failed: a path named in ReadWritePaths=, ReadOnlyPaths=, InaccessiblePaths=, BindPaths= or TemporaryFileSystem= does not exist, or the sandbox (ProtectSystem=, PrivateTmp=, ...) could not be mounted", "create the paths the sandbox names, or prefix each optional one with '-' (ReadWritePaths=-/srv/app/media)"}},
      {227, {"NO_NEW_PRIVILEGES", "setting NoNewPrivileges= failed", "correct NoNewPrivileges="}},
      {228, {"SECCOMP", "installing SystemCallFilter= failed", "correct SystemCallFilter="}},
      {229, {"SELINUX_CONTEXT", "setting SELinuxContext= failed", "correct SELinuxContext="}},
      {230, {"PERSONALITY", "setting Personality= failed", "correct Personality="}},
      {231, {"APPARMOR_PROFILE", "switching to AppArmorProfile= failed", "load the profile or correct AppArmorProfile="}},
      {232, {"ADDRESS_FAMILIES", "setting RestrictAddressFamilies= failed", "correct RestrictAddressFamilies="}},
      {233, {"RUNTIME_DIRECTORY", "creating RuntimeDirectory= failed", "correct RuntimeDirectory= (a free name under /run)"}},
      {235, {"CHOWN", "changing the owner of the socket or TTY failed", "correct SocketUser=/SocketGroup="}},
      {236, {"SMACK_PROCESS_LABEL", "setting SmackProcessLabel= failed", "correct SmackProcessLabel="}},
      {237, {"KEYRING", "setting up the kernel keyring failed", "set KeyringMode=inherit"}},
      {238, {"STATE_DIRECTORY", "creating StateDirectory= failed", "correct StateDirectory= (or the owner of what is already under /var/lib)"}},
      {239, {"CACHE_DIRECTORY", "creating CacheDirectory= failed", "correct CacheDirectory="}},
      {240, {"LOGS_DIRECTORY", "creating LogsDirectory= failed", "correct LogsDirectory= (or the owner of what is already under /var/log)"}},
      {241, {"CONFIGURATION_DIRECTORY", "creating ConfigurationDirectory= failed", "correct ConfigurationDirectory="}},
      {242, {"NUMA", "setting NUMAPolicy= failed", "correct NUMAPolicy=/NUMAMask="}},
      {243, {"CREDENTIALS", "loading the unit's credentials (LoadCredential=, SetCredential=) failed: a source file is missing or unreadable", "create the credential's source file or correct LoadCredential="}},
      {245, {"BPF", "loading a BPF program the unit asks for (IPAddressDeny=, RestrictFileSystems=, ...) failed", "remove the setting or use a kernel that supports it"}},
  };
  return table;
}

bool explained_elsewhere(const analysis::Aggregator& agg, std::uint32_t pid) {
  for (const auto& e : agg.chdir_failures())
    if (e.hdr.pid == pid) return true;
  for (const auto& e : agg.exec_failures())
    if (e.hdr.pid == pid) return true;
  return false;
}

}  // namespace

const char* systemd_exit_status_name(int code) {
  auto it = statuses().find(code);
  return it == statuses().end() ? nullptr : it->second.name;
}

std::vector<Finding> pre_exec_status(const analysis::Aggregator& agg) {
  std::vector<Finding> out;
  for (const auto& [pid, p] : agg.processes()) {
    if (p.exec_ns || !p.exit || p.exit->signal() || !agg.in_traced_unit(p)) continue;
    auto it = statuses().find(p.exit->code());
    if (it == statuses().end() || explained_elsewhere(agg, pid)) continue;
    const Status& st = it->second;
    const analysis::UnitContext* u = agg.unit_context(p.unit);
    Finding f;
    f.ts_ns = p.exit_ns;
    std::string status = std::to_string(p.exit->code()) + "/" + st.name;
    f.title = "systemd could not start " + p.unit + ": its child for the command exited " + status +
              " before the program ran";
    for (const auto& e : agg.denied_opens())
      if (e.hdr.pid == pid) f.evidence.push_back(e);
    f.evidence.push_back(exit_event(p));
    sort_by_time(f.evidence);
    f.facts.push_back("exit status " + status + " means " + st.what + " (systemctl status shows \"status=" + status + "\")");
    f.facts.push_back(p.comm + " (pid " + std::to_string(pid) + ") never called execve(): systemd's child for the "
                      "command, which sets up the unit's environment first");
    std::string fix = st.fix;
    if (u && u->loaded) {
      if (p.exit->code() == 217 && !u->user.empty()) {
        f.facts.push_back("User=" + u->user + (u->user_missing ? ": no such user in the /etc/passwd where the unit runs"
                                                                : ": it exists where the unit runs"));
        if (u->user_missing)
          fix = "create the user: useradd --system --no-create-home --shell /usr/sbin/nologin " + u->user +
                " (or set User= to the account the service runs as)";
      }
      if (p.exit->code() == 203 && !u->exec_start.empty()) {
        f.facts.push_back("ExecStart=" + join(u->exec_start, " ") +
                          (u->exec_start_missing ? ": " + u->exec_start[0] + " does not exist where the unit runs" : ""));
        if (u->exec_start_missing)
          fix = "correct ExecStart= to the program's real path (a virtualenv's: /srv/app/venv/bin/gunicorn), or "
                "install it at " + u->exec_start[0];
      }
      if (p.exit->code() == 243 && !u->load_credentials.empty()) {
        f.facts.push_back("LoadCredential=" + join(u->load_credentials, " "));
        if (!u->credentials_missing.empty()) {
          f.facts.push_back("missing where the unit runs: " + join(u->credentials_missing, " "));
          fix = "create " + join(u->credentials_missing, ", ") + " (the credential's source, readable by root only: "
                "install -m 0400 /dev/null " + u->credentials_missing.front() + ", then write the secret into it), "
                "or correct LoadCredential=";
        }
      }
      if (p.exit->code() == 200 && !u->working_directory.empty())
        f.facts.push_back("WorkingDirectory=" + u->working_directory);
      if (p.exit->code() == 226 && !u->read_write_paths.empty()) {
        f.facts.push_back("ReadWritePaths= and *Directory=: " + join(u->read_write_paths, " "));
        // A path the sandbox must bind that is not there (a '-' one may be
        // missing; systemd makes the *Directory= ones itself).
        std::vector<std::string> missing;
        for (const auto& w : u->read_write_paths)
          if (!starts_with(w, "-") && !analysis::managed_directory_of(w) && !agg.path_facts(w)) missing.push_back(w);
        if (!missing.empty()) {
          f.facts.push_back("missing where the unit runs: " + join(missing, " "));
          fix = "create " + join(missing, ", ") + " (install -d " + join(missing, " ") +
                "), or mark it optional in the unit: ReadWritePaths=-" + missing.front();
        }
      }
    }
    f.explanation = "systemd runs every command of a unit in a child it forks and sets up as the unit says (user, "
                    "groups, working directory, sandbox, credentials) before execve(); when a step fails the child "
                    "exits with systemd's own status instead, so the program never ran and wrote nothing: only "
                    "`systemctl status` (\"status=" + status + "\") and the journal say why.";
    f.fix = fix + " (then systemctl daemon-reload && systemctl restart " + p.unit + ")";
    out.push_back(std::move(f));
  }
  return out;
}

PM_RULE(pre_exec_status, "pre-exec-status", Severity::failure, rank::before_exec, {})

}  // namespace pm::rules
