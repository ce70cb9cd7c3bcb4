// Scoping: signals into the traced tree, unit cgroups, untraced bystanders,
// and the errors a user gets for bad targets.
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "scenario.h"

using namespace pmtest;
using namespace std::chrono_literals;

namespace {

bool has_open(const Output& o, const std::string& path) {
  for (const auto& e : o.events("open_failed"))
    if (e["path"] == path) return true;
  return false;
}

}  // namespace

TEST_CASE("attach: a signal sent to a traced process names the sender's pid and comm", "[root][attach]") {
  REQUIRE_ROOT();
  pid_t target = spawn({"/bin/sleep", "30"});
  Background bg({"attach", "--json", "--pid", std::to_string(target)});
  REQUIRE(bg.wait_ready());
  pid_t sender = spawn({prog("send_signal"), std::to_string(SIGTERM), std::to_string(target)});
  CHECK(wait_exit(sender) == 0);
  CHECK(wait_exit(target) == 128 + SIGTERM);
  auto o = bg.wait(20);  // ends by itself: its only process is gone
  INFO(o.err);
  CHECK(o.status == 1);  // killed by a signal counts as a failure
  bool seen = false;
  for (const auto& s : o.events("signal_generate")) {
    if (s["target_pid"] != static_cast<unsigned>(target)) continue;
    seen = true;
    CHECK(s["signal"] == "SIGTERM");
    CHECK(s["pid"] == static_cast<unsigned>(sender));
    CHECK(s["comm"] == "send_signal");
    CHECK(s["from_kernel"] == false);
  }
  CHECK(seen);
  auto exits = o.events_of("exit", target);
  REQUIRE(exits.size() == 1);
  CHECK(exits[0]["signal"] == "SIGTERM");
}

TEST_CASE("attach: an untraced process's syscalls produce no events", "[root][attach]") {
  REQUIRE_ROOT();
  pid_t target = spawn({"/bin/sleep", "30"});
  Background bg({"attach", "--json", "--pid", std::to_string(target)});
  REQUIRE(bg.wait_ready());
  pid_t bystander = spawn({prog("open_fail"), "/nonexistent/pm-bystander", "2000"});
  CHECK(wait_exit(bystander) == 0);
  pid_t traced_opener = spawn({prog("open_fail"), "/nonexistent/pm-bystander-control", "1"});
  CHECK(wait_exit(traced_opener) == 0);
  kill(target, SIGKILL);
  wait_exit(target);
  auto o = bg.wait(20);
  for (const auto& e : o.lines) {
    CHECK(e.value("pid", 0u) != static_cast<unsigned>(bystander));
    CHECK(e.value("path", std::string()) != "/nonexistent/pm-bystander");
  }
  // The target itself was traced: its death is there.
  CHECK(o.events_of("exit", target).size() == 1);
}

TEST_CASE("attach --unit: a process in the unit's cgroup is traced, one outside is not", "[root][attach][unit]") {
  REQUIRE_ROOT();
  FakeUnit unit;
  REQUIRE(unit.create_cgroup());
  Background bg({"attach", "--json", "--unit", unit.name, "--duration", "20s"}, unit.env());
  REQUIRE(bg.wait_ready());
  pid_t inside = spawn(unit.start_argv({prog("open_fail"), "/nonexistent/pm-inside-unit"}));
  pid_t outside = spawn({prog("open_fail"), "/nonexistent/pm-outside-unit"});
  CHECK(wait_exit(inside) == 0);
  CHECK(wait_exit(outside) == 0);
  std::this_thread::sleep_for(300ms);
  auto o = bg.stop(SIGINT);
  INFO(o.err);
  CHECK(o.status == 0);
  CHECK(has_open(o, "/nonexistent/pm-inside-unit"));
  CHECK_FALSE(has_open(o, "/nonexistent/pm-outside-unit"));
  REQUIRE(o.summary());
}

