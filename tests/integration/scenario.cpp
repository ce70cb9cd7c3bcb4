#include "scenario.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace pmtest {

using namespace std::chrono_literals;

const std::string kFlaskApp = std::string(PM_SCENARIOS_DIR) + "/flask_app";
const std::string kDjangoApp = std::string(PM_SCENARIOS_DIR) + "/django_app";

int free_port() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}

bool have_gunicorn() { return access("/usr/bin/gunicorn", X_OK) == 0; }

std::vector<std::string> gunicorn(int port, const std::string& spec, std::vector<std::string> extra,
                                  const std::string& app_dir) {
  std::vector<std::string> argv{"/usr/bin/gunicorn", "--chdir", app_dir, "-b", "127.0.0.1:" + std::to_string(port),
                                "-w", "2"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(spec);
  return argv;
}

std::vector<std::string> as_nobody(std::vector<std::string> argv) {
  std::vector<std::string> out{"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

const json* finding(const Output& o, const std::string& rule) {
  const json* s = o.summary();
  if (!s) return nullptr;
  for (const auto& f : (*s)["findings"])
    if (f["rule"] == rule) return &f;
  return nullptr;
}

std::string field(const json* f, const char* key) {
  if (!f || !f->contains(key) || !(*f)[key].is_string()) return "";
  return (*f)[key].get<std::string>();
}

bool reached(const Output& o, const std::string& name) {
  const json* s = o.summary();
  if (!s) return false;
  for (const auto& c : (*s)["checkpoints"])
    if (c["name"] == name) return c["reached"] == true;
  return false;
}

std::vector<std::string> run_args(std::vector<std::string> cmd, const std::string& timeout, const std::string& settle) {
  std::vector<std::string> a{"run", "--json", "--timeout", timeout, "--settle", settle, "--"};
  a.insert(a.end(), cmd.begin(), cmd.end());
  return a;
}

int http_get(int port, const std::string& path, int timeout_s) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{timeout_s, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int code = -1;
  if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
    if (write(s, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[64] = {};
      ssize_t n = read(s, buf, sizeof buf - 1);
      if (n > 12 && std::string(buf, 5) == "HTTP/") code = std::atoi(buf + 9);
    }
  }
  close(s);
  return code;
}

bool wait_listening(int port, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 100) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(s);
    if (ok) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

FakeUnit::FakeUnit(const std::string& unit_text) {
  static int n = 0;
  name = "pmtrace-test-" + std::to_string(getpid()) + "-" + std::to_string(++n) + ".service";
  std::ofstream(units.path() + "/" + name) << unit_text;
  std::string root = cgroup2_root();
  mkdir((root + "/system.slice").c_str(), 0755);
  cgroup = root + "/system.slice/" + name;
}

FakeUnit::~FakeUnit() {
  kill_all();
  remove_cgroup();
}

void FakeUnit::write_unit(const std::string& unit_text) const {
  std::ofstream(units.path() + "/" + name) << unit_text;
}

void FakeUnit::kill_all() {
  std::ifstream procs(cgroup + "/cgroup.procs");
  for (pid_t pid; procs >> pid;) kill(pid, SIGKILL);
  for (int i = 0; i < 50; ++i) {
    std::ifstream again(cgroup + "/cgroup.procs");
    pid_t pid;
    if (!(again >> pid)) break;
    std::this_thread::sleep_for(100ms);
  }
}

bool FakeUnit::create_cgroup() { return mkdir(cgroup.c_str(), 0755) == 0 || errno == EEXIST; }

void FakeUnit::remove_cgroup() {
  for (int i = 0; i < 50 && rmdir(cgroup.c_str()) != 0 && errno == EBUSY; ++i) std::this_thread::sleep_for(100ms);
}

std::vector<std::string> FakeUnit::env() const { return {"SYSTEMD_UNIT_PATH=" + units.path()}; }

std::vector<std::string> FakeUnit::start_argv(const std::vector<std::string>& cmd,
                                              const std::vector<std::string>& opts) const {
  std::vector<std::string> argv{prog("svc_start"), "--cgroup", cgroup};
  argv.insert(argv.end(), opts.begin(), opts.end());
  argv.push_back("--");
  argv.insert(argv.end(), cmd.begin(), cmd.end());
  return argv;
}

pid_t unit_main_pid(const FakeUnit& unit) {
  std::ifstream procs(unit.cgroup + "/cgroup.procs");
  pid_t best = -1;
  unsigned long long best_start = ~0ull;
  for (pid_t pid; procs >> pid;) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    unsigned long long start = 0;
    for (int i = 3; i <= 22 && rest >> field; ++i)
      if (i == 22) start = std::stoull(field);
    if (start < best_start) {
      best_start = start;
      best = pid;
    }
  }
  return best;
}

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::run: return "run";
    case Mode::attach: return "attach";
    default: return "run-ptrace";
  }
}

