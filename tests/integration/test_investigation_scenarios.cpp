// One investigation, one verdict, on the starts the first scenarios did not
// rehearse: a Type=notify start whose READY=1 never comes (the wrapped
// command blocks until the start job ends, as `systemctl start` does), a
// worker blocked for longer than the quiet period, healthy services stopped
// on purpose three ways (by the wrapped command, by an operator, by the
// service manager's stop job, also under watch), a wrapper polling the port
// with curl, and a unit with no unit file started after attach. Real
// gunicorn, real kernel; the service manager is tests/progs/notify_start (a
// notify socket, the main process forked into the unit's cgroup, READY=1
// only from it, SIGTERM at TimeoutStartSec), real systemd is the real-systemd
// issue's test bed.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "postgres.h"
#include "scenario.h"

using namespace pmtest;
using namespace std::chrono_literals;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

bool any_failure(const Output& o) {
  const json* s = o.summary();
  if (!s) return true;
  for (const auto& f : (*s)["findings"])
    if (f["severity"] == "failure") return true;
  return !(*s)["failures"].empty();
}

// The summary of the text report, from the verdict on: no error words when healthy.
void check_no_failure_words(const std::string& text) {
  auto at = text.find("\nVERDICT: ");
  REQUIRE(at != std::string::npos);
  std::string summary = text.substr(at);
  INFO(summary);
  for (const char* word : {"FAIL", "fail", "rror", "timed out"}) {
    INFO(word);
    CHECK_FALSE(contains(summary, word));
  }
}

// A healthy service stopped on purpose: exit 0, the verdict says so, no
// failure anywhere, and the text report has no FAILED line or error word.
void check_stopped_on_purpose(const Output& o, const std::string& text_report) {
  const json* sum = o.summary();
  REQUIRE(sum);
  INFO(sum->dump(2));
  CHECK(o.status == 0);
  CHECK((*sum)["verdict"] == "stopped");
  CHECK(contains((*sum)["verdict_text"].get<std::string>(), "was healthy ("));
  CHECK(contains((*sum)["verdict_text"].get<std::string>(), "stopped on purpose"));
  CHECK_FALSE(any_failure(o));
  const json* k = finding(o, "killed-by-signal");
  REQUIRE(k);
  CHECK(field(k, "severity") == "info");
  std::string report = slurp(text_report);
  CHECK_FALSE(contains(report, "FAILED"));
  check_no_failure_words(report);
}

// A Type=notify unit started by notify_start, the way `systemctl start` waits
// for it; TimeoutStartSec in the unit file and the manager agree.
struct NotifyStart {
  FakeUnit unit;
  long long timeout_ms;
  std::vector<std::string> env_lines;
  std::string env_file;

  NotifyStart(const std::vector<std::string>& cmd, long long timeout_ms, std::vector<std::string> env = {})
      : timeout_ms(timeout_ms), env_lines(std::move(env)) {
    std::string exec;
    for (const auto& a : cmd) exec += (exec.empty() ? "" : " ") + a;
    std::string text = "[Service]\nType=notify\nTimeoutStartSec=" + std::to_string(timeout_ms) + "ms\nExecStart=" + exec + "\n";
    if (!env_lines.empty()) {
      env_file = unit.units.path() + "/" + unit.name + ".env";
      std::ofstream out(env_file);
      for (const auto& l : env_lines) out << l << "\n";
      text += "EnvironmentFile=" + env_file + "\n";
    }
    unit.write_unit(text);
  }
  std::vector<std::string> start(const std::vector<std::string>& cmd, long long stop_after_ms = -1) const {
    std::vector<std::string> argv{prog("notify_start"), "--cgroup", unit.cgroup, "--timeout-start",
                                  std::to_string(timeout_ms)};
    if (stop_after_ms >= 0) argv.insert(argv.end(), {"--stop-after", std::to_string(stop_after_ms)});
    if (!env_file.empty()) argv.insert(argv.end(), {"--env-file", env_file});
    argv.push_back("--");
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    return argv;
  }
};

enum class How { run, attach };
const char* how_name(How h) { return h == How::run ? "run" : "attach"; }

