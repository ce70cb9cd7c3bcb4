// pmtrace watch with real gunicorn: a crash loop is one incident with a count,
// a supervisor's SIGTERM is an incident naming the sender, a healthy service
// (started after the watcher) is none, and an operator's stop is none.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness.h"
#include "scenario.h"

using namespace pmtest;
using namespace std::chrono_literals;

namespace {

std::vector<json> json_lines(const std::string& path) {
  std::vector<json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto j = json::parse(line, nullptr, false);
    if (!j.is_discarded()) out.push_back(j);
  }
  return out;
}

std::vector<json> of_type(const std::vector<json>& lines, const std::string& type) {
  std::vector<json> out;
  for (const auto& j : lines)
    if (j.value("type", "") == type) out.push_back(j);
  return out;
}

// A sample's value in a Prometheus text file; -1 when absent.
double metric(const std::string& text, const std::string& name_and_labels) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(name_and_labels + " ", 0) == 0) return std::stod(line.substr(name_and_labels.size() + 1));
  return -1;
}

struct Watch {
  TempDir dir;
  std::string incidents = dir.path() + "/log/incidents.jsonl";
  std::string metrics = dir.path() + "/pmtrace.prom";
  std::string records = dir.path() + "/records";
  std::unique_ptr<Background> bg;

  explicit Watch(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"watch",        "--incidents", incidents,  "--metrics",
                                  metrics,        "--record-dir", records,    "--duration", "120s"};
    args.insert(args.end(), extra.begin(), extra.end());
    bg = std::make_unique<Background>(args);
  }
  Output stop() { return bg->stop(SIGTERM); }
};

}  // namespace

TEST_CASE("watch: a crash loop is one incident with the finding and a restart count", "[root][watch]") {
  REQUIRE_GUNICORN();
  Watch w;
  REQUIRE(w.bg->wait_ready());
  // A supervisor that restarts a worker failing to boot, again and again;
  // started after the watcher.
  int port = free_port();
  std::string g = "/usr/bin/gunicorn --chdir " + kFlaskApp + " -b 127.0.0.1:" + std::to_string(port) +
                  " -w 1 broken_import:app";
  pid_t sup = spawn({"/bin/sh", "-c", "for i in 1 2 3 4 5; do " + g + " >/dev/null 2>&1; sleep 0.3; done"});
  wait_exit(sup);
  std::this_thread::sleep_for(2500ms);
  auto o = w.stop();
  INFO(o.err);
  CHECK(o.status == 0);

  auto lines = json_lines(w.incidents);
  auto incidents = of_type(lines, "incident");
  REQUIRE(incidents.size() == 1);
  const auto& inc = incidents[0];
  CHECK(inc["trigger"]["kind"] == "exit");
  REQUIRE(inc["findings"].size() >= 1);
  CHECK(inc["findings"][0]["rule"] == "missing-python-module");
  CHECK(inc["findings"][0]["fix"].get<std::string>().find("djangorestframework") != std::string::npos);
  CHECK(inc["failed_checkpoint"] == "application imported");
  // Python's import probing was counted in the kernel, per process, not sent.
  REQUIRE(inc["enoent_opens_counted"].is_object());
  CHECK(inc["enoent_opens_counted"].size() >= 1);
  auto repeats = of_type(lines, "repeat");
  REQUIRE_FALSE(repeats.empty());
  CHECK(repeats.back()["id"] == inc["id"]);
  CHECK(repeats.back()["count"] == 5);
  CHECK(repeats.back()["restarts"] >= 4);

  // The incidents file is not world-readable; the metrics say the same.
  struct stat st{};
  REQUIRE(stat(w.incidents.c_str(), &st) == 0);
  CHECK((st.st_mode & 0007) == 0);
  std::string m = slurp(w.metrics);
  std::string service = "/usr/bin/python3 " + g;
  CHECK(metric(m, "pmtrace_restarts_total{service=\"" + service + "\"}") == 4);
  CHECK(metric(m, "pmtrace_incidents_total{service=\"" + service + "\",rule=\"missing-python-module\"}") == 1);
  CHECK(metric(m, "pmtrace_events_lost_total") == 0);
  CHECK(metric(m, "pmtrace_enoent_opens_counted_total") > 0);  // import probing, counted in the kernel
  CHECK(metric(m, "pmtrace_resident_memory_bytes") > 0);

  // The window was recorded: explained offline, the same finding.
  REQUIRE(inc["recording"].is_string());
  auto off = run_pmtrace({"explain", "--json", inc["recording"].get<std::string>()});
  CHECK(finding(off, "missing-python-module"));
}

