// The layering docs/architecture.md draws, checked on the sources: which
// folder of userspace/ may include which, and that the CMake libraries link
// the same way. A new include edge that is not in the table fails here; the
// table and the diagram in docs/architecture.md change together.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

// Each layer and the layers it may include (itself always).
const std::map<std::string, std::set<std::string>>& allowed() {
  static const std::map<std::string, std::set<std::string>> table = {
      {"util", {}},
      {"model", {"util"}},
      {"analysis", {"model", "util"}},
      {"rules", {"analysis", "model", "util"}},
      {"record", {"analysis", "model", "util"}},
      {"target", {"analysis", "model", "util"}},
      {"sources", {"model", "record", "util"}},
      {"investigation", {"rules", "record", "target", "analysis", "model", "util"}},
      // report/ renders: the summary's data headers only, no rules or analysis logic.
      {"report", {"model", "util"}},
      {"watch", {"model", "util"}},
      {"doctor", {"rules", "target", "analysis", "model", "util"}},
  };
  return table;
}

// The data headers report/ may include from other layers.
const std::set<std::string> kReportData = {"investigation/summary.h", "rules/finding_types.h",
                                           "analysis/checkpoint_types.h", "analysis/process_end.h"};

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("layering: every include goes the way the architecture says", "[layering]") {
  const fs::path us = fs::path(PM_SOURCE_DIR) / "userspace";
  REQUIRE(fs::is_directory(us));
  const std::regex include(R"re(#include "([a-z_]+)/([^"]+)")re");
  std::size_t checked = 0;
  std::vector<std::string> violations;
  for (const auto& entry : fs::recursive_directory_iterator(us)) {
    if (!entry.is_regular_file()) continue;
    auto ext = entry.path().extension();
    if (ext != ".h" && ext != ".cpp") continue;
    std::string layer = entry.path().parent_path().filename();
    if (layer == "cli") continue;  // cli wires everything
    auto it = allowed().find(layer);
    if (it == allowed().end()) {
      violations.push_back("a folder the table does not know: userspace/" + layer);
      continue;
    }
    std::string text = read(entry.path());
    for (std::sregex_iterator m(text.begin(), text.end(), include), end; m != end; ++m) {
      std::string to = (*m)[1], header = to + "/" + std::string((*m)[2]);
      ++checked;
      if (to == layer || it->second.count(to)) continue;
      if (layer == "report" && kReportData.count(header)) continue;
      violations.push_back(layer + "/" + entry.path().filename().string() + " includes " + header);
    }
  }
  INFO([&] {
    std::string s;
    for (const auto& v : violations) s += v + "\n";
    return s;
  }());
  CHECK(violations.empty());
  CHECK(checked > 200);
}

TEST_CASE("layering: the CMake libraries link as the layers include", "[layering]") {
  std::string cmake = read(fs::path(PM_SOURCE_DIR) / "userspace" / "CMakeLists.txt");
  // target_link_libraries(pm_LAYER PUBLIC pm_a pm_b ...)
  const std::regex link(R"re(target_link_libraries\(pm_([a-z]+)\s+PUBLIC([^)]*)\))re");
  const std::regex dep(R"re(pm_([a-z]+))re");
  std::size_t libs = 0;
  for (std::sregex_iterator m(cmake.begin(), cmake.end(), link), end; m != end; ++m) {
    std::string layer = (*m)[1];
    auto it = allowed().find(layer);
    REQUIRE(it != allowed().end());
    ++libs;
    std::string deps = (*m)[2];
    for (std::sregex_iterator d(deps.begin(), deps.end(), dep); d != end; ++d) {
      std::string to = (*d)[1];
      INFO("pm_" << layer << " links pm_" << to);
      CHECK((to == layer || it->second.count(to)));
    }
  }
  CHECK(libs >= 10);
}