// `pmtrace run --unit U -- notify_start ...`, or `pmtrace attach U` started
// before notify_start; recorded, and the recording explained the same.
Output trace_start(How how, NotifyStart& n, const std::vector<std::string>& cmd, int limit_s,
                   std::function<void()> during = {}, long long stop_after_ms = -1) {
  TempDir rec;
  std::string recording = rec.path() + "/capture.pmt";
  Output o;
  auto start = n.start(cmd, stop_after_ms);
  if (how == How::run) {
    REQUIRE(n.unit.create_cgroup());
    std::vector<std::string> args{"run",     "--json",   "--unit", n.unit.name, "--timeout", std::to_string(limit_s) + "s",
                                  "--settle", "2s",      "--record", recording, "--"};
    args.insert(args.end(), start.begin(), start.end());
    std::thread t(during ? during : [] {});
    o = run_pmtrace(args, limit_s + 60, n.unit.env());
    t.join();
  } else {
    Background bg({"attach", "--json", "--unit", n.unit.name, "--duration", std::to_string(limit_s) + "s", "--record",
                   recording},
                  n.unit.env());
    REQUIRE(bg.wait_ready());
    REQUIRE(n.unit.create_cgroup());
    pid_t mgr = spawn(start);
    std::thread t(during ? during : [] {});
    int status = 0;
    for (int waited = 0; waited < limit_s * 1000; waited += 100) {
      if (waitpid(mgr, &status, WNOHANG) == mgr) break;
      std::this_thread::sleep_for(100ms);
    }
    std::this_thread::sleep_for(1500ms);  // the service's own end after the stop
    o = bg.stop(SIGINT);
    t.join();
  }
  n.unit.kill_all();
  check_replay(o, recording);
  return o;
}

}  // namespace

TEST_CASE("investigation: a Type=notify start whose READY=1 never comes (a wrapper drops NOTIFY_SOCKET)",
          "[root][scenario][investigation][notify]") {
  REQUIRE_GUNICORN();
  How how = GENERATE(How::run, How::attach);
  INFO(how_name(how));
  int port = free_port();
  auto cmd = gunicorn(port, "app:app");
  cmd.insert(cmd.begin(), {"/usr/bin/env", "-u", "NOTIFY_SOCKET"});
  NotifyStart n(cmd, 3000);
  // watch on the same unit, for the attach case: the incident says the same.
  TempDir d;
  const std::string incidents = d.path() + "/incidents.jsonl";
  std::unique_ptr<Background> watch;
  if (how == How::attach) {
    watch = std::make_unique<Background>(
        std::vector<std::string>{"watch", n.unit.name, "--incidents", incidents, "--duration", "60s"}, n.unit.env());
    REQUIRE(watch->wait_ready());
  }
  // The service serves all along: only systemd's start job is stuck.
  int served = 0;
  auto o = trace_start(how, n, cmd, 30, [&] {
    if (wait_listening(port)) served = http_get(port, "/");
  });
  INFO(o.err);
  if (watch) {
    auto w = watch->stop(SIGTERM);
    INFO(w.err);
    json incident = last_incident(incidents);
    REQUIRE(incident.is_object());
    REQUIRE(!incident["findings"].empty());
    CHECK(incident["findings"][0]["rule"] == "start-timeout");
    CHECK(incident["unit"] == n.unit.name);
  }
  CHECK(served == 200);
  const json* sum = o.summary();
  REQUIRE(sum);
  INFO((*sum)["findings"].dump(2));
  CHECK(o.status == 1);
  CHECK((*sum)["verdict"] == "failed");
  // pmtrace waited for the start job: it did not end while the wrapped
  // command was still running, although the service listened and was quiet.
  CHECK((*sum)["end_reason"] != "the service is listening and settled");
  CHECK((*sum)["duration_s"].get<double>() >= 3.0);
  if (how == How::run) {
    const json& w = (*sum)["wrapped_command"];
    REQUIRE(w.is_object());
    CHECK(w["running"] == false);
    CHECK(w["exit_code"] == 1);
    CHECK(w["is_service"] == false);
  }
  const json* st = finding(o, "start-timeout");
  REQUIRE(st);
  CHECK(field(st, "severity") == "failure");
  CHECK(contains(field(st, "title"), "the start of " + n.unit.name + " timed out after"));
  CHECK(contains(field(st, "title"), "waiting for READY=1 (Type=notify, TimeoutStartSec=3 s)"));
  CHECK(contains(field(st, "explanation"), "NOTIFY_SOCKET was not in gunicorn's environment"));
  CHECK(contains(field(st, "fix"), "keep NOTIFY_SOCKET"));
  CHECK(field(st, "fix").find("NOTIFY_SOCKET") < field(st, "fix").find("TimeoutStartSec="));
  // Not also explained as "its supervisor sent SIGTERM".
  for (const auto& f : (*sum)["findings"])
    if (f["rule"] == "killed-by-signal") CHECK(f["severity"] != "failure");
  const json& pre = (*sum)["preflight"];
  REQUIRE(pre.is_object());
  CHECK(std::find(pre["checks"].begin(), pre["checks"].end(), "notify") != pre["checks"].end());
}

