// The pieces of pmtrace doctor that need no machine state: systemd time
// spans, `systemctl cat` output, the fix script and its value-free line edits,
// /proc/net/tcp listeners. (tests/integration/test_doctor*.cpp run the checks
// on real setups.)
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "doctor/checks.h"
#include "target/procfs.h"
#include "target/unit_file.h"
#include "util/redact.h"

using namespace pm;

TEST_CASE("systemd time spans as systemd reads them", "[doctor][timespan]") {
  CHECK(target::parse_timespan_ms("90") == 90000);
  CHECK(target::parse_timespan_ms("1min 30s") == 90000);
  CHECK(target::parse_timespan_ms("1min30s") == 90000);
  CHECK(target::parse_timespan_ms("500ms") == 500);
  CHECK(target::parse_timespan_ms("1.5s") == 1500);
  CHECK(target::parse_timespan_ms("2h") == 7200000);
  CHECK(target::parse_timespan_ms(" 5 min ") == 300000);
  CHECK(target::parse_timespan_ms("100msec") == 100);
  CHECK(target::parse_timespan_ms("infinity") == std::numeric_limits<long long>::max());
  CHECK_FALSE(target::parse_timespan_ms(""));
  CHECK_FALSE(target::parse_timespan_ms("5 parsecs"));
  CHECK_FALSE(target::parse_timespan_ms("min"));
  CHECK_FALSE(target::parse_timespan_ms("99999999999999999999y"));
}

TEST_CASE("a unit from systemctl cat: the unit file, then its drop-ins", "[doctor][unit_file]") {
  const char* out =
      "# /lib/systemd/system/meats.service\n"
      "[Unit]\nDescription=meats\n\n[Service]\nUser=www-data\nExecStart=/srv/venv/bin/gunicorn meats.wsgi\n"
      "\n"
      "# /etc/systemd/system/meats.service.d/override.conf\n"
      "[Service]\nUser=meats\nEnvironment=A=1\n";
  auto known = [](const std::string& p) {
    return p == "/lib/systemd/system/meats.service" || p == "/etc/systemd/system/meats.service.d/override.conf" ||
           p == "/a/x.service" || p == "/srv/meats";
  };
  auto u = target::unit_from_systemctl_cat("meats", out, known);
  CHECK(u.name == "meats.service");
  CHECK(u.path == "/lib/systemd/system/meats.service");
  CHECK(u.dropins == std::vector<std::string>{"/etc/systemd/system/meats.service.d/override.conf"});
  REQUIRE(u.last("Service", "User"));
  CHECK(u.last("Service", "User")->value == "meats");
  CHECK(u.last("Service", "User")->file == "/etc/systemd/system/meats.service.d/override.conf");
  CHECK(u.last("Service", "User")->line == 2);
  CHECK(u.list("Service", "ExecStart").size() == 1);
  CHECK(u.issues.empty());
  // Nothing before the first header belongs to a file; a comment in a unit is not a header.
  auto v = target::unit_from_systemctl_cat("x", "junk\n\n# /a/x.service\n[Service]\n# just a comment\nUser=a\n", known);
  CHECK(v.path == "/a/x.service");
  CHECK(v.dropins.empty());
  CHECK(v.last("Service", "User")->value == "a");
  // A comment naming a path is not a header: not after a line of text, nor after a blank line when no such file
  // exists, nor (here /srv/meats exists) in the middle of a section.
  auto w = target::unit_from_systemctl_cat(
      "x", "# /a/x.service\n[Service]\n# /srv/meats holds the code\nUser=a\n\n# /srv/nothing\nGroup=g\n", known);
  CHECK(w.dropins.empty());
  CHECK(w.last("Service", "User")->value == "a");
  CHECK(w.last("Service", "Group")->value == "g");
  CHECK(w.issues.empty());
}

namespace {

// Applies a fix-script command to a file holding `text` as line 2; returns the file.
std::string apply(const std::string& text, const std::string& corrected, std::string* command = nullptr) {
  char path[] = "/tmp/pm-doctor-edit-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(path) << "FIRST=1\n" << text << "\nLAST=2\n";
  std::string cmd = doctor::edit_line_command(path, 2, text, corrected);
  if (command) *command = cmd;
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::remove(path);
  return ss.str();
}

}  // namespace

