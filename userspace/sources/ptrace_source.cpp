#include "sources/ptrace_source.h"

#include <pthread.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "model/decode.h"
#include "pmtrace.h"
#include "util/strings.h"

namespace pm::sources {
namespace {

// The system calls it decodes, by this architecture's numbers (<sys/syscall.h>).
enum Nr : std::uint64_t {
  kWrite = SYS_write,
  kConnect = SYS_connect,
  kAccept = SYS_accept,
  kBind = SYS_bind,
  kListen = SYS_listen,
  kGetsockopt = SYS_getsockopt,
  kExecve = SYS_execve,
  kKill = SYS_kill,
  kChdir = SYS_chdir,
  kFchmod = SYS_fchmod,
  kTkill = SYS_tkill,
  kTgkill = SYS_tgkill,
  kOpenat = SYS_openat,
  kUtimensat = SYS_utimensat,
  kAccept4 = SYS_accept4,
  kExecveat = SYS_execveat,
  kOpenat2 = SYS_openat2,
};

constexpr std::size_t kHead = 256, kTail = 256, kPath = 256;
constexpr int kErestartsys = 512;

std::uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

bool read_mem(pid_t pid, std::uint64_t addr, void* buf, std::size_t len) {
  if (!addr || !len) return false;
  iovec local{buf, len};
  iovec remote{reinterpret_cast<void*>(addr), len};
  return ::process_vm_readv(pid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(len);
}

// A NUL-terminated string, read a piece at a time so a string that ends just
// before an unmapped page is still read.
std::string read_str(pid_t pid, std::uint64_t addr, std::size_t max = kPath) {
  std::string out;
  char buf[64];
  while (addr && out.size() < max) {
    std::size_t to_page = 4096 - (addr % 4096);
    std::size_t n = std::min({sizeof buf, to_page, max - out.size()});
    if (!read_mem(pid, addr, buf, n)) break;
    const void* nul = std::memchr(buf, 0, n);
    if (nul) {
      out.append(buf, static_cast<const char*>(nul) - buf);
      return out;
    }
    out.append(buf, n);
    addr += n;
  }
  return out;
}

model::SockAddr read_sockaddr(pid_t pid, std::uint64_t addr, std::uint64_t len) {
  std::uint8_t raw[128] = {};
  len = std::min<std::uint64_t>(len, sizeof raw);
  if (len < 2 || !read_mem(pid, addr, raw, len)) return {};
  std::uint16_t family;
  std::memcpy(&family, raw, sizeof family);
  return model::decode_sockaddr(family, raw, len);
}

std::string proc_file(pid_t pid, const char* name) {
  return read_file("/proc/" + std::to_string(pid) + "/" + name).value_or("");
}

// "Name:\tvalue" fields of /proc/PID/status.
std::string status_field(const std::string& status, const std::string& key) {
  for (const auto& line : split(status, '\n'))
    if (starts_with(line, key + ":")) return std::string(trim(std::string_view(line).substr(key.size() + 1)));
  return "";
}

// The process a thread belongs to (itself when /proc no longer has it).
pid_t tgid_of(pid_t tid) {
  auto tgid = parse_int(status_field(proc_file(tid, "status"), "Tgid"));
  return tgid ? static_cast<pid_t>(*tgid) : tid;
}

bool is_stop_signal(int sig) { return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU; }

bool interrupted(std::int64_t rval) {
  return rval == -EINTR || rval == -kErestartsys || rval == -513 || rval == -514 || rval == -516;
}

}  // namespace

PtraceSource::~PtraceSource() { detach_all(); }

void PtraceSource::detach_all() {
  // Every tracee keeps running as before: stop each one (detaching needs a
  // stop), pass on a signal it was about to get, and let it go. A tracee in
  // a group-stop stays stopped, as job control left it.
  for (const auto& [tid, t] : threads_) ::ptrace(PTRACE_INTERRUPT, tid, 0, 0);
  std::set<pid_t> left;
  for (const auto& [tid, t] : threads_) left.insert(tid);
  std::uint64_t deadline = now_ns() + 2000000000ull;
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  while (!left.empty() && now_ns() < deadline) {
    int status = 0;
    pid_t tid = ::waitpid(-1, &status, __WALL | WNOHANG);
    if (tid > 0) {
      left.erase(tid);
      if (!WIFSTOPPED(status)) continue;
      int sig = WSTOPSIG(status);
      bool delivery = (status >> 16) == 0 && sig != (SIGTRAP | 0x80);
      ::ptrace(PTRACE_DETACH, tid, 0, delivery ? sig : 0);
      continue;
    }
    if (tid < 0 && errno == ECHILD) break;
    timespec wait{0, 10000000};
    ::sigtimedwait(&chld, nullptr, &wait);
  }
  threads_.clear();
  procs_.clear();
}

std::vector<std::string> PtraceSource::notes() const {
  return {"ptrace backend: signals between processes it does not trace, the unit's cgroup, OOM-killer records and "
          "the cgroup id are not visible; a non-blocking connect's result is read from the process's own "
          "getsockopt(SO_ERROR)"};
}

PtraceSource::PtraceSource(bool kill_on_exit) : kill_on_exit_(kill_on_exit) {
  // Tracee stops arrive as SIGCHLD; poll() waits for them with sigtimedwait.
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::pthread_sigmask(SIG_BLOCK, &chld, nullptr);
}

Result<void> PtraceSource::track_pid(std::uint32_t pid) {
  long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
              PTRACE_O_TRACEEXEC;
  if (kill_on_exit_) opts |= PTRACE_O_EXITKILL;
  pid_t p = static_cast<pid_t>(pid);
  // Every thread of the process (a process being attached to may have many).
  std::vector<pid_t> tids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec))
    if (auto tid = parse_int(entry.path().filename().string())) tids.push_back(static_cast<pid_t>(*tid));
  if (tids.empty()) tids.push_back(p);
  for (pid_t tid : tids) {
    if (::ptrace(PTRACE_SEIZE, tid, 0, opts) != 0) {
      if (errno == ESRCH) continue;  // a thread that just ended
      return cannot_trace_errno("cannot trace pid " + std::to_string(pid) + " (thread " + std::to_string(tid) + ")");
    }
    // Stop it once so syscall tracing can start; the stop arrives in poll().
    ::ptrace(PTRACE_INTERRUPT, tid, 0, 0);
    threads_[tid].tgid = p;
    seized_.insert(tid);
  }
  refresh(p);
  return {};
}

