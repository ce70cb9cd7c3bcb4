// Golden reports: docs/examples/ keeps the recordings of the scenario tests
// (real gunicorn, real PostgreSQL, real kernel events) and, beside each, the
// report `pmtrace explain` gives of it. Every build explains them again and
// must print the same bytes, so a change to any report shows as a diff in
// review: after a change on purpose, `tools/rule-examples.sh --explain`
// rewrites the .txt files (or PM_UPDATE_GOLDEN=1 when running this test).
// Needs no root: explain reads only the recording.
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "harness.h"

namespace fs = std::filesystem;
using namespace pmtest;

namespace {

// `diff -u` of what was expected and what explain printed (at most 60 lines).
std::string diff_of(const fs::path& golden, const std::string& actual) {
  fs::path tmp = fs::temp_directory_path() / ("pm-golden-" + std::to_string(::getpid()) + ".txt");
  std::ofstream(tmp, std::ios::binary) << actual;
  auto d = run_shell("diff -u '" + golden.string() + "' '" + tmp.string() + "' | head -60");
  fs::remove(tmp);
  return d.out;
}

}  // namespace

TEST_CASE("golden: explain of every recording in docs/examples prints the report kept beside it", "[golden]") {
  const fs::path dir = fs::path(PM_SOURCE_DIR) / "docs" / "examples";
  std::vector<fs::path> recordings;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".pmt") recordings.push_back(e.path());
  std::sort(recordings.begin(), recordings.end());
  CHECK(recordings.size() >= 20);
  const bool update = std::getenv("PM_UPDATE_GOLDEN") != nullptr;
  for (const auto& rec : recordings) {
    fs::path golden = rec;
    golden.replace_extension(".txt");
    auto o = run_pmtrace({"explain", rec.string()}, 60);
    INFO(rec.filename().string() << "\n" << o.err);
    CHECK(o.status <= 1);  // 0 healthy or stopped, 1 a failure found; never an error
    REQUIRE(fs::exists(golden));
    if (update && o.out != slurp(golden.string())) std::ofstream(golden, std::ios::binary) << o.out;
    const bool same = o.out == slurp(golden.string());
    INFO((same ? std::string() : "explain's report differs from the golden file:\n" + diff_of(golden, o.out)));
    CHECK(same);
  }
}

TEST_CASE("golden: the excerpts in the docs are the golden reports' own lines", "[golden][docs]") {
  // tools/refresh-excerpts.py rewrites them; --check only compares.
  auto o = run_shell("python3 '" + std::string(PM_SOURCE_DIR) + "/tools/refresh-excerpts.py' --check");
  INFO(o.out << o.err);
  CHECK(o.status == 0);
}
