// Strings, names, redaction.
#include <catch2/catch.hpp>

#include "model/names.h"
#include "util/redact.h"
#include "util/strings.h"

using namespace pm;

TEST_CASE("strings: split, trim, numbers, durations, sizes", "[strings]") {
  CHECK(split("a::b", ':') == std::vector<std::string>{"a", "b"});
  CHECK(split("a::b", ':', false) == std::vector<std::string>{"a", "", "b"});
  CHECK(trim("  x y \n") == "x y");
  CHECK(parse_int(" 42 ") == 42);
  CHECK_FALSE(parse_int("42x"));
  CHECK(parse_duration_ms("1.5s") == 1500);
  CHECK(parse_duration_ms("300ms") == 300);
  CHECK(parse_duration_ms("2m") == 120000);
  CHECK(parse_duration_ms("10") == 10000);
  CHECK_FALSE(parse_duration_ms("soon"));
  CHECK_FALSE(parse_duration_ms("5 parsecs"));
  CHECK(parse_size_bytes("64K") == 65536);
  CHECK(parse_size_bytes("16M") == 16u << 20);
  CHECK(parse_size_bytes("4096") == 4096);
  CHECK_FALSE(parse_size_bytes("-1M"));
  CHECK_FALSE(parse_size_bytes("M"));
  CHECK(escape_bytes(std::string("a\nb\x01", 4)) == "a\\nb\\x01");
  const char buf[4] = {'a', 'b', 'c', 'd'};
  CHECK(from_cstr(buf, 4) == "abcd");  // no NUL: stops at the array's end
}

TEST_CASE("names: signals, errnos, open flags, TCP states", "[names]") {
  CHECK(model::signal_name(15) == "SIGTERM");
  CHECK(model::signal_name(9) == "SIGKILL");
  CHECK(model::errno_name(13) == "EACCES");
  CHECK(model::errno_name(111) == "ECONNREFUSED");
  CHECK(model::open_flags(01 | 0100 | 02000) == "O_WRONLY|O_CREAT|O_APPEND");
  CHECK(model::open_flags(0) == "O_RDONLY");
  CHECK(model::tcp_state_name(2) == "SYN_SENT");
  CHECK(model::tcp_state_name(10) == "LISTEN");
}

TEST_CASE("redaction: secret settings, options and URL passwords", "[redact]") {
  CHECK(redact("SECRET_KEY=abc123") == "SECRET_KEY=***");
  CHECK(redact("DJANGO_SECRET_KEY='x y'") == "DJANGO_SECRET_KEY='***'");
  CHECK(redact(R"({"password": "hunter2"})") == R"({"password": "***"})");
  // Prose that names a setting is not a value: diagnosis needs it.
  CHECK(redact("The SECRET_KEY setting must not be empty.") == "The SECRET_KEY setting must not be empty.");
  CHECK(redact("{\"password\": \"hunter2\"}") == "{\"password\": \"***\"}");
  // Prose that names a setting is not a value: diagnosis needs it.
  CHECK(redact("The SECRET_KEY setting must not be empty.") == "The SECRET_KEY setting must not be empty.");
  CHECK(redact("DB_PASSWORD: hunter2") == "DB_PASSWORD: ***");
  CHECK(redact("--password=hunter2") == "--password=***");
  CHECK(redact("psql --password hunter2 -h db") == "psql --password *** -h db");
  CHECK(redact("GITHUB_TOKEN=ghp_123 other") == "GITHUB_TOKEN=*** other");
  CHECK(redact("api_key=1234") == "api_key=***");
  std::string url = redact("DATABASE_URL=postgresql://meats:s3cr3t@db.local:5432/meats");
  CHECK(url == "DATABASE_URL=postgresql://meats:***@db.local:5432/meats");
  CHECK(redact("redis://:pw@127.0.0.1:6379/0") == "redis://:***@127.0.0.1:6379/0");
}

TEST_CASE("redaction leaves ordinary text alone", "[redact]") {
  for (const char* s : {"/var/log/gunicorn/error.log", "exec /usr/bin/python3: python3 -m gunicorn app:app",
                        "connect 127.0.0.1:5432 ECONNREFUSED", "http://example.org/a-b", "KEYBOARD=us"}) {
    CHECK(redact(s) == s);
  }
  CHECK(secret_name("SECRET_KEY"));
  CHECK(secret_name("postgres_password"));
  CHECK_FALSE(secret_name("PATH"));
}
