// Rule: the kernel's OOM killer chose a traced process. Its SIGKILL has no
// sender process (SI_KERNEL); oom:mark_victim names the victim. gunicorn logs
// "Perhaps out of memory?" for any SIGKILL of a worker, its own worker-timeout
// kill included: only this record proves an OOM kill.
#include <csignal>
#include <algorithm>

#include "model/names.h"
#include "rules/finding.h"

namespace pm::rules {

std::vector<Finding> oom_kill(const analysis::Aggregator& agg) {
  std::vector<Finding> out;
  for (const auto& e : agg.oom_victims()) {
    const auto* v = e.as<model::OomVictim>();
    const analysis::Process* p = agg.process(v->victim_pid);
    Finding f;
    f.ts_ns = e.hdr.ts_ns;
    std::string who = p ? describe_process(*p) : v->victim_comm + " (pid " + std::to_string(v->victim_pid) + ")";
    f.title = who + " killed by the kernel's OOM killer " + after_start_text(agg, e.hdr.ts_ns);
    f.evidence.push_back(e);
    for (const auto& g : agg.signals()) {
      const auto* s = g.as<model::SignalGenerate>();
      // The kernel sends its SIGKILL just before it marks the victim.
      std::uint64_t apart = g.hdr.ts_ns > e.hdr.ts_ns ? g.hdr.ts_ns - e.hdr.ts_ns : e.hdr.ts_ns - g.hdr.ts_ns;
      if (s->target_pid == v->victim_pid && s->sig == SIGKILL && s->from_kernel && apart < 1000000000ull) {
        f.evidence.push_back(g);
        break;
      }
    }
    if (p && p->exit) f.evidence.push_back(exit_event(*p));
    sort_by_time(f.evidence);
    f.facts.push_back("its virtual memory: " + std::to_string(v->total_vm_pages * 4 / 1024) + " MiB");
    std::optional<std::string> limit;
    limit = agg.memory_limit(v->victim_pid);
    if (limit) {
      f.facts.push_back("memory limit of its cgroup: " + *limit);
      f.title += " (cgroup memory limit " + limit->substr(0, limit->find(' ')) + ")";
    } else {
      f.facts.push_back("memory limit: not known (its cgroup sets none, or it was not read while the process ran)");
    }
    if (p && p->role == analysis::Role::gunicorn_worker)
      f.facts.push_back("gunicorn logs this as \"Worker with pid " + std::to_string(p->pid) +
                        " was terminated due to signal 9\" (20.x) or \"Worker (pid:" + std::to_string(p->pid) +
                        ") was sent SIGKILL! Perhaps out of memory?\" (21+), and starts a new worker");
    f.explanation = "The process's cgroup (MemoryMax=, a container limit) or the whole machine ran out of memory, and "
                    "the kernel killed the process using the most. Every worker loads its own copy of the app, so "
                    "memory grows with -w; a leak grows with every request.";
    f.fix = "raise MemoryMax= (or the container's limit) to what the workers need, run fewer workers (-w), recycle "
            "leaking workers with --max-requests 1000 --max-requests-jitter 100, and find what holds the memory";
    out.push_back(std::move(f));
  }
  return out;
}

PM_RULE(oom_kill, "oom-kill", Severity::failure, rank::kernel_kill, {})

}  // namespace pm::rules