TEST_CASE("investigation: a --preload import stalled on a database times out a 15 s start, told as one story",
          "[root][scenario][investigation][notify][db]") {
  REQUIRE_GUNICORN();
  How how = GENERATE(How::run, How::attach);
  INFO(how_name(how));
  StalledPort db;
  REQUIRE(db.ok());
  auto cmd = gunicorn(free_port(), "meats.wsgi:application", {"--preload"}, kDjangoApp);
  NotifyStart n(cmd, 15000,
                {"SECRET_KEY=scenario-secret-0123456789",
                 "DATABASE_URL=postgresql://meats:pw-s3cret@127.0.0.1:" + std::to_string(db.port()) + "/meats",
                 "PM_CONNECT_AT_IMPORT=1"});
  auto o = trace_start(how, n, cmd, 45);
  INFO(o.err);
  const json* sum = o.summary();
  REQUIRE(sum);
  INFO((*sum)["findings"].dump(2));
  CHECK(o.status == 1);
  CHECK((*sum)["duration_s"].get<double>() >= 15.0);
  const json* st = finding(o, "start-timeout");
  REQUIRE(st);
  CHECK(contains(field(st, "title"), "TimeoutStartSec=15 s"));
  CHECK(contains(field(st, "explanation"), "still importing the app (--preload)"));
  CHECK(contains(field(st, "explanation"), "127.0.0.1:" + std::to_string(db.port())));
  const json* dbf = finding(o, "database-connect");
  REQUIRE(dbf);
  // One story: the stalled connect is the root; the timeout follows from it.
  CHECK((*sum)["findings"][0]["rule"] == "database-connect");
  REQUIRE((*st)["caused_by"].size() == 1);
  CHECK((*st)["caused_by"][0] == (*dbf)["id"]);
  CHECK(std::find((*dbf)["causes"].begin(), (*dbf)["causes"].end(), (*st)["id"]) != (*dbf)["causes"].end());
  CHECK_FALSE(contains(o.out, "pw-s3cret"));
}

TEST_CASE("investigation: a worker blocked longer than the quiet period is followed to gunicorn's timeout",
          "[root][scenario][investigation][timeout]") {
  REQUIRE_GUNICORN();
  std::string backend = GENERATE("bpf", "ptrace");
  INFO(backend);
  StalledPort upstream;
  REQUIRE(upstream.ok());
  int port = free_port();
  // --settle 2s: the worker sits 4 s in a connect that produces no event.
  std::vector<std::string> args{"run", "--json", "--backend", backend, "--timeout", "40s", "--settle", "2s", "--"};
  for (const auto& a : gunicorn(port, "upstream:app", {"-t", "4", "-w", "1"})) args.push_back(a);
  std::thread client([port] {
    if (wait_listening(port)) {
      std::this_thread::sleep_for(300ms);
      http_get(port, "/upstream", 15);
    }
  });
  auto o = run_pmtrace(args, 90, {"UPSTREAM_URL=http://127.0.0.1:" + std::to_string(upstream.port()) + "/"});
  client.join();
  // run leaves a service it saw settle running (eBPF): end the one we started.
  run_shell("pkill -KILL -f -- '-b 127.0.0.1:" + std::to_string(port) + " '");
  INFO(o.err);
  const json* w = finding(o, "worker-timeout");
  REQUIRE(w);
  CHECK(contains(field(w, "title"), "killed by the master's worker timeout (4 s): SIGABRT"));
  CHECK(contains(field(w, "title"), "blocked in connect() to 127.0.0.1:" + std::to_string(upstream.port())));
  CHECK(o.status == 1);
}

