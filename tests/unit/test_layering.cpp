// The layering docs/architecture.md draws, checked on the sources: which
// folder of userspace/ may include which, and that the CMake libraries link
// the same way. The table is read from the doc itself, so the doc, the
// includes and the link graph agree or this fails.
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

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The layer table of docs/architecture.md ("| layer | may include |"), the one
// copy of the layering: each layer and the layers it may include (itself
// always), and the data headers (backticked paths) a layer may include from
// layers it may not. `cli` wires everything and is left out.
struct Layers {
  std::map<std::string, std::set<std::string>> allowed;
  std::map<std::string, std::set<std::string>> data_headers;
};

const Layers& layers() {
  static const Layers table = [] {
    Layers t;
    std::istringstream doc(read(fs::path(PM_SOURCE_DIR) / "docs" / "architecture.md"));
    std::string line;
    bool in_table = false;
    const std::regex cell(R"re(`([^`]+)`)re"), word(R"re([a-z]+)re");
    while (std::getline(doc, line)) {
      if (line == "| layer | may include |") {
        in_table = true;
        continue;
      }
      if (!in_table || line.rfind("|---", 0) == 0) continue;
      if (line.empty() || line[0] != '|') break;
      auto bar = line.find('|', 1);
      std::string who = line.substr(1, bar - 1), may = line.substr(bar + 1);
      may = may.substr(0, may.rfind('|'));
      std::vector<std::string> names;
      for (std::sregex_iterator m(who.begin(), who.end(), cell), end; m != end; ++m) names.push_back((*m)[1]);
      std::set<std::string> to, data;
      std::string plain = may;
      for (std::sregex_iterator m(may.begin(), may.end(), cell), end; m != end; ++m) data.insert((*m)[1]);
      plain = std::regex_replace(plain, cell, "");
      plain = plain.substr(0, plain.find("and the data headers"));
      for (std::sregex_iterator m(plain.begin(), plain.end(), word), end; m != end; ++m) to.insert((*m)[0]);
      for (const auto& n : names) {
        if (n == "cli") continue;
        t.allowed[n] = to;
        if (!data.empty()) t.data_headers[n] = data;
      }
    }
    return t;
  }();
  return table;
}

const std::map<std::string, std::set<std::string>>& allowed() { return layers().allowed; }

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
      if (auto d = layers().data_headers.find(layer); d != layers().data_headers.end() && d->second.count(header))
        continue;
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

TEST_CASE("layering: the table in docs/architecture.md is read whole", "[layering]") {
  const auto& a = allowed();
  CHECK(a.size() == 11);
  CHECK(a.at("util").empty());
  CHECK(a.at("record") == std::set<std::string>{"analysis", "model", "util"});
  CHECK(a.at("doctor").count("rules"));
  CHECK(layers().data_headers.at("report").count("investigation/summary.h"));
  CHECK_FALSE(a.count("cli"));
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
