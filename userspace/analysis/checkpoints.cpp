#include "analysis/checkpoints.h"

#include <algorithm>
#include <cerrno>
#include <optional>

#include "analysis/gunicorn_args.h"
#include "util/strings.h"

namespace pm::analysis {
namespace {

struct Phase {
  const char* name;
  std::optional<std::uint64_t> ts;
  std::string evidence;
  bool applies = true;
};

std::string pid_text(std::uint32_t pid) { return "pid " + std::to_string(pid); }

}  // namespace

const Checkpoint* Checkpoints::last_reached() const {
  const Checkpoint* last = nullptr;
  for (const auto& c : list)
    if (c.reached && (!last || c.ts_ns >= last->ts_ns)) last = &c;
  return last;
}

const Checkpoint* Checkpoints::failed() const {
  for (const auto& c : list)
    if (c.failed) return &c;
  return nullptr;
}

Checkpoints infer_checkpoints(const Aggregator& agg, bool service_failed) {
  // The service's first exec, and its gunicorn master if it has one.
  // A service already running when tracing began (attach) started before
  // it: its master, or its first process, from /proc.
  const Process* first = nullptr;
  const Process* master = nullptr;
  const Process* before = agg.running_before_tracing();
  auto since = [](const Process& p) { return p.exec_ns.value_or(p.first_ns); };
  for (const auto& [pid, p] : agg.processes()) {
    if (p.exec_ns && (!first || *p.exec_ns < *first->exec_ns)) first = &p;
    if (p.role == Role::gunicorn_master && (!master || since(p) < since(*master))) master = &p;
  }
  // Phases a running master went through before tracing began.
  const bool master_before = master && master->running_before && !master->exec_ns;
  const std::uint64_t t0 = agg.start_ns();
  const std::string already = "before tracing began (" + std::string(master ? "the gunicorn master" : "the service") +
                              (before ? ", " + pid_text(before->pid) : std::string()) + ", was already running)";

  Phase started{"started", {}, {}};
  if (before) {
    started.ts = t0;
    started.evidence = already;
  } else if (first) {
    started.ts = *first->exec_ns;
    started.evidence = "exec " + first->exe + " (" + pid_text(first->pid) + ")";
  }

  Phase config{"configuration read", {}, {}, master != nullptr};
  Phase imported{"application imported", {}, {}, master != nullptr};
  Phase workers{"workers booted", {}, {}, master != nullptr};
  Phase listening{"port listening", {}, {}};
  Phase database{"database connected", {}, {}, false};
  Phase serving{"serving", {}, {}};
  bool preload = master && parse_gunicorn_args(master->argv).preload;

  if (master) {
    for (const auto& b : agg.binds()) {
      if (b.hdr.pid != master->pid) continue;
      config.ts = b.hdr.ts_ns;
      config.evidence = "the master binds " + b.as<model::Bind>()->addr.to_string() +
                        " after reading its configuration and opening its log files";
      if (preload) {
        imported.ts = b.hdr.ts_ns;
        imported.evidence = "--preload: the master imports the app before it binds";
      }
      break;
    }
    // With --preload the import (and any database connect in it) comes
    // before the bind, and the configuration before the import.
    if (preload)
      for (const auto& c : agg.connects())
        if (c.hdr.pid == master->pid && (!config.ts || c.hdr.ts_ns < *config.ts)) {
          config.ts = c.hdr.ts_ns;
          config.evidence = "the master connects out while importing the app (--preload), after reading its "
                            "configuration";
          break;
        }
    if (master_before && !config.ts) {
      // It had read its configuration, bound, and (with --preload) imported the app.
      config.ts = t0;
      config.evidence = already;
      if (preload) {
        imported.ts = t0;
        imported.evidence = already;
      }
    }
    std::vector<std::pair<std::uint64_t, std::uint32_t>> beats;
    for (const auto& [pid, p] : agg.processes())
      if (p.role == Role::gunicorn_worker && p.ppid == master->pid && p.heartbeat_ns)
        beats.emplace_back(*p.heartbeat_ns, pid);
    std::sort(beats.begin(), beats.end());
    if (!preload && !beats.empty()) {
      imported.ts = beats.front().first;
      imported.evidence = "worker " + pid_text(beats.front().second) + " booted (first heartbeat)";
    }
    unsigned want = parse_gunicorn_args(master->argv).workers;
    unsigned running_workers = 0;
    for (const auto& [pid, p] : agg.processes())
      running_workers += p.role == Role::gunicorn_worker && p.ppid == master->pid && p.running_before;
    if (master_before && beats.size() < want && running_workers > 0) {
      // Its workers were serving already: booted before tracing began.
      if (!imported.ts) {
        imported.ts = t0;
        imported.evidence = already;
      }
      workers.ts = t0;
      workers.evidence = std::to_string(running_workers) + " workers running " + already.substr(0, already.find(" ("));
    } else if (beats.size() >= want) {
      workers.ts = beats[want - 1].first;
      workers.evidence = std::to_string(want) + " of " + std::to_string(want) + " workers sent their first heartbeat";
    } else {
      workers.evidence = std::to_string(beats.size()) + " of " + std::to_string(want) + " workers booted";
    }
  }

  for (const auto& l : agg.listens()) {
    listening.ts = l.hdr.ts_ns;
    listening.evidence = "listening on " + l.as<model::Listen>()->addr.to_string() + " (" + pid_text(l.hdr.pid) + ")";
    break;
  }
  if (!listening.ts && master_before) {
    listening.ts = t0;  // a gunicorn master binds before it forks a worker
    listening.evidence = already;
  }

  // Database: applies once the service tries one; reached at the first success.
  auto db_success = [&](const model::SockAddr& a, std::uint64_t ts, std::uint32_t pid) {
    std::string what;
    if (!agg.is_database(a, &what)) return;
    database.applies = true;
    if (!database.ts || ts < *database.ts) {
      database.ts = ts;
      database.evidence = what + " at " + a.to_string() + " (" + pid_text(pid) + ")";
    }
  };
  for (const auto& e : agg.connects()) {
    const auto* c = e.as<model::Connect>();
    if (agg.is_database(c->addr)) database.applies = true;
    if (c->err == 0) db_success(c->addr, e.hdr.ts_ns, e.hdr.pid);
  }
  for (const auto& e : agg.tcp_connects()) {
    const auto* t = e.as<model::TcpConnect>();
    if (t->established()) db_success(t->peer, e.hdr.ts_ns, e.hdr.pid);
  }

  for (const auto& m : agg.milestones()) {
    const auto* ms = m.as<model::Milestone>();
    if (ms->kind != model::MilestoneKind::accept) continue;
    if (!serving.ts || m.hdr.ts_ns < *serving.ts) {
      serving.ts = m.hdr.ts_ns;
      serving.evidence = "first connection accepted by " + pid_text(m.hdr.pid) +
                         (ms->peer.family ? " from " + ms->peer.to_string() : std::string());
    }
  }

  std::vector<Phase*> order;
  if (preload) order = {&started, &config, &imported, &database, &listening, &workers, &serving};
  else order = {&started, &config, &listening, &imported, &database, &workers, &serving};

  Checkpoints out;
  bool db_failed = database.applies && !database.ts;
  bool marked = false;
  for (Phase* ph : order) {
    if (!ph->applies) continue;
    Checkpoint c;
    c.name = ph->name;
    c.reached = ph->ts.has_value();
    c.ts_ns = ph->ts.value_or(0);
    c.evidence = ph->evidence;
    out.list.push_back(std::move(c));
  }
  if (service_failed) {
    // A database that never answered is what the phases after it wait on.
    for (auto& c : out.list) {
      if (c.reached) continue;
      if (db_failed && c.name != "database connected") continue;
      c.failed = true;
      marked = true;
      break;
    }
    if (!marked)
      for (auto& c : out.list)
        if (!c.reached) {
          c.failed = true;
          break;
        }
  }
  // Reached phases in time order, then the rest in the order they would come.
  std::stable_sort(out.list.begin(), out.list.end(), [](const Checkpoint& a, const Checkpoint& b) {
    if (a.reached != b.reached) return a.reached;
    return a.reached && a.ts_ns < b.ts_ns;
  });
  return out;
}

}  // namespace pm::analysis