Result<int> PtraceSource::poll(int timeout_ms, const EventFn& fn) {
  std::uint64_t deadline = now_ns() + static_cast<std::uint64_t>(timeout_ms) * 1000000ull;
  int handled = 0;
  for (;;) {
    int status = 0;
    pid_t tid = ::waitpid(-1, &status, __WALL | WNOHANG);
    if (tid > 0) {
      handle(tid, status, fn);
      if (++handled >= 4096) break;  // let the session look at its end conditions
      continue;
    }
    std::uint64_t now = now_ns();
    if (now >= deadline) break;
    // Every tracee stop sends us SIGCHLD (blocked, so it stays pending):
    // sleep until one arrives instead of polling.
    std::uint64_t left = deadline - now;
    timespec wait{static_cast<time_t>(left / 1000000000ull), static_cast<long>(left % 1000000000ull)};
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    ::sigtimedwait(&chld, nullptr, &wait);
  }
  return handled;
}

PtraceSource::Thread& PtraceSource::thread(pid_t tid) {
  auto [it, inserted] = threads_.try_emplace(tid);
  if (inserted) {
    it->second.tgid = tgid_of(tid);
    if (!procs_.count(it->second.tgid)) refresh(it->second.tgid);
  }
  return it->second;
}

void PtraceSource::refresh(pid_t tgid) {
  Proc& p = procs_[tgid];
  std::string status = proc_file(tgid, "status");
  if (status.empty()) return;
  p.comm = std::string(trim(proc_file(tgid, "comm")));
  if (auto v = parse_int(status_field(status, "PPid"))) p.ppid = static_cast<std::uint32_t>(*v);
  auto uids = split(status_field(status, "Uid"), '\t');
  auto gids = split(status_field(status, "Gid"), '\t');
  if (!uids.empty())
    if (auto v = parse_int(uids[0])) p.uid = static_cast<std::uint32_t>(*v);
  if (!gids.empty())
    if (auto v = parse_int(gids[0])) p.gid = static_cast<std::uint32_t>(*v);
}

