// target/environ: the database a service is configured to use, from
// DATABASE_URL (and friends) or PGHOST/PGPORT in /proc/PID/environ, and
// Aggregator::is_database, which recognises connects to it (or to a
// well-known database port or socket when nothing is configured).
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "analysis/aggregator.h"
#include "model/event.h"
#include "target/environ.h"

using pm::model::SockAddr;
using pm::target::databases_from_environ;
using pm::target::DatabaseEndpoint;
using pm::target::parse_database_url;

namespace {

SockAddr tcp(std::string host, std::uint16_t port, int family = AF_INET) {
  SockAddr a;
  a.family = family;
  a.address = std::move(host);
  a.port = port;
  return a;
}

SockAddr unix_path(std::string path) {
  SockAddr a;
  a.family = AF_UNIX;
  a.path = std::move(path);
  return a;
}

// The endpoint, exactly: family, address, port, path and what.
void check_tcp(const std::optional<DatabaseEndpoint>& d, const std::string& host, std::uint16_t port,
               const std::string& what) {
  REQUIRE(d);
  CHECK(d->what == what);
  CHECK(d->addr.family == AF_INET);
  CHECK(d->addr.address == host);
  CHECK(d->addr.port == port);
  CHECK(d->addr.path == "");
}

void check_unix(const std::optional<DatabaseEndpoint>& d, const std::string& path, const std::string& what) {
  REQUIRE(d);
  CHECK(d->what == what);
  CHECK(d->addr.family == AF_UNIX);
  CHECK(d->addr.path == path);
  CHECK(d->addr.address == "");
  CHECK(d->addr.port == 0);
}

std::string environ_text(const std::vector<std::string>& vars) {
  std::string s;
  for (const auto& v : vars) {
    s += v;
    s += '\0';
  }
  return s;
}

}  // namespace

TEST_CASE("environ: postgres:// and postgresql:// URLs, with and without a port", "[environ]") {
  INFO("postgres://, port given");
  check_tcp(parse_database_url("postgres://shop:s3cret@db.internal:5433/shop"), "db.internal", 5433, "PostgreSQL");
  INFO("postgres://, default port");
  check_tcp(parse_database_url("postgres://shop:s3cret@db.internal/shop"), "db.internal", 5432, "PostgreSQL");
  INFO("postgresql://, port given");
  check_tcp(parse_database_url("postgresql://shop@10.0.0.5:6432/shop?sslmode=require"), "10.0.0.5", 6432,
            "PostgreSQL");
  INFO("postgresql://, default port");
  check_tcp(parse_database_url("postgresql://shop@10.0.0.5/shop"), "10.0.0.5", 5432, "PostgreSQL");
  INFO("postgresql+psycopg2:// (SQLAlchemy)");
  check_tcp(parse_database_url("postgresql+psycopg2://shop:pw@db.internal:6543/shop"), "db.internal", 6543,
            "PostgreSQL");
  check_tcp(parse_database_url("postgresql+psycopg2://shop:pw@db.internal/shop"), "db.internal", 5432, "PostgreSQL");
}

TEST_CASE("environ: mysql:// and redis:// URLs, with and without a port", "[environ]") {
  check_tcp(parse_database_url("mysql://shop:pw@mysql.internal:3307/shop"), "mysql.internal", 3307, "MySQL");
  check_tcp(parse_database_url("mysql://shop:pw@mysql.internal/shop"), "mysql.internal", 3306, "MySQL");
  check_tcp(parse_database_url("mysql+pymysql://shop:pw@10.0.0.6/shop?charset=utf8mb4"), "10.0.0.6", 3306, "MySQL");
  check_tcp(parse_database_url("redis://cache.internal:6380/0"), "cache.internal", 6380, "Redis");
  check_tcp(parse_database_url("redis://:hunter2@cache.internal/0"), "cache.internal", 6379, "Redis");
  check_tcp(parse_database_url("redis://127.0.0.1:6379"), "127.0.0.1", 6379, "Redis");
}

TEST_CASE("environ: an IPv6 literal in brackets", "[environ]") {
  // Documented: family AF_INET with the host as address (is_database compares
  // address and port, not family).
  check_tcp(parse_database_url("postgres://shop:pw@[::1]:5433/shop"), "::1", 5433, "PostgreSQL");
  check_tcp(parse_database_url("postgresql://shop@[2001:db8::5]/shop"), "2001:db8::5", 5432, "PostgreSQL");
  check_tcp(parse_database_url("redis://[fd00::7]:6380/1"), "fd00::7", 6380, "Redis");
}

