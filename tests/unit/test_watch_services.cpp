// watch/services.h: which service each event belongs to, and when a service
// needs explaining. Kernel-shaped sequences: exec carries argv and the comm
// the kernel sets (the basename of the file executed), fork is emitted by the
// parent with child_pid, exit carries the raw wait status (code << 8, or the
// signal), signal_generate runs in the sender's context, signal_deliver in the
// receiver's, cgroup_mkdir (cgroup_adopt) in systemd's.
//

#include <signal.h>

#include <catch2/catch.hpp>

#include "watch/services.h"
#include "util/strings.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

using pm::watch::Limits;
using pm::watch::Service;
using pm::watch::ServiceTracker;
using pm::watch::Trigger;
namespace model = pm::model;

namespace {

using model::Event;
using model::EventType;

constexpr std::uint64_t kMs = 1000000ull, kS = 1000000000ull;
constexpr std::uint64_t kT0 = 7200 * kS;
constexpr std::uint64_t kInit = 1;        // init.scope's cgroup id
constexpr std::uint64_t kUserCg = 4242;   // an operator's session scope
constexpr std::uint64_t kUnitCg = 8812;   // meats.service's cgroup
constexpr std::uint64_t kFar = ~0ull / 2;

const std::vector<std::string> kArgv = {"/usr/bin/python3", "/usr/bin/gunicorn", "--workers", "2",
                                        "--bind", "127.0.0.1:8000", "shop.wsgi:application"};
const std::string kKey =
    "/usr/bin/python3 /usr/bin/gunicorn --workers 2 --bind 127.0.0.1:8000 shop.wsgi:application";

// The machine as the BPF programs see it: every header is filled from the
// task the event runs in (its pid, real parent, cgroup and comm then).
struct Box {
  struct Task {
    std::uint32_t ppid = 1;
    std::string comm;
    std::uint64_t cgroup = kUserCg;
  };
  ServiceTracker& tracker;
  std::map<std::uint32_t, Task> tasks;
  std::vector<Event> fed;

  explicit Box(ServiceTracker& t) : tracker(t) {
    tasks[1] = Task{0, "systemd", kInit};
    tasks[100] = Task{1, "bash", kUserCg};  // an operator's shell, not traced
  }

  void task(std::uint32_t pid, std::uint32_t ppid, std::string comm, std::uint64_t cgroup = kUserCg) {
    tasks[pid] = Task{ppid, std::move(comm), cgroup};
  }
  Event make(EventType type, std::uint32_t pid, std::uint64_t ts, model::Payload body) {
    const Task& k = tasks.at(pid);
    Event e;
    e.hdr.type = type;
    e.hdr.ts_ns = ts;
    e.hdr.pid = e.hdr.tid = pid;
    e.hdr.ppid = k.ppid;
    e.hdr.uid = e.hdr.gid = 33;
    e.hdr.cgroup_id = k.cgroup;
    e.hdr.comm = k.comm;
    e.body = std::move(body);
    return e;
  }
  Service* feed(Event e) {
    REQUIRE(model::consistent(e));
    fed.push_back(e);
    return tracker.on_event(e);
  }

  // A child the kernel creates; traced parents emit the fork (untraced ones
  // emit nothing, so `emit` is false for them).
  Service* fork(std::uint32_t parent, std::uint64_t ts, std::uint32_t child, bool emit = true) {
    Task c = tasks.at(parent);
    c.ppid = parent;
    tasks[child] = c;
    return emit ? feed(make(EventType::fork, parent, ts, model::Fork{child})) : nullptr;
  }
  Service* exec(std::uint32_t pid, std::uint64_t ts, const std::string& filename, std::vector<std::string> argv,
                std::string interp = "") {
    auto slash = filename.rfind('/');
    tasks.at(pid).comm = filename.substr(slash == std::string::npos ? 0 : slash + 1).substr(0, 15);
    model::Exec x;
    x.filename = filename;
    x.interp = std::move(interp);
    x.argv = std::move(argv);
    x.old_tid = pid;
    auto e = make(EventType::exec, pid, ts, x);
    e.hdr.adopted = true;
    return feed(e);
  }
  Service* exit(std::uint32_t pid, std::uint64_t ts, int raw) {
    model::Exit x;
    x.raw = raw;
    x.start_ns = kT0;
    return feed(make(EventType::exit, pid, ts, x));
  }
  Service* kill(std::uint32_t sender, std::uint64_t ts, std::uint32_t target, int sig, bool kernel = false) {
    model::SignalGenerate g;
    g.sig = sig;
    g.code = kernel ? 0x80 : 0;
    g.target_pid = g.target_tid = target;
    g.target_comm = tasks.count(target) ? tasks[target].comm : "";
    g.group = true;
    g.from_kernel = kernel;
    g.sender_pid = kernel ? 0 : sender;
    return feed(make(EventType::signal_generate, sender, ts, g));
  }
  Service* deliver(std::uint32_t pid, std::uint64_t ts, int sig, std::uint32_t sender) {
    model::SignalDeliver d;
    d.sig = sig;
    d.sender_pid = sender;
    d.handler = 0x55d0c0ffee00ull;
    return feed(make(EventType::signal_deliver, pid, ts, d));
  }
  Service* oom(std::uint32_t context, std::uint64_t ts, std::uint32_t victim) {
    model::OomVictim v;
    v.victim_pid = victim;
    v.victim_uid = 33;
    v.total_vm_pages = 262144;
    v.victim_comm = tasks.at(victim).comm;
    return feed(make(EventType::oom_victim, context, ts, v));
  }
  Service* write(std::uint32_t pid, std::uint64_t ts, std::string text) {
    model::Write w;
    w.fd = 2;
    w.count = text.size();
    w.head = std::move(text);
    return feed(make(EventType::write, pid, ts, w));
  }
  // systemd (re-)creates a cgroup: cgroup_mkdir in PID 1's context.
  Service* mkdir_cgroup(std::uint64_t ts, std::uint64_t id, std::string path) {
    model::CgroupAdopt c;
    c.cgroup_id = id;
    c.level = 2;
    c.path = std::move(path);
    return feed(make(EventType::cgroup_adopt, 1, ts, c));
  }

