// Rule: a unit with Restart= that keeps failing. systemd starts it again
// RestartSec= after each failure; when StartLimitBurst= starts fall within
// StartLimitIntervalSec= it refuses the next one ("Start request repeated too
// quickly", result 'start-limit-hit') and the unit stays failed until the
// interval passes or `systemctl reset-failed`. Users see only the last,
// unhelpful state; the kernel saw every start, each ending the same way. One
// finding for the loop, with the count and how each start ended; the cause is
// the finding of the first start (linked by the investigation).
#include <algorithm>
#include <map>

#include "rules/finding.h"
#include "util/strings.h"

namespace pm::rules {
namespace {

std::string span_ms(long long ms) {
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}

// A command whose line starts with '-': systemd ignores its failure.
bool failure_ignored(const analysis::Process& p, const analysis::UnitContext& u) {
  auto ignored = [&](const std::vector<std::string>& lines, const std::vector<std::string>& paths) {
    for (std::size_t i = 0; i < lines.size() && i < paths.size(); ++i)
      if (starts_with(lines[i], "-") && runs_command(p, lines[i], paths[i])) return true;
    return false;
  };
  return ignored(u.exec_start_pre, u.exec_start_pre_paths) || ignored(u.exec_start_post, u.exec_start_post_paths);
}

}  // namespace

std::vector<Finding> restart_loop(const analysis::Aggregator& agg) {
  std::vector<Finding> out;
  for (const auto& unit : agg.units()) {
    const analysis::UnitContext* u = agg.unit_context(unit);
    if (!u || !u->loaded || !u->restarts()) continue;
    // The service manager's children in the unit, in order (ExecReload=,
    // ExecStop=, ExecStopPost= are no part of a start).
    std::vector<const analysis::Process*> children;
    for (const auto& [pid, p] : agg.processes()) {
      if (p.unit != unit || runs_other_command(p, *u)) continue;
      const analysis::Process* parent = agg.process(p.ppid);
      if (parent && parent->unit == unit) continue;
      children.push_back(&p);
    }
    std::sort(children.begin(), children.end(),
              [](const analysis::Process* a, const analysis::Process* b) { return a->first_ns < b->first_ns; });
    // A start begins with its first command: the first ExecStartPre= when the
    // unit has one, else ExecStart='s process. A child that never ran its
    // program (systemd's setup failed) begins one unless the current start
    // has not failed yet (ExecStartPre= passed, then ExecStart='s setup
    // failed). A start ends at its first failure: that failure is its ending.
    struct Start {
      const analysis::Process* first;
      const analysis::Process* failure = nullptr;
    };
    std::vector<Start> attempts;
    for (const auto* p : children) {
      bool first = !p->exec_ns ? attempts.empty() || attempts.back().failure
                               : u->exec_start_pre.empty()
                                     ? !runs_start_helper(*p, *u)
                                     : runs_command(*p, u->exec_start_pre[0], u->exec_start_pre_paths[0]);
      if (first) attempts.push_back({p});
      if (attempts.empty()) continue;
      Start& cur = attempts.back();
      if (cur.failure) continue;
      if (p->exit && p->exit->failed() && !failure_ignored(*p, *u)) cur.failure = p;
    }
    std::vector<const analysis::Process*> starts;
    std::size_t failed = 0;
    std::map<std::string, int> endings;
    for (const auto& a : attempts) {
      starts.push_back(a.first);
      if (!a.failure) continue;
      ++failed;
      const char* sd = a.failure->exec_ns ? nullptr : systemd_exit_status_name(a.failure->exit->code());
      endings[exit_text(*a.failure->exit) + (sd ? "/" + std::string(sd) : "")]++;
    }
    if (starts.size() < 2 || failed < 2) continue;
    // How the last start ended: its failure, else its first command.
    const analysis::Process* last = attempts.back().failure ? attempts.back().failure : starts.back();
    Finding f;
    f.ts_ns = last->exit_ns ? last->exit_ns : last->first_ns;
    double span = static_cast<double>(f.ts_ns - starts.front()->first_ns) / 1e9;
    std::vector<std::string> how;
    for (const auto& [text, n] : endings) how.push_back(text + (n > 1 ? " (" + std::to_string(n) + " times)" : ""));
    f.title = unit + " was started " + std::to_string(starts.size()) + " times in " + seconds_text(span) +
              " (Restart=" + u->restart + "), and each start failed: " + join(how, ", ");
    // systemd refuses a start when StartLimitBurst= starts fell within the
    // interval; the last one ended, no restart followed in RestartSec= + 1 s.
    bool limit_on = u->start_limit_interval_ms > 0 && u->start_limit_burst > 0;
    bool over = last->exit && agg.end_ns() > last->exit_ns + static_cast<std::uint64_t>(u->restart_ms + 1000) * 1000000ull;
    bool within = static_cast<long long>(starts.size()) >= u->start_limit_burst &&
                  (starts.back()->first_ns - starts[starts.size() - u->start_limit_burst]->first_ns) / 1000000ull <=
                      static_cast<std::uint64_t>(u->start_limit_interval_ms);
    std::string limit = "StartLimitBurst=" + std::to_string(u->start_limit_burst) + " in StartLimitIntervalSec=" +
                        span_ms(u->start_limit_interval_ms);
    // systemd's own words settle it when its journal was read.
    bool said = false;
    for (const auto& l : agg.journal())
      said |= l.by_manager && l.unit == unit && l.ts_ns >= starts.front()->first_ns &&
              (l.message.find("Start request repeated too quickly") != std::string::npos ||
               l.message.find("Failed with result 'start-limit-hit'") != std::string::npos);
    bool hit = said || (limit_on && over && within && failed == starts.size());
    if (hit) f.title += "; then systemd stopped restarting it (start-limit-hit: " + limit + ")";
    f.facts.push_back("Restart=" + u->restart + ", RestartSec=" + span_ms(u->restart_ms) + ", " + limit);
    for (std::size_t i = 0; i < attempts.size(); ++i) {
      const auto& a = attempts[i];
      const analysis::Process* end = a.failure ? a.failure : a.first;
      if (end->exit) f.evidence.push_back(exit_event(*end));
      f.facts.push_back("start " + std::to_string(i + 1) + " at +" +
                        seconds_text(seconds_since_start(agg, a.first->first_ns)) + ": " + describe_process(*end) + " " +
                        (end->exit ? exit_text(*end->exit) : "still running"));
    }
    sort_by_time(f.evidence);
    if (hit)
      f.explanation = "After each failure systemd waited RestartSec= and started the unit again; the " +
                      std::to_string(u->start_limit_burst) + " starts fell within StartLimitIntervalSec=, so it "
                      "refused the next (\"Start request repeated too quickly\") and left the unit failed with "
                      "result 'start-limit-hit'. Restarting does not help while the cause (the first start's "
                      "failure) is there; the last state systemd shows hides it.";
    else
      f.explanation = "After each failure systemd waits RestartSec= and starts the unit again, with the same "
                      "result while the cause is there. Once " + limit + " is reached it stops (start-limit-hit).";
    f.fix = "fix the first start's failure (the finding it is caused by), then `systemctl reset-failed " + unit +
            " && systemctl start " + unit + "` (a unit at its start limit refuses starts until then)";
    out.push_back(std::move(f));
  }
  return out;
}

PM_RULE(restart_loop, "restart-loop", Severity::failure, rank::consequence, {})

}  // namespace pm::rules
