// address-in-use on event sequences shaped like gunicorn's create_sockets()
// (sock.py): for each -b address in turn, bind() then listen(); an address
// in use is tried five times a second apart, then gunicorn logs "Can't
// connect to" and exits 1. The holder here is an old instance the trace saw
// reach LISTEN.
#include <catch2/catch.hpp>

#include "trace_builder.h"

TEST_CASE("address-in-use: one finding for gunicorn's retries, naming the holder", "[rules][address-in-use]") {
  Trace t;
  // The old instance, started by hand from a root shell, outside the unit.
  t.task(50, 40, "bash", 0, 2);
  t.exec(50, kT0 - 60 * kS, "/usr/bin/python3", {"python3", "old.py"});
  t.bind(50, kT0 - 59 * kS, 3, inet("127.0.0.1", 8000));
  t.listen(50, kT0 - 59 * kS + 20 * kUs, inet("127.0.0.1", 8000));

  // gunicorn -b 127.0.0.1:9000 -b 127.0.0.1:8000: the first address is free.
  std::vector<std::string> argv = kVenvGunicornArgv;
  argv.insert(argv.begin() + 2, {"-b", "127.0.0.1:9000"});
  t.spawn(500, kT0, "/srv/venv/bin/gunicorn", argv, "/srv/venv/bin/python3");
  t.bind(500, kT0 + 200 * kMs, 5, inet("127.0.0.1", 9000));
  t.listen(500, kT0 + 200 * kMs + 20 * kUs, inet("127.0.0.1", 9000));
  for (int i = 0; i < 5; ++i) t.bind(500, kT0 + 201 * kMs + i * 1001 * kMs, 6 + i, inet("127.0.0.1", 8000), EADDRINUSE);
  t.write(500, kT0 + 5205 * kMs, 2,
          "[2024-06-11 10:00:05 +0000] [500] [ERROR] Can't connect to ('127.0.0.1', 8000)\n");
  t.exit(500, kT0 + 5230 * kMs, 1 << 8);

  auto fs = rules::run_rules(t.agg);
  INFO(titles(fs));
  const auto* f = only(fs, "address-in-use");
  REQUIRE(f);
  CHECK(contains(f->title, "could not bind 127.0.0.1:8000"));
  // The five refused binds, the master's, and not the bind that worked.
  REQUIRE(f->evidence.size() == 5);
  for (const auto& e : f->evidence) {
    REQUIRE(e.as<Bind>());
    CHECK(e.hdr.pid == 500);
    CHECK(e.as<Bind>()->err == EADDRINUSE);
    CHECK(e.as<Bind>()->addr == inet("127.0.0.1", 8000));
  }
  INFO(facts_text(*f));
  REQUIRE_FALSE(f->facts.empty());
  CHECK(f->facts[0].find("held by python3 (pid 50") == 0);
  CHECK(has_fact(*f, "bind attempts seen: 5"));
  CHECK(contains(f->fix, "ss -ltnp 'sport = :8000'"));
}
