// Django on PostgreSQL, both started by the container's systemd (Debian's
// postgresql@15-main, the app's unit After= it): a healthy service started,
// reloaded and stopped, and a --preload import stalled on a database connect
// nobody answers until the start job times out. Seen with pmtrace inside the
// container and with pmtrace on the host attached to the unit's cgroup.
#include <signal.h>

#include <catch2/catch.hpp>

#include "bed.h"
#include "scenario.h"

using namespace pmtest;

namespace {

const std::string kSecret = "pw-s3cret";
const std::string kKey = "django-insecure-k3y-of-the-bed";

// PostgreSQL as the container's systemd runs it, with the app's role and database.
void start_postgres(const SystemdBed& bed) {
  auto pg = bed.sh("systemctl start postgresql@15-main && "
                   "runuser -u postgres -- psql -qc \"CREATE ROLE meats LOGIN PASSWORD '" + kSecret + "'\" && "
                   "runuser -u postgres -- createdb -O meats meats && echo pg-ready");
  INFO(pg.out);
  REQUIRE(contains(pg.out, "pg-ready"));
}

// The app's settings in an EnvironmentFile= only root reads, as deployments keep them.
void write_env(const SystemdBed& bed, const std::string& database_url) {
  bed.sh("mkdir -p /etc/meats && umask 077 && printf 'SECRET_KEY=" + kKey + "\\nDATABASE_URL=" + database_url +
         "\\nPM_CONNECT_AT_IMPORT=1\\n' > /etc/meats/env");
}

std::string django_unit(int port, const std::string& extra_service) {
  return "[Unit]\nAfter=postgresql.service\n[Service]\nType=notify\nEnvironmentFile=/etc/meats/env\n" + extra_service +
         "ExecStart=" + exec_line(gunicorn(port, "meats.wsgi:application", {"--preload"}, kDjangoApp)) +
         "\nExecReload=/bin/kill -HUP $MAINPID\n";
}

bool no_secret(const Output& o) {
  return !contains(o.out, kSecret) && !contains(o.err, kSecret) && !contains(o.out, kKey) && !contains(o.err, kKey);
}

}  // namespace

TEST_CASE("real systemd: a healthy Django service on PostgreSQL started, reloaded and stopped: no failure, exit 0",
          "[root][systemd][django]") {
  SystemdBed bed;
  REQUIRE_BED(bed);
  start_postgres(bed);
  const std::string unit = "pmtest-django.service";
  write_env(bed, "postgresql://meats:" + kSecret + "@127.0.0.1:5432/meats");
  bed.install_unit(unit, django_unit(8030, ""));
  const std::string url = "http://127.0.0.1:8030/db/";
  const std::string script = "systemctl start " + unit + " && curl -sf " + url + " && systemctl reload " + unit +
                             " && sleep 2 && curl -sf " + url + " && systemctl stop " + unit;
  auto check = [&](const Output& o, const char* how, bool wrapped, bool from_start = true) {
    INFO(how << "\n" << o.out << "\n" << o.err);
    const json* sum = &summary_of(o);
    CHECK(o.status == 0);
    CHECK((*sum)["verdict"] == "stopped");
    CHECK((*sum)["unit"] == unit);
    if (wrapped) CHECK((*sum)["wrapped_command"]["exit_code"] == 0);
    for (const auto& f : (*sum)["findings"]) CHECK(f["severity"] != "failure");
    CHECK((*sum)["failures"].empty());
    if (from_start) {
      CHECK(reached(o, "database connected"));
      CHECK(reached(o, "workers booted"));
    }
    CHECK(reached(o, "serving"));
    // The stop is systemd's stop job, said as such.
    const json* k = finding(o, "killed-by-signal");
    REQUIRE(k);
    CHECK(contains(field(k, "title"), "the service manager's stop job"));
    CHECK(no_secret(o));
  };
  auto run = bed.sh(pmtrace_bin() + " run --json --timeout 60s --unit " + unit + " -- sh -c '" + script + "'");
  check(run, "run inside", true);
  CHECK(contains(run.out, "db ok 1"));  // both requests were answered from the database
  check(attach_inside(bed, unit, script), "attach inside", false);
  check(attach_from_host(bed, bed.host_cgroup(unit), script), "attach from the host by cgroup path", false);
  // Already running: attached by its cgroup's id, then reloaded and stopped.
  REQUIRE(bed.sh("systemctl start " + unit).status == 0);
  auto id = bed.sh("systemctl show -p ControlGroupId --value " + unit).out;
  while (!id.empty() && id.back() == '\n') id.pop_back();
  REQUIRE_FALSE(id.empty());
  check(attach_from_host(bed, id,
                         "curl -sf " + url + " && systemctl reload " + unit + " && sleep 2 && curl -sf " + url +
                             " && systemctl stop " + unit),
        "attach from the host by cgroup id", false, false);
}

TEST_CASE("real systemd: a --preload import stalled on an unanswered database connect: the start job times out "
          "(TimeoutStartSec=20)",
          "[root][systemd][stall]") {
  SystemdBed bed;
  REQUIRE_BED(bed);
  // A database address whose connects stall: a listener that never accepts,
  // its one queue slot taken, so every further SYN is dropped.
  bed.install_unit("pmtest-blackhole.service",
                   "[Service]\nExecStart=/usr/bin/python3 -c \"import socket,time; s=socket.socket(); "
                   "s.bind(('127.0.0.1',5499)); s.listen(0); c=socket.create_connection(('127.0.0.1',5499)); "
                   "time.sleep(1e6)\"\n");
  REQUIRE(bed.sh("systemctl start pmtest-blackhole && sleep 1 && systemctl is-active pmtest-blackhole").status == 0);
  const std::string unit = "pmtest-stalled.service";
  write_env(bed, "postgresql://meats:" + kSecret + "@127.0.0.1:5499/meats");
  auto check = [&](const Output& o, const char* how, int timeout_s) {
    INFO(how << "\n" << o.out << "\n" << o.err);
    const json* sum = &summary_of(o);
    CHECK((*sum)["unit"] == unit);
    const json* st = failed_finding(o, *sum, "start-timeout");
    REQUIRE(st);
    CHECK(contains(field(st, "title"), "the start of " + unit + " timed out after"));
    CHECK(contains(field(st, "title"), "TimeoutStartSec=" + std::to_string(timeout_s) + " s"));
    // The kernel's evidence: the master's connect to the database, in flight
    // when systemd's SIGTERM came; and systemd's own words.
    std::string all = st->dump();
    CHECK(contains(all, "127.0.0.1:5499"));
    CHECK(contains((*st)["facts"].dump(), "systemd said at"));
    CHECK(contains((*st)["facts"].dump(), "start operation timed out"));
    CHECK(contains(field(st, "fix"), "127.0.0.1:5499"));
    CHECK_FALSE(reached(o, "database connected"));
    CHECK_FALSE(reached(o, "application imported"));
    CHECK(no_secret(o));
  };
  bed.install_unit(unit, django_unit(8031, "TimeoutStartSec=20\n"));
  auto run = bed.sh(pmtrace_bin() + " run --json --timeout 90s -- systemctl start " + unit);
  check(run, "run inside", 20);
  CHECK((*run.summary())["duration_s"].get<double>() >= 20.0);
  bed.install_unit(unit, django_unit(8031, "TimeoutStartSec=6\n"));
  check(attach_inside(bed, unit, "systemctl start " + unit + " || true", 2), "attach inside", 6);
  check(attach_from_host(bed, bed.host_cgroup(unit), "systemctl start " + unit + " || true", 2),
        "attach from the host by cgroup path", 6);
}
