#include "analysis/service.h"

#include <algorithm>

namespace pm::analysis {
namespace {

// The traced processes that descend from one already in `set` join it.
void close_over_children(const Aggregator& agg, std::set<std::uint32_t>& set) {
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& [pid, p] : agg.processes())
      if (!set.count(pid) && p.ppid != pid && set.count(p.ppid)) grew = set.insert(pid).second || grew;
  }
}

}  // namespace

ServiceScope service_scope(const Aggregator& agg) {
  ServiceScope s;
  const auto& procs = agg.processes();
  if (!agg.units().empty()) {
    for (const auto& [pid, p] : procs)
      if (agg.in_traced_unit(p)) s.service.insert(pid);
    if (!s.service.empty()) s.basis = "unit " + agg.units().front();
  }
  bool gunicorn = false;
  for (const auto& [pid, p] : procs)
    if (p.role == Role::gunicorn_master || p.role == Role::gunicorn_worker) {
      gunicorn |= s.service.insert(pid).second;
    }
  if (s.basis.empty() && gunicorn) s.basis = "gunicorn";
  if (s.service.empty()) {
    for (const auto& e : agg.listens()) s.service.insert(e.hdr.pid);
    if (!s.service.empty()) s.basis = "listening processes";
  }
  if (s.service.empty()) {
    for (const auto& [pid, p] : procs) s.service.insert(pid);
    s.basis = "every traced process";
  }
  close_over_children(agg, s.service);
  for (const auto& [pid, p] : procs)
    if (!s.service.count(pid)) s.helpers.insert(pid);

  // The main process: the earliest service process whose parent is not one.
  const Process* main = nullptr;
  for (auto pid : s.service) {
    const Process* p = agg.process(pid);
    if (!p || s.service.count(p->ppid)) continue;
    if (!main || p->first_ns < main->first_ns) main = p;
  }
  if (main) {
    s.main_pid = main->pid;
    // Its starter is a service manager when the service is a unit's and the
    // starter lives outside it (PID 1, a container's systemd, a manager
    // that forked it into the unit's cgroup).
    const Process* parent = agg.process(main->ppid);
    bool manager = main->ppid == 1 || (parent && parent->role == Role::service_manager) ||
                   (!agg.units().empty() && agg.in_traced_unit(*main) && (!parent || !agg.in_traced_unit(*parent)));
    if (manager && main->ppid != 0) s.manager_pid = main->ppid;
  }
  return s;
}

std::uint64_t serving_since(const Aggregator& agg, const ServiceScope& scope) {
  std::uint64_t t = 0;
  for (auto pid : scope.service)
    if (const Process* p = agg.process(pid); p && p->accept_ns && (!t || *p->accept_ns < t)) t = *p->accept_ns;
  return t;
}

std::uint64_t up_since(const Aggregator& agg, const ServiceScope& scope) {
  if (auto t = serving_since(agg, scope)) return t;
  std::uint64_t listening = 0;
  for (const auto& e : agg.listens())
    if (scope.is_service(e.hdr.pid) && (!listening || e.hdr.ts_ns < listening)) listening = e.hdr.ts_ns;
  if (!listening) return 0;
  // A gunicorn is up once a worker has booted; anything else once it listens.
  std::uint64_t booted = 0;
  bool workers = false;
  for (auto pid : scope.service) {
    const Process* p = agg.process(pid);
    if (!p || p->role != Role::gunicorn_worker) continue;
    workers = true;
    if (p->heartbeat_ns && (!booted || *p->heartbeat_ns < booted)) booted = *p->heartbeat_ns;
  }
  if (!workers) return listening;
  return booted ? std::max(booted, listening) : 0;
}

}  // namespace pm::analysis
