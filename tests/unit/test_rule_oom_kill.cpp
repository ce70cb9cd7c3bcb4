// oom-kill on event sequences shaped like the kernel's OOM kill of a gunicorn
// worker: __oom_kill_process() sends SIGKILL (SI_KERNEL, in the allocating
// task's context) and then marks the victim (oom:mark_victim); the worker
// dies of SIGKILL and the master starts a new one. The memory limit is the
// one the session reads from /proc/PID/cgroup when the master execs.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "analysis/aggregator.h"
#include "analysis/checkpoints.h"
#include "rules/finding.h"

#include "trace_builder.h"

constexpr const char* kLimit = "512M (/sys/fs/cgroup/system.slice/shop.service/memory.max)";

static void oom_kills_worker(Trace& t, std::uint32_t allocating, bool with_limit) {
  gunicorn_boot(t);
  if (with_limit) t.agg.set_memory_limit(500, kLimit);  // what Session::on_event does after the exec
  const std::uint64_t at = kT0 + 20 * kS;
  t.signal(allocating, at, 502, SIGKILL, kSiKernel);
  t.oom_victim(allocating, at + 4 * kUs, 502, 131072);  // 512 MiB of virtual memory
  t.exit(502, at + 35 * kMs, SIGKILL);
  t.signal(502, at + 35 * kMs + 5 * kUs, 500, SIGCHLD, kCldKilled);
  t.write(500, at + 36 * kMs, 2,
          "[2024-06-11 10:00:20 +0000] [500] [ERROR] Worker (pid:502) was sent SIGKILL! Perhaps out of memory?\n");
  t.fork(500, at + 40 * kMs, 503);
  t.heartbeat(503, at + 900 * kMs);
}

TEST_CASE("oom-kill: the OOM killer's SIGKILL of a worker, with its cgroup's memory limit", "[rules][oom-kill]") {
  Trace t;
  oom_kills_worker(t, 502, true);
  auto f = rules::oom_kill(t.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].severity == rules::Severity::failure);
  // Reported with the rank its PM_RULE declares (the finding sets none).
  auto reported = rules::run_rules(t.agg);
  REQUIRE_FALSE(reported.empty());
  CHECK(reported[0].rule == "oom-kill");
  CHECK(reported[0].rank == rules::rank::kernel_kill);
  CHECK(f[0].title ==
        "gunicorn worker (pid 502, uid 33 gid 33) killed by the kernel's OOM killer 20.0 s after start "
        "(cgroup memory limit 512M)");
  INFO(facts_text(f[0]));
  CHECK(has_fact(f[0], std::string("memory limit of its cgroup: ") + kLimit));
  CHECK(has_fact(f[0], "its virtual memory: 512 MiB"));
  CHECK(has_fact(f[0],
                 "gunicorn logs this as \"Worker with pid 502 was terminated due to signal 9\" (20.x) or "
                 "\"Worker (pid:502) was sent SIGKILL! Perhaps out of memory?\" (21+), and starts a new worker"));
  CHECK(f[0].fix.find("raise MemoryMax=") == 0);
  CHECK(contains(f[0].fix, "--max-requests"));
  REQUIRE_FALSE(f[0].evidence.empty());
  const auto front = f[0].evidence.front().hdr.type;
  CHECK((front == EventType::oom_victim || front == EventType::signal_generate));
  CHECK(f[0].evidence.back().hdr.type == EventType::exit);
  CHECK(f[0].evidence.back().as<Exit>()->signal() == SIGKILL);

  // One finding for the kill across the rules: not killed-by-signal as well.
  auto all = rules::run_rules(t.agg);
  REQUIRE(all.size() == 1);
  CHECK(all[0].rule == "oom-kill");
}

TEST_CASE("oom-kill: the victim need not be the task that allocated", "[rules][oom-kill]") {
  Trace t;
  oom_kills_worker(t, 501, true);  // worker 501's allocation picks 502, the biggest
  auto f = rules::oom_kill(t.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].title.find("gunicorn worker (pid 502, uid 33 gid 33) killed by the kernel's OOM killer") == 0);
  CHECK(rules::killed_by_signal(t.agg).empty());
}

// The kernel sends the SIGKILL before it marks the victim, so the SIGKILL's
// signal_generate precedes the oom_victim record: the evidence should still
// hold the kill, and in time order.
TEST_CASE("oom-kill: the kernel's SIGKILL, sent just before mark_victim, is in the evidence",
          "[rules][oom-kill]") {
  Trace t;
  oom_kills_worker(t, 502, true);
  auto f = rules::oom_kill(t.agg);
  REQUIRE(f.size() == 1);
  bool sigkill = false;
  for (const auto& e : f[0].evidence)
    if (const auto* s = e.as<SignalGenerate>()) sigkill |= s->sig == SIGKILL && s->target_pid == 502;
  CHECK(sigkill);
  CHECK(f[0].evidence.size() == 3);
  for (std::size_t i = 1; i < f[0].evidence.size(); ++i)
    CHECK(f[0].evidence[i - 1].hdr.ts_ns <= f[0].evidence[i].hdr.ts_ns);
}

TEST_CASE("oom-kill: no memory limit read: the title names none", "[rules][oom-kill]") {
  Trace t;
  oom_kills_worker(t, 502, false);
  auto f = rules::oom_kill(t.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].title == "gunicorn worker (pid 502, uid 33 gid 33) killed by the kernel's OOM killer 20.0 s after start");
}

TEST_CASE("oom-kill: SIGKILLs without an OOM record are not OOM kills", "[rules][oom-kill]") {
  Trace t;
  gunicorn_boot(t);
  t.agg.set_memory_limit(500, kLimit);
  // The master's own SIGKILL of a worker (the second pass of murder_workers):
  // gunicorn prints the same "Perhaps out of memory?".
  t.signal(500, kT0 + 40 * kS, 501, SIGABRT);
  t.signal(500, kT0 + 41 * kS, 501, SIGKILL);
  t.exit(501, kT0 + 41 * kS + 2 * kMs, SIGKILL);
  t.write(500, kT0 + 41 * kS + 3 * kMs, 2,
          "[2024-06-11 10:00:41 +0000] [500] [ERROR] Worker (pid:501) was sent SIGKILL! Perhaps out of memory?\n");
  // And a kernel SIGKILL with no mark_victim (cgroup.kill).
  t.signal(502, kT0 + 50 * kS, 502, SIGKILL, kSiKernel);
  t.exit(502, kT0 + 50 * kS + 2 * kMs, SIGKILL);
  CHECK(t.agg.oom_victims().empty());
  CHECK(rules::oom_kill(t.agg).empty());
}