TEST_CASE("watch: a supervisor's SIGTERM is an incident naming the sender", "[root][watch]") {
  REQUIRE_GUNICORN();
  Watch w;
  REQUIRE(w.bg->wait_ready());
  int port = free_port();
  std::string g = "/usr/bin/gunicorn --chdir " + kFlaskApp + " -b 127.0.0.1:" + std::to_string(port) + " -w 2 app:app";
  pid_t sup = spawn({"/bin/sh", "-c", g + " >/dev/null 2>&1 & pid=$!; sleep 3; kill -TERM $pid; wait $pid"});
  wait_exit(sup);
  std::this_thread::sleep_for(2000ms);
  auto o = w.stop();
  INFO(o.err);
  auto incidents = of_type(json_lines(w.incidents), "incident");
  REQUIRE(incidents.size() == 1);
  const auto& inc = incidents[0];
  CHECK(inc["trigger"]["kind"] == "signal");
  CHECK(inc["trigger"]["what"] == "stopped after SIGTERM from pid " + std::to_string(sup));
  REQUIRE(inc["findings"].size() >= 1);
  CHECK(inc["findings"][0]["rule"] == "killed-by-signal");
  CHECK(inc["findings"][0]["severity"] == "failure");
  std::string title = inc["findings"][0]["title"];
  CHECK(title.find("SIGTERM") != std::string::npos);
  CHECK(inc.dump().find("pid " + std::to_string(sup)) != std::string::npos);
}

TEST_CASE("watch: a healthy service started after the watcher is picked up and is no incident", "[root][watch]") {
  REQUIRE_GUNICORN();
  TempDir rec;
  const std::string all = rec.path() + "/all.pmt";
  Watch w({"--record", all});
  REQUIRE(w.bg->wait_ready());
  int port = free_port();
  pid_t g = spawn(gunicorn(port, "app:app"));
  REQUIRE(wait_listening(port));
  int ok = 0;
  for (int i = 0; i < 30; ++i) {
    ok += http_get(port, "/") == 200;
    std::this_thread::sleep_for(100ms);
  }
  CHECK(ok == 30);
  // An operator's stop (kill(1)) is said, but is not an incident either.
  REQUIRE(wait_exit(spawn({"/bin/kill", "-TERM", std::to_string(g)})) == 0);
  wait_exit(g);
  std::this_thread::sleep_for(2000ms);
  auto o = w.stop();
  INFO(o.err);
  CHECK(o.status == 0);
  CHECK(o.err.find("watching /usr/bin/python3 /usr/bin/gunicorn") != std::string::npos);
  CHECK(o.err.find("not an incident") != std::string::npos);
  CHECK(of_type(json_lines(w.incidents), "incident").empty());
  std::string m = slurp(w.metrics);
  CHECK(metric(m, "pmtrace_services_watched") == 1);
  CHECK(metric(m, "pmtrace_events_total") > 10);
  // --record: every event, with its trailer, explained offline.
  auto off = run_pmtrace({"explain", "--json", all});
  INFO(off.err);
  REQUIRE(off.summary());
  CHECK(off.err.find("damaged") == std::string::npos);
  CHECK(off.events("exec").size() >= 1);
  CHECK(off.events("fork").size() >= 2);
  CHECK((*off.summary())["events"] == metric(m, "pmtrace_events_total"));
}

TEST_CASE("watch: bad configuration gets one line and exit 2", "[root][watch][errors]") {
  REQUIRE_ROOT();
  TempDir d;
  auto o = run_pmtrace({"watch", "--config", d.path() + "/missing.toml", "--duration", "1s"});
  CHECK(o.status == 2);
  CHECK(o.err.find("cannot read the watch configuration") != std::string::npos);
  std::ofstream(d.path() + "/bad.toml") << "names = [\"gunicorn\"]\nrestart_limt = 3\n";
  o = run_pmtrace({"watch", "--config", d.path() + "/bad.toml", "--duration", "1s"});
  CHECK(o.status == 2);
  CHECK(o.err.find("bad.toml:2: unknown key 'restart_limt'") != std::string::npos);
}

