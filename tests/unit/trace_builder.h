// A builder of kernel-shaped event sequences for rule and checkpoint tests:
// headers filled the way the BPF programs fill them (the sender's context for
// signals, the connecting task for TCP results, comm "gunicorn" for workers).
// Test-only: included by tests/unit/test_rule_*.cpp and test_checkpoints.cpp.
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
  std::vector<Event> fed;

  Trace() {
    tasks[1] = Task{0, "systemd", 0, 1};  // PID 1 lives in init.scope
    agg.set_path_lookup([this](const std::string& p) -> std::optional<analysis::FileFacts> {
      auto it = paths.find(p);
      if (it == paths.end()) return std::nullopt;
      return it->second;
    });
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
  t.task(master, 1, "(gunicorn)");
  t.exec(master, kT0, "/usr/bin/gunicorn", std::move(argv), "/usr/bin/python3");
  t.bind(master, kT0 + 380 * kMs, 5, inet("127.0.0.1", 8000));
  t.listen(master, kT0 + 380 * kMs + 20 * kUs, inet("127.0.0.1", 8000));
  for (std::size_t i = 0; i < workers.size(); ++i) t.fork(master, kT0 + 400 * kMs + i * 5 * kMs, workers[i]);
  for (std::size_t i = 0; i < workers.size(); ++i) t.heartbeat(workers[i], kT0 + 1200 * kMs + i * 40 * kMs);
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
