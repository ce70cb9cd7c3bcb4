// investigation/: the verdict, the service against its helpers, intentional
// stops against failures, start timeouts and the story, on kernel-shaped
// synthetic sequences replayed into an Investigation the way `explain` does
// (facts first, then events). Each case has its look-alike.
#include <catch2/catch.hpp>

#include "investigation/investigation.h"
#include "util/result.h"
#include "record/facts.h"
#include "trace_builder.h"

namespace {

using investigation::Investigation;
using investigation::Summary;
using investigation::Verdict;

const std::string kUnitPath = "/system.slice/shop.service";

analysis::UnitContext notify_unit(long long timeout_ms = 5000) {
  analysis::UnitContext u;
  u.name = "shop.service";
  u.loaded = true;
  u.type = "notify";
  u.timeout_start_ms = timeout_ms;
  u.notify_access = "main";
  return u;
}

struct Replay {
  Investigation inv{false};
  // Facts first (as a recording has them), then every event the trace fed.
  Summary run(const Trace& t, const std::optional<analysis::UnitContext>& unit, const std::vector<std::uint32_t>& in_unit,
              std::uint32_t wrapped = 0, std::uint64_t end = 0) {
    if (unit) inv.apply_fact(record::unit_fact(*unit));
    for (auto pid : in_unit) inv.apply_fact(record::process_fact(pid, kUnitPath, true));
    if (wrapped) inv.apply_fact(record::wrapped_fact(wrapped));
    for (const auto& e : t.fed) inv.on_event(e);
    return inv.summarize(end ? end : (t.fed.empty() ? kT0 : t.fed.back().hdr.ts_ns + kS));
  }
};

const rules::Finding* find(const Summary& s, const std::string& rule) {
  for (const auto& f : s.findings)
    if (f.rule == rule) return &f;
  return nullptr;
}

std::string all_titles(const Summary& s) {
  std::string out = s.verdict_text + "\n";
  for (const auto& f : s.findings) out += "[" + f.rule + "/" + rules::severity_name(f.severity) + "] " + f.title + "\n";
  return out;
}

// gunicorn --preload started by PID 1 as a Type=notify unit; its import
// connects to a database that never answers (a SYN into the void).
void preload_stalled(Trace& t) {
  std::vector<std::string> argv = {"/usr/bin/python3", "/usr/bin/gunicorn", "--preload", "-b", "127.0.0.1:8000",
                                   "shop.wsgi:application"};
  t.task(500, 1, "(gunicorn)");
  t.exec(500, kT0, "/usr/bin/gunicorn", argv, "/usr/bin/python3");
  t.connect(500, kT0 + 300 * kMs, 7, inet("10.1.2.3", 5432), EINPROGRESS);
}

}  // namespace

TEST_CASE("investigation: a Type=notify start that times out on a stalled database connect is one story",
          "[investigation][start-timeout]") {
  Trace t;
  preload_stalled(t);
  t.signal(1, kT0 + 5 * kS + 20 * kMs, 500, SIGTERM);
  t.deliver(500, kT0 + 5 * kS + 21 * kMs, SIGTERM, 1, kNrPoll, 7, -4);
  t.exit(500, kT0 + 5 * kS + 60 * kMs, SIGTERM);
  Replay r;
  auto s = r.run(t, notify_unit(5000), {500});
  INFO(all_titles(s));
  CHECK(s.verdict == Verdict::failed);
  CHECK(s.exit_status == 1);
  const auto* st = find(s, "start-timeout");
  REQUIRE(st);
  CHECK(st->severity == rules::Severity::failure);
  CHECK(contains(st->title, "the start of shop.service timed out after 5.0 s waiting for READY=1"));
  CHECK(contains(st->title, "TimeoutStartSec=5 s"));
  CHECK(contains(st->explanation, "importing the app (--preload)"));
  CHECK(contains(st->explanation, "10.1.2.3:5432"));
  // The real cause first, TimeoutStartSec= second.
  CHECK(st->fix.find("10.1.2.3:5432") < st->fix.find("TimeoutStartSec="));
  // Not also a "stopped by its supervisor" finding for the same signal.
  CHECK_FALSE(find(s, "killed-by-signal"));
  // One story: the database stall is the root, the timeout follows from it.
  const auto* db = find(s, "database-connect");
  REQUIRE(db);
  CHECK(s.findings.front().rule == "database-connect");
  CHECK(st->caused_by == std::vector<std::string>{db->id});
  CHECK(db->causes == std::vector<std::string>{st->id});
}

