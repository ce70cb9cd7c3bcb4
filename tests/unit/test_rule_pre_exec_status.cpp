// pre-exec-status: systemd's child for a command exits with one of systemd's
// own statuses (217/USER, 226/NAMESPACE, ...) before it ever calls execve().
// Its look-alikes: a program that ran and chose such a status itself, and a
// failed execve/chdir, which exec-failure explains.
#include <catch2/catch.hpp>

#include "trace_builder.h"

namespace {

analysis::UnitContext shop_unit() {
  analysis::UnitContext u;
  u.name = "shop.service";
  u.exec_start = {"/usr/bin/gunicorn", "shop.wsgi:application"};
  return u;
}

}  // namespace

TEST_CASE("pre-exec-status: User= names no account: 217/USER, the program never ran", "[rules][pre-exec-status]") {
  Trace t;
  auto u = shop_unit();
  u.user = "meats";
  u.user_missing = true;
  t.unit(u);
  t.task(700, 1, "(gunicorn)", 0);
  t.exit(700, kT0 + 3 * kMs, 217 << 8);
  auto fs = rules::run_rules(t.agg);
  INFO(titles(fs));
  const auto* f = only(fs, "pre-exec-status");
  REQUIRE(f);
  CHECK(f->severity == rules::Severity::failure);
  CHECK(contains(f->title, "exited 217/USER before the program ran"));
  CHECK(has_fact(*f, "User=meats: no such user in the /etc/passwd where the unit runs"));
  CHECK(contains(f->fix, "useradd --system --no-create-home --shell /usr/sbin/nologin meats"));
  REQUIRE_FALSE(f->evidence.empty());
  CHECK(f->evidence.back().hdr.pid == 700);
}

TEST_CASE("pre-exec-status: a sandbox path that does not exist: 226/NAMESPACE names the paths", "[rules][pre-exec-status]") {
  Trace t;
  auto u = shop_unit();
  u.protect_system = "strict";
  u.read_write_paths = {"/srv/shop/media", "/var/log/shop"};
  t.unit(u);
  t.task(700, 1, "(gunicorn)", 0);
  t.exit(700, kT0 + 2 * kMs, 226 << 8);
  auto fs = rules::run_rules(t.agg);
  const auto* f = only(fs, "pre-exec-status");
  REQUIRE(f);
  CHECK(contains(f->title, "226/NAMESPACE"));
  CHECK(has_fact(*f, "ReadWritePaths= and *Directory=: /srv/shop/media /var/log/shop"));
  // /var/log/shop is LogsDirectory='s, made by systemd: only the media path is missing.
  CHECK(has_fact(*f, "missing where the unit runs: /srv/shop/media"));
  CHECK(contains(f->fix, "create /srv/shop/media (install -d /srv/shop/media), or mark it optional in the unit: "
                         "ReadWritePaths=-/srv/shop/media"));
}

TEST_CASE("pre-exec-status: look-alikes are not systemd's setup failing", "[rules][pre-exec-status]") {
  Trace t;
  t.unit(shop_unit());
  SECTION("a program that ran and exited 217 on its own") {
    t.task(700, 1, "(gunicorn)", 0);
    t.exec(700, kT0, "/usr/bin/gunicorn", kGunicornArgv, "/usr/bin/python3");
    t.exit(700, kT0 + 200 * kMs, 217 << 8);
    CHECK(rules::pre_exec_status(t.agg).empty());
  }
  SECTION("a failed execve is exec-failure's (203/EXEC)") {
    t.task(700, 1, "(gunicorn)", 0);
    t.exec_failed(700, kT0 + kMs, "/srv/shop/venv/bin/gunicorn", ENOENT);
    t.exit(700, kT0 + 2 * kMs, 203 << 8);
    CHECK(rules::pre_exec_status(t.agg).empty());
    auto fs = rules::run_rules(t.agg);
    INFO(titles(fs));
    CHECK(only(fs, "exec-failure"));
  }
  SECTION("a process outside the traced unit") {
    t.task(700, 1, "(gunicorn)", 0, /*cgroup=*/4242);
    t.exit(700, kT0 + 2 * kMs, 217 << 8);
    CHECK(rules::pre_exec_status(t.agg).empty());
  }
  SECTION("a status systemd does not use for a setup step") {
    t.task(700, 1, "(gunicorn)", 0);
    t.exit(700, kT0 + 2 * kMs, 199 << 8);
    CHECK(rules::pre_exec_status(t.agg).empty());
  }
}

TEST_CASE("pre-exec-status: a credential's source that does not exist: 243/CREDENTIALS names it", "[rules][pre-exec-status]") {
  Trace t;
  auto u = shop_unit();
  u.load_credentials = {"db-password:/etc/shop/db-password", "api-token"};
  u.credentials_missing = {"/etc/shop/db-password"};
  t.unit(u);
  t.task(700, 1, "(gunicorn)", 0);
  t.exit(700, kT0 + 2 * kMs, 243 << 8);
  auto fs = rules::run_rules(t.agg);
  const auto* f = only(fs, "pre-exec-status");
  REQUIRE(f);
  CHECK(contains(f->title, "exited 243/CREDENTIALS before the program ran"));
  CHECK(has_fact(*f, "LoadCredential=db-password:/etc/shop/db-password api-token"));
  CHECK(has_fact(*f, "missing where the unit runs: /etc/shop/db-password"));
  CHECK(contains(f->fix, "create /etc/shop/db-password (the credential's source, readable by root only"));
}
