#include "investigation/end_rules.h"

#include <csignal>

#include <algorithm>
#include <set>

#include "model/names.h"

namespace pm::investigation {
namespace {

// Where an idle process waits: a gunicorn worker between requests, a
// master's sleep, a parent waiting for children.
bool idle_call(const std::string& name) {
  static const std::set<std::string> idle = {"select",   "pselect6",     "poll",        "ppoll",      "epoll_wait",
                                             "epoll_pwait", "epoll_pwait2", "accept",     "accept4",    "wait4",
                                             "waitid",   "pause",        "rt_sigsuspend", "rt_sigtimedwait"};
  return idle.count(name) != 0;
}

bool read_call(const std::string& name) {
  return name == "read" || name == "readv" || name == "recvfrom" || name == "recvmsg" || name == "pread64";
}

std::string seconds(std::uint64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", ns / 1e9);
  return buf;
}

}  // namespace

std::vector<InFlight> in_flight(const analysis::Aggregator& agg, const SyscallProbe& probe) {
  std::vector<InFlight> out;
  std::set<std::uint32_t> seen;
  for (const auto& pc : agg.pending_connects()) {
    if (pc.process_ended || !agg.table().live(pc.start.hdr.pid)) continue;
    const auto* c = pc.start.as<model::Connect>();
    out.push_back({pc.start.hdr.pid, "connect() to " + c->addr.to_string() + " in flight since +" +
                                         seconds(pc.start.hdr.ts_ns - std::min(pc.start.hdr.ts_ns, agg.start_ns()))});
    seen.insert(pc.start.hdr.pid);
  }
  if (!probe) return out;
  for (auto pid : agg.table().live_pids()) {
    if (seen.count(pid)) continue;
    auto st = probe(pid);
    if (!st) continue;
    const analysis::Process* p = agg.process(pid);
    bool worker = p && p->role == analysis::Role::gunicorn_worker;
    if (st->running) {
      if (worker) out.push_back({pid, "gunicorn worker running on a CPU"});
      continue;
    }
    if (st->nr < 0) continue;
    std::string name = model::syscall_name(st->nr);
    if (name == "connect") {
      out.push_back({pid, "in connect()"});
    } else if (read_call(name) && p && p->fd_peers.count(static_cast<int>(st->args[0]))) {
      out.push_back({pid, "in " + name + "() from " + p->fd_peers.at(static_cast<int>(st->args[0])).to_string()});
    } else if (worker && !idle_call(name)) {
      out.push_back({pid, "gunicorn worker in " + name + "()"});
    }
  }
  return out;
}

std::uint64_t restart_due(const analysis::Aggregator& agg) {
  std::uint64_t due = 0;
  for (const auto& unit : agg.units()) {
    const analysis::UnitContext* u = agg.unit_context(unit);
    if (!u || !u->loaded || !u->restarts()) continue;
    const analysis::Process* last = nullptr;
    bool alive = false;
    for (const auto& [pid, p] : agg.processes()) {
      if (p.unit != unit) continue;
      if (!p.exit) alive = true;
      else if (!last || p.exit_ns > last->exit_ns) last = &p;
    }
    if (alive || !last) continue;
    if (!u->restarts_after(*last->exit)) continue;
    due = std::max<std::uint64_t>(due, last->exit_ns + static_cast<std::uint64_t>(u->restart_ms) * 1000000ull + 2000000000ull);
  }
  return due;
}

std::optional<std::string> EndRules::check(const EndInputs& in) {
  if (!in.busy.empty()) last_busy_ns_ = in.now_ns;
  if (in.now_ns < in.restart_due_ns) return std::nullopt;
  if (in.wrapped && !in.wrapped_running && in.live == 0) return "the command and every traced process exited";
  if (in.wrapped && in.wrapped_running && !in.wrapped_is_service) return std::nullopt;
  if (!in.busy.empty()) return std::nullopt;
  std::uint64_t quiet_from = std::max({in.last_event_ns, last_busy_ns_, in.start_ns});
  if (in.now_ns < quiet_from || in.now_ns - quiet_from < in.settle_ns) return std::nullopt;
  if (in.listening) return "the service is listening and settled";
  if (in.wrapped && !in.wrapped_running) return "the command exited and the service was quiet for --settle";
  return std::nullopt;
}

std::string EndRules::still_going(const EndInputs& in) const {
  std::vector<std::string> parts;
  if (in.wrapped && in.wrapped_running && !in.wrapped_is_service) parts.push_back("the command was still running");
  if (in.now_ns < in.restart_due_ns) parts.push_back("the unit's Restart= was about to start it again");
  for (const auto& b : in.busy) {
    if (parts.size() >= 4) break;
    parts.push_back("pid " + std::to_string(b.pid) + " " + b.what);
  }
  if (parts.empty() && in.live) parts.push_back(std::to_string(in.live) + " traced processes were running");
  std::string s;
  for (const auto& p : parts) s += (s.empty() ? "" : "; ") + p;
  return s;
}

}  // namespace pm::investigation
