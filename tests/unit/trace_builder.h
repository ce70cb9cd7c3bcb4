// A builder of kernel-shaped event sequences for rule and checkpoint tests:
// headers filled the way the BPF programs fill them (the sender's context for
// signals, the connecting task for TCP results, comm "gunicorn" for workers).
// Test-only: included by tests/unit/test_rule_*.cpp, test_healthy_start.cpp,
// test_checkpoints.cpp and test_investigation.cpp.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "analysis/aggregator.h"
#include "analysis/checkpoints.h"
#include "rules/finding.h"

namespace {

using namespace pm;
using namespace pm::model;

constexpr std::uint64_t kUs = 1000ull, kMs = 1000000ull, kS = 1000000000ull;
constexpr std::uint64_t kT0 = 7200 * kS;     // CLOCK_MONOTONIC when the service starts
constexpr std::uint64_t kUnitCgroup = 8812;  // the unit's cgroup id (kernfs inode)
constexpr int kSiUser = 0, kSiKernel = 0x80, kCldExited = 1, kCldKilled = 2, kSegvMaperr = 1;
constexpr int kTcpEstablished = 1, kTcpSynSent = 2, kTcpClose = 7;
constexpr int kErestartsys = 512;  // what sys_exit sees for a call a signal interrupted
constexpr int kNrPoll = 7, kNrSelect = 23, kNrConnect = 42;

SockAddr inet(std::string ip, std::uint16_t port) {
  SockAddr a;
  a.family = AF_INET;
  a.address = std::move(ip);
  a.port = port;
  return a;
}

[[maybe_unused]] SockAddr unix_socket(std::string path) {
  SockAddr a;
  a.family = AF_UNIX;
  a.path = std::move(path);
  return a;
}

// An event stream the way the BPF source delivers it: every header is filled
// the way fill_hdr() fills it, from the task the event runs in (its pid, its
// real parent, its uid, cgroup and comm at that moment).
struct Trace {
  struct Task {
    std::uint32_t ppid = 1;
    std::string comm = "gunicorn";
    std::uint32_t uid = 33;
    std::uint64_t cgroup = kUnitCgroup;
  };
  analysis::Aggregator agg;
  std::map<std::uint32_t, Task> tasks;
  std::map<std::string, analysis::FileFacts> paths;            // lstat view for set_path_lookup
  std::map<std::string, analysis::FileFacts> files;            // stat view for set_file_lookup
  // The host's /etc/passwd and /etc/group (Debian's www-data is 33), for the
  // names the session reads at report time.
  std::map<std::uint32_t, std::string> users = {{0, "root"}, {33, "www-data"}};
  std::map<std::uint32_t, std::string> groups = {{0, "root"}, {33, "www-data"}};
  std::vector<Event> fed;

  Trace() {
    tasks[1] = Task{0, "systemd", 0, 1};  // PID 1 lives in init.scope
    agg.set_path_lookup([this](const std::string& p) { return lookup(paths, p); });
    agg.set_file_lookup([this](const std::string& p) { return lookup(files, p); });
    agg.set_name_lookups([this](std::uint32_t id) { return name(users, id); },
                         [this](std::uint32_t id) { return name(groups, id); });
  }
  Trace(const Trace&) = delete;  // the lookups point at this one

  static std::optional<analysis::FileFacts> lookup(const std::map<std::string, analysis::FileFacts>& m,
                                                   const std::string& path) {
    auto it = m.find(path);
    if (it == m.end()) return std::nullopt;
    return it->second;
  }
  static std::string name(const std::map<std::uint32_t, std::string>& m, std::uint32_t id) {
    auto it = m.find(id);
    return it == m.end() ? "" : it->second;
  }

  // A file or directory (no symlink: stat and lstat agree), its owner and
  // group named the way the host's lookup names them.
  void file(const std::string& path, std::uint32_t uid, std::uint32_t gid, std::uint32_t mode) {
    analysis::FileFacts f;
    f.uid = uid;
    f.gid = gid;
    f.mode = mode;
    f.owner = name(users, uid);
    f.group = name(groups, gid);
    files[path] = paths[path] = f;
  }
  // Every directory from / down to dir: root:root, mode 0755 unless told.
  void dirs(const std::string& dir, std::uint32_t uid = 0, std::uint32_t gid = 0, std::uint32_t mode = 040755) {
    file("/", uid, gid, mode);
    for (auto slash = dir.find('/', 1); dir.size() > 1; slash = dir.find('/', slash + 1)) {
      file(dir.substr(0, slash), uid, gid, mode);
      if (slash == std::string::npos) break;
    }
  }