model::Header PtraceSource::header(model::EventType type, pid_t tid) const {
  model::Header h;
  h.type = type;
  h.ts_ns = now_ns();
  auto t = threads_.find(tid);
  pid_t tgid = t == threads_.end() ? tid : t->second.tgid;
  h.pid = static_cast<std::uint32_t>(tgid);
  h.tid = static_cast<std::uint32_t>(tid);
  if (auto p = procs_.find(tgid); p != procs_.end()) {
    h.ppid = p->second.ppid;
    h.uid = p->second.uid;
    h.gid = p->second.gid;
    h.comm = p->second.comm;
  }
  return h;
}

void PtraceSource::resume(pid_t tid, int sig) { ::ptrace(PTRACE_SYSCALL, tid, 0, sig); }

void PtraceSource::handle(pid_t tid, int status, const EventFn& fn) {
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    auto it = threads_.find(tid);
    pid_t tgid = it == threads_.end() ? tid : it->second.tgid;
    if (tid == tgid) {
      model::Event e;
      e.hdr = header(model::EventType::exit, tid);
      model::Exit x;
      x.raw = status;  // the wait status has the kernel's exit_code layout
      e.body = x;
      fn(std::move(e));
      procs_.erase(tgid);
    }
    if (it != threads_.end()) threads_.erase(it);
    seized_.erase(tid);
    return;
  }
  if (!WIFSTOPPED(status)) return;
  Thread& t = thread(tid);
  int sig = WSTOPSIG(status);
  int event = status >> 16;
  if (sig == (SIGTRAP | 0x80)) {
    on_syscall(tid, t, fn);
    resume(tid);
    return;
  }
  switch (event) {
    case PTRACE_EVENT_FORK:
    case PTRACE_EVENT_VFORK:
    case PTRACE_EVENT_CLONE: {
      unsigned long child = 0;
      ::ptrace(PTRACE_GETEVENTMSG, tid, 0, &child);
      on_new_child(tid, static_cast<pid_t>(child), fn);
      resume(tid);
      return;
    }
    case PTRACE_EVENT_EXEC:
      on_exec(tid, fn);
      resume(tid);
      return;
    case PTRACE_EVENT_STOP:
      // A group-stop (job control) stays stopped, but listens; anything else
      // is the first stop of a new tracee or our interrupt.
      if (is_stop_signal(sig)) ::ptrace(PTRACE_LISTEN, tid, 0, 0);
      else resume(tid);
      return;
    case 0:
      on_signal(tid, sig, fn);
      resume(tid, sig);  // passed on unchanged
      return;
    default:
      resume(tid);
      return;
  }
}

void PtraceSource::on_new_child(pid_t parent, pid_t child, const EventFn& fn) {
  pid_t ptgid = thread(parent).tgid;
  Thread& c = threads_[child];
  c.tgid = tgid_of(child);
  if (c.tgid != child) return;  // a new thread, not a new process
  Proc& p = procs_[child];
  const Proc& pp = procs_[ptgid];
  p.ppid = static_cast<std::uint32_t>(ptgid);
  p.comm = pp.comm;
  p.uid = pp.uid;
  p.gid = pp.gid;
  model::Event e;
  e.hdr = header(model::EventType::fork, parent);
  e.body = model::Fork{static_cast<std::uint32_t>(child)};
  fn(std::move(e));
}

