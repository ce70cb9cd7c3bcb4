// Inputs the fuzz targets in tests/fuzz/ found to break a parser, kept as
// regression tests (the same inputs are in the fuzzers' seed corpus).
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "rules/traceback.h"
#include "target/envfile.h"
#include "target/unit.h"
#include "util/strings.h"

using pm::parse_duration_ms;
using pm::rules::missing_module;
using pm::rules::python_error_line;

TEST_CASE("parse_duration_ms: a duration beyond a long long is invalid, not negative", "[strings][fuzz]") {
  // fuzz: strings. 8e19 s overflowed llround, which returned LLONG_MIN.
  CHECK(parse_duration_ms("80000000400400040000") == std::nullopt);
  CHECK(parse_duration_ms("\n\n80000000400400040000") == std::nullopt);
  CHECK(parse_duration_ms("99999999999999999999h") == std::nullopt);
  CHECK(parse_duration_ms(std::string(400, '9') + "ms") == std::nullopt);
  // The largest ones still fit.
  CHECK(parse_duration_ms("9000000000000000ms") == 9000000000000000LL);
  CHECK(parse_duration_ms("9000000000000000s") == 9000000000000000000LL);
  CHECK(parse_duration_ms("9300000000000000s") == std::nullopt);
}

TEST_CASE("python_error_line and missing_module: a very long line does not overflow the stack",
          "[traceback][fuzz]") {
  // fuzz: traceback. std::regex recursed once per character: a 32 KB error
  // line crashed a -O2 build (a 22 KB one under ASan).
  const std::string long_message(200000, 'x');
  const std::string error = "KeyError: '" + long_message + "'";
  CHECK(python_error_line("Traceback (most recent call last):\n" + error + "\n") == error);
  CHECK(python_error_line("ValueError: " + long_message + "\r") == "ValueError: " + long_message);
  CHECK(python_error_line(std::string(200000, 'a') + "Error") == std::string(200000, 'a') + "Error");
  CHECK(python_error_line(std::string(200000, 'a')) == std::nullopt);

  const std::string long_module(200000, 'm');
  CHECK(missing_module("ModuleNotFoundError: No module named '" + long_module + ".sub'\n") == long_module);
  CHECK(missing_module("ImportError: No module named " + long_module) == long_module);
}

TEST_CASE("python_error_line and missing_module: what the regexes they replace matched", "[traceback][fuzz]") {
  CHECK(python_error_line("django.core.exceptions.ImproperlyConfigured: The SECRET_KEY setting must not be empty.") ==
        "django.core.exceptions.ImproperlyConfigured: The SECRET_KEY setting must not be empty.");
  CHECK(python_error_line("HaltServer: <HaltServer 'Worker failed to boot.' 3>\n") ==
        "HaltServer: <HaltServer 'Worker failed to boot.' 3>");
  CHECK(python_error_line("HaltServer") == "HaltServer");
  // HaltServer counts only on its own, not with its module.
  CHECK(python_error_line("gunicorn.errors.HaltServer: <HaltServer 'Worker failed to boot.' 3>") == std::nullopt);
  CHECK(python_error_line("KeyboardInterrupt\n") == "KeyboardInterrupt");
  CHECK(python_error_line("Error: no name before the suffix") == std::nullopt);
  CHECK(python_error_line("ValueError:no space") == std::nullopt);
  CHECK(python_error_line("ValueError: a\rb") == std::nullopt);  // '.' does not match a CR
  CHECK(python_error_line("[ERROR] ValueError: logged, not raised") == std::nullopt);
  CHECK(python_error_line("1Error: x") == std::nullopt);
  CHECK(python_error_line("_Error: x") == "_Error: x");

  CHECK(missing_module("ImportError: No module named yaml\nModuleNotFoundError: No module named 'PIL.Image'") == "PIL");
  CHECK(missing_module("ModuleNotFoundError: No module named ''") == std::nullopt);
  CHECK(missing_module("ModuleNotFoundError: No module named 'a'\nImportError: No module named 9x") == "a");
  // A search resumes after the previous match, so a prefix inside a matched
  // name is not a second match.
  CHECK(missing_module("ImportError: No module named ImportError: No module named x") == "ImportError");
}