  // The operator's shell starts gunicorn: an untraced fork, then the exec
  // that brings the process into scope (comm "gunicorn", the #! script's name).
  Service* start_master(std::uint32_t pid, std::uint64_t ts, std::vector<std::string> argv = kArgv) {
    fork(100, ts - kMs, pid, /*emit=*/false);
    return exec(pid, ts, "/usr/bin/gunicorn", std::move(argv), "/usr/bin/python3");
  }
};

Limits limits() {
  Limits l;
  l.window_bytes = 1 << 20;
  l.max_services = 8;
  l.restart_limit = 3;
  l.restart_window_ns = 60 * kS;
  l.settle_ns = 1 * kS;
  return l;
}

std::vector<std::string> kinds(const std::vector<std::pair<Service*, Trigger>>& d) {
  std::vector<std::string> out;
  for (const auto& [s, t] : d) out.push_back(t.kind);
  return out;
}

bool has(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

// The oldest trigger waiting for its settle time, if any.
const Trigger* pend(const Service* s) { return s->pending.empty() ? nullptr : &s->pending.front(); }

// A name-watching tracker with gunicorn master 200 (started by the shell at
// kT0) and workers 201, 202.
struct Gunicorn {
  ServiceTracker t;
  Box box;
  Service* svc = nullptr;
  explicit Gunicorn(Limits l = limits()) : t(l), box(t) {
    t.watch_name("gunicorn");
    svc = box.start_master(200, kT0);
    REQUIRE(svc != nullptr);
    REQUIRE(box.fork(200, kT0 + 400 * kMs, 201) == svc);
    REQUIRE(box.fork(200, kT0 + 405 * kMs, 202) == svc);
  }
};

}  // namespace

// ---- by name ----------------------------------------------------------------

TEST_CASE("services: a gunicorn master exec'd by an untraced shell is a service keyed by its argv", "[watch]") {
  ServiceTracker t(limits());
  t.watch_name("gunicorn");
  Box box(t);
  Service* s = box.start_master(200, kT0);
  REQUIRE(s != nullptr);
  CHECK(s->key == kKey);
  CHECK(s->unit.empty());
  CHECK(s->starts_total == 1);
  CHECK(s->window.size() == 1);
  REQUIRE(t.services().size() == 1);
  CHECK(t.services().count(kKey) == 1);
  CHECK(t.services().at(kKey).get() == s);
  CHECK(t.take_new_services() == std::vector<std::string>{kKey});
  CHECK_FALSE(pend(s));
}

TEST_CASE("services: the master's forked workers and their children belong to it", "[watch]") {
  Gunicorn g;
  CHECK(g.box.write(201, kT0 + 1200 * kMs, "[INFO] Booting worker with pid: 201\n") == g.svc);
  CHECK(g.box.write(202, kT0 + 1210 * kMs, "[INFO] Booting worker with pid: 202\n") == g.svc);
  // A worker's own child (a subprocess it spawns) is the service's too.
  CHECK(g.box.fork(201, kT0 + 2 * kS, 301) == g.svc);
  CHECK(g.box.exec(301, kT0 + 2 * kS + kMs, "/usr/bin/convert", {"convert", "in.png", "out.jpg"}) == g.svc);
  CHECK(g.box.write(301, kT0 + 2 * kS + 2 * kMs, "done\n") == g.svc);
  CHECK(g.t.services().size() == 1);
  // 1 exec, 2 forks, 2 writes, 1 fork, 1 exec, 1 write.
  CHECK(g.svc->window.size() == 8);
  // The child's exec is not a start of the service.
  CHECK(g.svc->starts_total == 1);
}

TEST_CASE("services: unrelated processes belong to no service", "[watch]") {
  Gunicorn g;
  (void)g.t.take_new_services();
  // The same shell starts something else.
  g.box.fork(100, kT0 + 5 * kS, 300, false);
  CHECK(g.box.exec(300, kT0 + 5 * kS, "/usr/sbin/nginx", {"nginx", "-g", "daemon off;"}) == nullptr);
  CHECK(g.box.write(300, kT0 + 6 * kS, "nginx: started\n") == nullptr);
  CHECK(g.box.exit(300, kT0 + 7 * kS, 1 << 8) == nullptr);
  // A python script that is not gunicorn.
  g.box.fork(100, kT0 + 8 * kS, 310, false);
  CHECK(g.box.exec(310, kT0 + 8 * kS, "/usr/bin/python3", {"python3", "manage.py", "migrate"}) == nullptr);
  CHECK(g.box.exit(310, kT0 + 9 * kS, 1 << 8) == nullptr);
  CHECK(g.t.services().size() == 1);
  CHECK(g.t.take_new_services().empty());
  CHECK(g.svc->window.size() == 3);  // exec + 2 forks: nothing of the others
  CHECK(g.t.due(kFar).empty());      // their failures are no one's incident
}

TEST_CASE("services: a master restarted with the same argv is the same service and counts a start", "[watch]") {
  Gunicorn g;
  CHECK(g.t.take_new_services().size() == 1);
  CHECK(g.box.exit(201, kT0 + 10 * kS, 0) == g.svc);
  CHECK(g.box.exit(202, kT0 + 10 * kS, 0) == g.svc);
  CHECK(g.box.exit(200, kT0 + 10 * kS + kMs, 0) == g.svc);
  Service* again = g.box.start_master(250, kT0 + 20 * kS);
  CHECK(again == g.svc);
  CHECK(g.t.services().size() == 1);
  CHECK(g.svc->starts_total == 2);
  CHECK(g.svc->starts.size() == 2);
  CHECK(g.svc->recent_starts(kT0 + 21 * kS, 60 * kS) == 2);
  CHECK(g.t.take_new_services().empty());
  // The new master's workers are the service's.
  CHECK(g.box.fork(250, kT0 + 21 * kS, 251) == g.svc);
  CHECK(g.box.write(251, kT0 + 22 * kS, "booted\n") == g.svc);
}

TEST_CASE("services: a master with a different argv is a different service", "[watch]") {
  Gunicorn g;
  auto other = kArgv;
  other.back() = "blog.wsgi:application";
  other[5] = "127.0.0.1:8001";
  Service* s2 = g.box.start_master(400, kT0 + kS, other);
  REQUIRE(s2 != nullptr);
  CHECK(s2 != g.svc);
  CHECK(s2->key == pm::join(other, " "));
  CHECK(s2->starts_total == 1);
  CHECK(g.svc->starts_total == 1);
  CHECK(g.t.services().size() == 2);
  CHECK(g.t.take_new_services() == std::vector<std::string>{kKey, pm::join(other, " ")});
  // Each keeps its own workers.
  CHECK(g.box.fork(400, kT0 + 2 * kS, 401) == s2);
  CHECK(g.box.write(201, kT0 + 3 * kS, "a\n") == g.svc);
  CHECK(g.box.write(401, kT0 + 3 * kS, "b\n") == s2);
}

TEST_CASE("services: python3 /usr/bin/gunicorn (comm python3) matches the name gunicorn", "[watch]") {
  ServiceTracker t(limits());
  t.watch_name("gunicorn");
  Box box(t);
  box.fork(100, kT0 - kMs, 200, false);
  const std::vector<std::string> argv = {"python3", "/usr/bin/gunicorn", "-w", "2", "app:app"};
  Service* s = box.exec(200, kT0, "/usr/bin/python3", argv);
  REQUIRE(box.tasks[200].comm == "python3");
  REQUIRE(s != nullptr);
  CHECK(s->key == "python3 /usr/bin/gunicorn -w 2 app:app");
  CHECK(s->starts_total == 1);
  CHECK(box.fork(200, kT0 + kS, 201) == s);
  // The same interpreter running something else is not gunicorn.
  box.fork(100, kT0 + 2 * kS, 210, false);
  CHECK(box.exec(210, kT0 + 2 * kS, "/usr/bin/python3", {"python3", "/srv/app/gunicorn_conf.py"}) == nullptr);
  CHECK(t.services().size() == 1);
}

TEST_CASE("services: a watched name longer than a comm matches the comm's 15 characters", "[watch]") {
  ServiceTracker t(limits());
  t.watch_name("shop-worker-daemon");  // 18 characters; comm holds 15
  Box box(t);
  box.fork(100, kT0 - kMs, 200, false);
  // Started with its own argv[0] (exec -a): only the comm can match.
  Service* s = box.exec(200, kT0, "/opt/shop/bin/shop-worker-daemon", {"swd", "--queue", "q1"});
  REQUIRE(box.tasks[200].comm == "shop-worker-dae");
  REQUIRE(s != nullptr);
  CHECK(s->key == "swd --queue q1");
}

// BUG: name_matches() compares the basename of argv[1] with the watched name
// for every program, not only for an interpreter running a script, so an
// operator's `pgrep gunicorn` (or `which gunicorn`, `pkill gunicorn`) is taken
// for a gunicorn master: a bogus service keyed "pgrep gunicorn", and pgrep's
// exit code 1 (nothing found) becomes an "exit" incident.
TEST_CASE("services: an operator's `pgrep gunicorn` is not a gunicorn service", "[watch]") {
  ServiceTracker t(limits());
  t.watch_name("gunicorn");
  Box box(t);
  box.fork(100, kT0 - kMs, 300, false);
  CHECK(box.exec(300, kT0, "/usr/bin/pgrep", {"pgrep", "gunicorn"}) == nullptr);
  box.exit(300, kT0 + kMs, 1 << 8);
  CHECK(t.services().empty());
  CHECK(t.due(kFar).empty());
}

// The same rule picks the processes `pmtrace watch` seeds at startup
// (target::Procfs::by_name has the same argv[1] test): an operator editing
// the service's defaults file when the watch starts becomes a "service".
TEST_CASE("services: a seeded `vim /etc/default/gunicorn` is not a gunicorn service", "[watch]") {
  ServiceTracker t(limits());
  t.watch_name("gunicorn");
  t.seed(300, 100, 0, {"vim", "/etc/default/gunicorn"}, "vim");
  CHECK(t.services().empty());
  CHECK(t.take_new_services().empty());
}

TEST_CASE("services: a root process that execs twice is one start", "[watch]") {
  ServiceTracker t(limits());
  t.watch_name("gunicorn");
  Box box(t);
  Service* s = box.start_master(200, kT0);
  REQUIRE(s != nullptr);
  // gunicorn re-execs itself in place (same pid): still one start.
  CHECK(box.exec(200, kT0 + 50 * kMs, "/usr/bin/gunicorn", kArgv, "/usr/bin/python3") == s);
  CHECK(s->starts_total == 1);
  CHECK(s->starts.size() == 1);
}

// ---- triggers ----------------------------------------------------------------

TEST_CASE("services: a restart loop is a trigger after more than restart_limit starts in the window", "[watch]") {
  ServiceTracker t(limits());  // restart_limit 3, window 60s, settle 1s
  t.watch_name("gunicorn");
  Box box(t);
  Service* s = nullptr;
  std::uint32_t pid = 200;
  // Runs that end quietly (exit 0) and are started again at once: no run
  // has a trigger of its own, the loop is the problem.
  for (int i = 0; i < 4; ++i, pid += 10) {
    const std::uint64_t at = kT0 + static_cast<std::uint64_t>(i) * 10 * kS;
    Service* now = box.start_master(pid, at);
    REQUIRE(now != nullptr);
    if (s) REQUIRE(now == s);
    s = now;
    INFO("start " << i + 1);
    if (i < 3) {
      CHECK_FALSE(pend(s));
      box.exit(pid, at + 5 * kS, 0);
      CHECK_FALSE(pend(s));
    } else {
      REQUIRE(s->pending.size() == 1);
      CHECK(pend(s)->kind == "restart-loop");
      CHECK(has(pend(s)->what, "4 times"));
      CHECK(has(pend(s)->what, "60s"));
      // Explained on the run before this start, not inside the new one.
      CHECK(pend(s)->ts_ns < at);
      CHECK(pend(s)->ts_ns > at - 10 * kS);
    }
  }
  CHECK(s->starts_total == 4);
  auto d = t.due(kFar);
  CHECK(kinds(d) == std::vector<std::string>{"restart-loop"});
}

TEST_CASE("services: a fast crash loop queues one trigger per run, oldest first", "[watch]") {
  ServiceTracker t(limits());  // settle 1s: the runs are quicker than that
  t.watch_name("gunicorn");
  Box box(t);
  Service* s = nullptr;
  for (std::uint32_t i = 0; i < 5; ++i) {
    const std::uint64_t at = kT0 + i * 300 * kMs;
    s = box.start_master(200 + i * 10, at);
    REQUIRE(s != nullptr);
    box.exit(200 + i * 10, at + 100 * kMs, (1 + i) << 8);
  }
  // Each run failed on its own: five "exit" triggers, no extra restart-loop
  // (the same failure again is one incident with a count).
  REQUIRE(s->pending.size() == 5);
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(s->pending[i].kind == "exit");
    CHECK(s->pending[i].what == "exited with code " + std::to_string(i + 1));
  }
  // Due one by one as each settles.
  auto d1 = t.due(kT0 + 100 * kMs + kS);
  REQUIRE(d1.size() == 1);
  CHECK(d1[0].second.what == "exited with code 1");
  auto d2 = t.due(kT0 + 1300 * kMs + kS);
  REQUIRE(d2.size() == 4);
  CHECK(d2[0].second.what == "exited with code 2");
  CHECK(d2[3].second.what == "exited with code 5");
  CHECK(t.due(kFar).empty());
}

