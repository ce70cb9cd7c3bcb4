// A healthy start triggers no rule: the look-alikes every real start has
// (Python's import probing, ENOENT by the hundred; a bind that works; a
// worker booting; gunicorn's own log lines on stderr) are not failures.
#include <catch2/catch.hpp>

#include "trace_builder.h"

TEST_CASE("a healthy start triggers no rule",
          "[rules][permission-denied][address-in-use][missing-python-module][gunicorn-boot-failure]") {
  Trace t;
  venv_gunicorn(t);
  for (int i = 0; i < 50; ++i)
    t.open_failed(500, kT0 + 100 * kMs + i * 20 * kUs, "/srv/venv/lib/x" + std::to_string(i), ENOENT,
                  O_RDONLY | O_CLOEXEC);
  t.bind(500, kT0 + 380 * kMs, 5, inet("127.0.0.1", 8000));
  t.listen(500, kT0 + 380 * kMs + 20 * kUs, inet("127.0.0.1", 8000));
  t.fork(500, kT0 + 400 * kMs, 501);
  t.write(500, kT0 + 401 * kMs, 2, "[2024-06-11 10:00:00 +0000] [500] [INFO] Booting worker with pid: 501\n");
  t.heartbeat(501, kT0 + 1200 * kMs);
  t.exit(501, kT0 + 3 * kS, 0);
  t.signal(501, kT0 + 3 * kS + 5 * kUs, 500, SIGCHLD, kCldExited);
  t.exit(500, kT0 + 3 * kS + 40 * kMs, 0);
  INFO(titles(rules::run_rules(t.agg)));
  CHECK(rules::run_rules(t.agg).empty());
}