TEST_CASE("investigation: a notify wrapper that keeps gunicorn as its child times out with that reason",
          "[investigation][start-timeout]") {
  Trace t;
  t.task(400, 1, "(start.sh)");
  t.exec(400, kT0, "/srv/shop/start.sh", {"/bin/sh", "/srv/shop/start.sh"});
  t.fork(400, kT0 + 10 * kMs, 500);
  gunicorn_boot(t, 500, {501, 502});
  t.signal(1, kT0 + 90 * kS, 400, SIGTERM);
  t.exit(400, kT0 + 90 * kS + 5 * kMs, SIGTERM);
  Replay r;
  auto s = r.run(t, notify_unit(90000), {400, 500, 501, 502});
  INFO(all_titles(s));
  const auto* st = find(s, "start-timeout");
  REQUIRE(st);
  CHECK(contains(st->explanation, "started gunicorn as its child"));
  CHECK(contains(st->explanation, "NotifyAccess=main"));
  CHECK(contains(st->fix, "exec gunicorn"));
  CHECK(s.verdict == Verdict::failed);
}

TEST_CASE("investigation: an operator's stop during the start is not a start timeout", "[investigation][stop]") {
  Trace t;
  preload_stalled(t);
  t.task(900, 880, "bash", 0, 1);
  t.signal(900, kT0 + 5 * kS, 500, SIGTERM);  // at TimeoutStartSec, but from a shell
  t.exit(500, kT0 + 5 * kS + 30 * kMs, SIGTERM);
  Replay r;
  auto s = r.run(t, notify_unit(5000), {500});
  INFO(all_titles(s));
  CHECK_FALSE(find(s, "start-timeout"));
  const auto* k = find(s, "killed-by-signal");
  REQUIRE(k);
  CHECK(k->severity == rules::Severity::info);
}

TEST_CASE("investigation: the service manager's stop at another time than the timeout, once up, is a stop job",
          "[investigation][stop]") {
  Trace t;
  gunicorn_boot(t, 500, {501, 502});
  t.accept(501, kT0 + 2 * kS, 10, inet("127.0.0.1", 40000));
  t.signal(1, kT0 + 20 * kS, 500, SIGTERM);
  t.signal(500, kT0 + 20 * kS + kMs, 501, SIGTERM);
  t.signal(500, kT0 + 20 * kS + kMs, 502, SIGTERM);
  t.exit(501, kT0 + 20 * kS + 50 * kMs, 0);
  t.exit(502, kT0 + 20 * kS + 50 * kMs, 0);
  t.exit(500, kT0 + 20 * kS + 90 * kMs, 0);
  Replay r;
  auto s = r.run(t, notify_unit(90000), {500, 501, 502});
  INFO(all_titles(s));
  CHECK(s.verdict == Verdict::stopped);
  CHECK(s.exit_status == 0);
  CHECK(s.failures.empty());
  CHECK(contains(s.verdict_text, "was healthy (serving since"));
  CHECK(contains(s.verdict_text, "stopped on purpose"));
  CHECK_FALSE(find(s, "start-timeout"));
}

TEST_CASE("investigation: the wrapped command stopping a serving service is on purpose, before serving it is not",
          "[investigation][stop]") {
  for (bool served : {true, false}) {
    INFO("served " << served);
    Trace t;
    t.task(300, 200, "sh", 0, 1);
    t.exec(300, kT0 - kS, "/bin/sh", {"/bin/sh", "-c", "gunicorn ... & sleep 5; kill $!"});
    t.fork(300, kT0 - 500 * kMs, 500);
    gunicorn_boot(t, 500, {501, 502});
    if (served) t.accept(501, kT0 + 2 * kS, 10, inet("127.0.0.1", 40000));
    t.signal(300, kT0 + 5 * kS, 500, SIGTERM);
    t.exit(501, kT0 + 5 * kS + 40 * kMs, 0);
    t.exit(502, kT0 + 5 * kS + 40 * kMs, 0);
    t.exit(500, kT0 + 5 * kS + 80 * kMs, 0);
    t.exit(300, kT0 + 5 * kS + 90 * kMs, 0);
    Replay r;
    auto s = r.run(t, std::nullopt, {}, 300);
    INFO(all_titles(s));
    const auto* k = find(s, "killed-by-signal");
    REQUIRE(k);
    CHECK(s.wrapped.present);
    CHECK_FALSE(s.wrapped.is_service);
    if (served) {
      CHECK(k->severity == rules::Severity::info);
      CHECK(s.verdict == Verdict::stopped);
      CHECK(s.exit_status == 0);
    } else {
      CHECK(k->severity == rules::Severity::failure);
      CHECK(s.verdict == Verdict::failed);
    }
  }
}