TEST_CASE("services: starts spread wider than the restart window are no loop", "[watch]") {
  ServiceTracker t(limits());
  t.watch_name("gunicorn");
  Box box(t);
  Service* s = nullptr;
  // Every 20 s: at most 3 starts within any 60 s (the window is half-open).
  for (int i = 0; i < 8; ++i) {
    s = box.start_master(200 + i * 10, kT0 + static_cast<std::uint64_t>(i) * 20 * kS);
    REQUIRE(s != nullptr);
    box.exit(200 + i * 10, kT0 + static_cast<std::uint64_t>(i) * 20 * kS + kS, 0);
    CHECK_FALSE(pend(s));
  }
  CHECK(s->starts_total == 8);
  CHECK(t.due(kFar).empty());
  // One second tighter (every 19 s) and the 4th start is a loop.
  ServiceTracker t2(limits());
  t2.watch_name("gunicorn");
  Box box2(t2);
  for (int i = 0; i < 4; ++i) {
    s = box2.start_master(200 + i * 10, kT0 + static_cast<std::uint64_t>(i) * 19 * kS);
    if (i < 3) REQUIRE_FALSE(pend(s));
    box2.exit(200 + i * 10, kT0 + static_cast<std::uint64_t>(i) * 19 * kS + kS, 0);
  }
  REQUIRE(pend(s));
  CHECK(pend(s)->kind == "restart-loop");
}