TEST_CASE("fix script line edits make the corrected line and carry no value", "[doctor][fix_script]") {
  forget_learned_secrets();
  learn_secret("s3cr3t-value-xyz");
  std::string cmd;
  CHECK(apply("export SECRET_KEY=s3cr3t-value-xyz", "SECRET_KEY=s3cr3t-value-xyz", &cmd) ==
        "FIRST=1\nSECRET_KEY=s3cr3t-value-xyz\nLAST=2\n");
  CHECK(cmd.find("s3cr3t") == std::string::npos);
  CHECK(apply("KEY==value", "KEY=value") == "FIRST=1\nKEY=value\nLAST=2\n");
  CHECK(apply("KEY=\"abc", "KEY=\"abc\"") == "FIRST=1\nKEY=\"abc\"\nLAST=2\n");
  CHECK(apply("DATABASE_URL=postgresql://u:s3cr3t-value-xyz@h/db", "DATABASE_URL=postgresql://u:s3cr3t-value-xyz@h/db?connect_timeout=10", &cmd) ==
        "FIRST=1\nDATABASE_URL=postgresql://u:s3cr3t-value-xyz@h/db?connect_timeout=10\nLAST=2\n");
  CHECK(cmd.find("s3cr3t") == std::string::npos);
  // sed's special characters and a quote in the new text, multi-byte text before it.
  CHECK(apply("N=é/&", "N=é/&'\\x") == "FIRST=1\nN=é/&'\\x\nLAST=2\n");
  // Two edits of one line, both computed on the line as doctor read it, apply in either order.
  {
    const std::string line = "export DATABASE_URL=\"postgresql://u:s3cr3t-value-xyz@h/db\"";
    const std::string want = "FIRST=1\nDATABASE_URL=\"postgresql://u:s3cr3t-value-xyz@h/db?connect_timeout=10\"\nLAST=2\n";
    for (bool export_first : {true, false}) {
      char path[] = "/tmp/pm-doctor-edit2-XXXXXX";
      int fd = mkstemp(path);
      REQUIRE(fd >= 0);
      close(fd);
      std::ofstream(path) << "FIRST=1\n" << line << "\nLAST=2\n";
      std::string drop = doctor::edit_line_command(path, 2, line, line.substr(7));
      std::string append = doctor::edit_line_command(
          path, 2, line, "export DATABASE_URL=\"postgresql://u:s3cr3t-value-xyz@h/db?connect_timeout=10\"");
      CHECK(std::system((export_first ? drop : append).c_str()) == 0);
      CHECK(std::system((export_first ? append : drop).c_str()) == 0);
      std::ifstream in(path);
      std::stringstream ss;
      ss << in.rdbuf();
      std::remove(path);
      CHECK(ss.str() == want);
    }
  }
  // A correction whose new text is the secret itself is left to a person, redacted.
  std::string c = doctor::edit_line_command("/etc/m.env", 4, "SECRET_KEY=s3cr3t-value-xyz\\", "SECRET_KEY='s3cr3t-value-xyz\\'");
  CHECK(c.rfind("# /etc/m.env line 4 holds a secret: edit it by hand", 0) == 0);
  CHECK(c.find("s3cr3t") == std::string::npos);
  forget_learned_secrets();
}

TEST_CASE("the fix script: commands once, unit settings in one drop-in, the rest as comments", "[doctor][fix_script]") {
  target::UnitFile u;
  u.name = "meats.service";
  u.path = "/etc/systemd/system/meats.service";
  std::vector<doctor::Check> checks(5);
  checks[0] = doctor::make(pm::rules::CheckId::writable, doctor::Status::failure, "nobody cannot write /var/x.log");
  checks[0].commands = {"install -o nobody -g nogroup -m 0640 /dev/null /var/x.log"};
  checks[1] = doctor::make(pm::rules::CheckId::worker_timeout, doctor::Status::warning, "slow database");
  checks[1].commands = {"sed one"};
  checks[2] = doctor::make(pm::rules::CheckId::start_timeout, doctor::Status::warning, "slow start");
  checks[2].commands = {"sed one"};
  checks[2].unit_lines = {{"Service", "LogsDirectory=meats"}, {"Unit", "StartLimitBurst=5"}};
  checks[3] = doctor::make(pm::rules::CheckId::database, doctor::Status::failure, "PostgreSQL at postgresql://u:pw-hidden-1@h/db refused", {},
                           "start the database");
  checks[4] = doctor::make(pm::rules::CheckId::bind, doctor::Status::ok, "free");
  checks[4].commands = {"never written: the check passed"};
  std::string s = doctor::fix_script(checks, u, "/etc/systemd/system");
  CHECK(s.rfind("#!/bin/sh\n", 0) == 0);
  CHECK(s.find("set -eu\n") != std::string::npos);
  CHECK(s.find("\ninstall -o nobody -g nogroup -m 0640 /dev/null /var/x.log\n") != std::string::npos);
  // The same command twice (two checks, one fix) is run once.
  CHECK(s.find("\nsed one\n") != std::string::npos);
  CHECK(s.find("\nsed one\n", s.find("\nsed one\n") + 1) == std::string::npos);
  CHECK(s.find("never written") == std::string::npos);
  // Unit settings: [Unit] before [Service], in the unit's drop-in directory.
  CHECK(s.find("cat > /etc/systemd/system/meats.service.d/50-pmtrace-doctor.conf <<'PMTRACE_EOF'") != std::string::npos);
  CHECK(s.find("[Unit]\nStartLimitBurst=5\n[Service]\nLogsDirectory=meats\n") != std::string::npos);
  CHECK(s.find("systemctl daemon-reload") != std::string::npos);
  // What a person decides is a comment, redacted.
  CHECK(s.find("#   [failure] database: PostgreSQL at postgresql://u:***@h/db refused") != std::string::npos);
  CHECK(s.find("pw-hidden-1") == std::string::npos);
}

