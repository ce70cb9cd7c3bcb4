#include "bed.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include "scenario.h"

namespace pmtest {
namespace {

using namespace std::chrono_literals;

// Every bed alive, for the handlers that tear them down on Ctrl-C or exit.
std::mutex g_mu;
std::set<SystemdBed*>& live() {
  static std::set<SystemdBed*> beds;
  return beds;
}

void stop_all() {
  std::set<SystemdBed*> beds;
  {
    std::lock_guard<std::mutex> l(g_mu);
    beds = live();
  }
  for (auto* b : beds) b->teardown();
}

void on_signal(int sig) {
  stop_all();
  signal(sig, SIG_DFL);
  raise(sig);
}

void install_handlers() {
  static bool done = false;
  if (done) return;
  done = true;
  std::atexit(stop_all);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) signal(sig, on_signal);
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The container's init: nspawn's child whose comm is systemd.
pid_t find_pid1(pid_t nspawn) {
  std::istringstream kids(read_all("/proc/" + std::to_string(nspawn) + "/task/" + std::to_string(nspawn) + "/children"));
  for (pid_t k; kids >> k;) {
    std::string comm = read_all("/proc/" + std::to_string(k) + "/comm");
    if (comm.rfind("systemd", 0) == 0) return k;
  }
  return -1;
}

}  // namespace

SystemdBed::SystemdBed() {
  install_handlers();
  if (access("/usr/bin/systemd-nspawn", X_OK) != 0) {
    why_ = "systemd-nspawn is not installed (tools/setup.sh installs systemd-container)";
    return;
  }
  char tmpl[] = "/tmp/pmtrace-bed-XXXXXX";
  if (!mkdtemp(tmpl)) {
    why_ = std::string("mkdtemp: ") + std::strerror(errno);
    return;
  }
  dir_ = tmpl;
  upper_ = dir_ + "/upper";
  root_ = dir_ + "/root";
  mkdir(upper_.c_str(), 0755);
  mkdir(root_.c_str(), 0755);
  if (mount("tmpfs", upper_.c_str(), "tmpfs", 0, "mode=0755") != 0) {
    why_ = std::string("mount tmpfs: ") + std::strerror(errno);
    teardown();
    return;
  }
  mkdir((upper_ + "/u").c_str(), 0755);
  mkdir((upper_ + "/w").c_str(), 0755);
  std::string opts = "lowerdir=/,upperdir=" + upper_ + "/u,workdir=" + upper_ + "/w";
  if (mount("overlay", root_.c_str(), "overlay", 0, opts.c_str()) != 0) {
    why_ = std::string("mount overlay: ") + std::strerror(errno);
    teardown();
    return;
  }
  {
    std::lock_guard<std::mutex> l(g_mu);
    live().insert(this);
  }
  std::string machine = "pmtest-" + std::to_string(getpid()) + "-" + std::to_string(reinterpret_cast<std::uintptr_t>(this) % 10000);
  nspawn_ = fork();
  if (nspawn_ == 0) {
    int log = open((dir_ + "/console.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(log, 1);
    dup2(log, 2);
    setsid();
    // The container gets a /tmp of its own: the source tree and pmtrace
    // (a clone under /tmp in CI) are bound in at the same paths, read-only.
    std::string src = std::string("--bind-ro=") + PM_SOURCE_DIR;
    std::string bin = std::string(PMTRACE_BIN);
    bin = "--bind-ro=" + bin.substr(0, bin.rfind('/'));
    // eBPF for the services the container's systemd starts (pmtrace-watch):
    // nspawn's capability set and seccomp filter refuse bpf() by default.
    // Commands run with nsenter have neither restriction.
    execl("/usr/bin/systemd-nspawn", "systemd-nspawn", "-q", "-D", root_.c_str(), "-M", machine.c_str(),
          "--register=no", "--keep-unit", "--link-journal=no", "--private-network",
          "--capability=CAP_BPF,CAP_PERFMON", "--system-call-filter=bpf perf_event_open", src.c_str(), bin.c_str(),
          "-b", (char*)nullptr);
    _exit(127);
  }
  for (int i = 0; i < 300; ++i) {
    std::this_thread::sleep_for(100ms);
    if (waitpid(nspawn_, nullptr, WNOHANG) == nspawn_) {
      nspawn_ = -1;
      why_ = "systemd-nspawn exited: " + read_all(dir_ + "/console.log");
      teardown();
      return;
    }
    if (pid1_ <= 0) pid1_ = find_pid1(nspawn_);
    if (pid1_ <= 0) continue;
    auto o = run_shell("nsenter -t " + std::to_string(pid1_) + " -a systemctl is-system-running 2>/dev/null");
    if (o.out.find("running") != std::string::npos || o.out.find("degraded") != std::string::npos) return;
  }
  why_ = "systemd did not reach running in 30 s: " + read_all(dir_ + "/console.log");
  teardown();
}

SystemdBed::~SystemdBed() { teardown(); }

void SystemdBed::teardown() {
  {
    std::lock_guard<std::mutex> l(g_mu);
    live().erase(this);
  }
  if (pid1_ > 0) {
    run_shell("timeout 10 nsenter -t " + std::to_string(pid1_) + " -a systemctl poweroff >/dev/null 2>&1");
    pid1_ = -1;
  }
  if (nspawn_ > 0) {
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
      gone = waitpid(nspawn_, nullptr, WNOHANG) == nspawn_;
      if (!gone) std::this_thread::sleep_for(100ms);
    }
    if (!gone) {
      kill(nspawn_, SIGKILL);
      waitpid(nspawn_, nullptr, 0);
    }
    nspawn_ = -1;
  }
  if (!root_.empty()) umount2(root_.c_str(), MNT_DETACH);
  if (!upper_.empty()) umount2(upper_.c_str(), MNT_DETACH);
  if (!dir_.empty()) {
    run_shell("rm -rf '" + dir_ + "'");
    dir_.clear();
  }
  root_.clear();
  upper_.clear();
}

std::vector<std::string> SystemdBed::inside(std::vector<std::string> argv) const {
  std::vector<std::string> out{"/usr/bin/nsenter", "-t", std::to_string(pid1_), "-a"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

Output SystemdBed::sh(const std::string& cmd) const {
  std::string quoted = "'";
  for (char c : cmd) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  quoted += "'";
  return run_shell("nsenter -t " + std::to_string(pid1_) + " -a /bin/sh -c " + quoted);
}

void SystemdBed::install_unit(const std::string& name, const std::string& text) const {
  std::ofstream(root_ + "/etc/systemd/system/" + name) << text;
  sh("systemctl daemon-reload");
}

std::string SystemdBed::host_cgroup(const std::string& unit) const {
  // PID 1's cgroup here is the container's root cgroup + /init.scope.
  std::string line = read_all("/proc/" + std::to_string(pid1_) + "/cgroup");
  auto colon = line.rfind("::");
  std::string path = colon == std::string::npos ? "" : line.substr(colon + 2);
  while (!path.empty() && path.back() == '\n') path.pop_back();
  auto init = path.rfind("/init.scope");
  if (init != std::string::npos) path.resize(init);
  // The cgroup v2 mount: /sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid machine.
  std::string mount = "/sys/fs/cgroup";
  std::istringstream mounts(read_all("/proc/mounts"));
  for (std::string dev, dir, type; mounts >> dev >> dir >> type;) {
    if (type == "cgroup2") mount = dir;
    std::getline(mounts, dev);
  }
  return mount + path + "/system.slice/" + unit;
}

Output run_inside(const SystemdBed& bed, const std::string& unit, const std::string& extra) {
  return bed.sh(pmtrace_bin() + " run --json --timeout 60s " + extra + " -- systemctl start " + unit);
}

Output attach_inside(const SystemdBed& bed, const std::string& unit, const std::string& script, int linger) {
  const std::string t = "/tmp/pmtest-attach";
  bed.sh("rm -f " + t + ".*");
  return bed.sh("(sh -c 'echo $$ > " + t + ".pid; exec " + pmtrace_bin() + " attach --json --unit " + unit +
                " --duration 60s' > " + t + ".json 2> " + t + ".err; echo $? > " + t + ".rc) & "
                "for i in $(seq 100); do grep -q 'tracing ready' " + t + ".err 2>/dev/null && break; sleep 0.1; done; " +
                script + "; sleep " + std::to_string(linger) + "; kill -INT $(cat " + t + ".pid); "
                "for i in $(seq 300); do [ -s " + t + ".rc ] && break; sleep 0.1; done; "
                "cat " + t + ".json; cat " + t + ".err >&2; exit $(cat " + t + ".rc)");
}

Output attach_from_host(const SystemdBed& bed, const std::string& target, const std::string& script, int linger) {
  TempDir empty;
  Background bg({"attach", "--json", "--cgroup", target, "--duration", "90s"}, {"SYSTEMD_UNIT_PATH=" + empty.path()});
  if (!bg.wait_ready()) {
    Output o = bg.stop(SIGINT);
    o.status = -1;
    o.err = "pmtrace attach never said it was ready\n" + o.err;
    return o;
  }
  bed.sh(script + "; sleep " + std::to_string(linger));
  return bg.stop(SIGINT);
}

const json& summary_of(const Output& o) {
  if (const char* dir = getenv("PMTEST_DEBUG_DIR")) {
    static int n = 0;
    std::ofstream(std::string(dir) + "/out-" + std::to_string(++n) + ".txt") << o.out << "\n--- stderr\n" << o.err;
  }
  const json* s = o.summary();
  REQUIRE(s);
  return *s;
}

const json* failed_finding(const Output& o, const json& sum, const std::string& rule) {
  CHECK(o.status == 1);
  CHECK(sum["verdict"] == "failed");
  return finding(o, rule);
}

std::string exec_line(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

}  // namespace pmtest
