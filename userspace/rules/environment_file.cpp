// Rule: the unit's EnvironmentFile= has lines systemd ignores or reads
// differently (`export KEY=`, invalid names, stray quotes, `KEY==value`),
// parsed with systemd's own rules (target/envfile) when pmtrace resolved the
// unit. When the application then fails because a setting is missing
// (KeyError: 'SECRET_KEY', Django's ImproperlyConfigured), the line that was
// meant to set it is the root cause and its corrected form the fix.
#include <regex>
#include <set>

#include "rules/finding.h"
#include "util/strings.h"

namespace pm::rules {
namespace {

// Setting names the application said it was missing, from its output.
std::set<std::string> missing_settings(const analysis::Aggregator& agg) {
  static const std::regex key_error(R"(KeyError: '([A-Za-z_][A-Za-z0-9_]*)')");
  static const std::regex environ_get(R"(environ\[['"]([A-Za-z_][A-Za-z0-9_]*)['"]\])");
  static const std::regex improperly(R"(ImproperlyConfigured: ([^\n]*))");
  static const std::regex upper_name(R"(\b([A-Z][A-Z0-9_]{2,})\b)");
  std::set<std::string> names;
  for (const auto& [pid, p] : agg.processes()) {
    const std::string& out = p.output;
    for (auto it = std::sregex_iterator(out.begin(), out.end(), key_error); it != std::sregex_iterator(); ++it)
      names.insert((*it)[1]);
    for (auto it = std::sregex_iterator(out.begin(), out.end(), environ_get); it != std::sregex_iterator(); ++it)
      names.insert((*it)[1]);
    for (auto it = std::sregex_iterator(out.begin(), out.end(), improperly); it != std::sregex_iterator(); ++it) {
      std::string msg = (*it)[1];
      for (auto n = std::sregex_iterator(msg.begin(), msg.end(), upper_name); n != std::sregex_iterator(); ++n)
        names.insert((*n)[1]);
    }
  }
  return names;
}

bool service_failed(const analysis::Aggregator& agg) {
  for (const auto& [pid, p] : agg.processes())
    if (p.exit && p.exit->failed()) return true;
  return false;
}

}  // namespace

std::vector<Finding> environment_file(const analysis::Aggregator& agg) {
  std::vector<Finding> out;
  if (agg.env_files().empty()) return out;
  std::set<std::string> missing = missing_settings(agg);
  std::set<std::string> explained;
  for (const auto& file : agg.env_files()) {
    if (!file.readable) {
      if (file.optional) continue;
      Finding f;
      f.rank = 8;
      f.ts_ns = agg.start_ns();
      f.title = "EnvironmentFile " + file.path + " of " + file.unit + " cannot be read";
      f.explanation = "systemd refuses to start a unit whose EnvironmentFile= is missing unless the path is "
                      "prefixed with '-' (the unit fails with result 'resources').";
      f.fix = "create " + file.path + " (readable by root), or write EnvironmentFile=-" + file.path +
              " if the file is optional";
      out.push_back(std::move(f));
      continue;
    }
    for (const auto& issue : file.issues) {
      Finding f;
      f.ts_ns = agg.start_ns();
      bool caused = !issue.key.empty() && missing.count(issue.key);
      f.severity = caused ? Severity::failure : Severity::warning;
      f.rank = caused ? 8 : 60;
      std::string where = file.path + " line " + std::to_string(issue.line);
      f.title = caused ? issue.key + " is missing in the service: systemd does not read " + where + " as meant"
                       : where + ": " + issue.problem;
      if (caused) explained.insert(issue.key);
      f.facts.push_back(where + ": " + issue.text);
      f.facts.push_back(issue.problem);
      if (caused) f.facts.push_back("the application failed for want of " + issue.key + " (see its traceback)");
      f.explanation = "systemd reads EnvironmentFile= with its own rules, not a shell's: no `export`, names of "
                      "letters, digits and underscores only, quotes only around a whole value, everything after "
                      "the first '=' is the value. A line it cannot read is skipped with only a warning in the "
                      "journal.";
      f.fix = issue.corrected.empty() ? "rewrite " + where + " as NAME=value"
                                      : "write line " + std::to_string(issue.line) + " of " + file.path + " as: " +
                                            issue.corrected + " (then systemctl restart " + file.unit + ")";
      out.push_back(std::move(f));
    }
  }
  // A setting the app needs that no env file sets at all.
  if (service_failed(agg))
    for (const auto& name : missing) {
      if (explained.count(name)) continue;
      bool set = false;
      for (const auto& file : agg.env_files())
        for (const auto& k : file.keys) set |= k == name;
      if (set || name.size() < 3) continue;
      const auto& file = agg.env_files().front();
      Finding f;
      f.rank = 9;
      f.ts_ns = agg.start_ns();
      f.title = name + " is missing in the service: no EnvironmentFile= of " + file.unit + " sets it";
      f.explanation = "The application reads " + name + " from its environment and failed without it.";
      f.fix = "add " + name + "=... to " + file.path + " (then systemctl restart " + file.unit + ")";
      out.push_back(std::move(f));
    }
  return out;
}

}  // namespace pm::rules