TEST_CASE("services: the master exiting with code 3 is an exit trigger", "[watch]") {
  Gunicorn g;
  const std::uint64_t at = kT0 + 30 * kS;
  g.box.exit(201, at - 10 * kMs, 0);
  g.box.exit(202, at - 10 * kMs, 0);
  CHECK(g.box.exit(200, at, 3 << 8) == g.svc);
  REQUIRE(pend(g.svc));
  CHECK(pend(g.svc)->kind == "exit");
  CHECK(pend(g.svc)->what == "exited with code 3");
  CHECK(pend(g.svc)->ts_ns == at);
  auto d = g.t.due(at + kS);
  REQUIRE(d.size() == 1);
  CHECK(d[0].first == g.svc);
  CHECK(d[0].second.kind == "exit");
  CHECK(d[0].second.what == "exited with code 3");
}

TEST_CASE("services: a worker's non-zero exit alone is no trigger", "[watch]") {
  Gunicorn g;
  CHECK(g.box.exit(201, kT0 + 30 * kS, 1 << 8) == g.svc);
  CHECK(g.box.exit(202, kT0 + 31 * kS, 11) == g.svc);  // even a segfault of a worker
  CHECK_FALSE(pend(g.svc));
  CHECK(g.t.due(kFar).empty());
  // The master is still the root: its failure still triggers.
  g.box.exit(200, kT0 + 40 * kS, 1 << 8);
  CHECK(kinds(g.t.due(kFar)) == std::vector<std::string>{"exit"});
}

TEST_CASE("services: the master killed by SIGKILL is a signal trigger", "[watch]") {
  Gunicorn g;
  g.box.task(900, 100, "kill");
  const std::uint64_t at = kT0 + 60 * kS;
  CHECK(g.box.kill(900, at, 200, SIGKILL) == nullptr);  // the sender is nobody's
  g.box.exit(200, at + 1 * kMs, SIGKILL);
  REQUIRE(pend(g.svc));
  CHECK(pend(g.svc)->kind == "signal");
  CHECK(pend(g.svc)->what == "killed by SIGKILL");
  CHECK(pend(g.svc)->ts_ns == at + kMs);
}

TEST_CASE("services: a master dumping core on SIGSEGV is a signal trigger", "[watch]") {
  Gunicorn g;
  g.box.exit(200, kT0 + 60 * kS, 0x80 | SIGSEGV);
  REQUIRE(pend(g.svc));
  CHECK(pend(g.svc)->kind == "signal");
  CHECK(pend(g.svc)->what == "killed by SIGSEGV");
}

TEST_CASE("services: SIGTERM from outside the service, then a clean exit, is a signal trigger naming the sender",
          "[watch]") {
  Gunicorn g;
  g.box.task(900, 100, "kill");
  const std::uint64_t at = kT0 + 60 * kS;
  const auto before = g.svc->window.size();
  CHECK(g.box.kill(900, at, 200, SIGTERM) == nullptr);
  CHECK(g.svc->window.size() == before + 1);  // the signal is in the target's window
  // Gunicorn handles it: the master stops its workers and exits 0.
  g.box.deliver(200, at + kMs, SIGTERM, 900);
  g.box.kill(200, at + 2 * kMs, 201, SIGTERM);
  g.box.kill(200, at + 2 * kMs, 202, SIGTERM);
  g.box.deliver(201, at + 3 * kMs, SIGTERM, 200);
  g.box.deliver(202, at + 3 * kMs, SIGTERM, 200);
  g.box.exit(201, at + 50 * kMs, 0);
  g.box.exit(202, at + 50 * kMs, 0);
  CHECK_FALSE(pend(g.svc));  // nothing until the master is gone
  g.box.exit(200, at + 80 * kMs, 0);
  REQUIRE(pend(g.svc));
  CHECK(pend(g.svc)->kind == "signal");
  CHECK(has(pend(g.svc)->what, "SIGTERM"));
  CHECK(has(pend(g.svc)->what, "from pid 900"));
  CHECK(pend(g.svc)->ts_ns == at + 80 * kMs);
}

TEST_CASE("services: SIGTERM the master sends its own workers, then a clean exit, is no trigger", "[watch]") {
  Gunicorn g;
  const std::uint64_t at = kT0 + 60 * kS;
  const auto before = g.svc->window.size();
  CHECK(g.box.kill(200, at, 201, SIGTERM) == g.svc);
  CHECK(g.box.kill(200, at, 202, SIGTERM) == g.svc);
  CHECK(g.svc->window.size() == before + 2);  // each once, not twice
  g.box.deliver(201, at + kMs, SIGTERM, 200);
  g.box.deliver(202, at + kMs, SIGTERM, 200);
  g.box.exit(201, at + 20 * kMs, 0);
  g.box.exit(202, at + 20 * kMs, SIGTERM);  // one had no handler: killed by it
  g.box.exit(200, at + 40 * kMs, 0);
  CHECK_FALSE(pend(g.svc));
  CHECK(g.t.due(kFar).empty());
}

TEST_CASE("services: a master that signals itself to stop, then exits 0, is no trigger", "[watch]") {
  // The service stopping itself (its own code, or a helper process it runs)
  // is not a stop from outside.
  Gunicorn g;
  const std::uint64_t at = kT0 + 60 * kS;
  CHECK(g.box.kill(200, at, 200, SIGTERM) == g.svc);
  g.box.deliver(200, at + kMs, SIGTERM, 200);
  g.box.fork(200, at + 2 * kMs, 260);  // a helper of the master's ...
  g.box.kill(260, at + 3 * kMs, 200, SIGINT);  // ... interrupting it
  g.box.exit(260, at + 4 * kMs, 0);
  g.box.exit(201, at + 10 * kMs, 0);
  g.box.exit(202, at + 10 * kMs, 0);
  g.box.exit(200, at + 20 * kMs, 0);
  CHECK_FALSE(pend(g.svc));
  CHECK(g.t.due(kFar).empty());
}