TEST_CASE("watch: Type=notify: READY=1 once tracing, STOPPING=1 on SIGTERM, and the unit file verifies",
          "[root][watch][unit]") {
  REQUIRE_ROOT();
  TempDir d;
  // Play systemd's part: a datagram socket in NOTIFY_SOCKET.
  std::string sock = d.path() + "/notify";
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock.c_str());
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  Background bg({"watch", "--incidents", d.path() + "/i.jsonl", "--duration", "60s"}, {"NOTIFY_SOCKET=" + sock});
  REQUIRE(bg.wait_ready());
  auto receive = [&](int timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    std::string all;
    while (poll(&p, 1, timeout_ms) > 0) {
      char buf[512];
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      all.append(buf, n);
      all += "\n";
      timeout_ms = 200;
    }
    return all;
  };
  std::string ready = receive(5000);
  CHECK(ready.find("READY=1") != std::string::npos);
  CHECK(ready.find("STATUS=watching processes named gunicorn") != std::string::npos);
  auto o = bg.stop(SIGTERM);
  CHECK(o.status == 0);
  CHECK(receive(2000).find("STOPPING=1") != std::string::npos);
  close(fd);

  // The shipped unit is valid for systemd (ExecStart pointed at this build).
  std::ifstream in(std::string(PM_SOURCE_DIR) + "/units/pmtrace-watch.service");
  std::stringstream unit;
  unit << in.rdbuf();
  std::string text = unit.str();
  REQUIRE(text.find("Type=notify") != std::string::npos);
  const std::string installed = "/usr/local/bin/pmtrace";
  REQUIRE(text.find("ExecStart=" + installed) != std::string::npos);
  for (auto pos = text.find(installed); pos != std::string::npos; pos = text.find(installed, pos + 1))
    text.replace(pos, installed.size(), pmtrace_bin());
  std::ofstream(d.path() + "/pmtrace-watch.service") << text;
  if (access("/usr/bin/systemd-analyze", X_OK) == 0) {
    std::string v;
    FILE* f = popen(("/usr/bin/systemd-analyze verify " + d.path() + "/pmtrace-watch.service 2>&1").c_str(), "r");
    REQUIRE(f);
    char buf[512];
    while (fgets(buf, sizeof buf, f)) v += buf;
    CHECK(pclose(f) == 0);
    INFO(v);
    CHECK(v.empty());
  }
}

TEST_CASE("watch UNIT: a unit restarted with a re-created cgroup is followed, its crashes are one incident",
          "[root][watch]") {
  REQUIRE_GUNICORN();
  FakeUnit unit;
  TempDir d;
  const std::string incidents = d.path() + "/incidents.jsonl";
  // The unit does not run yet: watch waits for its cgroup.
  Background bg({"watch", unit.name, "--incidents", incidents, "--duration", "120s"}, unit.env());
  REQUIRE(bg.wait_ready());
  int port = free_port();
  auto cmd = gunicorn(port, "broken_import:app", {"-w", "1"});
  for (int run = 0; run < 2; ++run) {
    // As systemd does at each (re)start: a new cgroup, the service in it.
    REQUIRE(unit.create_cgroup());
    CHECK(wait_exit(spawn(unit.start_argv(cmd))) == 3);
    unit.kill_all();
    unit.remove_cgroup();
  }
  std::this_thread::sleep_for(2000ms);
  auto o = bg.stop(SIGTERM);
  INFO(o.err);
  auto lines = json_lines(incidents);
  auto inc = of_type(lines, "incident");
  REQUIRE(inc.size() == 1);
  CHECK(inc[0]["service"] == "unit " + unit.name);
  CHECK(inc[0]["unit"] == unit.name);
  REQUIRE(inc[0]["findings"].size() >= 1);
  CHECK(inc[0]["findings"][0]["rule"] == "missing-python-module");
  auto rep = of_type(lines, "repeat");
  REQUIRE(rep.size() == 1);
  CHECK(rep[0]["count"] == 2);
}
