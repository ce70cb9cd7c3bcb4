// pmtrace doctor UNIT: a preflight that finds what would make the service
// fail, without starting or tracing it. It reads the unit as systemd would
// (target/unit_file), its environment files with systemd's rules
// (target/envfile), and checks the machine with the service user's
// credentials. Read-only: it never changes anything; the fixes it proposes
// can be written as a script for a person to review (fix_script).
#pragma once

#include <string>
#include <vector>

#include "rules/check_id.h"
#include "target/unit_file.h"

namespace pm::doctor {

using rules::CheckId;

enum class Status { ok, warning, failure, skipped };
const char* status_name(Status s);

// A unit setting a fix adds: written to a drop-in by the fix script.
struct UnitLine {
  std::string section;  // "Service", "Unit"
  std::string line;     // "LogsDirectory=meats"
};

struct Check {
  rules::CheckId id{};   // check_name(id): "user", "exec", "working-directory", ...
  std::string title;     // what was checked, or what is wrong
  Status status = Status::ok;
  std::vector<std::string> evidence;  // what was read: "/srv/venv/bin/python -> /usr/bin/python3.9 (missing)"
  std::string fix;       // a concrete command or unit setting, for a person; empty when ok
  std::vector<std::string> commands;  // the fix as shell commands (fix script); empty when it takes a person
  std::vector<UnitLine> unit_lines;   // the fix as unit settings (fix script, one drop-in)
};

struct Options {
  int connect_timeout_ms = 2000;   // database and port checks
  int import_timeout_ms = 20000;   // importing the app in a child
  bool run_app_checks = false;     // Django's check --deploy and migrations (runs the app's code)
  long long slowest_request_ms = 0;  // --slowest-request: compared with gunicorn's --timeout (0: unknown)
};

class Host;

// Every check on a loaded unit, in the order a start would meet them, on
// this machine (RealHost).
std::vector<Check> run_checks(const target::UnitFile& unit, const Options& opts = {});
// The same on `host` (doctor/host.h): the unit tests give it a fake machine.
std::vector<Check> run_checks(const target::UnitFile& unit, const Options& opts, const Host& host);

// The fixes of the failing and warning checks as a POSIX shell script for a
// person to review: commands as they are, unit settings in one drop-in
// (NAME.d/50-pmtrace-doctor.conf under `unit_dir`), fixes that take a
// person's judgement as comments. Secrets are never written: an edit of a
// line holding one is made without its value, or left as a comment.
std::string fix_script(const std::vector<Check>& checks, const target::UnitFile& unit, const std::string& unit_dir);

}  // namespace pm::doctor