  // A task that exists before the trace sees it start (a shell, PID 1's child).
  void task(std::uint32_t pid, std::uint32_t ppid, std::string comm, std::uint32_t uid = 33,
            std::uint64_t cgroup = kUnitCgroup) {
    tasks[pid] = Task{ppid, std::move(comm), uid, cgroup};
  }

  Event make(EventType type, std::uint32_t pid, std::uint64_t ts, Payload body) {
    const Task& k = tasks[pid];
    Event e;
    e.hdr.type = type;
    e.hdr.ts_ns = ts;
    e.hdr.pid = e.hdr.tid = pid;
    e.hdr.ppid = k.ppid;
    e.hdr.uid = e.hdr.gid = k.uid;
    e.hdr.cgroup_id = k.cgroup;
    e.hdr.comm = k.comm;
    e.body = std::move(body);
    return e;
  }
  // The traced systemd unit: its settings, and its cgroup (kUnitCgroup).
  void unit(analysis::UnitContext u) {
    u.loaded = true;
    agg.add_unit(u.name);
    agg.add_unit_cgroup(kUnitCgroup, u.name);
    agg.set_unit_context(std::move(u));
  }
  Event feed(Event e) {
    REQUIRE(consistent(e));
    agg.on_event(e);
    fed.push_back(e);
    return e;
  }

