// missing-python-module on event sequences shaped like a gunicorn whose
// worker imports the app and fails: gunicorn logs "Exception in worker
// process" with the traceback to stderr, the worker exits 3, the master halts
// with 3. The module comes from the traceback, the interpreter from the
// command line (a virtualenv's console script runs the venv's python).
#include <catch2/catch.hpp>

#include "trace_builder.h"

namespace {

const std::vector<std::string> kRestFrameworkTraceback = {
    "[2024-06-11 10:00:00 +0000] [501] [ERROR] Exception in worker process\n"
    "Traceback (most recent call last):\n  File \"/srv/app/meats/settings.py\", line 3\n",
    "    import rest_framework\nModuleNotFoundError: No module named 'rest_framework'\n"};

}  // namespace

TEST_CASE("missing-python-module: a worker exits 3 on ModuleNotFoundError, the root cause first",
          "[rules][missing-python-module]") {
  Trace t;
  venv_gunicorn(t);
  worker_fails_to_boot(t, 500, 501, 3, kRestFrameworkTraceback);

  auto m = rules::missing_python_module(t.agg);
  REQUIRE(m.size() == 1);
  CHECK(contains(m[0].title, "'rest_framework'"));
  CHECK(has_fact(m[0], "interpreter: /srv/venv/bin/python3"));
  REQUIRE(m[0].evidence.size() == 1);
  const auto& e = m[0].evidence[0];
  REQUIRE(e.as<Write>());
  CHECK(e.hdr.pid == 501);
  CHECK(e.as<Write>()->fd == 2);
  CHECK(e.as<Write>()->head == "ModuleNotFoundError: No module named 'rest_framework'");
  CHECK(m[0].fix.find("/srv/venv/bin/python3 -m pip install djangorestframework") == 0);

  auto all = rules::run_rules(t.agg);
  INFO(titles(all));
  REQUIRE(all.size() == 2);
  CHECK(all[0].rule == "missing-python-module");  // the root cause first
  CHECK(all[1].rule == "gunicorn-boot-failure");
}