TEST_CASE("investigation: a healthy service stopped by the wrapped command, curl polling before it is up",
          "[root][scenario][investigation][stop]") {
  REQUIRE_GUNICORN();
  REQUIRE(access("/usr/bin/curl", X_OK) == 0);
  int port = free_port();
  std::string g;
  for (const auto& a : gunicorn(port, "app:app")) g += a + " ";
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  // A deploy script: start, poll until it answers, smoke-test, stop.
  std::string script = g + "& g=$!; until curl -sf -o /dev/null " + url + "; do sleep 0.1; done; " +
                       "curl -sf -o /dev/null " + url + "; kill -TERM $g; wait $g";
  TempDir d;
  std::string text = d.path() + "/report.txt";
  auto o = run_pmtrace({"run", "--json", "--text-report", text, "--timeout", "40s", "--", "/bin/sh", "-c", script}, 60);
  INFO(o.err);
  const json* sum = o.summary();
  REQUIRE(sum);
  INFO(sum->dump(2));
  check_stopped_on_purpose(o, text);
  CHECK(contains((*sum)["verdict_text"].get<std::string>(), "was healthy (serving since"));
  // curl's refused polls are a helper's exits, context only.
  bool curl = false;
  for (const auto& h : (*sum)["helper_failures"]) curl |= h["comm"] == "curl";
  CHECK(curl);
  CHECK(contains(slurp(text), "the command pmtrace ran (pid"));
}

TEST_CASE("investigation: a healthy unit stopped by an operator's kill is not a failure",
          "[root][scenario][investigation][stop]") {
  REQUIRE_GUNICORN();
  FakeUnit unit;
  int port = free_port();
  TempDir d;
  std::string text = d.path() + "/report.txt";
  Background bg({"attach", "--json", "--text-report", text, "--unit", unit.name, "--duration", "40s"}, unit.env());
  REQUIRE(bg.wait_ready());
  REQUIRE(unit.create_cgroup());
  pid_t svc = spawn(unit.start_argv(gunicorn(port, "app:app")));
  REQUIRE(wait_listening(port));
  CHECK(http_get(port, "/") == 200);
  // An operator's shell: kill -TERM MAINPID.
  auto k = run_shell("kill -TERM " + std::to_string(svc));
  CHECK(k.status == 0);
  wait_exit(svc);
  std::this_thread::sleep_for(1000ms);
  auto o = bg.stop(SIGINT);
  INFO(o.err);
  const json* sum = o.summary();
  REQUIRE(sum);
  INFO(sum->dump(2));
  check_stopped_on_purpose(o, text);
}

TEST_CASE("investigation: a healthy unit stopped by the service manager's stop job: no failure, no watch incident",
          "[root][scenario][investigation][stop][watch]") {
  REQUIRE_GUNICORN();
  int port = free_port();
  auto cmd = gunicorn(port, "app:app");
  NotifyStart n(cmd, 20000);
  TempDir d;
  const std::string incidents = d.path() + "/incidents.jsonl";
  const std::string text = d.path() + "/report.txt";
  Background watch({"watch", n.unit.name, "--incidents", incidents, "--duration", "60s"}, n.unit.env());
  REQUIRE(watch.wait_ready());
  Background bg({"attach", "--json", "--text-report", text, "--unit", n.unit.name, "--duration", "40s"}, n.unit.env());
  REQUIRE(bg.wait_ready());
  REQUIRE(n.unit.create_cgroup());
  // READY=1 arrives (gunicorn sends it); 4 s later the manager stops the unit.
  pid_t mgr = spawn(n.start(cmd, 4000));
  REQUIRE(wait_listening(port));
  CHECK(http_get(port, "/") == 200);
  CHECK(wait_exit(mgr) == 0);
  std::this_thread::sleep_for(2500ms);  // watch's settle time, the last events
  auto o = bg.stop(SIGINT);
  auto w = watch.stop(SIGTERM);
  INFO(o.err);
  INFO(w.err);
  const json* sum = o.summary();
  REQUIRE(sum);
  INFO(sum->dump(2));
  check_stopped_on_purpose(o, text);
  CHECK(contains(field(finding(o, "killed-by-signal"), "title"), "the service manager's stop job"));
  // watch saw the stop and wrote no incident for it.
  CHECK(contains(w.err, "not an incident"));
  CHECK_FALSE(contains(slurp(incidents), "\"incident\""));
}