  // execve() that worked: comm becomes the basename of the file executed (a
  // script's own name, not its interpreter's); argv is the new mm's, which for
  // a #! script starts with the interpreter.
  Event exec(std::uint32_t pid, std::uint64_t ts, std::string filename, std::vector<std::string> argv,
             std::string interp = "") {
    auto slash = filename.rfind('/');
    tasks[pid].comm = filename.substr(slash == std::string::npos ? 0 : slash + 1).substr(0, 15);
    Exec x;
    x.filename = std::move(filename);
    x.interp = std::move(interp);
    x.argv = std::move(argv);
    x.old_tid = pid;
    return feed(make(EventType::exec, pid, ts, x));
  }
  // systemd's child for a unit's command execs filename: PID 1 forks it and
  // names it "(NAME)" until it execs, NAME the program's last 8 characters
  // (rename_process_from_path).
  Event spawn(std::uint32_t pid, std::uint64_t ts, std::string filename, std::vector<std::string> argv,
              std::string interp = "") {
    auto slash = filename.rfind('/');
    std::string base = filename.substr(slash == std::string::npos ? 0 : slash + 1);
    task(pid, 1, "(" + base.substr(base.size() > 8 ? base.size() - 8 : 0) + ")");
    return exec(pid, ts, std::move(filename), std::move(argv), std::move(interp));
  }
  Event exec_failed(std::uint32_t pid, std::uint64_t ts, std::string filename, int err) {
    ExecFailed x;
    x.filename = std::move(filename);
    x.err = err;
    return feed(make(EventType::exec_failed, pid, ts, x));
  }
  Event fork(std::uint32_t parent, std::uint64_t ts, std::uint32_t child) {
    Event e = feed(make(EventType::fork, parent, ts, Fork{child}));
    Task c = tasks[parent];
    c.ppid = parent;
    tasks[child] = c;
    return e;
  }
  Event exit(std::uint32_t pid, std::uint64_t ts, int raw) {
    Exit x;
    x.raw = raw;
    x.start_ns = kT0;
    return feed(make(EventType::exit, pid, ts, x));
  }
  // signal_generate runs in the sender's context (the faulting task itself for
  // a fault, whichever task allocated for the OOM killer); code > 0 is the kernel.
  Event signal(std::uint32_t sender, std::uint64_t ts, std::uint32_t target, int sig, int code = kSiUser,
               int result = 0) {
    SignalGenerate s;
    s.sig = sig;
    s.code = code;
    s.result = result;
    s.target_pid = s.target_tid = target;
    s.target_comm = tasks[target].comm;
    s.group = true;
    s.from_kernel = code > 0;
    s.sender_pid = code <= 0 ? sender : 0;
    return feed(make(EventType::signal_generate, sender, ts, s));
  }
  Event deliver(std::uint32_t pid, std::uint64_t ts, int sig, std::uint32_t sender, int syscall_nr = -1,
                int fd = -1, std::int64_t ret = 0, std::uint64_t handler = 0x55d0c0ffee00ull) {
    SignalDeliver d;
    d.sig = sig;
    d.code = kSiUser;
    d.sender_pid = sender;
    d.sender_uid = tasks[sender].uid;
    d.handler = handler;
    d.syscall_nr = syscall_nr;
    d.syscall_fd = fd;
    d.syscall_ret = ret;
    return feed(make(EventType::signal_deliver, pid, ts, d));
  }
  // sys_exit_connect: ts is the syscall's end, duration since its start.
  Event connect(std::uint32_t pid, std::uint64_t ts, int fd, SockAddr addr, int err,
                std::uint64_t duration = 40 * kUs) {
    Connect c;
    c.fd = fd;
    c.err = err;
    c.duration_ns = duration;
    c.addr = std::move(addr);
    return feed(make(EventType::connect, pid, ts, c));
  }
  // inet_sock_set_state leaving SYN_SENT: the header is the one saved when
  // connect() entered SYN_SENT (the connecting process), ts is the change.
  Event tcp(std::uint32_t pid, std::uint64_t ts, int new_state, std::uint64_t in_syn_sent, SockAddr peer) {
    TcpConnect t;
    t.old_state = kTcpSynSent;
    t.new_state = new_state;
    t.duration_ns = in_syn_sent;
    t.peer = std::move(peer);
    return feed(make(EventType::tcp_connect, pid, ts, t));
  }
  Event bind(std::uint32_t pid, std::uint64_t ts, int fd, SockAddr addr, int err = 0) {
    Bind b;
    b.fd = fd;
    b.err = err;
    b.addr = std::move(addr);
    return feed(make(EventType::bind, pid, ts, b));
  }
  Event listen(std::uint32_t pid, std::uint64_t ts, SockAddr addr) {
    Listen l;
    l.addr = std::move(addr);
    return feed(make(EventType::listen, pid, ts, l));
  }
  Event heartbeat(std::uint32_t pid, std::uint64_t ts, int fd = 9) {
    Milestone m;
    m.kind = MilestoneKind::heartbeat;
    m.fd = fd;
    return feed(make(EventType::milestone, pid, ts, m));
  }
  Event accept(std::uint32_t pid, std::uint64_t ts, int fd, SockAddr peer) {
    Milestone m;
    m.kind = MilestoneKind::accept;
    m.fd = fd;
    m.peer = std::move(peer);
    return feed(make(EventType::milestone, pid, ts, m));
  }
  Event open_failed(std::uint32_t pid, std::uint64_t ts, std::string path, int err, std::uint64_t flags) {
    OpenFailed o;
    o.path = std::move(path);
    o.dfd = AT_FDCWD;
    o.err = err;
    o.flags = flags;
    return feed(make(EventType::open_failed, pid, ts, o));
  }
  Event chdir_failed(std::uint32_t pid, std::uint64_t ts, std::string path, int err) {
    ChdirFailed c;
    c.path = std::move(path);
    c.err = err;
    return feed(make(EventType::chdir_failed, pid, ts, c));
  }
  // oom:mark_victim, in the context of the task whose allocation failed.
  Event oom_victim(std::uint32_t context, std::uint64_t ts, std::uint32_t victim, std::uint64_t total_vm_pages) {
    OomVictim v;
    v.victim_pid = victim;
    v.victim_uid = tasks[victim].uid;
    v.total_vm_pages = total_vm_pages;
    v.victim_comm = tasks[victim].comm;
    return feed(make(EventType::oom_victim, context, ts, v));
  }
  Event write(std::uint32_t pid, std::uint64_t ts, int fd, std::string text) {
    Write w;
    w.fd = fd;
    w.count = text.size();
    w.head = std::move(text);
    return feed(make(EventType::write, pid, ts, w));
  }
};

// What ExecStart=/usr/bin/gunicorn ... looks like once the kernel has run the
// script through its #! line: argv[0] is the interpreter.
const std::vector<std::string> kGunicornArgv = {"/usr/bin/python3", "/usr/bin/gunicorn", "--workers", "2",
                                                "--bind", "127.0.0.1:8000", "shop.wsgi:application"};

// systemd's child for the unit (renamed "(gunicorn)" until it execs) starts
// gunicorn; the master binds and listens, forks its workers (plain forks, comm
// "gunicorn"), and each worker touches its heartbeat file once it has
// imported the app.
[[maybe_unused]] void gunicorn_boot(Trace& t, std::uint32_t master = 500, std::vector<std::uint32_t> workers = {501, 502},
                   std::vector<std::string> argv = kGunicornArgv) {
  t.spawn(master, kT0, "/usr/bin/gunicorn", std::move(argv), "/usr/bin/python3");
  t.bind(master, kT0 + 380 * kMs, 5, inet("127.0.0.1", 8000));
  t.listen(master, kT0 + 380 * kMs + 20 * kUs, inet("127.0.0.1", 8000));
  for (std::size_t i = 0; i < workers.size(); ++i) t.fork(master, kT0 + 400 * kMs + i * 5 * kMs, workers[i]);
  for (std::size_t i = 0; i < workers.size(); ++i) t.heartbeat(workers[i], kT0 + 1200 * kMs + i * 40 * kMs);
}

// gunicorn_boot's master, sent SIGTERM at `at` by `sender`: it passes SIGTERM
// on to each worker, the workers exit 0, the kernel's SIGCHLDs reach the
// master, and the master exits 0.
[[maybe_unused]] void gunicorn_terminates(Trace& t, std::uint32_t sender, std::uint64_t at) {
  t.deliver(500, at + 60 * kUs, SIGTERM, sender, kNrSelect, -1, -EINTR);
  t.signal(500, at + 1 * kMs, 501, SIGTERM);
  t.signal(500, at + 1 * kMs + 30 * kUs, 502, SIGTERM);
  t.deliver(501, at + 1 * kMs + 80 * kUs, SIGTERM, 500, kNrSelect, -1, -EINTR);
  t.deliver(502, at + 1 * kMs + 90 * kUs, SIGTERM, 500, kNrSelect, -1, -EINTR);
  t.exit(501, at + 210 * kMs, 0);
  t.signal(501, at + 210 * kMs + 5 * kUs, 500, SIGCHLD, kCldExited);
  t.exit(502, at + 215 * kMs, 0);
  t.signal(502, at + 215 * kMs + 5 * kUs, 500, SIGCHLD, kCldExited);
  t.exit(500, at + 300 * kMs, 0);
}

// The stop systemd makes (KillMode=mixed, as gunicorn's deploy docs advise):
// SIGTERM (then SIGCONT) from PID 1 to gunicorn_boot's master only.
[[maybe_unused]] void systemd_stop(Trace& t, std::uint64_t at) {
  t.signal(1, at, 500, SIGTERM);
  t.signal(1, at + 15 * kUs, 500, SIGCONT);
  gunicorn_terminates(t, 1, at);
}

// ExecStart=/srv/venv/bin/gunicorn -b 127.0.0.1:8000 meats.wsgi:application:
// a virtualenv's console script, which the kernel runs through its #! line,
// the virtualenv's python.
const std::vector<std::string> kVenvGunicornArgv = {"/srv/venv/bin/python3", "/srv/venv/bin/gunicorn", "-b",
                                                    "127.0.0.1:8000", "meats.wsgi:application"};

// systemd's child for the unit execs the virtualenv's gunicorn: the master.
[[maybe_unused]] Event venv_gunicorn(Trace& t, std::uint32_t master = 500, std::uint64_t ts = kT0) {
  return t.spawn(master, ts, "/srv/venv/bin/gunicorn", kVenvGunicornArgv, "/srv/venv/bin/python3");
}

// A gunicorn worker that dies before it has booted (arbiter.py): forked at
// `at`, it writes each of `writes` to stderr and exits `code` (3,
// WORKER_BOOT_ERROR: any exception; 4, APP_LOAD_ERROR: no such app object);
// the kernel's SIGCHLD reaches the master, which logs why and halts with the
// same code. Returns the master's exit.
[[maybe_unused]] Event worker_fails_to_boot(Trace& t, std::uint32_t master, std::uint32_t worker, int code,
                                            const std::vector<std::string>& writes,
                                            std::uint64_t at = kT0 + 400 * kMs) {
  t.fork(master, at, worker);
  std::uint64_t ts = at + 300 * kMs;
  for (const auto& w : writes) t.write(worker, ts += 100 * kUs, 2, w);
  t.exit(worker, ts += 2 * kMs, code << 8);
  t.signal(worker, ts + 5 * kUs, master, SIGCHLD, kCldExited);
  const std::string log = "[2024-06-11 10:00:01 +0000] [" + std::to_string(master) + "] [INFO] ";
  t.write(master, ts += 1 * kMs, 2, log + "Shutting down: Master\n");
  t.write(master, ts += 50 * kUs, 2,
          log + "Reason: " + (code == 3 ? "Worker failed to boot." : "App failed to load.") + "\n");
  return t.exit(master, ts += 20 * kMs, code << 8);
}

// The one finding of `rule` among run_rules' (which sets the rule id); null
// when there is none, a failed check when there are more.
[[maybe_unused]] const rules::Finding* only(const std::vector<rules::Finding>& fs, const std::string& rule) {
  const rules::Finding* found = nullptr;
  for (const auto& f : fs)
    if (f.rule == rule) {
      REQUIRE_FALSE(found);
      found = &f;
    }
  return found;
}

[[maybe_unused]] bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

[[maybe_unused]] bool has_fact(const rules::Finding& f, const std::string& fact) {
  for (const auto& x : f.facts)
    if (x == fact) return true;
  return false;
}

[[maybe_unused]] std::string facts_text(const rules::Finding& f) {
  std::string s;
  for (const auto& x : f.facts) s += x + "\n";
  return s;
}

}  // namespace

namespace {
[[maybe_unused]] std::string titles(const std::vector<rules::Finding>& fs) {
  std::string s;
  for (const auto& f : fs) s += "[" + f.rule + "] " + f.title + "\n";
  return s;
}
}  // namespace
