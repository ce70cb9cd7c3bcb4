// The aggregator: what the event stream says about the service. Processes with
// their roles (gunicorn master, workers), command lines, users, how each ended;
// the failures worth explaining (denied opens, signals, refused binds, failed
// connects and execs, OOM kills); what each process last wrote to stderr.
// Rules read this; they never see a source.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "analysis/process_table.h"
#include "analysis/unit_context.h"
#include "model/event.h"

namespace pm::analysis {

enum class Role { other, gunicorn_master, gunicorn_worker, supervisor, service_manager };
const char* role_name(Role r);

// What a process was in when a signal reached it.
struct Blocked {
  std::uint64_t ts_ns = 0;        // when the signal arrived
  int sig = 0;
  std::string syscall;            // "connect", "poll", ""
  int fd = -1;
  std::optional<model::SockAddr> peer;  // what that descriptor was connected to
  std::uint64_t for_ns = 0;       // how long it had been in the call, when known
};

struct Process {
  std::uint32_t pid = 0, ppid = 0;
  std::string comm;
  std::string exe;                 // last exec'd filename
  std::vector<std::string> argv;   // last exec'd command line
  std::uint32_t uid = 0, gid = 0;
  bool uid_known = false;
  std::uint64_t cgroup_id = 0;
  std::string memory_limit;        // of its cgroup, when read
  std::uint64_t first_ns = 0;      // fork or first event
  std::optional<std::uint64_t> exec_ns;
  std::optional<model::Exit> exit;
  std::uint64_t exit_ns = 0;
  Role role = Role::other;
  std::string output;              // the end of what it wrote to fd 1 and 2
  std::map<int, model::SockAddr> fd_peers;  // the address each descriptor last connected to
  std::vector<Blocked> blocked;    // what it was in when signals arrived
  std::optional<std::uint64_t> heartbeat_ns;  // first gunicorn heartbeat: booted
  std::optional<std::uint64_t> accept_ns;     // first accepted connection: serving
  std::string cgroup_path;         // cgroup v2 path, read at exec (or inherited at fork)
  std::string unit;                // the unit of that cgroup ("x.service"), "" when none
  // Whether NOTIFY_SOCKET was in its environment at exec (unknown: not read).
  std::optional<bool> notify_socket;
  // Already running when tracing began (attach): known from /proc, its
  // start not seen.
  bool running_before = false;
};

// A connect that had not completed: started (EINPROGRESS, or a blocking call
// interrupted) and still in SYN_SENT when the trace or the process ended.
struct PendingConnect {
  model::Event start;             // the connect event
  std::uint64_t until_ns = 0;     // when it stopped being watched: the process's end, or the trace's
  bool process_ended = false;
};

// A unit's EnvironmentFile= as systemd reads it (parsed by target/envfile):
// the names it sets and the lines systemd ignores or reads differently.
struct EnvFileInfo {
  std::string unit;
  std::string path;
  bool optional = false;  // "-" prefix: a missing file is allowed
  bool readable = false;
  std::vector<std::string> keys;  // names systemd will set
  struct Issue {
    int line = 0;
    std::string text, key, problem, corrected;
  };
  std::vector<Issue> issues;
};

// A file's owner and mode, read at report time (file facts are in no syscall).
struct FileFacts {
  std::uint32_t uid = 0, gid = 0;
  std::uint32_t mode = 0;          // st_mode
  std::string owner, group;        // names, when known
  // From lstat: a symlink and where it points (dangling when the target is gone).
  bool symlink = false;
  std::string link_target;
  bool target_exists = true;
  std::string shebang;             // the first line of a script that starts with "#!"
};
using FileLookup = std::function<std::optional<FileFacts>(const std::string& path)>;
// uid -> user name and gid -> group name, read at report time.
using NameLookup = std::function<std::string(std::uint32_t id)>;
// Who listens on a TCP port now (any process, traced or not), read at report
// time: a port another process holds.
struct PortHolder {
  std::uint32_t pid = 0;
  std::string comm;
  std::vector<std::string> argv;
};
using PortLookup = std::function<std::vector<PortHolder>(std::uint16_t port)>;

// A journal entry about a traced unit (a fact read at the end of a live
// capture): the service manager's words about it, or its processes' own.
struct JournalLine {
  std::uint64_t ts_ns = 0;   // CLOCK_MONOTONIC, as the events
  std::string unit;
  bool by_manager = false;   // the service manager's (UNIT=), not the unit's own output
  std::uint32_t pid = 0;     // who wrote it (_PID), 0 when unknown
  std::string message;
};

class Aggregator {
 public:
  static constexpr std::size_t kOutputKeep = 8192;

