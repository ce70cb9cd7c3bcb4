// The start job as real systemd runs it (tests/systemd/bed.h): ExecStartPre=
// failing, systemd's own pre-exec statuses, a Restart= loop into the start
// limit, a ProtectSystem=strict sandbox, a missing credential or
// EnvironmentFile=. Each through `pmtrace run -- systemctl start UNIT` and
// `pmtrace attach UNIT` inside the container (an operator's machinectl
// shell), and from the host: `pmtrace attach --cgroup PATH` (the ExecStartPre=
// case: run around nsenter).
#include <catch2/catch.hpp>

#include "bed.h"
#include "scenario.h"

using namespace pmtest;

TEST_CASE("real systemd: an ExecStartPre= that fails: its command, status and output, ExecStart= never ran",
          "[root][systemd][execstartpre]") {
  SystemdBed bed;
  REQUIRE_BED(bed);
  const std::string unit = "pmtest-pre.service";
  bed.sh("mkdir -p /srv/pre && printf '#!/bin/sh\\necho checking the database >&2\\n"
         "echo \"migrations pending: 3 (run manage.py migrate)\" >&2\\nexit 4\\n' > /srv/pre/check && chmod +x /srv/pre/check");
  bed.install_unit(unit, "[Service]\nExecStartPre=/bin/true\nExecStartPre=/srv/pre/check --strict\nExecStart=" +
                             exec_line(gunicorn(8010, "app:app")) + "\n");
  auto check = [&](const Output& o, const char* how) {
    INFO(how << "\n" << o.out << "\n" << o.err);
    const json& sum = summary_of(o);
    const json* f = failed_finding(o, sum, "exec-start-pre");
    REQUIRE(f);
    CHECK(field(f, "severity") == "failure");
    CHECK(contains(field(f, "title"), "ExecStartPre=/srv/pre/check --strict of " + unit +
                                          " exited with status 4: ExecStart= never ran"));
    CHECK(contains((*f)["facts"].dump(), "migrations pending: 3"));
    CHECK(contains((*f)["facts"].dump(), "ExecStartPre= command 2 of 2"));
    CHECK(contains(field(f, "fix"), "ExecStartPre=-/srv/pre/check --strict"));
    // systemd's own words, from its journal, joined to the kernel's evidence.
    CHECK(contains((*f)["facts"].dump(), "Control process exited, code=exited, status=4"));
    // /bin/true, the first ExecStartPre=, succeeded: no finding of its own.
    CHECK(sum["findings"][0]["rule"] == "exec-start-pre");
  };
  auto run = run_inside(bed, unit);
  check(run, "run inside");
  CHECK(contains(run.out, "\"exit_code\":1"));  // systemctl start's own status
  auto att = attach_inside(bed, unit, "systemctl start " + unit + " || true");
  check(att, "attach inside");
  TempDir empty;
  std::vector<std::string> args{"run", "--json", "--unit", unit, "--timeout", "60s", "--"};
  for (const auto& a : bed.inside({"/bin/systemctl", "start", unit})) args.push_back(a);
  check(run_pmtrace(args, 90, {"SYSTEMD_UNIT_PATH=" + empty.path()}), "run from the host");
}

TEST_CASE("real systemd: systemd's setup fails before exec: 217/USER, 200/CHDIR, 226/NAMESPACE",
          "[root][systemd][preexec]") {
  SystemdBed bed;
  REQUIRE_BED(bed);
  struct Case {
    std::string unit, settings, status, rule, fix, journal;
  };
  const std::vector<Case> cases = {
      {"pmtest-user.service", "User=meats\n", "217/USER", "pre-exec-status",
       "useradd --system --no-create-home --shell /usr/sbin/nologin meats", "Failed to determine user credentials"},
      {"pmtest-chdir.service", "WorkingDirectory=/srv/meats-gone\n", "", "exec-failure", "install -d /srv/meats-gone",
       "Changing to the requested working directory failed"},
      {"pmtest-ns.service", "ProtectSystem=strict\nReadWritePaths=/srv/meats-media\n", "226/NAMESPACE",
       "pre-exec-status", "install -d /srv/meats-media), or mark it optional in the unit: ReadWritePaths=-/srv/meats-media",
       "Failed to set up mount namespacing"},
  };
  for (const auto& c : cases) {
    bed.install_unit(c.unit, "[Service]\n" + c.settings + "ExecStart=" + exec_line(gunicorn(8011, "app:app")) + "\n");
    auto check = [&](const Output& o, const char* how) {
      INFO(c.unit << " " << how << "\n" << o.out << "\n" << o.err);
      const json& sum = summary_of(o);
      const json* f = failed_finding(o, sum, c.rule);
      REQUIRE(f);
      CHECK(field(f, "severity") == "failure");
      if (!c.status.empty()) CHECK(contains(field(f, "title"), "exited " + c.status + " before the program ran"));
      // systemd's journal line for the failed step.
      CHECK(contains((*f)["facts"].dump(), c.journal));
      CHECK(contains(field(f, "fix"), c.fix));
      CHECK(sum["findings"][0]["rule"] == c.rule);
    };
    check(run_inside(bed, c.unit), "run inside");
    check(attach_inside(bed, c.unit, "systemctl start " + c.unit + " || true"), "attach inside");
    check(attach_from_host(bed, bed.host_cgroup(c.unit), "systemctl start " + c.unit + " || true"),
          "attach from the host by cgroup path");
  }
}

