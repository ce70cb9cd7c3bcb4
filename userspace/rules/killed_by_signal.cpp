// Rule: the service was stopped or killed by a signal someone sent it. Who
// sent it (PID 1, its supervisor, the kernel, another process, an operator's
// kill), how long after the start, the cascade (the gunicorn master passing
// SIGTERM on to its workers, their exits) and what to change for that sender.
// Signals the gunicorn master sends its own workers are the cascade or the
// worker-timeout rule; OOM kills are the oom-kill rule.
#include <csignal>
#include <map>
#include <set>

#include "analysis/service.h"
#include "model/names.h"
#include "rules/finding.h"

namespace pm::rules {
namespace {


bool is_oom_victim(const analysis::Aggregator& agg, std::uint32_t pid) {
  for (const auto& e : agg.oom_victims())
    if (e.as<model::OomVictim>()->victim_pid == pid) return true;
  return false;
}

std::string what_to_change(const Sender& s, int sig) {
  switch (s.kind) {
    case SenderKind::service_manager:
      return "systemd sends SIGTERM when a start times out (TimeoutStartSec=, 90 s by default; with Type=notify "
             "gunicorn >= 20 must send READY=1 itself: run gunicorn directly or with `exec` in a wrapper, or set "
             "NotifyAccess=all; or use Type=exec), when the unit is stopped or restarted, or when WatchdogSec= "
             "expires. Check which: `journalctl -u UNIT` around that time and `systemctl show -p Result UNIT` "
             "('timeout' is the start timeout)";
    case SenderKind::supervisor:
      return "the process that started the service stopped it: check its start or health-check timeout "
             "(supervisord startsecs/stopwaitsecs, a deploy script's wait, a platform's boot timeout for $PORT) "
             "and what it expects from the service (a port open in time, a ready file, a pid file)";
    case SenderKind::kernel:
      if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE)
        return "the process crashed in native code: run it with PYTHONFAULTHANDLER=1 to get the Python stack, and "
               "check the versions of compiled extensions (psycopg2, lxml, numpy) against the interpreter";
      if (sig == SIGXCPU || sig == SIGXFSZ) return "a resource limit was hit (LimitCPU=/LimitFSIZE=, ulimit): raise it";
      return "the kernel killed it without an OOM record: look for cgroup.kill, a CPU or file-size limit, or a "
             "ptrace/seccomp policy";
    case SenderKind::operator_tool:
      return "nothing, if the stop was intended";
    default:
      return "find out why that process signals the service (its command line is above) and stop it from doing so";
  }
}

// A stop from outside the service: not the master to its workers, not a
// process to itself, not the OOM killer's kill, not a gunicorn reload (HUP).
bool outside_stop(const analysis::Aggregator& agg, const model::Event& g, Sender& sender) {
  const auto* s = g.as<model::SignalGenerate>();
  if (!model::terminating_signal(s->sig)) return false;
  const analysis::Process* target = agg.process(s->target_pid);
  if (!target) return false;  // not one of the traced processes
  if (s->sig == SIGHUP && (target->role == analysis::Role::gunicorn_master || !target->exit)) return false;
  sender = signal_sender(agg, g);
  if (sender.kind == SenderKind::gunicorn_master || sender.kind == SenderKind::self) return false;
  if (sender.kind == SenderKind::kernel && s->sig == SIGKILL && is_oom_victim(agg, s->target_pid)) return false;
  if (is_start_timeout(agg, g)) return false;  // the start-timeout rule's
  // A process inside the service signalling a sibling is not a stop from outside.
  return !(agg.process(sender.pid) && sender.kind == SenderKind::other);
}

}  // namespace