namespace {
// With PM_EXAMPLES_DIR set, every scenario also leaves its recording there
// (tools/rule-examples.sh explains each into the golden report beside it).
void keep_example(Mode mode, const std::string& recording) {
  const char* dir = std::getenv("PM_EXAMPLES_DIR");
  if (!dir || !*dir) return;
  std::string name = Catch::getResultCapture().getCurrentTestName();
  for (auto& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '-';
  std::ifstream in(recording, std::ios::binary);
  std::ofstream(std::string(dir) + "/" + name + "." + mode_name(mode) + ".pmt", std::ios::binary) << in.rdbuf();
}
}  // namespace

// Every scenario is recorded too, and the recording explained offline must
// give the summary the live run gave: the same findings, checkpoints, exit.
void check_replay(const Output& live, const std::string& recording) {
  const json* lsum = live.summary();
  if (!lsum) return;  // the live run's own checks fail on this
  Output off = run_pmtrace({"explain", "--json", recording}, 60);
  INFO("explain " << recording << "\n" << off.err);
  REQUIRE(off.summary());
  CHECK(off.status == live.status);
  json a = *lsum, b = *off.summary();
  json live_notes = a["notes"], off_notes = b["notes"];
  a.erase("notes");
  b.erase("notes");
  CHECK(a.dump(2) == b.dump(2));
  for (const auto& n : live_notes) CHECK(std::find(off_notes.begin(), off_notes.end(), n) != off_notes.end());
  // The timeline too: every event the live run printed, in the same order.
  CHECK(off.events("exec").size() == live.events("exec").size());
  CHECK(off.lines.size() == live.lines.size());
}

Output diagnose(Mode mode, FakeUnit& unit, const Scenario& s) {
  TempDir rec_dir;
  const std::string recording = rec_dir.path() + "/capture.pmt";
  std::vector<std::string> opts = s.svc_opts;
  std::string unit_text = "[Unit]\nDescription=pmtrace scenario\n\n[Service]\n";
  if (!s.env.empty()) {
    std::string env_file = unit.units.path() + "/" + unit.name + ".env";
    std::ofstream out(env_file);
    for (const auto& line : s.env) out << line << "\n";
    opts.insert(opts.end(), {"--env-file", env_file});
    if (s.env_in_dropin) {
      std::string dir = unit.units.path() + "/" + unit.name + ".d";
      mkdir(dir.c_str(), 0755);
      std::ofstream(dir + "/50-env.conf") << "[Service]\nEnvironmentFile=" + env_file + "\n";
    } else {
      unit_text += "EnvironmentFile=" + env_file + "\n";
    }
  }
  std::string exec;
  for (const auto& a : s.cmd) exec += (exec.empty() ? "" : " ") + a;
  unit.write_unit(unit_text + "ExecStart=" + exec + "\n");
  auto start = unit.start_argv(s.cmd, opts);
  std::string limit = std::to_string(s.limit_s) + "s";
  Output o;
  if (mode == Mode::run || mode == Mode::run_ptrace) {
    unit.create_cgroup();
    std::vector<std::string> args{"run",  "--json",   "--unit",  unit.name, "--timeout", limit,
                                  "--settle", s.settle, "--record", recording};
    if (mode == Mode::run_ptrace) args.insert(args.end(), {"--backend", "ptrace"});
    args.push_back("--");
    args.insert(args.end(), start.begin(), start.end());
    std::thread during(s.during ? s.during : [] {});
    o = run_pmtrace(args, s.limit_s + 60, unit.env());
    during.join();
  } else {
    std::vector<std::string> args{"attach", "--json", "--unit", unit.name, "--duration", limit, "--record", recording};
    Background bg(args, unit.env());
    if (!bg.wait_ready()) return bg.stop(SIGINT);
    unit.create_cgroup();  // the service manager starts the unit now
    pid_t svc = spawn(start);
    std::thread during(s.during ? s.during : [] {});
    // Until the service's main process ends (or the limit), then a moment
    // for the last events, then Ctrl-C.
    for (int waited = 0; waited < s.limit_s * 1000; waited += 100) {
      if (waitpid(svc, nullptr, WNOHANG) == svc) break;
      std::this_thread::sleep_for(100ms);
    }
    std::this_thread::sleep_for(700ms);
    o = bg.stop(SIGINT);
    during.join();
  }
  unit.kill_all();
  check_replay(o, recording);
  keep_example(mode, recording);
  return o;
}

}  // namespace pmtest