TEST_CASE("services: SIGABRT delivered to a worker by its master is a worker-timeout trigger", "[watch]") {
  Gunicorn g;
  const std::uint64_t at = kT0 + 90 * kS;
  g.box.write(200, at - kMs, "[CRITICAL] WORKER TIMEOUT (pid:201)\n");
  g.box.kill(200, at, 201, SIGABRT);
  CHECK_FALSE(pend(g.svc));  // sending is not enough: the worker must get it
  CHECK(g.box.deliver(201, at + kMs, SIGABRT, 200) == g.svc);
  REQUIRE(pend(g.svc));
  CHECK(pend(g.svc)->kind == "worker-timeout");
  CHECK(has(pend(g.svc)->what, "201"));
  CHECK(pend(g.svc)->ts_ns == at + kMs);
}

TEST_CASE("services: SIGABRT to a worker from outside, or a master aborting itself, is no worker timeout",
          "[watch]") {
  Gunicorn g;
  g.box.task(900, 100, "kill");
  g.box.kill(900, kT0 + 90 * kS, 201, SIGABRT);
  g.box.deliver(201, kT0 + 90 * kS + kMs, SIGABRT, 900);
  CHECK_FALSE(pend(g.svc));
  // abort() in the master: it delivers SIGABRT to itself.
  g.box.deliver(200, kT0 + 91 * kS, SIGABRT, 200);
  CHECK_FALSE(pend(g.svc));
  // Nor is one worker aborting another: only its master times a worker out.
  g.box.kill(202, kT0 + 91 * kS + kMs, 201, SIGABRT);
  g.box.deliver(201, kT0 + 91 * kS + 2 * kMs, SIGABRT, 202);
  CHECK_FALSE(pend(g.svc));
  // A worker's SIGTERM from its master (graceful stop) is no timeout either.
  g.box.deliver(202, kT0 + 92 * kS, SIGTERM, 200);
  CHECK_FALSE(pend(g.svc));
}

TEST_CASE("services: a worker the OOM killer picks is an oom trigger, whoever allocated", "[watch]") {
  SECTION("in the worker's own context") {
    Gunicorn g;
    const auto before = g.svc->window.size();
    CHECK(g.box.oom(201, kT0 + 100 * kS, 201) == g.svc);
    CHECK(g.svc->window.size() == before + 1);
    REQUIRE(pend(g.svc));
    CHECK(pend(g.svc)->kind == "oom");
    CHECK(has(pend(g.svc)->what, "201"));
  }
  SECTION("in an unrelated process's context") {
    Gunicorn g;
    g.box.task(700, 1, "postgres");
    const auto before = g.svc->window.size();
    CHECK(g.box.oom(700, kT0 + 100 * kS, 202) == nullptr);
    CHECK(g.svc->window.size() == before + 1);  // still recorded for the victim's service
    REQUIRE(pend(g.svc));
    CHECK(pend(g.svc)->kind == "oom");
    CHECK(has(pend(g.svc)->what, "202"));
    CHECK(pend(g.svc)->ts_ns == kT0 + 100 * kS);
  }
  SECTION("an unrelated victim is no one's trigger") {
    Gunicorn g;
    g.box.task(700, 1, "postgres");
    g.box.oom(201, kT0 + 100 * kS, 700);
    CHECK_FALSE(pend(g.svc));
  }
}

TEST_CASE("services: a trigger is due only after the settle time, and exactly once", "[watch]") {
  Gunicorn g;
  const std::uint64_t at = kT0 + 30 * kS;
  g.box.exit(200, at, 2 << 8);
  CHECK(g.t.due(at).empty());
  CHECK(g.t.due(at + kS - 1).empty());
  CHECK(pend(g.svc));  // not handed out yet
  auto d = g.t.due(at + kS);
  REQUIRE(d.size() == 1);
  CHECK(d[0].first == g.svc);
  CHECK(d[0].second.what == "exited with code 2");
  CHECK(d[0].second.ts_ns == at);
  CHECK_FALSE(pend(g.svc));
  CHECK(g.t.due(at + kS).empty());
  CHECK(g.t.due(kFar).empty());
}

TEST_CASE("services: a second trigger while one is pending keeps the first", "[watch]") {
  Gunicorn g;
  const std::uint64_t at = kT0 + 30 * kS;
  g.box.kill(200, at, 201, SIGABRT);
  g.box.deliver(201, at + kMs, SIGABRT, 200);  // worker-timeout
  g.box.exit(201, at + 2 * kMs, SIGABRT);
  g.box.oom(202, at + 3 * kMs, 202);           // oom
  g.box.exit(200, at + 4 * kMs, 1 << 8);       // exit
  REQUIRE(g.svc->pending.size() == 1);
  CHECK(pend(g.svc)->kind == "worker-timeout");
  CHECK(pend(g.svc)->ts_ns == at + kMs);
  auto d = g.t.due(at + 10 * kS);
  CHECK(kinds(d) == std::vector<std::string>{"worker-timeout"});
  CHECK(g.t.due(kFar).empty());
}

TEST_CASE("services: a failure after the service started again is a trigger of its own", "[watch]") {
  Gunicorn g;
  g.box.exit(200, kT0 + 10 * kS, 1 << 8);
  Service* s = g.box.start_master(250, kT0 + 10 * kS + 50 * kMs);  // restarted before the first settled
  REQUIRE(s == g.svc);
  g.box.exit(250, kT0 + 10 * kS + 400 * kMs, SIGKILL);
  REQUIRE(s->pending.size() == 2);
  CHECK(s->pending[0].kind == "exit");
  CHECK(s->pending[1].kind == "signal");
  CHECK(kinds(g.t.due(kFar)) == std::vector<std::string>{"exit", "signal"});
}

// The cascade of one failure is one trigger, even once the first was handed
// out: the master exiting as its worker is OOM-killed. A failure later in the
// same run (past the settle time) is a trigger of its own.
TEST_CASE("services: a second trigger within the settle time is merged, a later one is not", "[watch]") {
  Gunicorn g;
  const std::uint64_t at = kT0 + 30 * kS;
  g.box.oom(201, at, 201);
  g.box.exit(201, at + kMs, SIGKILL);
  auto d = g.t.due(at + limits().settle_ns);
  REQUIRE(kinds(d) == std::vector<std::string>{"oom"});
  g.box.exit(202, at + 2 * kMs, 0);
  g.box.exit(200, at + 3 * kMs, 1 << 8);  // the same moment: merged
  CHECK(g.svc->pending.empty());
  CHECK(g.t.due(kFar).empty());

  Gunicorn h;
  h.box.oom(201, at, 201);
  (void)h.t.due(at + limits().settle_ns);
  h.box.exit(200, at + limits().settle_ns + 5 * kS, 1 << 8);  // later: its own
  REQUIRE(kinds(h.t.due(kFar)) == std::vector<std::string>{"exit"});
}

TEST_CASE("services: triggers of two services are each handed out when due", "[watch]") {
  Gunicorn g;
  auto other = kArgv;
  other.back() = "blog.wsgi:application";
  Service* s2 = g.box.start_master(400, kT0 + kS, other);
  REQUIRE(s2 != nullptr);
  g.box.exit(200, kT0 + 10 * kS, 1 << 8);
  g.box.exit(400, kT0 + 20 * kS, SIGKILL);
  auto d1 = g.t.due(kT0 + 11 * kS);
  REQUIRE(d1.size() == 1);
  CHECK(d1[0].first == g.svc);
  auto d2 = g.t.due(kT0 + 21 * kS);
  REQUIRE(d2.size() == 1);
  CHECK(d2[0].first == s2);
  CHECK(d2[0].second.kind == "signal");
}

