// gunicorn-boot-failure on event sequences shaped like gunicorn's arbiter: a
// worker that raises before it has booted exits 3 (WORKER_BOOT_ERROR), one
// whose app object does not exist prints gunicorn's AppImportError and exits
// 4 (APP_LOAD_ERROR); the master then halts with the same code.
#include <catch2/catch.hpp>

#include "trace_builder.h"

TEST_CASE("gunicorn-boot-failure: one finding per gunicorn, with the traceback's error line",
          "[rules][gunicorn-boot-failure]") {
  Trace t;
  venv_gunicorn(t);
  worker_fails_to_boot(t, 500, 501, 3,
                       {"[2024-06-11 10:00:00 +0000] [501] [ERROR] Exception in worker process\n"
                        "Traceback (most recent call last):\n  File \"/srv/app/meats/settings.py\", line 3\n",
                        "    import rest_framework\nModuleNotFoundError: No module named 'rest_framework'\n"});

  auto b = rules::gunicorn_boot_failure(t.agg);
  REQUIRE(b.size() == 1);  // one per gunicorn, not one per process that exited 3
  CHECK(contains(b[0].title, "ModuleNotFoundError: No module named 'rest_framework'"));
  REQUIRE(b[0].evidence.size() == 1);
  const auto& e = b[0].evidence[0];
  REQUIRE(e.as<Exit>());
  CHECK(e.hdr.pid == 500);
  CHECK(e.as<Exit>()->code() == 3);
  CHECK(b[0].fix == "see the missing-python-module finding");
}

TEST_CASE("gunicorn-boot-failure: exit 4 points at the app spec", "[rules][gunicorn-boot-failure]") {
  Trace t;
  venv_gunicorn(t);
  worker_fails_to_boot(t, 500, 501, 4, {"Failed to find attribute 'application' in 'meats.wsgi'.\n"});
  auto fs = rules::run_rules(t.agg);
  INFO(titles(fs));
  const auto* b = only(fs, "gunicorn-boot-failure");
  REQUIRE(b);
  CHECK(contains(b->title, "could not load the app"));
  REQUIRE(b->evidence.size() == 1);
  CHECK(b->evidence[0].hdr.pid == 500);
  CHECK(b->evidence[0].as<Exit>()->code() == 4);
  CHECK(contains(b->fix, "'meats.wsgi:application'"));
}