  void on_event(const model::Event& e);

  const std::map<std::uint32_t, Process>& processes() const { return procs_; }
  const Process* process(std::uint32_t pid) const;
  const ProcessTable& table() const { return table_; }
  ProcessTable& table() { return table_; }

  // When the service started: the first exec seen (or the first event).
  std::uint64_t start_ns() const { return start_ns_; }

  const std::vector<model::Event>& denied_opens() const { return denied_opens_; }
  const std::vector<model::Event>& signals() const { return signals_; }
  const std::vector<model::Event>& failed_binds() const { return failed_binds_; }
  const std::vector<model::Event>& binds() const { return binds_; }
  const std::vector<model::Event>& listens() const { return listens_; }
  const std::vector<model::Event>& connects() const { return connects_; }
  const std::vector<model::Event>& tcp_connects() const { return tcp_connects_; }
  const std::vector<model::Event>& exec_failures() const { return exec_failures_; }
  const std::vector<model::Event>& oom_victims() const { return ooms_; }
  const std::vector<model::Event>& chdir_failures() const { return chdir_failures_; }
  const std::vector<model::Event>& milestones() const { return milestones_; }
  // Connects never answered by the end of the trace (or of their process).
  std::vector<PendingConnect> pending_connects() const;
  // The end of the trace (set when it ends; the last event until then).
  std::uint64_t end_ns() const { return std::max(end_ns_, last_ns_); }
  void set_end_ns(std::uint64_t ns) { end_ns_ = ns; }

  // The gunicorn master that `pid` belongs to (itself, or its parent for a
  // worker), if any.
  const Process* gunicorn_master_of(std::uint32_t pid) const;

  // A database the service is configured to use (from DATABASE_URL in its
  // environment): host (an address or a name) and port, or a socket path.
  void add_database(const model::SockAddr& a, const std::string& what);
  // Whether a connect went to a database: one the service is configured with,
  // a well-known database port, or a PostgreSQL/MySQL unix socket. Sets `what`
  // to "PostgreSQL" etc.
  bool is_database(const model::SockAddr& a, std::string* what = nullptr) const;

  void add_env_file(EnvFileInfo f) { env_files_.push_back(std::move(f)); }
  const std::vector<EnvFileInfo>& env_files() const { return env_files_; }
  // The systemd units traced (attach UNIT, run -- systemctl start UNIT).
  void add_unit(const std::string& name) {
    if (std::find(units_.begin(), units_.end(), name) == units_.end()) units_.push_back(name);
  }
  const std::vector<std::string>& units() const { return units_; }
  // Whether a process lives in one of the traced units (by its cgroup).
  bool in_traced_unit(const Process& p) const {
    return !p.unit.empty() && std::find(units_.begin(), units_.end(), p.unit) != units_.end();
  }
  // What a traced unit's settings say (Type=, TimeoutStartSec=, ...).
  void set_unit_context(UnitContext u);
  const UnitContext* unit_context(const std::string& name) const;
  // A unit's cgroup id, known when tracing began (cgroup_adopt events give
  // the ids of cgroups created later): its processes' events carry it.
  void add_unit_cgroup(std::uint64_t id, const std::string& unit) { unit_cgroups_[id] = unit; }
  void add_journal_line(JournalLine l) { journal_.push_back(std::move(l)); }
  const std::vector<JournalLine>& journal() const { return journal_; }
  // The first traced unit whose settings were read, if any.
  const UnitContext* unit_context() const;
  // Where a process lives, read at its exec (a fact): its cgroup path and
  // whether NOTIFY_SOCKET reached it. Its unit follows from the path.
  void set_process_start(std::uint32_t pid, const std::string& cgroup_path, std::optional<bool> notify_socket);
  // A process already running when tracing began (attach), from /proc: its
  // command line and so its role (a gunicorn master, its workers).
  void adopt_running(std::uint32_t pid, std::uint32_t ppid, const std::string& comm,
                     const std::vector<std::string>& argv);
  // The service was already running when tracing began: its gunicorn master
  // if one was adopted, else its first adopted process (the service
  // manager aside), still running the program it had then; null when its
  // start was seen.
  const Process* running_before_tracing() const;
  // The process `pmtrace run` started (the wrapped command); 0 for attach.
  void set_wrapped_pid(std::uint32_t pid) { wrapped_pid_ = pid; }
  std::uint32_t wrapped_pid() const { return wrapped_pid_; }
  // Whether pid is `ancestor` or descends from it (through the traced parents).
  bool descends_from(std::uint32_t pid, std::uint32_t ancestor) const;

