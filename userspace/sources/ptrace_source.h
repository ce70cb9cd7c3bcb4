// The ptrace backend: the same events as the BPF programs, from the tracer's
// side, where eBPF cannot be used (no BTF, no CAP_BPF, a container that
// forbids bpf()). Every descendant is traced from its first instruction
// (PTRACE_SEIZE with the fork, vfork, clone and exec options); syscall stops
// are decoded with PTRACE_GET_SYSCALL_INFO; signal-delivery stops give the
// sender (PTRACE_GETSIGINFO) and the signal is passed on unchanged;
// group-stops are left with PTRACE_LISTEN so job control still works.
//
// What it cannot see that eBPF can (docs/architecture.md): signals between
// processes it does not trace, a unit's cgroup, the OOM killer's record, the
// result of a non-blocking connect (only EINPROGRESS), the cgroup id.
//
// All ptrace calls happen on the thread that calls track_pid and poll.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "sources/source.h"

namespace pm::sources {

class PtraceSource final : public Source {
 public:
  // kill_on_exit: PTRACE_O_EXITKILL, for processes pmtrace started itself.
  explicit PtraceSource(bool kill_on_exit);
  ~PtraceSource() override;
  PtraceSource(const PtraceSource&) = delete;
  PtraceSource& operator=(const PtraceSource&) = delete;

  Backend backend() const override { return Backend::ptrace; }
  const char* name() const override { return "ptrace"; }
  Result<int> poll(int timeout_ms, const EventFn& fn) override;
  // Seizes a process (run: the gated child, before it execs).
  Result<void> track_pid(std::uint32_t pid) override;
  model::Losses losses() const override { return {}; }
  std::vector<std::string> notes() const override;

 private:
  struct Pending {  // a syscall between its entry and exit stops
    std::uint64_t nr = 0;
    std::uint64_t args[6] = {};
    std::uint64_t enter_ns = 0;
    std::string path;  // a path argument, read at entry
  };
  struct Proc {
    std::uint32_t ppid = 0, uid = 0, gid = 0;
    std::string comm;
    std::map<int, model::SockAddr> bound;  // fd -> address, for listen()
    bool heartbeat = false, accepted = false;
  };
  struct Thread {
    pid_t tgid = 0;
    bool in_syscall = false;
    Pending pending;        // the current or, between calls, the last syscall
    std::int64_t last_rval = 0;
    bool last_interrupted = false;  // the last call returned because of a signal
    std::string exec_path;  // the path of its last execve, for the exec event
    // Non-blocking connects in progress: fd -> (peer, start).
    std::map<int, std::pair<model::SockAddr, std::uint64_t>> connecting;
  };

  void detach_all();
  void handle(pid_t tid, int status, const EventFn& fn);
  void on_syscall(pid_t tid, Thread& t, const EventFn& fn);
  void on_signal(pid_t tid, int sig, const EventFn& fn);
  void on_new_child(pid_t parent, pid_t child, const EventFn& fn);
  void on_exec(pid_t tid, const EventFn& fn);
  void refresh(pid_t tgid);  // comm, uid, gid, ppid from /proc
  model::Header header(model::EventType type, pid_t tid) const;
  Thread& thread(pid_t tid);
  void resume(pid_t tid, int sig = 0);

  bool kill_on_exit_;
  std::map<pid_t, Thread> threads_;
  std::map<pid_t, Proc> procs_;  // by tgid
  std::set<pid_t> seized_;       // processes we attached ourselves (detached at the end)
};

}  // namespace pm::sources