TEST_CASE("listening sockets on a port from /proc/net/tcp", "[doctor][procfs]") {
  const char* tcp =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
      "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0 100 0 0 10 0\n"
      "   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0 20 4 30 10 -1\n"
      "   2: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5151 1 0 100 0 0 10 0\n";
  CHECK(target::listening_inodes(tcp, 8080) == std::vector<std::string>{"4242"});  // 0x1F90, LISTEN only
  CHECK(target::listening_inodes(tcp, 80) == std::vector<std::string>{"5151"});
  CHECK(target::listening_inodes(tcp, 81).empty());
  CHECK(target::listening_inodes("", 80).empty());
}

TEST_CASE("shell words: plain paths stay, anything else is single-quoted", "[doctor][fix_script]") {
  CHECK(doctor::shell_word("/var/log/meats/error.log") == "/var/log/meats/error.log");
  CHECK(doctor::shell_word("nobody:nogroup") == "nobody:nogroup");
  CHECK(doctor::shell_word("/srv/my logs/e.log") == "'/srv/my logs/e.log'");
  CHECK(doctor::shell_word("/srv/media$(touch /tmp/x)") == "'/srv/media$(touch /tmp/x)'");
  CHECK(doctor::shell_word("it's") == "'it'\\''s'");
  CHECK(doctor::shell_word("") == "''");
  // What sh makes of a quoted word is the word itself.
  for (std::string w : {"/a b/c", "x$(id)y", "`id`", "a'b\"c", "semi;colon", "new\nline", "*glob?"}) {
    std::string cmd = "test \"$(printf '%s' " + doctor::shell_word(w) + ")\" = " + doctor::shell_word(w);
    CHECK(std::system(cmd.c_str()) == 0);
  }
}

TEST_CASE("the service manager's defaults from system.conf and its drop-ins", "[doctor][unit_file]") {
  char tmpl[] = "/tmp/pm-doctor-root-XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  std::string root = tmpl;
  auto d0 = target::read_manager_defaults(root);  // nothing there: systemd's built-in values
  CHECK(d0.timeout_start_ms == 90000);
  CHECK(d0.restart_ms == 100);
  CHECK(d0.start_limit_interval_ms == 10000);
  CHECK(d0.start_limit_burst == 5);
  CHECK(d0.files.empty());
  std::system(("mkdir -p " + root + "/etc/systemd/system.conf.d " + root + "/usr/lib/systemd/system.conf.d").c_str());
  std::ofstream(root + "/etc/systemd/system.conf") << "[Manager]\n#DefaultTimeoutStartSec=5s\nDefaultTimeoutStartSec=2min\n"
                                                   << "DefaultEnvironment=LANG=C.UTF-8 \"GREETING=a b\"\n";
  std::ofstream(root + "/usr/lib/systemd/system.conf.d/10-vendor.conf") << "[Manager]\nDefaultStartLimitBurst=9\nDefaultRestartSec=1s\n";
  std::ofstream(root + "/etc/systemd/system.conf.d/20-local.conf") << "[Manager]\nDefaultRestartSec=3s\n";
  // The same name in /etc hides the vendor's.
  std::ofstream(root + "/etc/systemd/system.conf.d/10-vendor.conf") << "[Manager]\nDefaultStartLimitIntervalSec=0\n";
  auto d = target::read_manager_defaults(root);
  CHECK(d.timeout_start_ms == 120000);
  CHECK(d.restart_ms == 3000);
  CHECK(d.start_limit_interval_ms == 0);
  CHECK(d.start_limit_burst == 5);  // the vendor file was hidden
  CHECK(d.environment == std::vector<std::string>{"LANG=C.UTF-8", "GREETING=a b"});
  CHECK(d.files.size() == 3);
  std::system(("rm -rf " + root).c_str());
}
