// Rule: the unit's EnvironmentFile= has lines systemd ignores or reads
// differently (`export KEY=`, invalid names, stray quotes, `KEY==value`),
// parsed with systemd's own rules (target/envfile) when pmtrace resolved the
// unit. When the application then fails because a setting is missing
// (KeyError: 'SECRET_KEY', Django's ImproperlyConfigured), the line that was
// meant to set it is the root cause and its corrected form the fix.
#include <algorithm>
#include <regex>
#include <set>

#include "rules/finding.h"
#include "rules/traceback.h"
#include "util/strings.h"

namespace pm::rules {
namespace {

// What the application's failure says about its settings, from the error
// line its traceback ended with: `missing` holds the name of a KeyError on an
// environment-style name (SECRET_KEY); `mentioned` every such name in an
// ImproperlyConfigured message. Only `missing` proves a variable was absent;
// `mentioned` only ties the failure to an env-file line about that name.
struct Complaints {
  std::set<std::string> missing, mentioned;
};

Complaints complaints(const analysis::Aggregator& agg) {
  static const std::regex key_error(R"(^KeyError: '([A-Z_][A-Z0-9_]*)'$)");
  static const std::regex upper_name(R"(\b([A-Z][A-Z0-9_]{2,})\b)");
  Complaints c;
  for (const auto& [pid, p] : agg.processes()) {
    auto error = python_error_line(p.output);
    if (!error) continue;
    std::smatch m;
    if (std::regex_match(*error, m, key_error)) {
      c.missing.insert(m[1]);
      c.mentioned.insert(m[1]);
    } else if (error->find("ImproperlyConfigured") != std::string::npos) {
      for (auto n = std::sregex_iterator(error->begin(), error->end(), upper_name); n != std::sregex_iterator(); ++n)
        c.mentioned.insert((*n)[1]);
    }
  }
  return c;
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
  Complaints said = complaints(agg);
  std::set<std::string> explained;
  for (const auto& file : agg.env_files()) {
    if (!file.readable) {
      if (file.optional) continue;
      Finding f;
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
      bool caused = !issue.key.empty() && said.mentioned.count(issue.key) && service_failed(agg);
      bool set_anyway = std::find(file.keys.begin(), file.keys.end(), issue.key) != file.keys.end();
      f.severity = caused ? Severity::failure : Severity::warning;
      f.rank = caused ? rank::unit_setting : rank::incidental;
      std::string where = file.path + " line " + std::to_string(issue.line);
      f.title = caused ? issue.key + (set_anyway ? " has the wrong value" : " is missing") +
                             " in the service: systemd does not read " + where + " as meant"
                       : where + ": " + issue.problem;
      if (caused) explained.insert(issue.key);
      f.facts.push_back(where + ": " + issue.text);
      f.facts.push_back(issue.problem);
      if (caused)
        f.facts.push_back("the application failed over " + issue.key + " (see its traceback)" +
                          (set_anyway ? "; systemd did set it, to something else than the line says" : ""));
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
    for (const auto& name : said.missing) {
      if (explained.count(name)) continue;
      bool set = false;
      for (const auto& file : agg.env_files())
        for (const auto& k : file.keys) set |= k == name;
      if (set || name.size() < 3) continue;
      const auto& file = agg.env_files().front();
      Finding f;
      f.rank = rank::before_exec;
      f.ts_ns = agg.start_ns();
      f.title = name + " is missing in the service: no EnvironmentFile= of " + file.unit + " sets it";
      f.explanation = "The application reads " + name + " from its environment and failed without it.";
      f.fix = "add " + name + "=... to " + file.path + " (then systemctl restart " + file.unit + ")";
      out.push_back(std::move(f));
    }
  return out;
}

PM_RULE(environment_file, "environment-file", Severity::failure, rank::unit_setting, {CheckId::environment_file})

}  // namespace pm::rules