TEST_CASE("environ: a percent-encoded socket directory as the host", "[environ]") {
  check_unix(parse_database_url("postgresql://shop@%2Frun%2Fpostgresql/shop"), "/run/postgresql/.s.PGSQL.5432",
             "PostgreSQL");
  check_unix(parse_database_url("postgres://shop:pw@%2Fvar%2Frun%2Fpostgresql:5433/shop"),
             "/var/run/postgresql/.s.PGSQL.5433", "PostgreSQL");
  check_unix(parse_database_url("postgres://shop@%2frun%2fpostgresql/shop"), "/run/postgresql/.s.PGSQL.5432",
             "PostgreSQL");  // lower-case hex
}

TEST_CASE("environ: ?host=/socket/dir&port= in the query", "[environ]") {
  check_unix(parse_database_url("postgresql://shop@/shop?host=/run/postgresql&port=5433"),
             "/run/postgresql/.s.PGSQL.5433", "PostgreSQL");
  check_unix(parse_database_url("postgresql://shop@/shop?sslmode=disable&host=%2Fsrv%2Fpg"),
             "/srv/pg/.s.PGSQL.5432", "PostgreSQL");
  // host= in the query wins over the one in the authority; the port stays.
  check_unix(parse_database_url("postgresql://shop@db.internal:6000/shop?host=/run/postgresql"),
             "/run/postgresql/.s.PGSQL.6000", "PostgreSQL");
  // port= alone changes the port of a TCP host.
  check_tcp(parse_database_url("postgresql://shop@db.internal/shop?port=6432"), "db.internal", 6432, "PostgreSQL");
}

TEST_CASE("environ: an empty host is libpq's unix socket, localhost for the others", "[environ]") {
  check_unix(parse_database_url("postgresql:///shop"), "/var/run/postgresql/.s.PGSQL.5432", "PostgreSQL");
  check_unix(parse_database_url("postgres://shop:pw@/shop"), "/var/run/postgresql/.s.PGSQL.5432", "PostgreSQL");
  check_unix(parse_database_url("postgres://shop@:5433/shop"), "/var/run/postgresql/.s.PGSQL.5433", "PostgreSQL");
  check_unix(parse_database_url("mysql://shop:pw@%2Frun%2Fmysqld%2Fmysqld.sock/shop"), "/run/mysqld/mysqld.sock",
             "MySQL");
  check_tcp(parse_database_url("mysql://shop:pw@/shop"), "localhost", 3306, "MySQL");
  check_tcp(parse_database_url("redis:///0"), "localhost", 6379, "Redis");
}

TEST_CASE("environ: credentials with '@' in the password stay out of the address", "[environ]") {
  auto d = parse_database_url("postgres://shop:p@ss@w0rd@db.internal:5432/shop");
  check_tcp(d, "db.internal", 5432, "PostgreSQL");
  CHECK(d->addr.to_string().find("ss") == std::string::npos);
  CHECK(d->addr.to_string().find("w0rd") == std::string::npos);

  check_tcp(parse_database_url("postgres://shop:p@ss@db.internal/shop"), "db.internal", 5432, "PostgreSQL");
  check_tcp(parse_database_url("mysql://shop:a:b@c@10.0.0.6:3307/shop"), "10.0.0.6", 3307, "MySQL");
  check_tcp(parse_database_url("redis://:s3cr@t@cache.internal:6380/0"), "cache.internal", 6380, "Redis");
  check_tcp(parse_database_url("postgres://shop:p@ss@[::1]:5433/shop"), "::1", 5433, "PostgreSQL");
  check_unix(parse_database_url("postgresql://shop:p@ss@%2Frun%2Fpostgresql/shop"), "/run/postgresql/.s.PGSQL.5432",
             "PostgreSQL");
}

TEST_CASE("environ: schemes that are no known database are nullopt", "[environ]") {
  CHECK_FALSE(parse_database_url("sqlite:////srv/shop/db.sqlite3"));
  CHECK_FALSE(parse_database_url("mongodb://db.internal:27017/shop"));
  CHECK_FALSE(parse_database_url("amqp://guest:guest@rabbit.internal:5672//"));
  CHECK_FALSE(parse_database_url("https://db.internal:5432/"));
  CHECK_FALSE(parse_database_url("postgresx://db.internal/shop"));
  CHECK_FALSE(parse_database_url("db.internal:5432"));
  CHECK_FALSE(parse_database_url("postgres:db.internal"));
  CHECK_FALSE(parse_database_url(""));
}

