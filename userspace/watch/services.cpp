#include "watch/services.h"

#include <signal.h>

#include "model/names.h"
#include "util/strings.h"

namespace pm::watch {
namespace {

bool terminating(int sig) {
  return sig == SIGTERM || sig == SIGINT || sig == SIGQUIT || sig == SIGKILL || sig == SIGHUP;
}

}  // namespace

unsigned Service::recent_starts(std::uint64_t now_ns, std::uint64_t window_ns) const {
  unsigned n = 0;
  for (auto t : starts)
    if (now_ns < t + window_ns) ++n;
  return n;
}

void ServiceTracker::watch_unit(const std::string& unit, const std::string& cgroup_rel,
                                std::optional<std::uint64_t> id) {
  unit_paths_[cgroup_rel] = unit;
  if (id) unit_ids_[*id] = unit;
}

std::string ServiceTracker::unit_of_cgroup(std::uint64_t id) const {
  auto it = unit_ids_.find(id);
  return it == unit_ids_.end() ? "" : it->second;
}

bool ServiceTracker::name_matches(const std::string& comm, const std::vector<std::string>& argv) const {
  for (const auto& n : names_)
    if (model::process_named(n, comm, argv)) return true;
  return false;
}

Service* ServiceTracker::service_for(const std::string& key, const std::string& unit) {
  auto it = services_.find(key);
  if (it != services_.end()) return it->second.get();
  if (services_.size() >= limits_.max_services) {
    if (refused_.size() < 4096 && refused_.insert(key).second) ++untracked_services_;
    return nullptr;
  }
  auto s = std::make_unique<Service>(limits_.window_bytes);
  s->key = key;
  s->unit = unit;
  auto* raw = s.get();
  services_.emplace(key, std::move(s));
  new_services_.push_back(key);
  return raw;
}

void ServiceTracker::seed(std::uint32_t pid, std::uint32_t ppid, std::uint64_t cgroup_id,
                          const std::vector<std::string>& argv, const std::string& comm) {
  std::string key, unit = unit_of_cgroup(cgroup_id);
  auto parent = procs_.find(ppid);
  if (!unit.empty()) key = "unit " + unit;
  else if (parent != procs_.end()) key = parent->second.service;
  else if (name_matches(comm, argv)) key = join(argv, " ");
  if (key.empty() || !service_for(key, unit)) return;
  Proc p;
  p.service = key;
  p.ppid = ppid;
  p.root = parent == procs_.end() || parent->second.service != key;
  if (p.root && !other_root_alive(key, pid)) {
    // Running when the watch began: its first start (not timed).
    p.counted = true;
    ++services_.at(key)->starts_total;
  }
  procs_[pid] = p;
}

bool ServiceTracker::other_root_alive(const std::string& service, std::uint32_t pid) const {
  for (const auto& [other, p] : procs_)
    if (other != pid && p.root && p.service == service) return true;
  return false;
}

void ServiceTracker::trigger(Service& s, const std::string& kind, const std::string& what, std::uint64_t ts) {
  // A second trigger within the settle time, before the service started
  // again, is the same failure's cascade (the master exiting as its worker
  // is OOM-killed): merged into the first, handed out already or not.
  bool restarted_since = !s.starts.empty() && s.starts.back() > s.last_trigger_ns;
  if (s.last_trigger_ns && !restarted_since && ts < s.last_trigger_ns + limits_.settle_ns) return;
  s.pending.push_back(Trigger{kind, what, ts});
  s.last_trigger_ns = ts;
  s.run_triggered = true;
}

void ServiceTracker::started(Service& s, std::uint64_t ts, std::uint32_t pid) {
  // Another main process still running (systemctl reload's ExecReload=, a
  // helper systemd runs in the unit): not a start of the service.
  if (other_root_alive(s.key, pid)) return;
  ++s.starts_total;
  s.starts.push_back(ts);
  while (!s.starts.empty() && s.starts.front() + limits_.restart_window_ns <= ts) s.starts.pop_front();
  // A loop of runs that each failed is already one incident with a count; a
  // loop of runs that each ended quietly (exit 0, restarted at once) is one
  // too, explained on the run before this start.
  bool quiet_run = !s.run_triggered && s.starts_total > 1;
  s.run_triggered = false;
  if (quiet_run && s.starts.size() > limits_.restart_limit)
    trigger(s, "restart-loop",
            "started " + std::to_string(s.starts.size()) + " times in " +
                std::to_string(limits_.restart_window_ns / 1000000000ull) + "s",
            ts - 1);
  s.run_triggered = false;  // that trigger is the last run's
}

Service* ServiceTracker::on_event(const model::Event& e) {
  const auto pid = e.hdr.pid;
  if (const auto* c = e.as<model::CgroupAdopt>()) {
    // A unit's cgroup (re-)created: its new id belongs to the unit.
    for (const auto& [path, unit] : unit_paths_)
      if (c->path == path || ends_with(c->path, path)) unit_ids_[c->cgroup_id] = unit;
  }

  auto it = procs_.find(pid);
  // A process that has exited still sends (its SIGCHLD to its parent comes
  // after its exit record): that does not bring it back.
  bool gone = it == procs_.end() && exited_set_.count(pid) && !e.as<model::Exec>();
  if (it == procs_.end() && !gone) {
    // A process not seen yet: in a watched unit's cgroup, or a name that is
    // watched when it execs (or a child of one that is, already handled at fork).
    std::string unit = unit_of_cgroup(e.hdr.cgroup_id);
    std::string key;
    const auto* x = e.as<model::Exec>();
    if (!unit.empty()) key = "unit " + unit;
    else if (auto parent = procs_.find(e.hdr.ppid); parent != procs_.end()) key = parent->second.service;
    else if (x && name_matches(e.hdr.comm, x->argv)) key = join(x->argv, " ");
    if (!key.empty() && service_for(key, unit)) {
      Proc p;
      p.service = key;
      p.ppid = e.hdr.ppid;
      auto parent = procs_.find(e.hdr.ppid);
      p.root = parent == procs_.end() || parent->second.service != key;
      it = procs_.emplace(pid, p).first;
    }
  }

  Service* s = nullptr;
  if (it != procs_.end()) s = services_.at(it->second.service).get();

  // A signal belongs to its target's service too (a supervisor outside it
  // sends the SIGTERM).
  if (const auto* g = e.as<model::SignalGenerate>()) {
    auto t = procs_.find(g->target_pid);
    if (t != procs_.end()) {
      Service* ts = services_.at(t->second.service).get();
      bool outside = it == procs_.end() || it->second.service != t->second.service;
      if (outside && terminating(g->sig)) {
        t->second.term_signal = std::make_pair(g->sig, g->from_kernel ? 0u : pid);
        t->second.term_ns = e.hdr.ts_ns;
      }
      if (ts != s) ts->window.push(e);
    }
  }
  if (const auto* o = e.as<model::OomVictim>()) {
    auto v = procs_.find(o->victim_pid);
    if (v != procs_.end()) {
      Service* vs = services_.at(v->second.service).get();
      if (vs != s) vs->window.push(e);
      trigger(*vs, "oom", "pid " + std::to_string(o->victim_pid) + " killed by the OOM killer", e.hdr.ts_ns);
    }
  }
  if (!s) return nullptr;
  s->window.push(e);
  Proc& p = it->second;

  if (const auto* f = e.as<model::Fork>()) {
    exited_set_.erase(f->child_pid);  // the pid is in use again
    Proc child;
    child.service = p.service;
    child.ppid = pid;
    procs_[f->child_pid] = child;
  } else if (const auto* x = e.as<model::Exec>()) {
    if (!p.root && s->unit.empty() && join(x->argv, " ") == s->key) {
      // A child exec'ing the service's own command is its new main process
      // (gunicorn's USR2 binary upgrade): its end is the service's end.
      p.root = true;
      p.counted = true;
    }
    if (p.root && !p.counted) {
      // One start per root process, however many times it execs (a wrapper
      // that execs the service is one start).
      p.counted = true;
      started(*s, e.hdr.ts_ns, pid);
    }
  } else if (const auto* d = e.as<model::SignalDeliver>()) {
    auto sender = procs_.find(d->sender_pid);
    if (d->sig == SIGABRT && !p.root && d->sender_pid == p.ppid && sender != procs_.end())
      trigger(*s, "worker-timeout", "worker " + std::to_string(pid) + " aborted by its master", e.hdr.ts_ns);
  } else if (const auto* x = e.as<model::Exit>()) {
    if (p.root) {
      if (x->signal())
        trigger(*s, "signal", "killed by " + model::signal_name(x->signal()), e.hdr.ts_ns);
      else if (x->code())
        trigger(*s, "exit", "exited with code " + std::to_string(x->code()), e.hdr.ts_ns);
      else if (p.term_signal)
        trigger(*s, "signal",
                "stopped after " + model::signal_name(p.term_signal->first) +
                    (p.term_signal->second ? " from pid " + std::to_string(p.term_signal->second) : " from the kernel"),
                e.hdr.ts_ns);
    }
    procs_.erase(it);
    remember_exit(pid);
  }
  return s;
}

void ServiceTracker::remember_exit(std::uint32_t pid) {
  if (!exited_set_.insert(pid).second) return;
  exited_.push_back(pid);
  if (exited_.size() > 4096) {
    exited_set_.erase(exited_.front());
    exited_.pop_front();
  }
}

std::vector<std::pair<Service*, Trigger>> ServiceTracker::due(std::uint64_t now_ns) {
  std::vector<std::pair<Service*, Trigger>> out;
  for (auto& [key, s] : services_) {
    while (!s->pending.empty() && now_ns >= s->pending.front().ts_ns + limits_.settle_ns) {
      out.emplace_back(s.get(), s->pending.front());
      s->pending.pop_front();
    }
  }
  return out;
}

std::vector<std::string> ServiceTracker::take_new_services() {
  std::vector<std::string> out;
  out.swap(new_services_);
  return out;
}

std::uint64_t ServiceTracker::dropped() const {
  std::uint64_t n = 0;
  for (const auto& [k, s] : services_) n += s->window.dropped();
  return n;
}

}  // namespace pm::watch
