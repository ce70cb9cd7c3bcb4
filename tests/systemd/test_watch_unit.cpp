// `pmtrace watch` as the service it is meant to be: units/pmtrace-watch.service
// as shipped (its sandbox, Type=notify), started by real systemd in the bed,
// watching a gunicorn unit that is healthy, restarted, and broken by the
// restart. What the operator reads: `systemctl status` (STATUS=), the journal
// (`journalctl -u pmtrace-watch -o json`, and the watched unit's own
// `journalctl -u`), the incidents file.
#include <catch2/catch.hpp>

#include "bed.h"
#include "scenario.h"

using namespace pmtest;

namespace {

// The journal entries of `journalctl ARGS -o json` that carry an incident.
std::vector<json> incidents_in_journal(const SystemdBed& bed, const std::string& args) {
  std::vector<json> out;
  for (const auto& j : bed.sh("journalctl --no-pager -o json " + args).lines)
    if (j.contains("PMTRACE_INCIDENT_ID")) out.push_back(j);
  return out;
}

std::string show(const SystemdBed& bed, const std::string& unit, const std::string& prop) {
  auto v = bed.sh("systemctl show -p " + prop + " --value " + unit).out;
  while (!v.empty() && v.back() == '\n') v.pop_back();
  return v;
}

}  // namespace