TEST_CASE("attach --unit: a unit not started yet is waited for and traced from its first exec",
          "[root][attach][unit]") {
  REQUIRE_ROOT();
  FakeUnit unit;
  Background bg({"attach", "--json", "--unit", unit.name, "--duration", "20s"}, unit.env());
  REQUIRE(bg.wait_ready());
  REQUIRE(unit.create_cgroup());  // the service manager starts the unit now
  pid_t inside = spawn(unit.start_argv({prog("open_fail"), "/nonexistent/pm-late-unit"}));
  pid_t outside = spawn({prog("open_fail"), "/nonexistent/pm-late-outside"});
  CHECK(wait_exit(inside) == 0);
  CHECK(wait_exit(outside) == 0);
  std::this_thread::sleep_for(300ms);
  auto o = bg.stop(SIGINT);
  INFO(o.err);
  CHECK(o.err.find("waiting for unit " + unit.name) != std::string::npos);
  REQUIRE(o.events("cgroup_adopt").size() == 1);
  CHECK(o.events("cgroup_adopt")[0]["path"] == "/system.slice/" + unit.name);
  CHECK(has_open(o, "/nonexistent/pm-late-unit"));
  CHECK_FALSE(has_open(o, "/nonexistent/pm-late-outside"));
  bool exec_seen = false;
  for (const auto& e : o.events("exec"))
    if (e["filename"] == prog("open_fail")) exec_seen = true;
  CHECK(exec_seen);
}

TEST_CASE("run --unit: the unit's cgroup is traced besides the command", "[root][run][unit]") {
  REQUIRE_ROOT();
  FakeUnit unit;
  REQUIRE(unit.create_cgroup());
  // The command plays the service manager: it starts a process in the unit's
  // cgroup that outlives it (as a daemon does).
  std::string cmd = prog("cg_exec") + " " + unit.cgroup + " " + prog("open_fail") + " /nonexistent/pm-run-unit &";
  auto o = run_pmtrace({"run", "--json", "--unit", unit.name, "--", "/bin/sh", "-c", cmd}, 60, unit.env());
  INFO(o.err);
  CHECK(o.status == 0);
  CHECK(has_open(o, "/nonexistent/pm-run-unit"));
}

TEST_CASE("bad targets get a one-line error and exit status 2, a target never seen 3", "[root][errors]") {
  REQUIRE_ROOT();
  SECTION("no such pid") {
    auto o = run_pmtrace({"attach", "--pid", "999999999"});
    CHECK(o.status == 2);
    CHECK(o.err.find("no such pid 999999999") != std::string::npos);
  }
  SECTION("unknown unit: waited for by its cgroup's name, and never called healthy") {
    TempDir empty;
    auto o = run_pmtrace({"attach", "--json", "--unit", "pm-no-such-unit", "--duration", "1s"}, 30,
                         {"SYSTEMD_UNIT_PATH=" + empty.path()});
    CHECK(o.status == 3);  // not seen: pmtrace cannot say
    CHECK(o.err.find("no unit named pm-no-such-unit.service") != std::string::npos);
    CHECK(o.err.find("systemctl list-unit-files") != std::string::npos);
    CHECK(o.err.find("waiting for a cgroup pm-no-such-unit.service to be created anywhere") != std::string::npos);
    REQUIRE(o.summary());
    CHECK((*o.summary())["verdict"] == "not_seen");
  }
  SECTION("empty command") {
    auto o = run_pmtrace({"run"});
    CHECK(o.status == 2);
    CHECK(o.err.find("nothing to run") != std::string::npos);
  }
  SECTION("command not found") {
    auto o = run_pmtrace({"run", "--", "/nonexistent/pm-cmd"});
    CHECK(o.status == 2);
    CHECK(o.err.find("command not found: /nonexistent/pm-cmd") != std::string::npos);
  }
}

TEST_CASE("tracefs is mounted by pmtrace when it is missing", "[root][env]") {
  REQUIRE_ROOT();
  // Detach any tracefs mount so pmtrace finds none (programs already attached
  // by others keep working: their perf events hold the tracepoints).
  umount2("/sys/kernel/tracing", MNT_DETACH);
  auto o = run_pmtrace({"run", "--", "/bin/true"});
  INFO(o.err);
  CHECK(o.status == 0);
  CHECK(o.err.find("tracefs was not mounted: mounted it at /sys/kernel/tracing") != std::string::npos);
  struct stat st{};
  CHECK(stat("/sys/kernel/tracing/events/syscalls", &st) == 0);
}