// ---- limits and bookkeeping -------------------------------------------------

TEST_CASE("services: beyond max_services new services are counted as untracked", "[watch]") {
  Limits l = limits();
  l.max_services = 2;
  ServiceTracker t(l);
  t.watch_name("gunicorn");
  Box box(t);
  auto argv_for = [](int port) {
    auto a = kArgv;
    a[5] = "127.0.0.1:" + std::to_string(port);
    return a;
  };
  Service* a = box.start_master(200, kT0, argv_for(8000));
  Service* b = box.start_master(300, kT0, argv_for(8001));
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  CHECK(t.untracked_services() == 0);
  CHECK(box.start_master(400, kT0, argv_for(8002)) == nullptr);
  CHECK(t.untracked_services() == 1);
  CHECK(box.start_master(500, kT0, argv_for(8003)) == nullptr);
  CHECK(t.untracked_services() == 2);
  CHECK(t.services().size() == 2);
  CHECK(t.take_new_services().size() == 2);
  // The untracked ones' processes stay untracked; the tracked ones still work.
  CHECK(box.fork(400, kT0 + kS, 401) == nullptr);
  CHECK(box.write(401, kT0 + kS, "x\n") == nullptr);
  CHECK(box.exit(400, kT0 + 2 * kS, 1 << 8) == nullptr);
  CHECK(box.fork(200, kT0 + kS, 201) == a);
  CHECK(box.start_master(210, kT0 + 3 * kS, argv_for(8000)) == a);  // a known key is no new service
  CHECK(t.untracked_services() == 2);
}

// BUG: untracked_services() counts calls to service_for() that hit the limit,
// not services. For a unit, service_for() runs for *every* event of every
// process in the unit's cgroup, so an untracked unit adds one per event; an
// untracked name service adds one per start. pmtrace_services_untracked_total
// ("Services not tracked because of the service limit") becomes an event count.
TEST_CASE("services: an untracked service is counted once, however many events it has", "[watch]") {
  Limits l = limits();
  l.max_services = 1;
  ServiceTracker t(l);
  t.watch_unit("meats.service", "/system.slice/meats.service", kUnitCg);
  t.watch_unit("blog.service", "/system.slice/blog.service", 9300);
  Box box(t);
  box.task(500, 1, "(gunicorn)", kUnitCg);
  REQUIRE(box.exec(500, kT0, "/usr/bin/gunicorn", kArgv, "/usr/bin/python3") != nullptr);
  box.task(600, 1, "(gunicorn)", 9300);
  CHECK(box.exec(600, kT0, "/usr/bin/gunicorn", kArgv, "/usr/bin/python3") == nullptr);
  for (int i = 0; i < 10; ++i) box.write(600, kT0 + kS + static_cast<std::uint64_t>(i), "booting\n");
  CHECK(t.untracked_services() == 1);
  // And a name service that restarts is still one untracked service.
  ServiceTracker n(l);
  n.watch_name("gunicorn");
  Box nb(n);
  auto other = kArgv;
  other.back() = "blog.wsgi:application";
  REQUIRE(nb.start_master(200, kT0) != nullptr);
  CHECK(nb.start_master(300, kT0, other) == nullptr);
  nb.exit(300, kT0 + kS, 1 << 8);
  CHECK(nb.start_master(310, kT0 + 2 * kS, other) == nullptr);
  CHECK(n.untracked_services() == 1);
}

TEST_CASE("services: take_new_services reports each new service once", "[watch]") {
  ServiceTracker t(limits());
  t.watch_name("gunicorn");
  Box box(t);
  CHECK(t.take_new_services().empty());
  box.start_master(200, kT0);
  box.fork(200, kT0 + kS, 201);
  box.write(201, kT0 + kS, "x\n");
  CHECK(t.take_new_services() == std::vector<std::string>{kKey});
  CHECK(t.take_new_services().empty());
  box.exit(200, kT0 + 2 * kS, 0);
  box.start_master(210, kT0 + 3 * kS);  // the same service again
  CHECK(t.take_new_services().empty());
  auto other = kArgv;
  other.back() = "blog.wsgi:application";
  box.start_master(300, kT0 + 4 * kS, other);
  CHECK(t.take_new_services() == std::vector<std::string>{pm::join(other, " ")});
  CHECK(t.take_new_services().empty());
}

TEST_CASE("services: dropped() sums what every service's window had to drop", "[watch]") {
  Limits l = limits();
  l.window_bytes = 4096;
  ServiceTracker t(l);
  t.watch_name("gunicorn");
  Box box(t);
  Service* a = box.start_master(200, kT0);
  auto other = kArgv;
  other.back() = "blog.wsgi:application";
  Service* b = box.start_master(300, kT0, other);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->window.max_bytes() == 4096);
  for (int i = 0; i < 200; ++i) {
    box.write(200, kT0 + kS + static_cast<std::uint64_t>(i), std::string(100, 'a'));
    if (i % 2) box.write(300, kT0 + kS + static_cast<std::uint64_t>(i), std::string(100, 'b'));
  }
  CHECK(a->window.bytes() <= 4096);
  CHECK(b->window.bytes() <= 4096);
  CHECK(a->window.dropped() > 0);
  CHECK(b->window.dropped() > 0);
  CHECK(t.dropped() == a->window.dropped() + b->window.dropped());
}

// ---- seeding processes that were running before the watch ------------------

TEST_CASE("services: seeded master and workers attach their later events", "[watch]") {
  ServiceTracker t(limits());
  t.watch_name("gunicorn");
  Box box(t);
  box.task(200, 1, "gunicorn");
  box.task(201, 200, "gunicorn");
  box.task(202, 200, "gunicorn");
  box.task(300, 1, "nginx");
  // Parents first, as `pmtrace watch` does. Workers have the master's argv.
  t.seed(200, 1, 0, kArgv, "gunicorn");
  t.seed(201, 200, 0, kArgv, "gunicorn");
  t.seed(202, 200, 0, kArgv, "gunicorn");
  t.seed(300, 1, 0, {"nginx: master process /usr/sbin/nginx"}, "nginx");
  CHECK(t.take_new_services() == std::vector<std::string>{kKey});
  REQUIRE(t.services().size() == 1);
  Service* s = t.services().at(kKey).get();
  CHECK(s->window.size() == 0);  // seeding is no event

  CHECK(box.write(201, kT0, "req\n") == s);
  CHECK(box.write(202, kT0, "req\n") == s);
  CHECK(box.fork(200, kT0 + kS, 203) == s);
  CHECK(box.write(300, kT0, "nginx\n") == nullptr);
  CHECK(s->window.size() == 3);
  // Workers are workers: a SIGABRT from the master is a timeout, their exit is none.
  box.exit(202, kT0 + 2 * kS, 1 << 8);
  CHECK_FALSE(pend(s));
  box.deliver(201, kT0 + 3 * kS, SIGABRT, 200);
  REQUIRE(pend(s));
  CHECK(pend(s)->kind == "worker-timeout");
  (void)t.due(kFar);
  // The master is the root.
  box.exit(200, kT0 + 5 * kS, 1 << 8);
  REQUIRE(pend(s));
  CHECK(pend(s)->kind == "exit");
}