TEST_CASE("investigation: attach to a unit with no unit file, started after attach under another slice",
          "[root][scenario][investigation][unit]") {
  REQUIRE_GUNICORN();
  const std::string name = "pmtest-transient-" + std::to_string(getpid());
  const std::string root = cgroup2_root();
  const std::string slice = root + "/pmtest-" + std::to_string(getpid()) + ".slice";
  const std::string cg = slice + "/" + name + ".service";
  TempDir empty;  // no unit file anywhere pmtrace looks
  Background bg({"attach", "--json", name, "--duration", "30s"}, {"SYSTEMD_UNIT_PATH=" + empty.path()});
  REQUIRE(bg.wait_ready());
  // As `systemd-run --unit NAME --slice pmtest-N` would: a new cgroup, the service in it.
  REQUIRE(mkdir(slice.c_str(), 0755) == 0);
  REQUIRE(mkdir(cg.c_str(), 0755) == 0);
  pid_t svc = spawn({prog("svc_start"), "--cgroup", cg, "--", "/usr/bin/gunicorn", "--chdir", kFlaskApp, "-b",
                     "127.0.0.1:" + std::to_string(free_port()), "-w", "1", "broken_import:app"});
  int code = wait_exit(svc);
  std::this_thread::sleep_for(700ms);
  auto o = bg.stop(SIGINT);
  // Clean up the cgroups whatever happened.
  for (int i = 0; i < 50 && rmdir(cg.c_str()) != 0 && errno == EBUSY; ++i) std::this_thread::sleep_for(100ms);
  rmdir(slice.c_str());
  INFO(o.err);
  CHECK(code == 3);
  CHECK(contains(o.err, "waiting for a cgroup " + name + ".service to be created anywhere in the cgroup tree"));
  CHECK(contains(o.err, "or a process named " + name));
  const json* sum = o.summary();
  REQUIRE(sum);
  INFO(sum->dump(2));
  CHECK(o.status == 1);
  CHECK(finding(o, "missing-python-module"));
  CHECK((*sum)["verdict"] == "failed");
}

TEST_CASE("investigation: one failure, the same findings in attach, watch and explain (the port holder named in each)",
          "[root][scenario][investigation][watch]") {
  REQUIRE_GUNICORN();
  Listener holder;  // an old instance holds the port
  REQUIRE(holder.port > 0);
  FakeUnit unit;
  TempDir d;
  const std::string incidents = d.path() + "/incidents.jsonl";
  const std::string records = d.path() + "/records";
  const std::string recording = d.path() + "/attach.pmt";
  Background watch({"watch", unit.name, "--incidents", incidents, "--record-dir", records, "--duration", "60s"},
                   unit.env());
  REQUIRE(watch.wait_ready());
  Background bg({"attach", "--json", "--unit", unit.name, "--duration", "40s", "--record", recording}, unit.env());
  REQUIRE(bg.wait_ready());
  REQUIRE(unit.create_cgroup());
  CHECK(wait_exit(spawn(unit.start_argv(gunicorn(holder.port, "app:app", {"-w", "1"})))) == 1);
  std::this_thread::sleep_for(2500ms);
  auto a = bg.stop(SIGINT);
  auto w = watch.stop(SIGTERM);
  INFO(a.err);
  INFO(w.err);
  check_replay(a, recording);
  // What each mode says of the findings: rule, severity, title, facts.
  auto essence = [](const json& findings) {
    json out = json::array();
    for (const auto& f : findings) out.push_back({f["rule"], f["severity"], f["title"], f["facts"]});
    return out;
  };
  REQUIRE(a.summary());
  json from_attach = essence((*a.summary())["findings"]);
  INFO(from_attach.dump(2));
  REQUIRE(!from_attach.empty());
  CHECK(from_attach[0][0] == "address-in-use");
  CHECK(from_attach[0][3].dump().find("(pid " + std::to_string(getpid()) + ")") != std::string::npos);
  json incident = last_incident(incidents);
  REQUIRE(incident.is_object());
  CHECK(incident["schema"] == 2);
  CHECK(incident["unit"] == unit.name);
  CHECK(essence(incident["findings"]) == from_attach);
  // The incident's window, explained offline, says the same again.
  REQUIRE(incident["recording"].is_string());
  auto e = run_pmtrace({"explain", "--json", incident["recording"].get<std::string>()}, 60);
  REQUIRE(e.summary());
  CHECK(essence((*e.summary())["findings"]) == from_attach);
}
