// restart-loop: a Restart= unit that fails at every start, until systemd's
// start limit. Look-alikes: one failure, Restart=no, ExecStopPost= and
// ExecReload= commands, an ExecStartPre= that passes each time.
#include <catch2/catch.hpp>

#include "trace_builder.h"

namespace {

analysis::UnitContext restarting_unit() {
  analysis::UnitContext u;
  u.name = "shop.service";
  u.restart = "on-failure";
  u.restart_ms = 200;
  u.start_limit_interval_ms = 10000;
  u.start_limit_burst = 5;
  u.exec_start = {"/usr/bin/gunicorn", "shop.wsgi:application"};
  return u;
}

// Each start: systemd's child execs gunicorn, the master's worker fails to
// boot, the master exits 3; the next start RestartSec= later.
void boot_failures(Trace& t, int starts, std::uint64_t every = 600 * kMs) {
  for (int i = 0; i < starts; ++i) {
    std::uint32_t master = 500 + 10 * i;
    std::uint64_t at = kT0 + i * every;
    t.task(master, 1, "(gunicorn)");
    t.exec(master, at, "/usr/bin/gunicorn", kGunicornArgv, "/usr/bin/python3");
    t.fork(master, at + 300 * kMs, master + 1);
    t.exit(master + 1, at + 350 * kMs, 3 << 8);
    t.exit(master, at + 400 * kMs, 3 << 8);
  }
}

}  // namespace

TEST_CASE("restart-loop: five failed starts in the interval, then start-limit-hit", "[rules][restart-loop]") {
  Trace t;
  t.unit(restarting_unit());
  boot_failures(t, 5);
  t.agg.set_end_ns(kT0 + 5 * 600 * kMs + 3 * kS);
  auto fs = rules::restart_loop(t.agg);
  REQUIRE(fs.size() == 1);
  const auto& f = fs[0];
  INFO(f.title);
  CHECK(contains(f.title, "shop.service was started 5 times in "));
  CHECK(contains(f.title, "(Restart=on-failure), and each start failed: exited with status 3 (5 times)"));
  CHECK(contains(f.title, "start-limit-hit: StartLimitBurst=5 in StartLimitIntervalSec=10 s"));
  CHECK(has_fact(f, "Restart=on-failure, RestartSec=200 ms, StartLimitBurst=5 in StartLimitIntervalSec=10 s"));
  CHECK(f.evidence.size() == 5);
  for (const auto& e : f.evidence) CHECK(e.hdr.type == EventType::exit);
  CHECK(contains(f.fix, "systemctl reset-failed shop.service"));
  // The loop is told after its cause.
  auto all = rules::run_rules(t.agg);
  INFO(titles(all));
  REQUIRE(all.size() >= 2);
  CHECK(all.back().rule == "restart-loop");
}

TEST_CASE("restart-loop: still restarting when the trace ended is no start-limit-hit", "[rules][restart-loop]") {
  Trace t;
  t.unit(restarting_unit());
  boot_failures(t, 3);
  t.agg.set_end_ns(kT0 + 2 * 600 * kMs + 450 * kMs);
  auto fs = rules::restart_loop(t.agg);
  REQUIRE(fs.size() == 1);
  CHECK(contains(fs[0].title, "was started 3 times"));
  CHECK_FALSE(contains(fs[0].title, "start-limit-hit"));
}

TEST_CASE("restart-loop: the trace ended right after the last start, but systemd said it refused the next",
          "[rules][restart-loop]") {
  auto u = restarting_unit();
  u.start_limit_burst = 3;
  for (const char* said : {"shop.service: Start request repeated too quickly.",
                           "shop.service: Failed with result 'start-limit-hit'.", ""}) {
    Trace t;
    t.unit(u);
    boot_failures(t, 3);
    t.agg.set_end_ns(kT0 + 2 * 600 * kMs + 450 * kMs);  // too soon to tell by the clock alone
    if (*said) t.agg.add_journal_line({kT0 + 2 * 600 * kMs + 440 * kMs, "shop.service", true, 1, said});
    // The unit's own output saying so is not systemd.
    else t.agg.add_journal_line({kT0 + 2 * 600 * kMs + 440 * kMs, "shop.service", false, 500, "Start request repeated too quickly"});
    auto fs = rules::restart_loop(t.agg);
    REQUIRE(fs.size() == 1);
    INFO(said << ": " << fs[0].title);
    CHECK(contains(fs[0].title, "start-limit-hit") == (*said != '\0'));
  }
}

TEST_CASE("restart-loop: an ExecStartPre= that fails every time is each start's ending", "[rules][restart-loop]") {
  Trace t;
  auto u = restarting_unit();
  u.exec_start_pre = {"/srv/shop/bin/check-db"};
  u.exec_start_pre_paths = {"/srv/shop/bin/check-db"};
  u.exec_other = {"/srv/shop/bin/cleanup"};
  u.exec_other_paths = {"/srv/shop/bin/cleanup"};
  t.unit(u);
  for (int i = 0; i < 5; ++i) {
    std::uint32_t pid = 600 + 2 * i;
    std::uint64_t at = kT0 + i * 500 * kMs;
    t.task(pid, 1, "(check-db)");
    t.exec(pid, at, "/srv/shop/bin/check-db", {"/srv/shop/bin/check-db"});
    t.exit(pid, at + 50 * kMs, 1 << 8);
    // ExecStopPost= after each failure: no start, and no failure.
    t.task(pid + 1, 1, "(cleanup)");
    t.exec(pid + 1, at + 60 * kMs, "/srv/shop/bin/cleanup", {"/srv/shop/bin/cleanup"});
    t.exit(pid + 1, at + 70 * kMs, 0);
  }
  t.agg.set_end_ns(kT0 + 5 * kS);
  auto fs = rules::restart_loop(t.agg);
  REQUIRE(fs.size() == 1);
  CHECK(contains(fs[0].title, "was started 5 times"));
  CHECK(contains(fs[0].title, "exited with status 1 (5 times)"));
  CHECK(contains(fs[0].title, "start-limit-hit"));
}

TEST_CASE("restart-loop: look-alikes", "[rules][restart-loop]") {
  Trace t;
  SECTION("one failure is no loop") {
    t.unit(restarting_unit());
    boot_failures(t, 1);
    CHECK(rules::restart_loop(t.agg).empty());
  }
  SECTION("Restart=no: systemd never restarts") {
    auto u = restarting_unit();
    u.restart = "no";
    t.unit(u);
    boot_failures(t, 3);
    CHECK(rules::restart_loop(t.agg).empty());
  }
  SECTION("a healthy start reloaded twice: ExecReload= is no start") {
    auto u = restarting_unit();
    u.exec_other = {"/bin/kill -HUP $MAINPID"};
    u.exec_other_paths = {"/bin/kill"};
    t.unit(u);
    gunicorn_boot(t);
    for (std::uint32_t pid : {800u, 801u}) {
      t.task(pid, 1, "(kill)");
      t.exec(pid, kT0 + 2 * kS + (pid - 800) * kS, "/bin/kill", {"/bin/kill", "-HUP", "500"});
      t.exit(pid, kT0 + 2 * kS + (pid - 800) * kS + kMs, 1 << 8);
    }
    CHECK(rules::restart_loop(t.agg).empty());
  }
}