void PtraceSource::on_exec(pid_t tid, const EventFn& fn) {
  unsigned long old_tid = 0;
  ::ptrace(PTRACE_GETEVENTMSG, tid, 0, &old_tid);
  Thread& t = thread(tid);
  t.tgid = tid;  // an exec makes the caller the leader
  std::string path = t.exec_path;
  if (auto old = threads_.find(static_cast<pid_t>(old_tid)); path.empty() && old != threads_.end())
    path = old->second.exec_path;
  refresh(tid);
  model::Exec x;
  x.old_tid = static_cast<std::uint32_t>(old_tid);
  if (path.empty()) {
    char buf[4096];
    ssize_t n = ::readlink(("/proc/" + std::to_string(tid) + "/exe").c_str(), buf, sizeof buf - 1);
    if (n > 0) path.assign(buf, static_cast<std::size_t>(n));
  }
  x.filename = path;
  std::string cmdline = proc_file(tid, "cmdline");
  x.argv = split_args(cmdline);
  // A script's interpreter, as the kernel's bprm->interp.
  x.interp = shebang_interpreter(read_shebang(x.filename));
  model::Event e;
  e.hdr = header(model::EventType::exec, tid);
  e.body = std::move(x);
  fn(std::move(e));
  t.exec_path.clear();
  procs_[tid].heartbeat = procs_[tid].accepted = false;
}

void PtraceSource::on_signal(pid_t tid, int sig, const EventFn& fn) {
  siginfo_t si{};
  if (::ptrace(PTRACE_GETSIGINFO, tid, 0, &si) != 0) return;
  Thread& t = thread(tid);
  pid_t sender = si.si_code <= 0 ? si.si_pid : 0;
  bool sender_traced = sender > 0 && procs_.count(sender);
  // The sender's side, when the sender is not traced (a traced sender's
  // kill() was already reported from its own syscall).
  if (!sender_traced) {
    model::Event g;
    g.hdr = header(model::EventType::signal_generate, tid);
    model::SignalGenerate s;
    s.sig = sig;
    s.code = si.si_code;
    s.from_kernel = si.si_code > 0;
    s.target_pid = static_cast<std::uint32_t>(t.tgid);
    s.target_tid = static_cast<std::uint32_t>(tid);
    s.target_comm = g.hdr.comm;
    if (sender > 0) {
      s.sender_pid = static_cast<std::uint32_t>(sender);
      g.hdr.pid = g.hdr.tid = static_cast<std::uint32_t>(sender);
      g.hdr.comm = std::string(trim(proc_file(sender, "comm")));
      g.hdr.uid = si.si_uid;
      auto ppid = parse_int(status_field(proc_file(sender, "status"), "PPid"));
      g.hdr.ppid = ppid ? static_cast<std::uint32_t>(*ppid) : 0;
    }
    g.body = s;
    fn(std::move(g));
  }
  model::Event d;
  d.hdr = header(model::EventType::signal_deliver, tid);
  model::SignalDeliver s;
  s.sig = sig;
  s.code = si.si_code;
  s.sender_pid = static_cast<std::uint32_t>(sender);
  s.sender_uid = si.si_code <= 0 ? si.si_uid : 0;
  // The handler: SigCgt / SigIgn masks in /proc/PID/status.
  std::string status = proc_file(tid, "status");
  auto bit = [&](const char* key) {
    auto mask = std::strtoull(status_field(status, key).c_str(), nullptr, 16);
    return (mask >> (sig - 1)) & 1;
  };
  s.handler = bit("SigCgt") ? 2 : bit("SigIgn") ? 1 : 0;
  // The call it was in: a syscall the signal interrupted has just returned.
  const Pending& last = t.pending;
  if (!t.in_syscall && last.nr && now_ns() - last.enter_ns < 3600ull * 1000000000ull && t.last_interrupted) {
    s.syscall_nr = static_cast<int>(last.nr);
    s.syscall_ret = t.last_rval;
    int first_fd = -1;
    switch (pm_syscall_fd_kind(static_cast<long>(last.nr))) {  // as the BPF side reports it
      case PM_SC_FD_POLLFD:
        if (read_mem(tid, last.args[0], &first_fd, sizeof first_fd)) s.syscall_fd = first_fd;
        break;
      case PM_SC_FD_ARG0: s.syscall_fd = static_cast<int>(last.args[0]); break;
      default: break;
    }
  }
  d.body = s;
  fn(std::move(d));
}

