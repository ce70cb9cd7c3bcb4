// Rule: the gunicorn master killed a worker for its timeout. murder_workers()
// sends SIGABRT to a worker whose heartbeat is older than --timeout (30 s by
// default), and SIGKILL on a later pass if it is still there. The worker was
// stuck in one call for that long: the signal's delivery says which call, on
// which descriptor, and the aggregator knows what that descriptor connected to.
#include <csignal>
#include <set>

#include "analysis/checkpoints.h"
#include "model/names.h"
#include "analysis/gunicorn_args.h"
#include "rules/finding.h"
#include "util/strings.h"

namespace pm::rules {
namespace {

std::string fix_for(const analysis::Aggregator& agg, const analysis::Blocked* b, const std::string& timeout) {
  std::string db;
  if (b && b->peer && agg.is_database(*b->peer, &db)) {
    if (b->syscall == "connect" || b->for_ns)
      return "the " + db + " connect never completed: fix the database address (see database-connect) and add "
             "connect_timeout=5 to DATABASE_URL so a dead database fails the request instead of the worker";
    return "a query on " + db + " ran longer than the worker timeout: find it (pg_stat_activity, the slow query "
           "log), set statement_timeout (e.g. OPTIONS={'options': '-c statement_timeout=10000'} in Django) and "
           "move long work out of the request";
  }
  if (b && b->peer)
    return "the call to " + b->peer->to_string() + " had no timeout: give it one shorter than gunicorn's --timeout " +
           "(" + timeout + " s), e.g. requests.get(url, timeout=(3, 10)) or urlopen(url, timeout=10), and move "
           "slow calls out of the request (a task queue)";
  return "find the slow call (py-spy dump --pid WORKER while it hangs, or faulthandler), put a timeout on it, and "
         "raise --timeout only for requests known to be long (or use --worker-class gthread)";
}

}  // namespace

std::vector<Finding> worker_timeout(const analysis::Aggregator& agg) {
  std::vector<Finding> out;
  std::set<std::uint32_t> done;
  for (const auto& g : agg.signals()) {
    const auto* s = g.as<model::SignalGenerate>();
    if (s->sig != SIGABRT || signal_sender(agg, g).kind != SenderKind::gunicorn_master) continue;
    const analysis::Process* worker = agg.process(s->target_pid);
    if (!worker || !done.insert(worker->pid).second) continue;
    const analysis::Process* master = agg.process(g.hdr.pid);
    std::string timeout = master ? analysis::parse_gunicorn_args(master->argv).timeout : "30";

    Finding f;
    f.ts_ns = g.hdr.ts_ns;
    // What the worker was in when the SIGABRT arrived (or the SIGKILL).
    const analysis::Blocked* blocked = nullptr;
    for (const auto& b : worker->blocked)
      if (b.ts_ns >= g.hdr.ts_ns && (b.sig == SIGABRT || b.sig == SIGKILL)) {
        blocked = &b;
        break;
      }
    // The connect it was in, when the signal interrupted one.
    for (const auto& c : agg.connects())
      if (c.hdr.pid == worker->pid && c.hdr.ts_ns >= g.hdr.ts_ns && blocked && blocked->syscall == "connect" &&
          c.hdr.ts_ns <= blocked->ts_ns) {
        f.evidence.push_back(c);
        break;
      }
    f.evidence.push_back(g);
    bool killed = false;
    for (const auto& k : agg.signals()) {
      const auto* ks = k.as<model::SignalGenerate>();
      if (ks->target_pid == worker->pid && ks->sig == SIGKILL && k.hdr.ts_ns > g.hdr.ts_ns) {
        f.evidence.push_back(k);
        killed = true;
        break;
      }
    }
    if (worker->exit) f.evidence.push_back(exit_event(*worker));
    sort_by_time(f.evidence);

    f.title = "gunicorn worker (pid " + std::to_string(worker->pid) + ") killed by the master's worker timeout (" +
              timeout + " s): SIGABRT" + (killed ? ", then SIGKILL" : "");
    if (blocked) f.title += "; it was blocked in " + blocked_text(*blocked);
    if (blocked) f.facts.push_back("blocked in " + blocked_text(*blocked) + " when the signal arrived");
    else f.facts.push_back("what the worker was doing is not known (the signal's delivery was not seen)");
    if (worker->heartbeat_ns)
      f.facts.push_back("the worker booted " + seconds_text(seconds_since_start(agg, *worker->heartbeat_ns)) +
                        " after start and was aborted " + seconds_text((g.hdr.ts_ns - *worker->heartbeat_ns) / 1e9) +
                        " later");
    f.facts.push_back("gunicorn logs \"CRITICAL WORKER TIMEOUT (pid:" + std::to_string(worker->pid) +
                      ")\"; the worker exits 1 from its SIGABRT handler, or dies of SIGKILL on the next pass");
    f.explanation = "A sync worker serves one request at a time and tells the master it is alive between requests. "
                    "This one spent more than --timeout (" + timeout +
                    " s) inside one request, so the master aborted it; the client got a 502 from the proxy.";
    f.fix = fix_for(agg, blocked, timeout);
    out.push_back(std::move(f));
  }
  return out;
}

PM_RULE(worker_timeout, "worker-timeout", Severity::failure, rank::worker, {CheckId::worker_timeout})

}  // namespace pm::rules
