// pmtrace doctor UNIT: a preflight that finds what would make the service
// fail, without starting or tracing it. It reads the unit as systemd would
// (target/unit_file), its environment files with systemd's rules
// (target/envfile), and checks the machine with the service user's
// credentials. Read-only: it never changes anything.
#pragma once

#include <string>
#include <vector>

#include "target/unit_file.h"

namespace pm::doctor {

enum class Status { ok, warning, failure, skipped };
const char* status_name(Status s);

struct Check {
  std::string id;        // "user", "exec", "working-directory", ...
  std::string title;     // what was checked, or what is wrong
  Status status = Status::ok;
  std::vector<std::string> evidence;  // what was read: "/srv/venv/bin/python -> /usr/bin/python3.9 (missing)"
  std::string fix;       // a concrete command or unit setting; empty when ok
};

struct Options {
  int connect_timeout_ms = 2000;  // database and port checks
};

// Every check on a loaded unit, in the order a start would meet them.
std::vector<Check> run_checks(const target::UnitFile& unit, const Options& opts = {});

}  // namespace pm::doctor
