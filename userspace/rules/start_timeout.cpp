// Rule: the unit's start timed out. For a unit whose start waits (Type=notify
// waits for READY=1, Type=forking for the fork), systemd sends KillSignal=
// (SIGTERM) to the service when TimeoutStartSec= (90 s by default) passes
// without it: "start operation timed out. Terminating." The signal itself
// says little; the reason is in the unit and the trace: what the main
// process was blocked in at that moment (a database connect still in flight
// under --preload), or why READY=1 could not arrive (gunicorn -D, a wrapper
// that keeps gunicorn as its child under NotifyAccess=main, a wrapper that
// drops NOTIFY_SOCKET). failure-facts.md, failure mode 3.
#include <algorithm>
#include <cmath>
#include <optional>

#include "analysis/gunicorn_args.h"
#include "analysis/service.h"
#include "model/names.h"
#include "rules/finding.h"
#include "util/strings.h"

namespace pm::rules {
namespace {

std::string span_text(long long ms) {
  if (ms % 1000) return seconds_text(ms / 1000.0);
  return std::to_string(ms / 1000) + " s";
}

// When the start job began: the earliest start of the service's processes.
std::uint64_t start_of(const analysis::Aggregator& agg, const analysis::ServiceScope& scope) {
  std::uint64_t t = 0;
  for (auto pid : scope.service)
    if (const auto* p = agg.process(pid); p && p->first_ns && (!t || p->first_ns < t)) t = p->first_ns;
  return t ? t : agg.start_ns();
}

bool is_shell(const std::string& comm) {
  static const char* shells[] = {"sh", "bash", "dash", "zsh", "ksh"};
  return std::any_of(std::begin(shells), std::end(shells), [&](const char* s) { return comm == s; });
}

const analysis::Process* gunicorn_master(const analysis::Aggregator& agg, const analysis::ServiceScope& scope) {
  for (auto pid : scope.service)
    if (const auto* p = agg.process(pid); p && p->role == analysis::Role::gunicorn_master) return p;
  return nullptr;
}

}  // namespace

bool is_start_timeout(const analysis::Aggregator& agg, const model::Event& g) {
  const analysis::UnitContext* u = agg.unit_context();
  if (!u || !u->start_waits() || !u->has_start_timeout()) return false;
  const auto* s = g.as<model::SignalGenerate>();
  if (!model::terminating_signal(s->sig)) return false;
  if (signal_sender(agg, g).kind != SenderKind::service_manager) return false;
  auto scope = analysis::service_scope(agg);
  if (!scope.is_service(s->target_pid)) return false;
  double after_ms = (static_cast<double>(g.hdr.ts_ns) - static_cast<double>(start_of(agg, scope))) / 1e6;
  double limit = static_cast<double>(u->timeout_start_ms);
  // systemd's timer starts with the start job, a little before the fork we see.
  double tolerance = std::max(1500.0, 0.05 * limit);
  return std::fabs(after_ms - limit) <= tolerance;
}

std::vector<Finding> start_timeout(const analysis::Aggregator& agg) {
  std::vector<Finding> out;
  const analysis::UnitContext* u = agg.unit_context();
  if (!u) return out;
  const model::Event* stop = nullptr;
  for (const auto& g : agg.signals())
    if (is_start_timeout(agg, g)) {
      stop = &g;
      break;
    }
  if (!stop) return out;
  auto scope = analysis::service_scope(agg);
  const auto* sg = stop->as<model::SignalGenerate>();
  const analysis::Process* main = agg.process(scope.main_pid ? scope.main_pid : sg->target_pid);
  const analysis::Process* master = gunicorn_master(agg, scope);
  const analysis::Process* blocked_proc = master ? master : main;
  double after = (stop->hdr.ts_ns - start_of(agg, scope)) / 1e9;

  Finding f;
  f.ts_ns = stop->hdr.ts_ns;
  bool notify = u->type == "notify" || u->type == "notify-reload";
  std::string waiting = notify ? "READY=1" : u->type == "forking" ? "the main process to fork and exit" : "the start to complete";
  f.title = "the start of " + u->name + " timed out after " + seconds_text(after) + " waiting for " + waiting +
            " (Type=" + u->type + ", TimeoutStartSec=" + span_text(u->timeout_start_ms) + "): the service manager sent " +
            model::signal_name(sg->sig);

  // What the main process (or the gunicorn master) was in at that moment.
  const analysis::Blocked* blocked = nullptr;
  if (blocked_proc)
    for (const auto& b : blocked_proc->blocked)
      if (b.ts_ns >= stop->hdr.ts_ns && b.sig == sg->sig) {
        blocked = &b;
        break;
      }
  // A copy: pending_connects() returns a new list each call.
  std::optional<model::Event> pending_event;
  for (const auto& pc : agg.pending_connects())
    if (blocked_proc && pc.start.hdr.pid == blocked_proc->pid && pc.start.hdr.ts_ns <= stop->hdr.ts_ns &&
        pc.until_ns >= stop->hdr.ts_ns) {
      pending_event = pc.start;
      break;
    }
  const model::Event* pending = pending_event ? &*pending_event : nullptr;
  if (pending) f.evidence.push_back(*pending);
  f.evidence.push_back(*stop);
  for (const auto& e : agg.signals())
    if (e.hdr.ts_ns > stop->hdr.ts_ns && scope.is_service(e.hdr.pid) && f.evidence.size() < 8 &&
        model::terminating_signal(e.as<model::SignalGenerate>()->sig) && scope.is_service(e.as<model::SignalGenerate>()->target_pid))
      f.evidence.push_back(e);
  if (main && main->exit) f.evidence.push_back(exit_event(*main));
  if (master && master != main && master->exit) f.evidence.push_back(exit_event(*master));
  sort_by_time(f.evidence);

  auto g = master ? analysis::parse_gunicorn_args(master->argv) : analysis::GunicornArgs{};
  std::string access = u->notify_access.empty() ? (notify ? "main" : "none") : u->notify_access;
  std::string cause, fix;
  std::string db;
  const model::SockAddr* peer = nullptr;
  if (blocked && blocked->peer) peer = &*blocked->peer;
  else if (pending) peer = &pending->as<model::Connect>()->addr;
  if (peer && (blocked ? blocked->syscall != "" : true)) {
    bool is_db = agg.is_database(*peer, &db);
    std::string what = blocked ? blocked_text(*blocked, &agg)
                               : "a connect() to " + peer->to_string() + " still in flight since " +
                                     seconds_text(seconds_since_start(agg, pending->hdr.ts_ns)) + " after start";
    cause = (master && g.preload ? "the gunicorn master was still importing the app (--preload), blocked in "
                                 : std::string("the main process was blocked in ")) +
            what + ", so it never got as far as " + (notify ? "sending READY=1" : "completing the start");
    f.facts.push_back("at the timeout the " + std::string(master ? "gunicorn master" : "main process") + " (pid " +
                      std::to_string(blocked_proc->pid) + ") was in " + what);
    if (is_db)
      fix = "make the " + (db.empty() ? std::string("database") : db) + " at " + peer->to_string() +
            " reachable (see the database-connect finding) and add connect_timeout=5 to DATABASE_URL so the import fails "
            "fast instead of hanging the start";
    else
      fix = "give the call to " + peer->to_string() + " a timeout, or move it out of the import";
    if (master && g.preload) fix += "; or drop --preload so the master binds and sends READY=1 before the app is imported";
  } else if (master && g.daemon) {
    cause = "gunicorn runs with -D (--daemon): it forks away from the main process, so the process systemd waits on never sends READY=1";
    fix = "drop -D/--daemon from ExecStart=: systemd supervises gunicorn in the foreground";
  } else if (notify && master && main && master->pid != main->pid && access == "main") {
    cause = "ExecStart= runs " + (main->comm.empty() ? std::string("a wrapper") : main->comm) + " (pid " +
            std::to_string(main->pid) + "), which started gunicorn as its child (pid " + std::to_string(master->pid) +
            ") instead of exec'ing it: gunicorn's READY=1 comes from pid " + std::to_string(master->pid) +
            ", and with NotifyAccess=main systemd accepts it only from the main process";
    fix = "start gunicorn with `exec gunicorn ...` in the wrapper so it becomes the main process, or set NotifyAccess=all";
  } else if (notify && master && master->notify_socket && !*master->notify_socket) {
    cause = "NOTIFY_SOCKET was not in gunicorn's environment: something between systemd and gunicorn dropped it "
            "(env -i, sudo, su, a wrapper that builds its own environment), so gunicorn could not send READY=1";
    fix = "keep NOTIFY_SOCKET when starting gunicorn (no env -i; sudo --preserve-env=NOTIFY_SOCKET), or use Type=exec";
  } else if (notify && master) {
    cause = "gunicorn never sent READY=1 that systemd accepted (gunicorn < 20 never sends it; " +
            std::string(main && is_shell(main->comm) ? "the wrapper " + main->comm + " may drop NOTIFY_SOCKET" : "it may not have finished booting") + ")";
    fix = "check `gunicorn --version` (20 or later sends READY=1) and that NOTIFY_SOCKET reaches it, or use Type=exec";
  } else {
    cause = "the main process never " + std::string(notify ? "sent READY=1" : "completed the start");
    fix = notify ? "make the program send READY=1 (sd_notify), or use Type=exec if it cannot" : "check what the start waits for";
  }
  f.facts.push_back("Type=" + u->type + (notify ? ", NotifyAccess=" + access : std::string()) + ", TimeoutStartSec=" +
                    span_text(u->timeout_start_ms));
  if (main) f.facts.push_back("main process: " + describe_process(*main));
  unsigned workers = 0;
  for (auto pid : scope.service)
    if (const auto* p = agg.process(pid); p && p->role == analysis::Role::gunicorn_worker && p->first_ns <= stop->hdr.ts_ns) ++workers;
  if (workers) f.facts.push_back(std::to_string(workers) + " worker" + (workers > 1 ? "s were" : " was") + " stopped with it");
  f.explanation = "systemd waits TimeoutStartSec= for " + waiting + ", then logs \"start operation timed out. Terminating.\" and "
                  "stops the service (result 'timeout'): " + cause + ".";
  f.fix = fix + "; only then, if the start is legitimately slow, raise TimeoutStartSec= (now " + span_text(u->timeout_start_ms) + ")";
  out.push_back(std::move(f));
  return out;
}

PM_RULE(start_timeout, "start-timeout", Severity::failure, rank::boot, {CheckId::notify, CheckId::start_timeout})

}  // namespace pm::rules