TEST_CASE("real systemd: a credential whose source is missing (243/CREDENTIALS) and a missing EnvironmentFile= "
          "(no process ever started)",
          "[root][systemd][preexec][credentials]") {
  SystemdBed bed;
  REQUIRE_BED(bed);
  const std::string cred = "pmtest-cred.service";
  bed.install_unit(cred, "[Service]\nLoadCredential=db-password:/etc/meats/db-password\nExecStart=" +
                             exec_line(gunicorn(8015, "app:app")) + "\n");
  auto check_cred = [&](const Output& o, const char* how) {
    INFO(how << "\n" << o.out << "\n" << o.err);
    const json& sum = summary_of(o);
    const json* f = failed_finding(o, sum, "pre-exec-status");
    REQUIRE(f);
    CHECK(contains(field(f, "title"), "exited 243/CREDENTIALS before the program ran"));
    CHECK(contains((*f)["facts"].dump(), "Failed to set up credentials"));
    CHECK(contains(field(f, "fix"), "create /etc/meats/db-password (the credential's source"));
    CHECK(contains((*f)["facts"].dump(), "LoadCredential=db-password:/etc/meats/db-password"));
    // systemd's errno text survives redaction.
    CHECK(contains((*f)["facts"].dump(), "Failed to set up credentials: Protocol error"));
  };
  check_cred(run_inside(bed, cred), "run inside");
  check_cred(attach_inside(bed, cred, "systemctl start " + cred + " || true"), "attach inside");
  check_cred(attach_from_host(bed, bed.host_cgroup(cred), "systemctl start " + cred + " || true"),
             "attach from the host by cgroup path");

  // systemd reads EnvironmentFile= itself, before it forks: the unit fails
  // (result 'resources') without a process the kernel could show.
  const std::string env = "pmtest-noenv.service";
  bed.install_unit(env, "[Service]\nEnvironmentFile=/etc/meats/missing.env\nExecStart=" +
                            exec_line(gunicorn(8016, "app:app")) + "\n");
  auto check_env = [&](const Output& o, const char* how) {
    INFO(how << "\n" << o.out << "\n" << o.err);
    const json& sum = summary_of(o);
    const json* f = failed_finding(o, sum, "environment-file");
    REQUIRE(f);
    CHECK(field(f, "severity") == "failure");
    CHECK(contains(field(f, "title"), "EnvironmentFile /etc/meats/missing.env of " + env));
    CHECK(contains((*f)["facts"].dump(), "Failed to load environment files"));
    CHECK(contains(field(f, "fix"), "EnvironmentFile=-/etc/meats/missing.env"));
    CHECK(sum["findings"][0]["rule"] == "environment-file");
  };
  check_env(run_inside(bed, env), "run inside");
  check_env(attach_inside(bed, env, "systemctl start " + env + " || true"), "attach inside");
  // From the host, with no process to look through: the unit is read under
  // the container's init (the cgroup path's tree).
  check_env(attach_from_host(bed, bed.host_cgroup(env), "systemctl start " + env + " || true"),
            "attach from the host by cgroup path");
}

