#include "analysis/process_table.h"

namespace pm::analysis {

void ProcessTable::seed(std::uint32_t pid, std::string comm) {
  live_[pid] = std::move(comm);
  seen_.insert(pid);
  exited_.erase(pid);
}

void ProcessTable::forget(std::uint32_t pid) {
  live_.erase(pid);
  exited_.insert(pid);
}

std::vector<std::uint32_t> ProcessTable::live_pids() const {
  std::vector<std::uint32_t> out;
  for (const auto& [pid, comm] : live_) out.push_back(pid);
  return out;
}

void ProcessTable::on_event(const model::Event& e) {
  using model::EventType;
  last_event_ns_ = e.hdr.ts_ns;
  std::uint32_t pid = e.hdr.pid;
  switch (e.hdr.type) {
    case EventType::fork:
      seed(e.as<model::Fork>()->child_pid, e.hdr.comm);
      break;
    case EventType::exec:
      seed(pid, e.hdr.comm);
      break;
    case EventType::exit: {
      const auto* x = e.as<model::Exit>();
      live_.erase(pid);
      exited_.insert(pid);
      seen_.insert(pid);
      if (x->failed()) failures_.push_back({pid, e.hdr.comm, *x, e.hdr.ts_ns});
      break;
    }
    case EventType::listen:
      listening_ = true;
      [[fallthrough]];
    default:
      // Events from a process we had not seen (adopted through its cgroup)
      // make it live; events after its exit (the SIGCHLD it sends its parent,
      // a socket closing) do not revive it.
      if (e.hdr.type != EventType::signal_generate && e.hdr.type != EventType::tcp_connect &&
          e.hdr.type != EventType::oom_victim && e.hdr.type != EventType::cgroup_adopt &&
          !exited_.count(pid) && !live_.count(pid))
        seed(pid, e.hdr.comm);
      break;
  }
}

}  // namespace pm::analysis