  void set_file_lookup(FileLookup f) { file_lookup_ = std::move(f); }
  // lstat semantics: symlinks reported as such (the file lookup follows them).
  void set_path_lookup(FileLookup f) { path_lookup_ = std::move(f); }
  // The memory limit of a process's cgroup, read while it runs ("64M (path)").
  void set_memory_limit(std::uint32_t pid, const std::string& limit) { procs_[pid].memory_limit = limit; }
  std::optional<FileFacts> path_facts(const std::string& path) const;
  // The memory limit of pid's cgroup, or of its nearest traced ancestor's.
  std::optional<std::string> memory_limit(std::uint32_t pid) const;
  void set_name_lookups(NameLookup users, NameLookup groups) {
    user_names_ = std::move(users);
    group_names_ = std::move(groups);
  }
  std::optional<FileFacts> file_facts(const std::string& path) const;
  void set_port_lookup(PortLookup f) { port_lookup_ = std::move(f); }
  std::vector<PortHolder> port_holders(std::uint16_t port) const {
    return port_lookup_ ? port_lookup_(port) : std::vector<PortHolder>{};
  }
  // The name, or the number when there is no name for it.
  std::string user_name(std::uint32_t uid) const;
  std::string group_name(std::uint32_t gid) const;

 private:
  Process& proc(const model::Event& e);

  ProcessTable table_;
  std::map<std::uint32_t, Process> procs_;
  std::uint64_t start_ns_ = 0;
  std::vector<model::Event> denied_opens_, signals_, failed_binds_, binds_, listens_, connects_,
      tcp_connects_, exec_failures_, ooms_, chdir_failures_, milestones_;
  // Connects in flight, by (pid, fd): the connect event.
  std::map<std::pair<std::uint32_t, int>, model::Event> inflight_connects_;
  std::vector<PendingConnect> ended_pending_;
  std::deque<model::Event> recent_tcp_;  // the last TCP connect results, unbounded runs included
  std::vector<std::pair<model::SockAddr, std::string>> databases_;
  std::vector<EnvFileInfo> env_files_;
  std::vector<std::string> units_;
  std::vector<UnitContext> unit_contexts_;
  std::map<std::uint64_t, std::string> unit_cgroups_;  // cgroup id -> unit, from cgroup_adopt
  std::vector<JournalLine> journal_;
  std::uint32_t wrapped_pid_ = 0;
  std::uint64_t last_ns_ = 0, end_ns_ = 0;
  std::size_t ok_connects_kept_ = 0, ok_tcp_kept_ = 0;
  FileLookup file_lookup_, path_lookup_;
  PortLookup port_lookup_;
  NameLookup user_names_, group_names_;
};

// Whether an argv runs gunicorn (gunicorn, python3 /usr/bin/gunicorn,
// python3 -m gunicorn, /srv/venv/bin/gunicorn).
bool runs_gunicorn(const std::vector<std::string>& argv);

}  // namespace pm::analysis