TEST_CASE("services: a seeded unit process belongs to the unit", "[watch]") {
  ServiceTracker t(limits());
  t.watch_unit("meats.service", "/system.slice/meats.service", kUnitCg);
  Box box(t);
  box.task(500, 1, "gunicorn", kUnitCg);
  box.task(501, 500, "gunicorn", kUnitCg);
  t.seed(500, 1, kUnitCg, kArgv, "gunicorn");
  t.seed(501, 500, kUnitCg, kArgv, "gunicorn");
  CHECK(t.take_new_services() == std::vector<std::string>{"unit meats.service"});
  Service* s = t.services().at("unit meats.service").get();
  CHECK(s->unit == "meats.service");
  box.exit(501, kT0, 1 << 8);
  CHECK_FALSE(pend(s));
  box.exit(500, kT0 + kS, 1 << 8);
  REQUIRE(pend(s));
  CHECK(pend(s)->kind == "exit");
}

// BUG: seed() does not count the seeded root as a start of its service, so
// for a service that was running when the watch began (the usual case in
// production) starts_total is one short: after one restart starts_total is 1
// and `pmtrace watch` reports pmtrace_restarts_total{...} 0 (it exports
// starts_total - 1, "starts after its first").
TEST_CASE("services: a seeded master is the service's first start", "[watch]") {
  ServiceTracker t(limits());
  t.watch_name("gunicorn");
  Box box(t);
  box.task(200, 1, "gunicorn");
  t.seed(200, 1, 0, kArgv, "gunicorn");
  Service* s = t.services().at(kKey).get();
  box.exit(200, kT0, 1 << 8);
  CHECK(box.start_master(250, kT0 + 2 * kS) == s);
  CHECK(s->starts_total == 2);  // the seeded run and one restart
}

TEST_CASE("services: signals to a service process are in its window, from wherever they come", "[watch]") {
  Gunicorn g;
  g.box.task(900, 100, "kill");
  g.box.task(700, 1, "monitor");
  auto n = g.svc->window.size();
  // signal_generate in an outside sender's context: routed to the target's window.
  CHECK(g.box.kill(900, kT0 + kS, 201, SIGUSR1) == nullptr);
  CHECK(g.svc->window.size() == ++n);
  CHECK(g.box.kill(700, kT0 + kS, 200, SIGHUP) == nullptr);
  CHECK(g.svc->window.size() == ++n);
  // signal_deliver in the receiver's context.
  CHECK(g.box.deliver(201, kT0 + kS + kMs, SIGUSR1, 900) == g.svc);
  CHECK(g.svc->window.size() == ++n);
  // A signal between outsiders is not in it.
  g.box.kill(900, kT0 + 2 * kS, 700, SIGTERM);
  CHECK(g.svc->window.size() == n);
  auto events = g.svc->window.take_until(kFar);
  int generates = 0;
  for (const auto& e : events)
    if (const auto* s = e.as<model::SignalGenerate>()) {
      ++generates;
      CHECK((s->target_pid == 200 || s->target_pid == 201));
    }
  CHECK(generates == 2);
}

// BUG (gunicorn's documented binary upgrade: USR2, then stop the old master):
// the new master is forked by the old one, so it is a non-root process of the
// service and stays one after the old master exits; its crash later is no
// trigger at all. Cause: `root` is decided once, when the process is first
// seen, and never revisited (a process exec'ing the service's own command, or
// orphaned by the root's exit, is never promoted).
TEST_CASE("services: after a USR2 upgrade the new master's crash is a trigger", "[watch]") {
  Gunicorn g;
  g.box.task(900, 100, "kill");
  const std::uint64_t at = kT0 + 100 * kS;
  g.box.kill(900, at, 200, SIGUSR2);
  g.box.deliver(200, at + kMs, SIGUSR2, 900);
  CHECK(g.box.fork(200, at + 2 * kMs, 300) == g.svc);
  CHECK(g.box.exec(300, at + 3 * kMs, "/usr/bin/gunicorn", kArgv, "/usr/bin/python3") == g.svc);
  CHECK(g.box.fork(300, at + 500 * kMs, 301) == g.svc);
  // The operator stops the old master (and its workers).
  g.box.kill(900, at + 10 * kS, 200, SIGTERM);
  g.box.exit(201, at + 10 * kS + kMs, 0);
  g.box.exit(202, at + 10 * kS + kMs, 0);
  g.box.exit(200, at + 10 * kS + 5 * kMs, 0);
  g.box.tasks[300].ppid = 1;  // reparented to init
  (void)g.t.due(kFar);        // the deliberate stop, explained and done
  REQUIRE_FALSE(pend(g.svc));
  // A day later the new master dies.
  g.box.exit(301, at + 86400 * kS, 0);
  g.box.exit(300, at + 86400 * kS + kMs, 1 << 8);
  REQUIRE(pend(g.svc));
  CHECK(pend(g.svc)->kind == "exit");
}

// ---- by unit ----------------------------------------------------------------

TEST_CASE("services: events in a watched unit's cgroup belong to the unit", "[watch]") {
  ServiceTracker t(limits());
  t.watch_unit("meats.service", "/system.slice/meats.service", kUnitCg);
  Box box(t);
  // systemd's child, renamed "(gunicorn)" and moved into the cgroup.
  box.task(500, 1, "(gunicorn)", kUnitCg);
  Service* s = box.exec(500, kT0, "/usr/bin/gunicorn", kArgv, "/usr/bin/python3");
  REQUIRE(s != nullptr);
  CHECK(s->key == "unit meats.service");
  CHECK(s->unit == "meats.service");
  CHECK(s->starts_total == 1);
  CHECK(t.take_new_services() == std::vector<std::string>{"unit meats.service"});
  CHECK(box.fork(500, kT0 + 400 * kMs, 501) == s);
  CHECK(box.write(501, kT0 + kS, "x\n") == s);
  // A process in another cgroup, gunicorn or not, is not the unit's; names
  // are not watched here.
  box.task(600, 1, "(gunicorn)", 9999);
  CHECK(box.exec(600, kT0, "/usr/bin/gunicorn", kArgv, "/usr/bin/python3") == nullptr);
  box.task(610, 100, "bash", kUserCg);
  CHECK(box.write(610, kT0, "y\n") == nullptr);
  CHECK(t.services().size() == 1);
}