TEST_CASE("real systemd: pmtrace-watch.service started by systemd: READY=1 and STATUS=, an incident in the journal "
          "with its fields, the watched unit followed across systemctl restart, stopped cleanly",
          "[root][systemd][watch]") {
  SystemdBed bed;
  REQUIRE_BED(bed);
  const std::string unit = "pmtest-watched.service";
  // The shipped unit, verbatim, and pmtrace where it expects it.
  bed.sh("install -m 0755 " + pmtrace_bin() + " /usr/local/bin/pmtrace && install -m 0644 " +
         std::string(PM_SOURCE_DIR) + "/units/pmtrace-watch.service /etc/systemd/system/ && mkdir -p /etc/pmtrace && "
         "printf 'units = [\"" + unit + "\"]\\nsettle = \"1s\"\\n' > /etc/pmtrace/watch.toml && "
         "cp -r " + kFlaskApp + " /srv/watched");
  bed.install_unit(unit, "[Service]\nType=notify\nEnvironment=DATABASE_URL=postgresql://meats:watch-s3cret@127.0.0.1/m\n"
                         "ExecStart=" + exec_line(gunicorn(8020, "app:app", {}, "/srv/watched")) + "\n");

  // Where bpf() is refused (a container that did not grant it), watch says
  // so and why, and exits 3 (cannot trace): it never runs blind.
  auto refused = bed.sh("systemd-run --wait --pipe -q -p SystemCallFilter=~bpf -p SystemCallErrorNumber=EPERM "
                        "/usr/local/bin/pmtrace watch --duration 1s " + unit);
  INFO(refused.out);
  CHECK(refused.status == 3);
  CHECK(contains(refused.out, "the bpf() system call is not permitted here although pmtrace runs privileged: a "
                              "seccomp filter on pmtrace"));
  CHECK(contains(refused.out, "--system-call-filter='bpf perf_event_open'"));

  auto started = bed.sh("systemctl start pmtrace-watch");
  INFO(started.out << bed.sh("journalctl --no-pager -u pmtrace-watch").out);
  REQUIRE(started.status == 0);
  // Type=notify: active only once pmtrace said READY=1, after its probes loaded.
  CHECK(show(bed, "pmtrace-watch", "ActiveState") == "active");
  CHECK(show(bed, "pmtrace-watch", "StatusText") == "watching unit " + unit);

  // Healthy first; then broken by the deploy that the restart picks up.
  auto healthy = bed.sh("systemctl start " + unit + " && curl -sf -o /dev/null http://127.0.0.1:8020/ && echo served");
  CHECK(contains(healthy.out, "served"));
  const std::string first_cgroup = show(bed, unit, "ControlGroupId");
  bed.sh("printf 'import meats_billing_sdk\\napp = None\\n' > /srv/watched/app.py");
  auto restarted = bed.sh("systemctl restart " + unit + "; for i in $(seq 40); do systemctl is-failed -q " + unit +
                          " && break; sleep 0.5; done; systemctl is-failed " + unit + "; systemctl status --no-pager " +
                          unit);
  INFO(restarted.out);
  CHECK(contains(restarted.out, "failed"));

  std::vector<json> incidents;
  for (int i = 0; i < 20 && incidents.empty(); ++i) {
    incidents = incidents_in_journal(bed, "-u pmtrace-watch");
    if (incidents.empty()) bed.sh("sleep 0.5");
  }
  INFO(bed.sh("journalctl --no-pager -u pmtrace-watch").out);
  // One incident: the failed start after the restart. The stop of the healthy
  // run by `systemctl restart` is not one.
  REQUIRE(incidents.size() == 1);
  const json& inc = incidents[0];
  INFO(inc.dump(2));
  CHECK(inc["PMTRACE_INCIDENT_ID"] == "1");
  CHECK(inc["PMTRACE_UNIT"] == unit);
  CHECK(inc["PMTRACE_SERVICE"] == "unit " + unit);
  CHECK(inc["PMTRACE_VERDICT"] == "failed");
  CHECK(contains(inc["PMTRACE_RULES"].get<std::string>(), "missing-python-module"));
  CHECK(contains(inc["PMTRACE_ROOT_CAUSE"].get<std::string>(), "meats_billing_sdk"));
  CHECK_FALSE(inc["PMTRACE_FIX"].get<std::string>().empty());
  CHECK(inc["MESSAGE_ID"] == "0ab5335eddfb436fa22904c269f6d66c");
  CHECK(inc["SYSLOG_IDENTIFIER"] == "pmtrace");
  CHECK(inc["_SYSTEMD_UNIT"] == "pmtrace-watch.service");
  CHECK(inc["PRIORITY"] == "3");
  // The restarted unit has a new cgroup; it was followed into it.
  CHECK(show(bed, unit, "ControlGroupId") != first_cgroup);
  // The watched unit's own journal shows the explanation beside systemd's lines.
  auto in_unit = incidents_in_journal(bed, "-u " + unit);
  CHECK(in_unit.size() == 1);
  CHECK(contains(show(bed, "pmtrace-watch", "StatusText"), "1 incident, the latest " + unit + ": missing-python-module"));
  // The incidents file the unit's LogsDirectory= holds.
  auto file = bed.sh("cat /var/log/pmtrace/incidents.jsonl; stat -c '%a %U' /var/log/pmtrace/incidents.jsonl");
  CHECK(contains(file.out, "\"type\":\"incident\""));
  CHECK(contains(file.out, "640 root"));
  // No secret anywhere an operator or a collector reads.
  auto everything = bed.sh("journalctl --no-pager -o json -u pmtrace-watch; cat /var/log/pmtrace/incidents.jsonl");
  CHECK_FALSE(contains(everything.out, "watch-s3cret"));

  // Stopped by systemd: SIGTERM, STOPPING=1, a clean exit.
  auto stopped = bed.sh("systemctl stop pmtrace-watch; systemctl show -p ActiveState -p Result -p ExecMainStatus "
                        "pmtrace-watch");
  INFO(stopped.out);
  CHECK(contains(stopped.out, "ActiveState=inactive"));
  CHECK(contains(stopped.out, "Result=success"));
  CHECK(contains(stopped.out, "ExecMainStatus=0"));
  auto log = bed.sh("journalctl --no-pager -u pmtrace-watch -o cat");
  CHECK(contains(log.out, "stopped: "));
  CHECK(contains(log.out, " 0 lost, 1 incidents"));
}