std::vector<Finding> killed_by_signal(const analysis::Aggregator& agg) {
  // One stop is one finding: systemd's KillMode=control-group signals every
  // process of the unit at once. Per sender and signal, report the top-most
  // target (the gunicorn master when it is one of them).
  struct Stop {
    Sender sender;
    model::Event event;
  };
  std::vector<Stop> stops;
  std::map<std::pair<std::uint32_t, int>, std::uint32_t> chosen;
  std::map<std::pair<std::uint32_t, int>, std::vector<model::Event>> group;
  auto key_of = [](const Stop& st) {
    const auto* s = st.event.as<model::SignalGenerate>();
    return std::make_pair(st.sender.kind == SenderKind::kernel ? s->target_pid : st.sender.pid, s->sig);
  };
  for (const auto& g : agg.signals()) {
    Sender sender;
    if (!outside_stop(agg, g, sender)) continue;
    stops.push_back({sender, g});
    const auto* s = g.as<model::SignalGenerate>();
    auto key = key_of(stops.back());
    group[key].push_back(g);
    auto it = chosen.find(key);
    const analysis::Process* t = agg.process(s->target_pid);
    if (it == chosen.end()) {
      chosen[key] = s->target_pid;
    } else if (t && t->role == analysis::Role::gunicorn_master) {
      it->second = s->target_pid;
    } else if (const analysis::Process* cur = agg.process(it->second); cur && t && cur->ppid == t->pid) {
      it->second = s->target_pid;  // its parent was signalled too: report the parent
    }
  }

  std::vector<Finding> out;
  std::set<std::uint32_t> targets_done;
  auto scope = analysis::service_scope(agg);
  std::uint64_t serving = analysis::serving_since(agg, scope);
  std::uint64_t up = analysis::up_since(agg, scope);
  for (const auto& st : stops) {
    const Sender& sender = st.sender;
    const model::Event& g = st.event;
    const auto* s = g.as<model::SignalGenerate>();
    auto key = key_of(st);
    if (chosen[key] != s->target_pid) continue;
    const analysis::Process* target = agg.process(s->target_pid);
    if (!targets_done.insert(s->target_pid).second) continue;

    Finding f;
    f.ts_ns = g.hdr.ts_ns;
    f.rank = sender.kind == SenderKind::kernel ? rank::kernel_kill : rank::consequence;
    // On purpose: an operator's command at any time; the command pmtrace
    // ran once the service was serving; the service manager's stop job once
    // the service was up. A supervisor killing a serving service (a health
    // check) is still a failure.
    std::string on_purpose;
    if (sender.kind == SenderKind::operator_tool) on_purpose = "an operator's stop, on purpose";
    else if (sender.kind == SenderKind::service_manager &&
             ((serving && serving <= g.hdr.ts_ns) || (agg.unit_context() && up && up <= g.hdr.ts_ns)))
      // Serving, or up while the unit's settings say this was no start
      // timeout (that is the start-timeout rule's): a stop job. Without the
      // settings, a stop of a service that never served may be a start
      // timeout: it stays a failure.
      on_purpose = "the service manager's stop job after the service was up, on purpose";
    else if (sender.wrapped && serving && serving <= g.hdr.ts_ns)
      on_purpose = "the command pmtrace ran stopped it after it had served requests, on purpose";
    f.severity = on_purpose.empty() ? Severity::failure : Severity::info;

    // Workers running at that moment (forked, not yet exited).
    unsigned workers = 0, booted = 0;
    for (const auto& [pid, p] : agg.processes()) {
      if (p.role != analysis::Role::gunicorn_worker || p.ppid != target->pid) continue;
      if (p.first_ns > g.hdr.ts_ns || (p.exit && p.exit_ns < g.hdr.ts_ns)) continue;
      ++workers;
      if (p.heartbeat_ns && *p.heartbeat_ns <= g.hdr.ts_ns) ++booted;
    }

    f.title = describe_process(*target) + " " + (s->sig == SIGKILL ? "killed" : "stopped") + " by " +
              model::signal_name(s->sig) + " from " + sender.text + " " + after_start_text(agg, g.hdr.ts_ns);
    if (workers) f.title += ", while " + std::to_string(workers) + " worker" + (workers > 1 ? "s were" : " was") + " running";
    if (!on_purpose.empty()) f.title += " (" + on_purpose + ")";

    // The evidence: the signal (and the same sender's signals to the rest of
    // the service), the cascade to the target's children, their ends and the
    // target's own end.
    for (const auto& same : group[key])
      if (f.evidence.size() < 6) f.evidence.push_back(same);
    for (const auto& e : agg.signals()) {
      if (e.hdr.ts_ns <= g.hdr.ts_ns || e.hdr.pid != target->pid || f.evidence.size() >= 8) continue;
      const auto* c = e.as<model::SignalGenerate>();
      const analysis::Process* child = agg.process(c->target_pid);
      if (child && child->ppid == target->pid) f.evidence.push_back(e);
    }
    std::size_t cascade = f.evidence.size() - 1;
    for (const auto& [pid, p] : agg.processes())
      if (p.ppid == target->pid && p.exit && p.exit_ns >= g.hdr.ts_ns && f.evidence.size() < 12)
        f.evidence.push_back(exit_event(p));
    if (target->exit) f.evidence.push_back(exit_event(*target));
    sort_by_time(f.evidence);

    if (const analysis::Process* sp = agg.process(sender.pid); sp && !sp->argv.empty()) {
      std::string argv;
      for (const auto& a : sp->argv) argv += (argv.empty() ? "" : " ") + a;
      f.facts.push_back("sender's command line: " + argv);
    }
    f.facts.push_back("sender uid " + std::to_string(g.hdr.uid) + ", parent pid " + std::to_string(g.hdr.ppid));
    if (workers)
      f.facts.push_back(std::to_string(booted) + " of " + std::to_string(workers) +
                        " running workers had booted (sent a heartbeat) by then");
    if (cascade)
      f.facts.push_back("cascade: the master passed the signal on to " + std::to_string(cascade) + " worker signal" +
                        (cascade > 1 ? "s" : ""));
    if (target->exit)
      f.facts.push_back("it then " + std::string(target->exit->signal() ? "died of " + model::signal_name(target->exit->signal())
                                                                      : "exited with code " + std::to_string(target->exit->code())) +
                        " " + after_start_text(agg, target->exit_ns));

    switch (sender.kind) {
      case SenderKind::kernel:
        f.explanation = "The kernel sent " + model::signal_name(s->sig) + " itself (si_code " +
                        model::si_code_name(s->code) + "): a fault or a resource limit, not a process asking.";
        break;
      case SenderKind::operator_tool:
        f.explanation = "An operator's command (" + sender.text + ") sent the signal: a deliberate stop. gunicorn "
                        "answers SIGTERM with a graceful shutdown of its workers.";
        break;
      case SenderKind::service_manager:
        if (!on_purpose.empty()) {
          f.explanation = "The service was up (since " + seconds_text(seconds_since_start(agg, up)) + " after start) when " +
                          sender.text + " stopped it: a stop or restart job (systemctl stop, restart, a reload that "
                          "restarts), not the start timeout.";
          break;
        }
        [[fallthrough]];
      default:
        f.explanation = "Nothing inside the service asked to stop: " + sender.text + " sent " +
                        model::signal_name(s->sig) + ". " +
                        (target->role == analysis::Role::gunicorn_master
                             ? "gunicorn answers SIGTERM/SIGINT/SIGQUIT by stopping its workers and exiting, "
                               "so the whole service went down with it."
                             : "");
        break;
    }
    if (!on_purpose.empty() && sender.kind != SenderKind::operator_tool && sender.kind != SenderKind::service_manager)
      f.explanation = "The service had served requests (from " + seconds_text(seconds_since_start(agg, serving)) +
                      " after start) when " + sender.text + ", the command pmtrace ran, stopped it: a deliberate stop.";
    f.fix = on_purpose.empty() ? what_to_change(sender, s->sig) : "nothing, if the stop was intended";
    // A stop by systemd that was no stop job is its start timeout: doctor's
    // notify and start-timeout checks find that before a start.
    if (on_purpose.empty() && sender.kind == SenderKind::service_manager)
      f.preflight = {CheckId::notify, CheckId::start_timeout};
    out.push_back(std::move(f));
  }
  return out;
}

PM_RULE(killed_by_signal, "killed-by-signal", Severity::failure, rank::consequence, {})

}  // namespace pm::rules
