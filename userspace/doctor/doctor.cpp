#include "doctor/doctor.h"

#include <cstdio>
#include <vector>

#include "doctor/checks.h"
#include "util/strings.h"

namespace pm::doctor {

Check make(CheckId id, Status st, std::string title, std::vector<std::string> evidence, std::string fix) {
  Check c;
  c.id = id;
  c.title = std::move(title);
  c.status = st;
  c.evidence = std::move(evidence);
  c.fix = std::move(fix);
  return c;
}

void set_assignment(std::map<std::string, std::string>& env, const std::string& word) {
  if (auto eq = word.find('='); eq != std::string::npos) env[word.substr(0, eq)] = word.substr(eq + 1);
}

std::string mode_text(const Host& host, const std::string& path) {
  auto f = host.stat(path);
  if (!f.exists) return "?";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", f.mode & 07777);
  return std::string(buf) + " " + (f.owner.empty() ? std::to_string(f.uid) : f.owner) + ":" +
         (f.group.empty() ? std::to_string(f.gid) : f.group);
}

std::string missing_why(const Host& host, const std::string& path) {
  auto f = host.lstat(path);
  if (!f.exists) return path + " does not exist";
  if (f.type == FileType::symlink && !f.target_exists) return path + " is a symlink to " + f.link_target + ", which does not exist";
  return "";
}

bool unit_bool(const std::string& v) { return v == "yes" || v == "true" || v == "on" || v == "1"; }

std::string Context::value(const char* section, const char* key, const std::string& def) const {
  const auto* s = unit.last(section, key);
  return s && !s->value.empty() ? s->value : def;
}

std::string Context::expand(const std::string& v) const {
  if (v.find('%') == std::string::npos) return v;
  auto e = target::expand_specifiers(v, unit.name, user.name);
  return e ? *e : v;
}

std::string Context::app_dir() const {
  std::string dir = workdir.empty() ? "/" : workdir;
  for (const std::string* next : {&wrapper_cd, &g.chdir})
    if (!next->empty()) dir = (*next)[0] == '/' ? *next : dir + "/" + *next;
  return dir;
}

std::string Context::absolute(const std::string& path) const {
  if (path.empty() || path[0] == '/') return path;
  std::string dir = app_dir();  // gunicorn has changed to --chdir by the time it opens them
  return (dir == "/" ? "" : dir) + "/" + path;
}

const char* status_name(Status s) {
  switch (s) {
    case Status::ok: return "ok";
    case Status::warning: return "warning";
    case Status::failure: return "failure";
    default: return "skipped";
  }
}

std::vector<Check> run_checks(const target::UnitFile& unit, const Options& opts) {
  return run_checks(unit, opts, RealHost());
}

std::vector<Check> run_checks(const target::UnitFile& unit, const Options& opts, const Host& host) {
  std::vector<Check> out;
  auto add = [&](std::vector<Check> v) {
    for (auto& k : v) out.push_back(std::move(k));
  };
  std::vector<std::string> evidence{unit.path};
  for (const auto& d : unit.dropins) evidence.push_back("drop-in " + d);
  out.push_back(make(CheckId::unit_file, unit.issues.empty() ? Status::ok : Status::warning,
                     unit.issues.empty() ? "the unit file and its drop-ins parse"
                                         : std::to_string(unit.issues.size()) + " lines systemd ignores",
                     unit.issues.empty() ? evidence : unit.issues));
  Context c(unit, opts, host);
  // In the order a start meets them: systemd's own steps, the app's import,
  // what the running service touches, then the settings around it.
  out.push_back(check_user(c));
  add(check_environment(c));  // before ExecStart=, which systemd expands with it
  out.push_back(check_exec(c));
  out.push_back(check_workdir(c));
  probe_app(c);  // the settings check learns from it whether the app found its SECRET_KEY
  add(check_settings(c));
  out.push_back(check_import(c));
  add(check_paths(c));
  for (const auto& b : c.g.binds) out.push_back(check_bind(c, b));
  if (c.gunicorn && c.g.binds.empty() && c.g.config.empty())  // gunicorn's default
    out.push_back(check_bind(c, c.env.count("PORT") ? "0.0.0.0:" + c.env.at("PORT") : "127.0.0.1:8000"));
  out.push_back(check_database(c));
  add(check_unit_settings(c));
  add(check_app(c));
  return out;
}

}  // namespace pm::doctor
