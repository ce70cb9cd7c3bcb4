// Rules describe themselves (PM_RULE in each rule's file): every rule is
// registered, tested in its own file, documented, and names doctor checks
// that exist and are documented.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "rules/check_id.h"
#include "rules/finding.h"

namespace fs = std::filesystem;
using namespace pm::rules;

namespace {

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const fs::path kRoot = PM_SOURCE_DIR;

std::string underscored(std::string id) {
  for (auto& c : id)
    if (c == '-') c = '_';
  return id;
}

}  // namespace

TEST_CASE("rules: every rule file's PM_RULE is registered once, with a unique id", "[rules][registry]") {
  std::set<std::string> ids, files;
  for (const auto& r : all_rules()) {
    INFO(r.id);
    CHECK(ids.insert(r.id).second);
    CHECK(r.fn != nullptr);
    CHECK(r.rank > 0);
    files.insert(fs::path(r.file).filename().string());
  }
  std::size_t seen = 0;
  for (const auto& entry : fs::directory_iterator(kRoot / "userspace" / "rules")) {
    if (entry.path().extension() != ".cpp") continue;
    if (read(entry.path()).find("\nPM_RULE(") == std::string::npos) continue;
    ++seen;
    INFO(entry.path().filename().string() << " declares a rule that all_rules() does not list");
    CHECK(files.count(entry.path().filename().string()));
  }
  CHECK(seen == all_rules().size());
}

TEST_CASE("rules: every rule has tests/unit/test_rule_<id>.cpp and a section in docs/rules.md", "[rules][registry]") {
  const std::string doc = read(kRoot / "docs" / "rules.md");
  REQUIRE_FALSE(doc.empty());
  for (const auto& r : all_rules()) {
    std::string test = "test_rule_" + underscored(r.id) + ".cpp";
    INFO(r.id << ": " << test);
    CHECK(fs::exists(kRoot / "tests" / "unit" / test));
    std::string heading = std::string("\n## ") + r.id + " (`rules/" + fs::path(r.file).filename().string() + "`)";
    INFO(heading);
    CHECK(doc.find(heading) != std::string::npos);
  }
}

TEST_CASE("rules: every doctor check has a row in docs/doctor.md, and rules name only those", "[rules][registry][doctor]") {
  const std::string doc = read(kRoot / "docs" / "doctor.md");
  REQUIRE_FALSE(doc.empty());
  for (CheckId id : kAllChecks) {
    INFO(check_name(id));
    CHECK(doc.find(std::string("\n| `") + check_name(id) + "` |") != std::string::npos);
    auto back = check_from_name(check_name(id));
    REQUIRE(back);
    CHECK(*back == id);
  }
  CHECK_FALSE(check_from_name("no-such-check"));
  // Preflight checks are typed ids, so a rule cannot name a check doctor lacks.
  std::size_t with_checks = 0;
  for (const auto& r : all_rules()) with_checks += !r.preflight.empty();
  CHECK(with_checks >= 8);
}
