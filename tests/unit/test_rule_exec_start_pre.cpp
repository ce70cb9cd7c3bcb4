// exec-start-pre: a unit's ExecStartPre= (or ExecStartPost=) command failed,
// so systemd failed the start ("control process exited with error code").
// Look-alikes: a '-' line (systemd ignores its failure), ExecStart='s own
// process that runs the same interpreter.
#include <catch2/catch.hpp>

#include "trace_builder.h"

namespace {

// ExecStartPre=/usr/bin/python3 /srv/shop/manage.py migrate --noinput
analysis::UnitContext migrating_unit(bool ignore_failure = false) {
  analysis::UnitContext u;
  u.name = "shop.service";
  u.exec_start = {"/usr/bin/gunicorn", "shop.wsgi:application"};
  u.exec_start_pre = {std::string(ignore_failure ? "-" : "") + "/usr/bin/python3 /srv/shop/manage.py migrate --noinput"};
  u.exec_start_pre_paths = {"/usr/bin/python3"};
  return u;
}

void migrate(Trace& t, int status) {
  t.task(690, 1, "(python3)", 33);
  t.exec(690, kT0, "/usr/bin/python3", {"/usr/bin/python3", "/srv/shop/manage.py", "migrate", "--noinput"});
  t.write(690, kT0 + 300 * kMs, 2,
          "Traceback (most recent call last):\n  File \"/srv/shop/manage.py\", line 22\n"
          "django.db.utils.OperationalError: FATAL:  role \"shop\" does not exist\n");
  t.exit(690, kT0 + 310 * kMs, status << 8);
}

}  // namespace

TEST_CASE("exec-start-pre: a failing ExecStartPre= stops the start before ExecStart=", "[rules][exec-start-pre]") {
  Trace t;
  t.unit(migrating_unit());
  migrate(t, 1);
  auto fs = rules::run_rules(t.agg);
  INFO(titles(fs));
  const rules::Finding* f = nullptr;
  for (const auto& x : fs)
    if (x.rule == "exec-start-pre") f = &x;
  REQUIRE(f);
  CHECK(f->severity == rules::Severity::failure);
  CHECK(contains(f->title, "ExecStartPre=/usr/bin/python3 /srv/shop/manage.py migrate --noinput of shop.service "
                           "exited with status 1: ExecStart= never ran"));
  CHECK(has_fact(*f, "ExecStartPre= command 1 of 1: /usr/bin/python3 /srv/shop/manage.py migrate --noinput"));
  CHECK(contains(facts_text(*f), "it wrote:"));
  CHECK(contains(facts_text(*f), "role \"shop\" does not exist"));
  CHECK(has_fact(*f, "ExecStart=/usr/bin/gunicorn shop.wsgi:application was never started"));
  CHECK(contains(f->fix, "ExecStartPre=-/usr/bin/python3"));
}

TEST_CASE("exec-start-pre: a '-' line's failure is ignored by systemd, and by the rule", "[rules][exec-start-pre]") {
  Trace t;
  t.unit(migrating_unit(true));
  migrate(t, 1);
  CHECK(rules::exec_start_pre(t.agg).empty());
}

TEST_CASE("exec-start-pre: ExecStart='s gunicorn runs the same python3 and is not the pre command", "[rules][exec-start-pre]") {
  Trace t;
  t.unit(migrating_unit());
  migrate(t, 0);
  t.task(700, 1, "(gunicorn)");
  t.exec(700, kT0 + 400 * kMs, "/usr/bin/gunicorn", kGunicornArgv, "/usr/bin/python3");
  t.exit(700, kT0 + 900 * kMs, 3 << 8);
  CHECK(rules::exec_start_pre(t.agg).empty());
  REQUIRE(t.agg.unit_context("shop.service"));
  CHECK_FALSE(rules::runs_start_helper(*t.agg.process(700), *t.agg.unit_context("shop.service")));
  CHECK(rules::runs_start_helper(*t.agg.process(690), *t.agg.unit_context("shop.service")));
}

TEST_CASE("exec-start-pre: a failing ExecStartPost= fails a start that had begun", "[rules][exec-start-pre]") {
  Trace t;
  auto u = migrating_unit();
  u.exec_start_pre.clear();
  u.exec_start_pre_paths.clear();
  u.exec_start_post = {"/srv/shop/bin/warm-cache"};
  u.exec_start_post_paths = {"/srv/shop/bin/warm-cache"};
  t.unit(u);
  gunicorn_boot(t);
  t.task(710, 1, "(warm-cache)");
  // A #! script: the kernel puts its interpreter first.
  t.exec(710, kT0 + 1300 * kMs, "/srv/shop/bin/warm-cache", {"/bin/sh", "/srv/shop/bin/warm-cache"}, "/bin/sh");
  t.exit(710, kT0 + 1400 * kMs, 2 << 8);
  auto fs = rules::exec_start_pre(t.agg);
  REQUIRE(fs.size() == 1);
  CHECK(contains(fs[0].title, "ExecStartPost=/srv/shop/bin/warm-cache of shop.service exited with status 2: "
                              "systemd fails the start and stops the service"));
}
