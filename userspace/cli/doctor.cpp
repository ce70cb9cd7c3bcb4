// pmtrace doctor UNIT: the preflight (doctor/doctor.h), as a checklist.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "doctor/doctor.h"
#include "model/event_json.h"
#include "util/redact.h"
#include "util/strings.h"

namespace pm::cli {

int cmd_doctor(const DoctorOptions& opts) {
  target::UnitEnv env = target::UnitEnv::from_system();
  if (!opts.unit_path.empty()) env.unit_paths = {opts.unit_path};
  auto unit = target::load_unit_file(opts.unit, env);
  if (!unit) return report_error(unit.error());
  auto checks = doctor::run_checks(*unit);
  int failures = 0, warnings = 0;
  for (const auto& c : checks) {
    failures += c.status == doctor::Status::failure;
    warnings += c.status == doctor::Status::warning;
  }
  if (opts.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& c : checks)
      list.push_back({{"id", c.id}, {"status", doctor::status_name(c.status)}, {"title", c.title},
                      {"evidence", c.evidence}, {"fix", c.fix}});
    nlohmann::json j = {{"type", "doctor"},  {"unit", unit->name}, {"unit_file", unit->path},
                        {"dropins", unit->dropins}, {"checks", list}, {"failures", failures}, {"warnings", warnings}};
    redact_json(j);
    std::cout << model::dump_line(j) << "\n";
  } else {
    std::cout << "pmtrace doctor " << unit->name << "  (" << unit->path;
    if (!unit->dropins.empty()) std::cout << " + " << unit->dropins.size() << " drop-in(s)";
    std::cout << ")\n\n";
    for (const auto& c : checks) {
      std::string st = c.status == doctor::Status::failure ? "FAILURE" : doctor::status_name(c.status);
      char head[64];
      std::snprintf(head, sizeof head, "  %-8s %-18s ", st.c_str(), c.id.c_str());
      std::cout << head << redact(c.title) << "\n";
      if (c.status == doctor::Status::failure || c.status == doctor::Status::warning) {
        for (const auto& e : c.evidence) std::cout << "                              " << redact(e) << "\n";
        if (!c.fix.empty()) std::cout << "                              fix: " << redact(c.fix) << "\n";
      }
    }
    std::cout << "\n" << failures << " failures, " << warnings << " warnings, " << checks.size() << " checks\n";
  }
  return failures ? kExitFailureFound : kExitOk;
}

}  // namespace pm::cli