TEST_CASE("investigation: a supervisor killing a serving service (a health check) is still a failure",
          "[investigation][stop]") {
  Trace t;
  t.task(300, 1, "supervisord", 0, 1);
  t.fork(300, kT0 - 500 * kMs, 500);
  gunicorn_boot(t, 500, {501, 502});
  t.accept(501, kT0 + 2 * kS, 10, inet("127.0.0.1", 40000));
  t.signal(300, kT0 + 9 * kS, 500, SIGTERM);
  t.exit(500, kT0 + 9 * kS + 80 * kMs, 0);
  Replay r;
  auto s = r.run(t, std::nullopt, {});  // attach: nothing wrapped
  INFO(all_titles(s));
  const auto* k = find(s, "killed-by-signal");
  REQUIRE(k);
  CHECK(k->severity == rules::Severity::failure);
  CHECK(s.verdict == Verdict::failed);
}

TEST_CASE("investigation: a helper's non-zero exit is context, not a FAILED line", "[investigation][helpers]") {
  Trace t;
  t.task(300, 200, "sh", 0, 1);
  t.exec(300, kT0 - kS, "/bin/sh", {"/bin/sh", "/srv/deploy.sh"});
  t.fork(300, kT0 - 900 * kMs, 500);
  gunicorn_boot(t, 500, {501, 502});
  // curl polls the port before it is open: refused, exit 7; then it works.
  t.fork(300, kT0 + 100 * kMs, 310);
  t.exec(310, kT0 + 101 * kMs, "/usr/bin/curl", {"curl", "-sf", "http://127.0.0.1:8000/"});
  t.connect(310, kT0 + 102 * kMs, 3, inet("127.0.0.1", 8000), ECONNREFUSED);
  t.exit(310, kT0 + 103 * kMs, 7 << 8);
  t.accept(501, kT0 + 2 * kS, 10, inet("127.0.0.1", 40000));
  Replay r;
  auto s = r.run(t, std::nullopt, {}, 300);
  INFO(all_titles(s));
  CHECK(s.failures.empty());
  REQUIRE(s.helper_failures.size() == 1);
  CHECK(s.helper_failures[0].pid == 310);
  CHECK(s.verdict == Verdict::healthy);
  CHECK(s.exit_status == 0);
  CHECK(s.service_basis == "gunicorn");
  // curl's exec and exit are folded out of the short timeline.
  for (const auto& e : s.timeline) CHECK(e.hdr.pid != 310);
}

TEST_CASE("investigation: a unit none of whose processes was seen is not healthy", "[investigation][verdict]") {
  Trace t;
  t.task(300, 200, "systemctl", 0, 1);
  t.exec(300, kT0, "/usr/bin/systemctl", {"systemctl", "start", "shop"});
  t.exit(300, kT0 + 2 * kS, 1 << 8);
  Replay r;
  // systemctl runs in the operator's session; the unit's processes are in a
  // PID namespace pmtrace cannot see, so none of them is traced.
  r.inv.apply_fact(record::process_fact(300, "/user.slice/user-0.slice/session-1.scope", true));
  auto s = r.run(t, notify_unit(), {}, 300);
  INFO(all_titles(s));
  CHECK(s.verdict == Verdict::not_seen);
  CHECK(contains(s.verdict_text, "no process of unit shop.service was seen"));
  CHECK(s.exit_status == pm::kExitCannotTrace);  // what pmtrace could not see: never 0
  CHECK(contains(s.verdict_text, "the command exited with code 1"));
  CHECK(s.failures.empty());  // systemctl is not the service
  REQUIRE(s.helper_failures.size() == 1);
}

TEST_CASE("investigation: a healthy service still running is healthy with no failure words", "[investigation][verdict]") {
  Trace t;
  gunicorn_boot(t, 500, {501, 502});
  t.accept(501, kT0 + 2 * kS, 10, inet("127.0.0.1", 40000));
  Replay r;
  auto s = r.run(t, notify_unit(), {500, 501, 502});
  CHECK(s.verdict == Verdict::healthy);
  CHECK(s.exit_status == 0);
  CHECK(s.findings.empty());
  CHECK(contains(s.verdict_text, "healthy (serving since 2.0 s after start)"));
}

TEST_CASE("investigation: findings are linked and ordered cause first", "[investigation][story]") {
  std::vector<rules::Finding> f(3);
  f[0].rule = "gunicorn-boot-failure";
  f[1].rule = "killed-by-signal";
  f[1].severity = rules::Severity::info;
  f[2].rule = "database-connect";
  investigation::link_findings(f);
  REQUIRE(f.size() == 3);
  CHECK(f[0].rule == "database-connect");
  CHECK(f[1].rule == "gunicorn-boot-failure");
  CHECK(f[1].caused_by == std::vector<std::string>{f[0].id});
  CHECK(f[0].causes == std::vector<std::string>{f[1].id});
  CHECK(f[2].caused_by.empty());
  CHECK(f[0].id == "F1");
  CHECK(f[2].id == "F3");
}