TEST_CASE("environ: databases_from_environ reads DATABASE_URL among unrelated variables", "[environ]") {
  auto dbs = databases_from_environ(environ_text({"PATH=/srv/shop/venv/bin:/usr/bin", "LANG=C.UTF-8",
                                                  "DATABASE_URL=postgres://shop:a=b@db.internal:5433/shop",
                                                  "SECRET_KEY=abc", "HOME=/srv/shop"}));
  REQUIRE(dbs.size() == 1);
  check_tcp(dbs[0], "db.internal", 5433, "PostgreSQL");
}

TEST_CASE("environ: databases_from_environ reads *_DATABASE_URL and REDIS_URL, in order", "[environ]") {
  // No NUL after the last variable.
  std::string env = environ_text({"REPLICA_DATABASE_URL=postgresql://ro@10.0.0.9/shop", "LANG=C.UTF-8"}) +
                    "REDIS_URL=redis://cache.internal:6380/0";
  auto dbs = databases_from_environ(env);
  REQUIRE(dbs.size() == 2);
  check_tcp(dbs[0], "10.0.0.9", 5432, "PostgreSQL");
  check_tcp(dbs[1], "cache.internal", 6380, "Redis");
}

TEST_CASE("environ: databases_from_environ reads PGHOST and PGPORT", "[environ]") {
  SECTION("both") {
    auto dbs = databases_from_environ(environ_text({"PGUSER=shop", "PGHOST=db.internal", "PGPORT=6432"}));
    REQUIRE(dbs.size() == 1);
    check_tcp(dbs[0], "db.internal", 6432, "PostgreSQL");
  }
  SECTION("PGHOST a socket directory") {
    auto dbs = databases_from_environ(environ_text({"PGHOST=/run/postgresql"}));
    REQUIRE(dbs.size() == 1);
    check_unix(dbs[0], "/run/postgresql/.s.PGSQL.5432", "PostgreSQL");
  }
  SECTION("PGPORT before PGHOST") {
    auto dbs = databases_from_environ(environ_text({"PGPORT=5433", "PGHOST=/run/postgresql"}));
    REQUIRE(dbs.size() == 1);
    check_unix(dbs[0], "/run/postgresql/.s.PGSQL.5433", "PostgreSQL");
  }
  SECTION("PGPORT only") {
    auto dbs = databases_from_environ(environ_text({"PGPORT=5433"}));
    REQUIRE(dbs.size() == 1);
    check_unix(dbs[0], "/var/run/postgresql/.s.PGSQL.5433", "PostgreSQL");
  }
  SECTION("with DATABASE_URL: the URL first") {
    auto dbs = databases_from_environ(
        environ_text({"PGHOST=10.0.0.8", "DATABASE_URL=mysql://shop:pw@mysql.internal/shop"}));
    REQUIRE(dbs.size() == 2);
    check_tcp(dbs[0], "mysql.internal", 3306, "MySQL");
    check_tcp(dbs[1], "10.0.0.8", 5432, "PostgreSQL");
  }
}

TEST_CASE("environ: databases_from_environ ignores unrelated variables", "[environ]") {
  auto dbs = databases_from_environ(environ_text({
      "PATH=/usr/bin",
      "SENTRY_DSN=https://key@o1.ingest.sentry.io/1",
      "CELERY_BROKER_URL=redis://cache.internal:6379/1",  // not REDIS_URL
      "DATABASE_URLS=postgres://db.internal/shop",         // not DATABASE_URL
      "MY_PGHOST=db.internal",
      "PGUSER=shop",
      "PGDATABASE=shop",
      "NOTE=DATABASE_URL=postgres://db.internal/shop",  // the name in a value
      "DATABASE_URL=sqlite:////srv/shop/db.sqlite3",   // no server
      "DATABASE_URL",                                   // no '='
  }));
  CHECK(dbs.empty());
  CHECK(databases_from_environ("").empty());
}