TEST_CASE("services: a unit restarted in a re-created cgroup (new id) is the same unit", "[watch]") {
  ServiceTracker t(limits());
  t.watch_unit("meats.service", "/system.slice/meats.service", kUnitCg);
  Box box(t);
  box.task(500, 1, "(gunicorn)", kUnitCg);
  Service* s = box.exec(500, kT0, "/usr/bin/gunicorn", kArgv, "/usr/bin/python3");
  REQUIRE(s != nullptr);
  (void)t.take_new_services();
  box.exit(500, kT0 + 10 * kS, 1 << 8);
  (void)t.due(kFar);
  // systemd removes the empty cgroup and makes it again for the restart.
  const std::uint64_t kNewCg = 8850;
  CHECK(box.mkdir_cgroup(kT0 + 10 * kS + 100 * kMs, kNewCg, "/system.slice/meats.service") == nullptr);
  box.task(520, 1, "(gunicorn)", kNewCg);
  CHECK(box.exec(520, kT0 + 10 * kS + 110 * kMs, "/usr/bin/gunicorn", kArgv, "/usr/bin/python3") == s);
  CHECK(s->starts_total == 2);
  CHECK(t.services().size() == 1);
  CHECK(t.take_new_services().empty());
  CHECK(box.fork(520, kT0 + 11 * kS, 521) == s);
  // Another unit's cgroup being made does not join it.
  box.mkdir_cgroup(kT0 + 12 * kS, 8900, "/system.slice/other.service");
  box.task(530, 1, "(gunicorn)", 8900);
  CHECK(box.exec(530, kT0 + 12 * kS, "/usr/bin/gunicorn", kArgv, "/usr/bin/python3") == nullptr);
}

TEST_CASE("services: a unit not started yet is found when its cgroup is made", "[watch]") {
  ServiceTracker t(limits());
  t.watch_unit("meats.service", "/system.slice/meats.service", std::nullopt);
  Box box(t);
  box.task(500, 1, "(gunicorn)", 8812);
  CHECK(box.write(500, kT0 - kS, "before\n") == nullptr);  // cgroup not known yet
  box.mkdir_cgroup(kT0, 8812, "/system.slice/meats.service");
  Service* s = box.exec(500, kT0 + kMs, "/usr/bin/gunicorn", kArgv, "/usr/bin/python3");
  REQUIRE(s != nullptr);
  CHECK(s->key == "unit meats.service");
}

TEST_CASE("services: the unit's root process exiting non-zero triggers, a child's exit does not", "[watch]") {
  ServiceTracker t(limits());
  t.watch_unit("meats.service", "/system.slice/meats.service", kUnitCg);
  Box box(t);
  box.task(500, 1, "(gunicorn)", kUnitCg);
  Service* s = box.exec(500, kT0, "/usr/bin/gunicorn", kArgv, "/usr/bin/python3");
  REQUIRE(s != nullptr);
  box.fork(500, kT0 + kS, 501);
  box.exit(501, kT0 + 2 * kS, 1 << 8);
  CHECK_FALSE(pend(s));
  box.exit(500, kT0 + 3 * kS, 3 << 8);
  REQUIRE(pend(s));
  CHECK(pend(s)->kind == "exit");
  CHECK(pend(s)->what == "exited with code 3");
  auto d = t.due(kT0 + 4 * kS);
  REQUIRE(d.size() == 1);
  CHECK(d[0].first->unit == "meats.service");
}

TEST_CASE("services: a unit's root stopped by systemd's SIGTERM names the sender", "[watch]") {
  ServiceTracker t(limits());
  t.watch_unit("meats.service", "/system.slice/meats.service", kUnitCg);
  Box box(t);
  box.task(500, 1, "(gunicorn)", kUnitCg);
  Service* s = box.exec(500, kT0, "/usr/bin/gunicorn", kArgv, "/usr/bin/python3");
  REQUIRE(s != nullptr);
  CHECK(box.kill(1, kT0 + 60 * kS, 500, SIGTERM) == nullptr);  // systemctl stop
  box.exit(500, kT0 + 60 * kS + 300 * kMs, 0);
  REQUIRE(pend(s));
  CHECK(pend(s)->kind == "signal");
  CHECK(has(pend(s)->what, "from pid 1"));
}

// BUG: every process systemd starts in the unit's cgroup is a "root" (its
// parent, PID 1, is not in the unit), and every root's exec counts a start.
// ExecReload=/bin/kill -HUP $MAINPID therefore counts as a start of the
// service each time: four `systemctl reload`s within a minute raise a
// "restart-loop" trigger ("started 5 times in 60s") for a gunicorn master
// that never restarted, and starts_total (exported as restarts) grows.
TEST_CASE("services: systemctl reload (ExecReload= in the unit) is not a start", "[watch]") {
  ServiceTracker t(limits());
  t.watch_unit("meats.service", "/system.slice/meats.service", kUnitCg);
  Box box(t);
  box.task(500, 1, "(gunicorn)", kUnitCg);
  Service* s = box.exec(500, kT0, "/usr/bin/gunicorn", kArgv, "/usr/bin/python3");
  REQUIRE(s != nullptr);
  box.fork(500, kT0 + kS, 501);
  for (std::uint32_t i = 0; i < 4; ++i) {
    const std::uint64_t at = kT0 + 100 * kS + i * 10 * kS;
    const std::uint32_t pid = 600 + i;
    box.task(pid, 1, "(kill)", kUnitCg);
    box.exec(pid, at, "/bin/kill", {"/bin/kill", "-HUP", "500"});
    box.kill(pid, at + kMs, 500, SIGHUP);
    box.exit(pid, at + 2 * kMs, 0);
    box.deliver(500, at + 3 * kMs, SIGHUP, pid);
  }
  CHECK(s->starts_total == 1);
  CHECK_FALSE(pend(s));
}

// The kernel sends a process's SIGCHLD to its parent after the process's exit
// record, in the exiting process's context: that event must not bring it back
// as a live main process (which would make the service's next start "another
// main process still running" and lose it). Found with a real unit restart.
TEST_CASE("services: a signal sent after its sender's exit does not revive it", "[watch]") {
  Gunicorn g;
  g.box.task(100, 1, "sh");
  g.box.exit(201, kT0 + kS, 3 << 8);
  g.box.exit(202, kT0 + kS, 3 << 8);
  g.box.exit(200, kT0 + 2 * kS, 3 << 8);
  g.box.kill(200, kT0 + 2 * kS + 1, 100, SIGCHLD, true);  // after the exit record
  CHECK(g.svc->starts_total == 1);
  CHECK(g.box.start_master(300, kT0 + 3 * kS) == g.svc);
  CHECK(g.svc->starts_total == 2);
  CHECK(g.svc->starts.size() == 2);
}
