// Reading Python tracebacks out of captured stderr (rules/traceback.h): the
// error line gunicorn-boot-failure quotes, the module missing-python-module
// names and the package to install for it.
#include <catch2/catch.hpp>

#include "rules/traceback.h"

using namespace pm;

TEST_CASE("traceback: the error line of a traceback, not gunicorn's log lines",
          "[rules][traceback][gunicorn-boot-failure]") {
  CHECK(rules::python_error_line("Traceback...\n  File x\nKeyError: 'SECRET_KEY'\n[INFO] bye\n") ==
        std::optional<std::string>("KeyError: 'SECRET_KEY'"));
  CHECK_FALSE(rules::python_error_line("[INFO] Booting worker\n"));
}

TEST_CASE("traceback: missing modules and package names", "[rules][traceback][missing-python-module]") {
  CHECK(rules::missing_module("ModuleNotFoundError: No module named 'yaml.loader'") == std::optional<std::string>("yaml"));
  CHECK(rules::missing_module("ImportError: No module named flask") == std::optional<std::string>("flask"));
  CHECK_FALSE(rules::missing_module("ImportError: cannot import name 'x' from 'y'"));
  CHECK(rules::package_for_module("yaml") == "PyYAML");
  CHECK(rules::package_for_module("psycopg2") == "psycopg2-binary");
  CHECK(rules::package_for_module("requests") == "requests");
}