namespace {

std::string repeat(const std::string& unit, std::size_t bytes) {
  std::string out;
  while (out.size() < bytes) out += unit;
  return out;
}

// Seconds parse_env_file takes. The quadratic cases took 10 s or more (-O2);
// now each takes well under a second, and reading so many entries is still
// memory-bound, hence the generous bound.
double seconds_to_parse(const std::string& text, pm::target::EnvFile& out) {
  auto start = std::chrono::steady_clock::now();
  out = pm::target::parse_env_file(text);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("parse_env_file: a 1 MB file of comments ending in a backslash is read in linear time",
          "[envfile][fuzz]") {
  // Each such comment searched all entries for the next line's (13 s for 1 MB).
  pm::target::EnvFile f;
  CHECK(seconds_to_parse(repeat("#\\\nA=1\n", 1 << 20), f) < 6);
  REQUIRE(!f.issues.empty());
  CHECK(f.issues.front().line == 1);
  CHECK(f.issues.front().key == "A");
  CHECK(f.issues.front().problem.find("this comment ends in '\\'") == 0);
  // The entry on the next line, not the first one with a value anywhere.
  f = pm::target::parse_env_file("#\\\nB\rC=1\n#\\\n\nD=2\n");
  REQUIRE(f.issues.size() >= 1);
  CHECK(f.issues[0].line == 1);
  CHECK(f.issues[0].key == "C");
  for (const auto& i : f.issues) CHECK(i.line != 3);  // no entry on line 4, after the comment on line 3
}

TEST_CASE("parse_env_file: a 2 MB value full of variable references is read in linear time", "[envfile][fuzz]") {
  pm::target::EnvFile f;
  // Every "${" looked for a '}' up to the end of the file (10 s for 2 MB).
  CHECK(seconds_to_parse("A=" + repeat("${", 2 << 20), f) < 6);
  // Every new reference was looked up in the list of those seen (12 s for 1.4 MB).
  std::string refs = "A=";
  for (int i = 0; refs.size() < (2u << 20); ++i) refs += "${V" + std::to_string(i) + "}";
  CHECK(seconds_to_parse(refs, f) < 6);
  bool found = false;
  for (const auto& i : f.issues)
    if (i.problem.find("does not expand variables") != std::string::npos) {
      found = true;
      CHECK(i.problem.find("'${V0}', '${V1}', '${V2}'") != std::string::npos);
    }
  CHECK(found);
  // What a reference is did not change: a name, then the first '}'.
  f = pm::target::parse_env_file("A=${HOME}/x ${A-B} ${1X} ${} ${OK}}\n");
  REQUIRE(f.issues.size() == 1);
  CHECK(f.issues[0].problem == "systemd does not expand variables in an EnvironmentFile=: A gets '${HOME}', '${OK}' literally");
}

TEST_CASE("slice_from_unit_text: a Slice= longer than a unit name can be is ignored, as systemd does",
          "[unit][fuzz]") {
  // slice_to_path of 64 KB of "a-" built a 1 GB path (10 s); 1 MB ran out of memory.
  const std::string longest = std::string(249, 'a') + ".slice";  // 255 characters
  CHECK(pm::target::slice_from_unit_text("[Service]\nSlice=" + longest + "\n") == longest);
  const std::string too_long = repeat("a-", 65536) + ".slice";
  CHECK(pm::target::slice_from_unit_text("[Service]\nSlice=" + too_long + "\n") == "");
  CHECK(pm::target::slice_from_unit_text("[Service]\nSlice=web.slice\nSlice=" + too_long + "\n") == "web.slice");
  CHECK(pm::target::slice_from_unit_text("[Service]\nSlice=" + std::string(256, 'a') + "\n") == "");
}