TEST_CASE("investigation: the short timeline leaves out probing and routine events", "[investigation][timeline]") {
  Trace t;
  gunicorn_boot(t, 500, {501});
  t.open_failed(500, kT0 + kMs, "/usr/lib/python3/dist-packages/foo.py", ENOENT, O_RDONLY);
  t.connect(500, kT0 + 2 * kMs, 4, unix_socket("/var/run/nscd/socket"), ENOENT);
  t.signal(501, kT0 + 3 * kS, 500, SIGCHLD);
  t.open_failed(500, kT0 + 4 * kS, "/var/log/shop/error.log", EACCES, O_WRONLY | O_CREAT | O_APPEND);
  Replay r;
  auto s = r.run(t, std::nullopt, {});
  bool denial = false;
  for (const auto& e : s.timeline) {
    CHECK(e.hdr.type != EventType::fork);
    CHECK(e.hdr.type != EventType::milestone);
    if (const auto* o = e.as<OpenFailed>()) {
      CHECK(o->err != ENOENT);
      denial = true;
    }
    if (const auto* g = e.as<SignalGenerate>()) CHECK(g->sig != SIGCHLD);
    if (const auto* c = e.as<Connect>()) CHECK(c->addr.path.find("nscd") == std::string::npos);
  }
  CHECK(denial);
  CHECK(s.folded >= 5);
}

TEST_CASE("investigation: a service already running when attach began: its roles from /proc, reload and stop on "
          "purpose, the phases before tracing said as such",
          "[investigation][attach]") {
  // gunicorn master 500 and workers 501, 502 running (read from /proc at
  // attach); the operator reloads (SIGHUP: the master replaces its workers
  // with SIGTERM), then systemd's stop job.
  Trace t;
  for (std::uint32_t pid : {500u, 501u, 502u}) t.task(pid, pid == 500 ? 1 : 500, "gunicorn");
  t.task(600, 1, "kill", 0);
  t.signal(600, kT0 + kS, 500, SIGHUP);
  t.signal(500, kT0 + kS + kMs, 501, SIGTERM);
  t.signal(500, kT0 + kS + kMs, 502, SIGTERM);
  t.exit(501, kT0 + kS + 40 * kMs, 0);
  t.exit(502, kT0 + kS + 40 * kMs, 0);
  t.fork(500, kT0 + kS + 50 * kMs, 503);
  t.heartbeat(503, kT0 + kS + 600 * kMs);
  t.accept(503, kT0 + 2 * kS, 10, inet("127.0.0.1", 40000));
  t.signal(1, kT0 + 3 * kS, 500, SIGTERM);
  t.signal(500, kT0 + 3 * kS + kMs, 503, SIGTERM);
  t.exit(503, kT0 + 3 * kS + 50 * kMs, 0);
  t.exit(500, kT0 + 3 * kS + 90 * kMs, 0);
  Replay r;
  for (std::uint32_t pid : {500u, 501u, 502u})
    r.inv.apply_fact(record::running_fact(pid, pid == 500 ? 1 : 500, "gunicorn", kGunicornArgv));
  auto s = r.run(t, notify_unit(90000), {500, 501, 502});
  INFO(all_titles(s));
  CHECK(s.verdict == Verdict::stopped);
  CHECK(s.exit_status == 0);
  CHECK(s.failures.empty());
  for (const auto& f : s.findings) CHECK(f.severity != rules::Severity::failure);
  const auto* k = find(s, "killed-by-signal");
  REQUIRE(k);
  CHECK(contains(k->title, "after tracing began"));
  // What happened before tracing began is said as such, not as unreached.
  const auto* started = s.checkpoints.last_reached();
  REQUIRE(started);
  bool before = false;
  for (const auto& c : s.checkpoints.list) {
    CHECK(c.reached);
    if (c.name == "started") before = contains(c.evidence, "before tracing began (the gunicorn master, pid 500");
  }
  CHECK(before);
}

TEST_CASE("investigation: a helper's exec while attached to a running service is not its start", "[investigation][attach]") {
  // The look-alike: the kill helper's exec is no start of the service.
  Trace t;
  for (std::uint32_t pid : {500u, 501u}) t.task(pid, pid == 500 ? 1 : 500, "gunicorn");
  t.task(600, 1, "sh", 0);
  t.exec(600, kT0 + kS, "/bin/kill", {"/bin/kill", "-HUP", "500"});
  t.signal(600, kT0 + kS + kMs, 500, SIGHUP);
  Replay r;
  r.inv.apply_fact(record::running_fact(500, 1, "gunicorn", kGunicornArgv));
  r.inv.apply_fact(record::running_fact(501, 500, "gunicorn", kGunicornArgv));
  auto s = r.run(t, notify_unit(90000), {500, 501});
  INFO(all_titles(s));
  for (const auto& c : s.checkpoints.list)
    if (c.name == "started") CHECK_FALSE(contains(c.evidence, "/bin/kill"));
}
