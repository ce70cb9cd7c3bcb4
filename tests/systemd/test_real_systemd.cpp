// Real systemd as PID 1 (tests/systemd/bed.h): services started by systemd's
// own start job, seen by pmtrace on this machine (the host) while the unit
// runs in the container's tree. The unit file exists only inside the
// container: pmtrace finds the unit's cgroup by its name anywhere in the
// hierarchy and reads the unit's settings through its processes' root.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "bed.h"
#include "scenario.h"

using namespace pmtest;
using namespace std::chrono_literals;

namespace {

// No unit file on this machine: what pmtrace knows of the unit it learns in
// the container.
std::vector<std::string> no_host_units(const TempDir& empty) { return {"SYSTEMD_UNIT_PATH=" + empty.path()}; }

}  // namespace

TEST_CASE("real systemd: a Type=notify start that times out, run around systemctl start from the host",
          "[root][systemd][notify]") {
  SystemdBed bed;
  REQUIRE_BED(bed);
  const std::string unit = "pmtest-notify.service";
  auto cmd = gunicorn(8000, "app:app");
  cmd.insert(cmd.begin(), {"/usr/bin/env", "-u", "NOTIFY_SOCKET"});  // a wrapper that drops it
  bed.install_unit(unit, "[Service]\nType=notify\nTimeoutStartSec=3\nExecStart=" + exec_line(cmd) + "\n");
  TempDir empty;
  std::vector<std::string> args{"run", "--json", "--unit", unit, "--timeout", "60s", "--"};
  for (const auto& a : bed.inside({"/bin/systemctl", "start", unit})) args.push_back(a);
  auto o = run_pmtrace(args, 90, no_host_units(empty));
  INFO(o.err);
  const json* sum = o.summary();
  REQUIRE(sum);
  INFO(sum->dump(2));
  CHECK(o.status == 1);
  CHECK((*sum)["verdict"] == "failed");
  CHECK((*sum)["unit"] == unit);
  CHECK((*sum)["duration_s"].get<double>() >= 3.0);
  // systemctl start itself failed: the wrapped command's own line.
  CHECK((*sum)["wrapped_command"]["exit_code"] == 1);
  const json* st = finding(o, "start-timeout");
  REQUIRE(st);
  // The unit's settings were read in the container.
  CHECK(contains(field(st, "title"), "the start of " + unit + " timed out after"));
  CHECK(contains(field(st, "title"), "(Type=notify, TimeoutStartSec=3 s)"));
  CHECK(contains(field(st, "explanation"), "NOTIFY_SOCKET was not in gunicorn's environment"));
  // The SIGTERM came from the container's systemd (pidfd_send_signal, seen by signal_generate).
  bool from_manager = false;
  for (const auto& e : (*st)["evidence"])
    if (e["type"] == "signal_generate" && e["pid"] == bed.pid1() && e["signal"] == "SIGTERM") from_manager = true;
  CHECK(from_manager);
  auto status = bed.sh("systemctl show -p Result --value " + unit);
  CHECK(contains(status.out, "timeout"));
  // The same start seen inside the container (an operator's machinectl
  // shell): run around systemctl start, and attach by the unit's name; then
  // from the host by the unit's cgroup.
  auto inside = [&](const Output& o, const char* how) {
    INFO(how << "\n" << o.out);
    const json* f = failed_finding(o, summary_of(o), "start-timeout");
    REQUIRE(f);
    CHECK(contains(field(f, "explanation"), "NOTIFY_SOCKET was not in gunicorn's environment"));
    CHECK(contains((*f)["facts"].dump(), "start operation timed out"));
    CHECK(contains(field(f, "fix"), "keep NOTIFY_SOCKET"));
  };
  bed.sh("systemctl reset-failed " + unit);
  inside(run_inside(bed, unit), "run inside");
  bed.sh("systemctl reset-failed " + unit);
  inside(attach_inside(bed, unit, "systemctl start " + unit + " || true"), "attach inside");
  // And from the host, attached to the unit's cgroup path before it starts.
  bed.sh("systemctl reset-failed " + unit);
  inside(attach_from_host(bed, bed.host_cgroup(unit), "systemctl start " + unit + " || true"),
         "attach from the host by cgroup path");
}

