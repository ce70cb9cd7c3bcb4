// pmtrace doctor UNIT: the preflight (doctor/doctor.h), as a checklist.
#include <fcntl.h>
#include <sys/stat.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "doctor/doctor.h"
#include "model/event_json.h"
#include "util/redact.h"
#include "util/strings.h"
#include "util/subprocess.h"

namespace pm::cli {
namespace {

Result<target::UnitFile> load_unit(const DoctorOptions& opts, std::string& source) {
  target::UnitEnv env = target::UnitEnv::from_system();
  if (!opts.unit_path.empty()) env.unit_paths = {opts.unit_path};
  return target::load_unit_as_loaded(opts.unit, env, !opts.unit_path.empty(), &source);
}

// A script root will run: written to a new file beside the target (O_EXCL,
// 0600) and renamed over it, so an existing file, symlink or hard link at
// that name is replaced, never written through; a name someone else owns is
// refused (in a sticky /tmp that rename would fail anyway).
Result<void> write_script(const std::string& path, const std::string& text) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
      return make_error("cannot write the fix script " + path + ": it exists and is not a regular file");
    if (st.st_uid != ::geteuid())
      return make_error("cannot write the fix script " + path + ": it exists and belongs to uid " +
                        std::to_string(st.st_uid) + " (remove it or choose another name)");
  }
  return replace_file(path, path + ".tmp-" + std::to_string(::getpid()), text, 0600, "fix script", true);
}

}  // namespace

int cmd_doctor(const DoctorOptions& opts) {
  doctor::Options dopts;
  dopts.run_app_checks = opts.run_app_checks;
  auto import_ms = parse_duration_ms(opts.import_timeout);
  std::optional<long long> slowest = opts.slowest_request.empty() ? std::optional<long long>(0) : parse_duration_ms(opts.slowest_request);
  if (!import_ms || *import_ms <= 0 || !slowest)
    return report_error(make_error("--import-timeout and --slowest-request take durations such as 20s, 500ms or 2m"));
  dopts.import_timeout_ms = static_cast<int>(std::min<long long>(*import_ms, 3600000));
  dopts.slowest_request_ms = *slowest;

  std::string source;
  auto unit = load_unit(opts, source);
  if (!unit) return report_error(unit.error());
  // Paths are checked, and the app imported, with the service user's
  // credentials: only root can take them on.
  if (::geteuid() != 0)
    return report_error(cannot_trace_error("pmtrace doctor needs root: it checks the service's paths and imports its app as the "
                                           "service's user",
                                           "sudo pmtrace doctor " + opts.unit));
  auto checks = doctor::run_checks(*unit, dopts);
  int failures = 0, warnings = 0;
  for (const auto& c : checks) {
    failures += c.status == doctor::Status::failure;
    warnings += c.status == doctor::Status::warning;
  }
  if (!opts.fix_script.empty()) {
    std::string dir = opts.unit_path.empty() ? "/etc/systemd/system" : opts.unit_path;
    if (auto w = write_script(opts.fix_script, doctor::fix_script(checks, *unit, dir)); !w) return report_error(w.error());
  }
  if (opts.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& c : checks) {
      nlohmann::json unit_lines = nlohmann::json::array();
      for (const auto& l : c.unit_lines) unit_lines.push_back("[" + l.section + "] " + l.line);
      list.push_back({{"id", rules::check_name(c.id)}, {"status", doctor::status_name(c.status)}, {"title", c.title},
                      {"evidence", c.evidence}, {"fix", c.fix}, {"commands", c.commands}, {"unit_settings", unit_lines}});
    }
    nlohmann::json j = {{"type", "doctor"},  {"unit", unit->name},   {"unit_file", unit->path}, {"source", source},
                        {"dropins", unit->dropins}, {"checks", list}, {"failures", failures}, {"warnings", warnings}};
    if (!opts.fix_script.empty()) j["fix_script"] = opts.fix_script;
    redact_json(j);
    std::cout << model::dump_line(j) << "\n";
  } else {
    std::cout << "pmtrace doctor " << unit->name << "  (" << unit->path;
    if (!unit->dropins.empty()) std::cout << " + " << unit->dropins.size() << " drop-in(s)";
    if (source == "systemctl cat") std::cout << ", from systemd";
    std::cout << ")\n\n";
    for (const auto& c : checks) {
      std::string st = c.status == doctor::Status::failure ? "FAILURE" : doctor::status_name(c.status);
      char head[64];
      std::snprintf(head, sizeof head, "  %-8s %-18s ", st.c_str(), rules::check_name(c.id));
      // Titles and evidence carry names from the unit and the app: one line each.
      std::cout << head << escape_bytes(redact(c.title)) << "\n";
      if (c.status == doctor::Status::failure || c.status == doctor::Status::warning) {
        for (const auto& e : c.evidence) std::cout << "                              " << escape_bytes(redact(e)) << "\n";
        if (!c.fix.empty()) std::cout << "                              fix: " << escape_bytes(redact(c.fix)) << "\n";
      }
    }
    std::cout << "\n" << failures << " failures, " << warnings << " warnings, " << checks.size() << " checks\n";
    if (!opts.fix_script.empty())
      std::cout << "the fixes are in " << opts.fix_script << ": review it, run it with sh as root, then run doctor again\n";
  }
  return failures ? kExitFailureFound : kExitOk;
}

}  // namespace pm::cli