TEST_CASE("real systemd: Restart=on-failure around a boot failure, until the start limit",
          "[root][systemd][restart]") {
  SystemdBed bed;
  REQUIRE_BED(bed);
  const std::string unit = "pmtest-loop.service";
  bed.install_unit(unit, "[Unit]\nStartLimitIntervalSec=20\nStartLimitBurst=3\n[Service]\nRestart=on-failure\n"
                         "RestartSec=300ms\nExecStart=" + exec_line(gunicorn(8012, "broken_import:app", {"-w", "1"})) + "\n");
  auto check = [&](const Output& o, const char* how) {
    INFO(how << "\n" << o.out << "\n" << o.err);
    const json& sum = summary_of(o);
    const json* loop = failed_finding(o, sum, "restart-loop");
    REQUIRE(loop);
    CHECK(contains(field(loop, "title"), unit + " was started 3 times in"));
    CHECK(contains(field(loop, "title"), "start-limit-hit: StartLimitBurst=3 in StartLimitIntervalSec=20 s"));
    CHECK(contains(field(loop, "fix"), "systemctl reset-failed " + unit));
    CHECK(contains((*loop)["facts"].dump(), "Start request repeated too quickly."));
    // The cause comes first, and the loop says it follows from it.
    const json* cause = finding(o, "missing-python-module");
    REQUIRE(cause);
    CHECK(sum["findings"][0]["rule"] != "restart-loop");
    CHECK(contains((*loop)["caused_by"].dump(), (*cause)["id"].get<std::string>()));
    // Each start's boot failure is one finding that says how often.
    const json* boot = finding(o, "gunicorn-boot-failure");
    REQUIRE(boot);
    CHECK(contains((*boot)["facts"].dump(), "seen 3 times: at +"));
    int boots = 0;
    for (const auto& f : sum["findings"]) boots += f["rule"] == "gunicorn-boot-failure";
    CHECK(boots == 1);
  };
  // systemctl start returns at the first failure; the loop goes on after it.
  auto run = run_inside(bed, unit, "--settle 4s");
  check(run, "run inside");
  // systemd agrees: it refused the start after the third.
  auto journal = bed.sh("journalctl -q -u " + unit + " -o cat");
  INFO(journal.out);
  CHECK(contains(journal.out, "Start request repeated too quickly."));
  bed.sh("systemctl reset-failed " + unit);
  check(attach_inside(bed, unit, "systemctl start " + unit + "; sleep 3"), "attach inside");
  // From the host: each restart makes the unit's cgroup anew at that path.
  bed.sh("systemctl reset-failed " + unit);
  check(attach_from_host(bed, bed.host_cgroup(unit), "systemctl start " + unit + "; sleep 3"),
        "attach from the host by cgroup path");
}

TEST_CASE("real systemd: ProtectSystem=strict and a log file under /opt: EROFS, and the setting to change",
          "[root][systemd][sandbox]") {
  SystemdBed bed;
  REQUIRE_BED(bed);
  const std::string unit = "pmtest-ro.service";
  bed.sh("mkdir -p /opt/meats/log");
  bed.install_unit(unit, "[Service]\nProtectSystem=strict\nExecStart=" +
                             exec_line(gunicorn(8013, "app:app", {"--error-logfile", "/opt/meats/log/error.log"})) + "\n");
  auto check = [&](const Output& o, const char* how) {
    INFO(how << "\n" << o.out << "\n" << o.err);
    const json& sum = summary_of(o);
    const json* f = failed_finding(o, sum, "permission-denied");
    REQUIRE(f);
    CHECK(contains(field(f, "title"), "/opt/meats/log/error.log (EROFS)"));
    CHECK(contains(field(f, "title"), "ProtectSystem=strict of " + unit + " makes it read-only for the service"));
    CHECK(contains(field(f, "fix"), "ReadWritePaths=/opt/meats/log in [Service] of " + unit));
  };
  check(run_inside(bed, unit), "run inside");
  check(attach_inside(bed, unit, "systemctl start " + unit + " || true"), "attach inside");
  check(attach_from_host(bed, bed.host_cgroup(unit), "systemctl start " + unit + " || true"),
        "attach from the host by cgroup path");
}