void PtraceSource::on_syscall(pid_t tid, Thread& t, const EventFn& fn) {
  __ptrace_syscall_info info{};
  if (::ptrace(PTRACE_GET_SYSCALL_INFO, tid, sizeof info, &info) <= 0) return;
  pid_t tgid = t.tgid;
  if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
    t.in_syscall = true;
    t.last_interrupted = false;
    Pending& p = t.pending;
    p = Pending{};
    p.nr = info.entry.nr;
    for (int i = 0; i < 6; ++i) p.args[i] = info.entry.args[i];
    p.enter_ns = now_ns();
    switch (p.nr) {
      case kExecve: p.path = read_str(tid, p.args[0]); t.exec_path = p.path; break;
      case kExecveat: p.path = read_str(tid, p.args[1]); t.exec_path = p.path; break;
      case kOpenat:
      case kOpenat2: p.path = read_str(tid, p.args[1]); break;
      case kChdir: p.path = read_str(tid, p.args[0]); break;
      case kWrite: {
        if (p.args[0] != 1 && p.args[0] != 2) break;
        model::Write w;
        w.fd = static_cast<int>(p.args[0]);
        w.count = p.args[2];
        std::size_t head = std::min<std::uint64_t>(w.count, kHead);
        std::size_t tail = std::min<std::uint64_t>(w.count - head, kTail);
        w.head.resize(head);
        if (!read_mem(tid, p.args[1], w.head.data(), head)) w.head.clear();
        w.tail.resize(tail);
        if (!read_mem(tid, p.args[1] + w.count - tail, w.tail.data(), tail)) w.tail.clear();
        model::Event e;
        e.hdr = header(model::EventType::write, tid);
        e.hdr.truncated = w.count > kHead + kTail;
        e.body = std::move(w);
        fn(std::move(e));
        break;
      }
      default: break;
    }
    return;
  }
  if (info.op != PTRACE_SYSCALL_INFO_EXIT || !t.in_syscall) return;
  t.in_syscall = false;
  const Pending& p = t.pending;
  std::int64_t rval = info.exit.rval;
  int err = info.exit.is_error ? static_cast<int>(-rval) : 0;
  t.last_rval = rval;
  t.last_interrupted = interrupted(rval);
  std::uint64_t now = now_ns();
  Proc& proc = procs_[tgid];
  auto emit = [&](model::EventType type, model::Payload body) {
    model::Event e;
    e.hdr = header(type, tid);
    e.body = std::move(body);
    fn(std::move(e));
  };
  switch (p.nr) {
    case kExecve:
    case kExecveat:
      if (err) emit(model::EventType::exec_failed, model::ExecFailed{p.path, err});
      break;
    case kOpenat:
    case kOpenat2:
      if (err) {
        model::OpenFailed o;
        o.path = p.path;
        o.dfd = static_cast<int>(p.args[0]);
        o.err = err;
        if (p.nr == kOpenat) {
          o.flags = p.args[2];
          o.mode = static_cast<std::uint32_t>(p.args[3]);
        } else {
          std::uint64_t how[2] = {};
          read_mem(tid, p.args[2], how, sizeof how);
          o.flags = how[0];
          o.mode = static_cast<std::uint32_t>(how[1]);
          o.openat2 = true;
        }
        emit(model::EventType::open_failed, o);
      }
      break;
    case kChdir:
      if (err) emit(model::EventType::chdir_failed, model::ChdirFailed{p.path, err});
      break;
    case kConnect: {
      model::Connect c;
      c.fd = static_cast<int>(p.args[0]);
      c.err = err;
      c.duration_ns = now - p.enter_ns;
      c.addr = read_sockaddr(tid, p.args[1], p.args[2]);
      if (err == EINPROGRESS) t.connecting[c.fd] = {c.addr, p.enter_ns};
      emit(model::EventType::connect, c);
      break;
    }
    case kGetsockopt: {
      // A non-blocking connect's result: getsockopt(fd, SOL_SOCKET, SO_ERROR).
      auto it = t.connecting.find(static_cast<int>(p.args[0]));
      if (err || p.args[1] != SOL_SOCKET || p.args[2] != SO_ERROR || it == t.connecting.end()) break;
      int so_error = 0;
      if (!read_mem(tid, p.args[3], &so_error, sizeof so_error) || so_error == EINPROGRESS) break;
      model::TcpConnect tc;
      tc.old_state = 2;                       // SYN_SENT
      tc.new_state = so_error == 0 ? 1 : 7;   // ESTABLISHED or CLOSE
      tc.duration_ns = now - it->second.second;
      tc.peer = it->second.first;
      t.connecting.erase(it);
      emit(model::EventType::tcp_connect, tc);
      break;
    }
    case kBind: {
      model::Bind b;
      b.fd = static_cast<int>(p.args[0]);
      b.err = err;
      b.addr = read_sockaddr(tid, p.args[1], p.args[2]);
      if (!err) proc.bound[b.fd] = b.addr;
      emit(model::EventType::bind, b);
      break;
    }
    case kListen:
      if (auto it = proc.bound.find(static_cast<int>(p.args[0])); !err && it != proc.bound.end())
        emit(model::EventType::listen, model::Listen{it->second});
      break;
    case kKill:
    case kTkill:
    case kTgkill: {
      std::int64_t target = static_cast<std::int64_t>(p.args[0]);
      int sig = static_cast<int>(p.nr == kTgkill ? p.args[2] : p.args[1]);
      if (err || sig == 0 || target <= 0) break;  // failed kills and liveness probes are no signals
      model::SignalGenerate s;
      s.sig = sig;
      s.target_pid = static_cast<std::uint32_t>(target);
      s.target_tid = static_cast<std::uint32_t>(p.nr == kTgkill ? p.args[1] : p.args[0]);
      s.sender_pid = static_cast<std::uint32_t>(tgid);
      s.code = p.nr == kKill ? 0 : -6;  // SI_USER, SI_TKILL
      s.group = p.nr == kKill;
      s.target_comm = std::string(trim(proc_file(static_cast<pid_t>(target), "comm")));
      emit(model::EventType::signal_generate, s);
      break;
    }
    case kAccept:
    case kAccept4:
      if (!err && !proc.accepted) {
        proc.accepted = true;
        model::Milestone m;
        m.kind = model::MilestoneKind::accept;
        m.fd = static_cast<int>(rval);
        std::uint32_t len = 0;
        if (p.args[1] && read_mem(tid, p.args[2], &len, sizeof len)) m.peer = read_sockaddr(tid, p.args[1], len);
        emit(model::EventType::milestone, m);
      }
      break;
    case kFchmod:
    case kUtimensat:
      if (p.nr == kUtimensat && p.args[1] != 0) break;  // a path, not futimens(fd)
      if (!proc.heartbeat) {
        proc.heartbeat = true;
        model::Milestone m;
        m.kind = model::MilestoneKind::heartbeat;
        m.fd = static_cast<int>(p.args[0]);
        emit(model::EventType::milestone, m);
      }
      break;
    default:
      break;
  }
}

}  // namespace pm::sources