TEST_CASE("attach --name: running processes are adopted and new ones are traced from their exec",
          "[root][attach][name]") {
  REQUIRE_ROOT();
  TempDir dir;
  // A program with a name no other process has.
  // A program with a name no other process has: two of them, one that waits
  // (running before attach) and one that fails an open (started after).
  std::filesystem::create_directories(dir.path() + "/a");
  std::filesystem::create_directories(dir.path() + "/b");
  std::string sleeper = dir.path() + "/a/pmnamedproc";
  std::string named = dir.path() + "/b/pmnamedproc";
  REQUIRE(std::filesystem::copy_file("/bin/sleep", sleeper));
  REQUIRE(std::filesystem::copy_file(prog("open_fail"), named));
  pid_t early = spawn({sleeper, "30"});
  std::this_thread::sleep_for(200ms);
  Background bg({"attach", "--json", "--name", "pmnamedproc", "--duration", "20s"});
  REQUIRE(bg.wait_ready());
  pid_t late = spawn({named, "/nonexistent/pm-named-late"});
  pid_t other = spawn({prog("open_fail"), "/nonexistent/pm-named-other"});
  CHECK(wait_exit(late) == 0);
  CHECK(wait_exit(other) == 0);
  kill(early, SIGTERM);
  wait_exit(early);
  std::this_thread::sleep_for(300ms);
  auto o = bg.stop(SIGINT);
  INFO(o.err);
  CHECK(o.err.find("attaching to 1 processes named pmnamedproc") != std::string::npos);
  CHECK(has_open(o, "/nonexistent/pm-named-late"));
  CHECK_FALSE(has_open(o, "/nonexistent/pm-named-other"));
  auto execs = o.events_of("exec", static_cast<unsigned>(late));
  REQUIRE(execs.size() == 1);
  CHECK(execs[0]["adopted"] == true);
  // The process that was already running is traced too: its death is seen.
  auto exits = o.events_of("exit", static_cast<unsigned>(early));
  REQUIRE(exits.size() == 1);
  CHECK(exits[0]["signal"] == "SIGTERM");
}

TEST_CASE("attach --unit: the unit is followed across a restart (its cgroup re-created)", "[root][attach][unit]") {
  REQUIRE_ROOT();
  FakeUnit unit;
  REQUIRE(unit.create_cgroup());
  Background bg({"attach", "--json", "--unit", unit.name, "--duration", "30s"}, unit.env());
  REQUIRE(bg.wait_ready());
  pid_t first = spawn(unit.start_argv({prog("open_fail"), "/nonexistent/pm-restart-1"}));
  CHECK(wait_exit(first) == 0);
  unit.remove_cgroup();  // the service manager stops the unit...
  REQUIRE(unit.create_cgroup());  // ...and starts it again: a new cgroup, a new id
  pid_t second = spawn(unit.start_argv({prog("open_fail"), "/nonexistent/pm-restart-2"}));
  CHECK(wait_exit(second) == 0);
  std::this_thread::sleep_for(300ms);
  auto o = bg.stop(SIGINT);
  INFO(o.err);
  CHECK(has_open(o, "/nonexistent/pm-restart-1"));
  CHECK(has_open(o, "/nonexistent/pm-restart-2"));
  CHECK(o.events("cgroup_adopt").size() == 1);
}

TEST_CASE("without root pmtrace says what it needs and exits 3 (eBPF asked for)", "[root][errors]") {
  REQUIRE_ROOT();
  // --backend bpf: the default (auto) would fall back to ptrace (test_ptrace.cpp).
  auto o = run_shell("setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all " + pmtrace_bin() +
                     " run --backend bpf -- /bin/true");
  INFO(o.out);
  CHECK(o.out.find("pmtrace needs root (or CAP_BPF and CAP_PERFMON)") != std::string::npos);
  CHECK(o.status == 3);  // cannot trace here
}