TEST_CASE("real systemd: attach from the host to a unit that only the container knows, started after attach",
          "[root][systemd][attach]") {
  SystemdBed bed;
  REQUIRE_BED(bed);
  const std::string unit = "pmtest-broken.service";
  bed.install_unit(unit, "[Service]\nExecStart=" + exec_line(gunicorn(8001, "broken_import:app", {"-w", "1"})) + "\n");
  TempDir empty;
  Background bg({"attach", "--json", "--unit", unit, "--duration", "40s"}, no_host_units(empty));
  REQUIRE(bg.wait_ready());
  auto started = bed.sh("systemctl start " + unit + "; sleep 3; systemctl is-failed " + unit);
  std::this_thread::sleep_for(1000ms);
  auto o = bg.stop(SIGINT);
  INFO(o.err);
  INFO(started.out);
  CHECK(contains(started.out, "failed"));
  CHECK(contains(o.err, "waiting for a cgroup " + unit + " to be created anywhere"));
  const json* sum = o.summary();
  REQUIRE(sum);
  INFO(sum->dump(2));
  CHECK(o.status == 1);
  CHECK((*sum)["verdict"] == "failed");
  CHECK((*sum)["unit"] == unit);
  CHECK(finding(o, "missing-python-module"));
}

TEST_CASE("real systemd: a healthy unit started, reloaded and stopped is no failure", "[root][systemd][healthy]") {
  SystemdBed bed;
  REQUIRE_BED(bed);
  const std::string unit = "pmtest-healthy.service";
  bed.install_unit(unit, "[Service]\nType=notify\nExecStart=" + exec_line(gunicorn(8002, "app:app")) +
                             "\nExecReload=/bin/kill -HUP $MAINPID\n");
  TempDir empty;
  std::string url = "http://127.0.0.1:8002/";
  std::string script = "systemctl start " + unit + " && curl -sf -o /dev/null " + url + " && systemctl reload " + unit +
                       " && sleep 1 && curl -sf -o /dev/null " + url + " && systemctl stop " + unit;
  std::vector<std::string> args{"run", "--json", "--unit", unit, "--timeout", "60s", "--"};
  for (const auto& a : bed.inside({"/bin/sh", "-c", script})) args.push_back(a);
  auto o = run_pmtrace(args, 90, no_host_units(empty));
  INFO(o.err);
  const json* sum = o.summary();
  REQUIRE(sum);
  INFO(sum->dump(2));
  CHECK(o.status == 0);
  CHECK((*sum)["verdict"] == "stopped");
  CHECK((*sum)["wrapped_command"]["exit_code"] == 0);
  for (const auto& f : (*sum)["findings"]) CHECK(f["severity"] != "failure");
  CHECK((*sum)["failures"].empty());
  const json* k = finding(o, "killed-by-signal");
  REQUIRE(k);
  CHECK(contains(field(k, "title"), "the service manager's stop job"));
}

TEST_CASE("real systemd: pmtrace inside the container's PID namespace sees the unit with the pids ps shows there",
          "[root][systemd][pidns]") {
  SystemdBed bed;
  REQUIRE_BED(bed);
  const std::string pm = pmtrace_bin();
  // A command's own tree, with eBPF: the exit status of the pid it started.
  auto own = bed.sh(pm + " run --json -- /bin/sh -c 'echo $$ > /tmp/own.pid; exit 3'");
  INFO(own.out);
  CHECK_FALSE(contains(own.out, "using the ptrace backend"));
  CHECK(own.status == 1);
  const json* s = own.summary();
  REQUIRE(s);
  auto own_pid = std::stol(bed.sh("cat /tmp/own.pid").out);
  bool exit3 = false;
  for (const auto& f : (*s)["failures"]) exit3 |= f.value("exit_code", 0) == 3 && f.value("pid", 0L) == own_pid;
  CHECK(exit3);
  // systemctl start of a unit that times out: the service manager is PID 1
  // here, the service's pid the one systemd reports.
  bed.install_unit("pmtest-blind.service", "[Service]\nType=notify\nTimeoutStartSec=2\nExecStart=/bin/sleep 60\n");
  auto blind = bed.sh(pm + " run --json --unit pmtest-blind -- /bin/systemctl start pmtest-blind");
  INFO(blind.out);
  CHECK(blind.status == 1);
  s = blind.summary();
  REQUIRE(s);
  CHECK((*s)["verdict"] == "failed");
  auto main_pid = std::stol(bed.sh("systemctl show -p ExecMainPID --value pmtest-blind").out);
  CHECK(main_pid > 1);
  const json* st = nullptr;
  for (const auto& f : (*s)["findings"])
    if (f["rule"] == "start-timeout") st = &f;
  REQUIRE(st);
  bool sigterm = false;
  for (const auto& e : (*st)["evidence"])
    sigterm |= e["type"] == "signal_generate" && e["pid"] == 1 && e["target_pid"] == main_pid;
  CHECK(sigterm);
  // attach to a running unit by name: its processes are found by its cgroup
  // (relative to the container's cgroup namespace) with their pids here.
  auto att = bed.sh(pm + " attach --json --unit systemd-journald --duration 1s");
  INFO(att.out);
  CHECK(att.status == 0);
  CHECK_FALSE(contains(att.out, "PID namespace"));
}
