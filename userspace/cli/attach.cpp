// pmtrace attach TARGET: a pid, a systemd unit or a process name; waits for a
// unit or name that is not running yet and follows it across restarts.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/session.h"
#include "investigation/end_rules.h"
#include "model/clock.h"
#include "target/cgroup.h"
#include "target/procfs.h"
#include "target/unit.h"
#include "util/strings.h"

namespace pm::cli {

int cmd_attach(const AttachOptions& opts) {
  if (opts.target.empty()) return report_error(make_error("attach needs a target: a pid, a unit or a process name"));
  auto settle_ms = parse_duration_ms(opts.settle);
  if (!settle_ms) return report_error(make_error("--settle takes a duration such as 3s or 500ms"));
  std::optional<long long> duration_ms;
  if (!opts.duration.empty()) {
    duration_ms = parse_duration_ms(opts.duration);
    if (!duration_ms) return report_error(make_error("--duration takes a duration such as 30s, 500ms or 2m"));
  }

  target::Procfs procfs;
  std::string kind = opts.kind;
  auto numeric = parse_int(opts.target);
  if (kind == "auto") {
    if (numeric) {
      kind = "pid";
    } else if (!opts.target.empty() && opts.target[0] == '/') {
      kind = "cgroup";
    } else if (target::has_unit_suffix(opts.target)) {
      kind = "unit";
    } else {
      // A bare word is a unit if systemd (or a unit file, or its cgroup) knows
      // it, else a process name if one runs, else both are waited for.
      auto scope = unit_scope(opts.target);
      if (scope && !scope->name_only) kind = "unit";
      else if (!procfs.by_name(opts.target).empty()) kind = "name";
      else kind = "unit-or-name";
    }
  }

  sources::BpfConfig cfg;
  std::vector<std::uint32_t> seeds;
  std::optional<UnitScope> unit;
  std::string described;
  bool end_with_tree = false;
  if (kind == "pid") {
    if (!numeric || *numeric <= 0) return report_error(make_error("'" + opts.target + "' is not a pid"));
    auto pid = static_cast<std::uint32_t>(*numeric);
    if (!procfs.exists(pid)) return report_error(make_error("no such pid " + opts.target + " (the process is not running)"));
    seeds = procfs.tree(pid);
    cfg.pids = seeds;
    end_with_tree = true;
    described = "pid " + opts.target;
    spdlog::info("attaching to pid {} and {} descendants", pid, seeds.size() - 1);
  } else if (kind == "unit" || kind == "unit-or-name") {
    auto scope = unit_scope(opts.target);
    if (!scope) return report_error(scope.error());
    if (auto r = add_unit_to_scope(*scope, cfg); !r) return report_error(r.error());
    unit = *scope;
    seeds = cfg.pids;
    described = "unit " + scope->unit;
    if (kind == "unit-or-name") {
      cfg.comms.push_back(opts.target);
      described += " or process name " + opts.target;
    }
    if (scope->name_only)
      spdlog::info("{}: waiting for a cgroup {} to be created anywhere in the cgroup tree (a transient unit, a "
                   "container's unit){}",
                   scope->why_unknown, scope->unit,
                   kind == "unit-or-name" ? ", or a process named " + opts.target : std::string());
    else if (scope->exists)
      spdlog::info("attaching to unit {} (cgroup {}, {} processes)", scope->unit, scope->dir, seeds.size());
    else
      spdlog::info("waiting for unit {} to start (its cgroup {} does not exist yet)", scope->unit, scope->dir);
  } else if (kind == "cgroup") {
    auto scope = cgroup_scope(opts.target);
    if (!scope) return report_error(scope.error());
    if (auto r = add_unit_to_scope(*scope, cfg); !r) return report_error(r.error());
    unit = *scope;
    seeds = cfg.pids;
    described = "cgroup " + scope->rel + " (unit " + scope->unit + ")";
    if (scope->exists)
      spdlog::info("attaching to cgroup {} of unit {} ({} processes)", scope->dir, scope->unit, seeds.size());
    else
      spdlog::info("waiting for cgroup {} to be created (unit {} not started yet)", scope->dir, scope->unit);
  } else if (kind == "name") {
    seeds = procfs.by_name(opts.target);
    cfg.pids = seeds;
    cfg.comms.push_back(opts.target);
    described = "process name " + opts.target;
    if (seeds.empty())
      spdlog::info("no unit or process named {} yet: waiting for a process named {} to start", opts.target,
                   opts.target);
    else
      spdlog::info("attaching to {} processes named {}", seeds.size(), opts.target);
  } else {
    return report_error(make_error("unknown target kind '" + kind + "' (pid, unit, name or cgroup)"));
  }

  SessionOptions so;
  if (auto r = apply_common(opts.common, so); !r) return report_error(r.error());
  install_stop_handlers();
  auto t0 = model::Clock::monotonic_ns();
  auto src = open_source(cfg, opts.common, kind == "pid", false);
  if (!src) return report_error(src.error());
  if ((*src)->backend() == sources::Backend::ptrace)
    for (auto pid : seeds)
      if (auto r = (*src)->track_pid(pid); !r) return report_error(r.error());
  // Processes that appeared between reading /proc and the probes attaching
  // (a worker gunicorn forked meanwhile) left no fork event: read again now
  // that everything new is seen, and track them too.
  {
    std::vector<std::uint32_t> now;
    if (kind == "pid") now = procfs.tree(static_cast<std::uint32_t>(*numeric));
    else if (unit && unit->exists) now = target::cgroup_procs(unit->dir);
    for (auto pid : now) {
      if (std::find(seeds.begin(), seeds.end(), pid) != seeds.end()) continue;
      if (auto r = (*src)->track_pid(pid); !r) spdlog::debug("{}", r.error().describe());
      seeds.push_back(pid);
    }
    std::sort(seeds.begin(), seeds.end());  // parents (lower pids, usually) adopted first
  }

  report::RunInfo info;
  info.mode = "attach";
  info.target = described;
  info.backend = (*src)->name();
  info.clock = model::Clock::now();
  info.start_ns = model::Clock::monotonic_ns();
  spdlog::info("tracing ready in {} ms", (info.start_ns - t0) / 1000000);

  so.deadline_ms = duration_ms;
  so.deadline_reason = "--duration reached";
  Session session(**src, info, std::move(so));
  if (unit) session.add_unit_context(unit->unit, unit->id, unit->root_holder);
  for (auto pid : seeds) session.seed(pid);

  std::uint64_t last_prune = 0, last_probe = 0;
  // The same end rules as run decide when to say the service has started.
  investigation::EndRules end_rules;
  investigation::EndInputs in;
  in.start_ns = info.start_ns;
  in.settle_ns = static_cast<std::uint64_t>(*settle_ms) * 1000000ull;
  bool said_started = false;
  const investigation::SyscallProbe probe = [&](std::uint32_t pid) { return procfs.syscall_of(pid); };
  std::string reason = session.run([&]() -> std::optional<std::string> {
    auto now = model::Clock::monotonic_ns();
    if (now - last_prune > 500000000ull) {
      session.prune_gone(procfs);
      last_prune = now;
    }
    auto& t = session.table();
    if (!said_started && t.listening()) {
      if (now - last_probe > 200000000ull) {
        in.busy = investigation::in_flight(session.investigation().aggregator(), probe);
        last_probe = now;
      }
      in.now_ns = now;
      in.live = t.live_count();
      in.listening = true;
      in.last_event_ns = t.last_event_ns();
      if (end_rules.check(in)) {
        said_started = true;
        spdlog::info("the service has started: listening, and quiet for {} (Ctrl-C prints the report)", opts.settle);
      }
    }
    if (end_with_tree && t.live_count() == 0) return "every traced process exited";
    return std::nullopt;
  });
  return session.finish(reason);
}

}  // namespace pm::cli