TEST_CASE("real systemd: an EnvironmentFile= with lines systemd ignores: the finding, systemd's words, no secret",
          "[root][systemd][envfile]") {
  SystemdBed bed;
  REQUIRE_BED(bed);
  const std::string unit = "pmtest-env.service";
  // Written for a shell: systemd ignores the `export` line (and logs it whole).
  bed.sh("mkdir -p /etc/meats && printf '# meats\\nexport SECRET_KEY=k7-very-secret-value\\n"
         "DATABASE_URL=postgresql://meats:pw-s3cret@127.0.0.1:5432/meats\\n' > /etc/meats/env");
  bed.install_unit(unit, "[Service]\nEnvironmentFile=/etc/meats/env\nExecStart=" +
                             exec_line(gunicorn(8014, "meats.wsgi:application", {"-w", "1"}, kDjangoApp)) + "\n");
  auto check = [&](const Output& o, const char* how) {
    INFO(how << "\n" << o.out);
    const json& sum = summary_of(o);
    const json* f = failed_finding(o, sum, "environment-file");
    REQUIRE(f);
    CHECK(field(f, "severity") == "failure");
    CHECK(field(f, "title") == "SECRET_KEY is missing in the service: systemd does not read /etc/meats/env line 2 as meant");
    CHECK(sum["findings"][0]["rule"] == "environment-file");
    CHECK(contains((*f)["facts"].dump(), "Ignoring invalid environment assignment"));
    // systemd logged the whole line: neither secret leaves pmtrace in clear.
    CHECK_FALSE(contains(o.out, "k7-very-secret-value"));
    CHECK_FALSE(contains(o.out, "pw-s3cret"));
  };
  check(run_inside(bed, unit), "run inside");
  check(attach_inside(bed, unit, "systemctl start " + unit + " || true", 2), "attach inside");
  check(attach_from_host(bed, bed.host_cgroup(unit), "systemctl start " + unit + " || true", 2),
        "attach from the host by cgroup path");
  // The text report too.
  auto text = bed.sh(pmtrace_bin() + " run -- systemctl start " + unit);
  INFO(text.out);
  CHECK(contains(text.out, "Ignoring invalid environment assignment"));
  CHECK_FALSE(contains(text.out, "k7-very-secret-value"));
  // Not vacuous: systemd's journal does hold the secret.
  CHECK(contains(bed.sh("journalctl -q -u " + unit + " -o cat").out, "k7-very-secret-value"));
}

TEST_CASE("real systemd: doctor inside the container reads the unit through systemctl cat and models its sandbox",
          "[root][systemd][doctor]") {
  SystemdBed bed;
  REQUIRE_BED(bed);
  const std::string unit = "pmtest-doctor.service";
  bed.sh("mkdir -p /opt/meats/log /etc/systemd/system/" + unit + ".d && chown nobody /opt/meats/log && "
         "printf '[Service]\\nUser=nobody\\n' > /etc/systemd/system/" + unit + ".d/50-user.conf");
  bed.install_unit(unit, "[Service]\nUser=root\nProtectSystem=strict\nExecStart=" +
                             exec_line(gunicorn(8015, "app:app", {"--error-logfile", "/opt/meats/log/error.log"})) + "\n");
  auto o = bed.sh(pmtrace_bin() + " doctor --json " + unit);
  INFO(o.out);
  CHECK(o.status == 1);
  REQUIRE(!o.lines.empty());
  const json& d = o.lines.back();
  CHECK(d["source"] == "systemctl cat");
  CHECK(contains(d["dropins"].dump(), "50-user.conf"));
  bool user_from_dropin = false, sandbox = false;
  for (const auto& c : d["checks"]) {
    user_from_dropin |= c["id"] == "user" && contains(c["title"].get<std::string>(), "nobody");
    if (c["id"] == "writable" && c["status"] == "failure" &&
        contains(c["title"].get<std::string>(), "/opt/meats/log/error.log: ProtectSystem=strict makes it read-only")) {
      sandbox = true;
      CHECK(contains(c["fix"].get<std::string>(), "ReadWritePaths=/opt/meats/log in [Service]"));
    }
  }
  CHECK(user_from_dropin);
  CHECK(sandbox);
  // gunicorn's heartbeat files go to /tmp, read-only under strict too.
  bool heartbeat = false;
  for (const auto& c : d["checks"])
    if (c["id"] == "writable" && contains(c["title"].get<std::string>(), "gunicorn's worker heartbeat files in /tmp")) {
      heartbeat = c["status"] == "failure";
      CHECK(contains(c["fix"].get<std::string>(), "PrivateTmp=yes in [Service]"));
    }
  CHECK(heartbeat);
  // With the setting doctor proposes, the same unit starts.
  bed.sh("printf '[Service]\\nReadWritePaths=/opt/meats/log\\nPrivateTmp=yes\\n' > /etc/systemd/system/" + unit +
         ".d/60-rw.conf && systemctl daemon-reload");
  auto again = bed.sh(pmtrace_bin() + " doctor --json " + unit);
  INFO(again.out);
  REQUIRE(!again.lines.empty());
  for (const auto& c : again.lines.back()["checks"])
    if (c["id"] == "writable") CHECK(c["status"] == "ok");
  auto started = bed.sh("systemctl start " + unit + " && sleep 1 && systemctl is-active " + unit);
  INFO(started.out);
  CHECK(contains(started.out, "active"));
  bed.sh("systemctl stop " + unit);
}