TEST_CASE("environ: is_database, a configured host name matches any address on its port", "[environ]") {
  pm::analysis::Aggregator agg;
  agg.add_database(parse_database_url("postgres://shop:pw@db.internal:6000/shop")->addr, "PostgreSQL");
  std::string what = "unset";
  CHECK(agg.is_database(tcp("10.0.0.5", 6000), &what));
  CHECK(what == "PostgreSQL");
  what = "unset";
  CHECK(agg.is_database(tcp("fd00::5", 6000, AF_INET6), &what));
  CHECK(what == "PostgreSQL");
  what = "unset";
  CHECK_FALSE(agg.is_database(tcp("10.0.0.5", 6001), &what));
  CHECK(what == "");
  CHECK_FALSE(agg.is_database(unix_path("/run/app/db.internal:6000")));
}

TEST_CASE("environ: is_database, a configured IP matches only itself", "[environ]") {
  pm::analysis::Aggregator agg;
  agg.add_database(parse_database_url("redis://10.0.0.7:7000/0")->addr, "Redis");
  agg.add_database(parse_database_url("postgres://shop@[::1]:7001/shop")->addr, "PostgreSQL");
  std::string what;
  CHECK(agg.is_database(tcp("10.0.0.7", 7000), &what));
  CHECK(what == "Redis");
  CHECK_FALSE(agg.is_database(tcp("10.0.0.8", 7000), &what));
  CHECK(what == "");
  CHECK_FALSE(agg.is_database(tcp("10.0.0.7", 7001)));
  // The trace's connect to ::1 is AF_INET6; the configuration's host is "::1".
  CHECK(agg.is_database(tcp("::1", 7001, AF_INET6), &what));
  CHECK(what == "PostgreSQL");
  CHECK_FALSE(agg.is_database(tcp("::2", 7001, AF_INET6)));
}

TEST_CASE("environ: is_database, a configured socket path matches only itself", "[environ]") {
  pm::analysis::Aggregator agg;
  agg.add_database(unix_path("/srv/db/app.sock"), "PostgreSQL");
  std::string what;
  CHECK(agg.is_database(unix_path("/srv/db/app.sock"), &what));
  CHECK(what == "PostgreSQL");
  CHECK_FALSE(agg.is_database(unix_path("/srv/db/other.sock"), &what));
  CHECK(what == "");
  CHECK_FALSE(agg.is_database(unix_path("/run/gunicorn.sock")));
  CHECK_FALSE(agg.is_database(tcp("127.0.0.1", 8000)));  // a socket configured: TCP on a random port is not it

  // One from DATABASE_URL, with a port no well-known name would match by accident.
  pm::analysis::Aggregator agg2;
  auto d = parse_database_url("postgresql://shop@/shop?host=/srv/pg&port=5433");
  REQUIRE(d);
  agg2.add_database(d->addr, d->what);
  CHECK(agg2.is_database(unix_path("/srv/pg/.s.PGSQL.5433"), &what));
  CHECK(what == "PostgreSQL");
  CHECK_FALSE(agg2.is_database(tcp("127.0.0.1", 5433)));
}

TEST_CASE("environ: is_database, well-known database ports and sockets without configuration", "[environ]") {
  pm::analysis::Aggregator agg;
  struct Case {
    std::uint16_t port;
    const char* what;
  };
  for (const Case& c : {Case{5432, "PostgreSQL"}, Case{6432, "PgBouncer"}, Case{3306, "MySQL"}, Case{6379, "Redis"},
                        Case{27017, "MongoDB"}}) {
    INFO(c.port);
    std::string what;
    CHECK(agg.is_database(tcp("10.0.0.5", c.port), &what));
    CHECK(what == c.what);
    what.clear();
    CHECK(agg.is_database(tcp("::1", c.port, AF_INET6), &what));
    CHECK(what == c.what);
  }
  std::string what = "unset";
  CHECK_FALSE(agg.is_database(tcp("10.0.0.5", 8000), &what));
  CHECK(what == "");
  CHECK_FALSE(agg.is_database(tcp("10.0.0.5", 5433)));
  CHECK_FALSE(agg.is_database(tcp("10.0.0.5", 443)));

  CHECK(agg.is_database(unix_path("/var/run/postgresql/.s.PGSQL.5432"), &what));
  CHECK(what == "PostgreSQL");
  CHECK(agg.is_database(unix_path("/run/mysqld/mysqld.sock"), &what));
  CHECK(what == "MySQL");
  what = "unset";
  CHECK_FALSE(agg.is_database(unix_path("/run/shop/gunicorn.sock"), &what));
  CHECK(what == "");
}
