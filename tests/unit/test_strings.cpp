// util/strings.h: splitting, trimming, numbers, durations, byte escaping.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "util/strings.h"

using pm::escape_bytes;
using pm::from_cstr;
using pm::parse_duration_ms;
using pm::parse_int;
using pm::split;
using pm::trim;
using Strings = std::vector<std::string>;

TEST_CASE("split: empty fields skipped or kept", "[strings]") {
  CHECK(split("a,b,,c", ',') == Strings{"a", "b", "c"});
  CHECK(split("a,b,,c", ',', false) == Strings{"a", "b", "", "c"});
  CHECK(split(",a,", ',') == Strings{"a"});
  CHECK(split(",a,", ',', false) == Strings{"", "a", ""});
  CHECK(split("abc", ',') == Strings{"abc"});
  CHECK(split("", ',').empty());
  CHECK(split("", ',', false) == Strings{""});
  CHECK(split(",,", ',').empty());
  CHECK(split(",,", ',', false) == Strings{"", "", ""});
  // NUL-separated, as /proc/PID/cmdline is
  CHECK(split(std::string("a\0b\0", 4), '\0') == Strings{"a", "b"});
}

TEST_CASE("trim: spaces, tabs, CR and LF at both ends only", "[strings]") {
  CHECK(trim("  x y \n") == "x y");
  CHECK(trim("\t\r\nvalue\r\n") == "value");
  CHECK(trim("inner  space") == "inner  space");
  CHECK(trim("   ") == "");
  CHECK(trim("") == "");
}

TEST_CASE("parse_int: whole decimal numbers only", "[strings]") {
  CHECK(parse_int("42") == 42);
  CHECK(parse_int(" 42\n") == 42);
  CHECK(parse_int("-17") == -17);
  CHECK(parse_int("0") == 0);
  CHECK_FALSE(parse_int(""));
  CHECK_FALSE(parse_int("   "));
  CHECK_FALSE(parse_int("42x"));
  CHECK_FALSE(parse_int("x42"));
  CHECK_FALSE(parse_int("4 2"));
  CHECK_FALSE(parse_int("0x10"));
  CHECK_FALSE(parse_int("1.5"));
  CHECK_FALSE(parse_int("99999999999999999999"));  // out of range
}

TEST_CASE("parse_duration_ms: seconds by default, ms, minutes, hours", "[strings]") {
  CHECK(parse_duration_ms("1.5s") == 1500);
  CHECK(parse_duration_ms("300ms") == 300);
  CHECK(parse_duration_ms("2m") == 120000);
  CHECK(parse_duration_ms("2min") == 120000);
  CHECK(parse_duration_ms("1h") == 3600000);
  CHECK(parse_duration_ms("10") == 10000);
  CHECK(parse_duration_ms("0.5") == 500);
  CHECK(parse_duration_ms(" 3s ") == 3000);
  CHECK(parse_duration_ms("0") == 0);

  CHECK_FALSE(parse_duration_ms(""));
  CHECK_FALSE(parse_duration_ms("soon"));
  CHECK_FALSE(parse_duration_ms("s"));
  CHECK_FALSE(parse_duration_ms("5x"));
  CHECK_FALSE(parse_duration_ms("5 s"));
  CHECK_FALSE(parse_duration_ms("1.2.3s"));
  CHECK_FALSE(parse_duration_ms("-1s"));
  CHECK_FALSE(parse_duration_ms("."));
}

// 1.001 is not exact in binary: 1.001 * 1000 == 1000.9999999999999, and the
// conversion truncates it to 1000 instead of rounding to 1001.
TEST_CASE("parse_duration_ms: decimal seconds round to the nearest ms", "[strings]") {
  CHECK(parse_duration_ms("1.001s") == 1001);
}

TEST_CASE("escape_bytes: control characters escaped, text and UTF-8 kept", "[strings]") {
  CHECK(escape_bytes("plain text") == "plain text");
  CHECK(escape_bytes("a\nb\tc\rd") == "a\\nb\\tc\\rd");
  CHECK(escape_bytes("back\\slash") == "back\\\\slash");
  CHECK(escape_bytes(std::string("\x01\x1b[0m\x7f", 6)) == "\\x01\\x1b[0m\\x7f");
  CHECK(escape_bytes(std::string("nul\0here", 8)) == "nul\\x00here");
  CHECK(escape_bytes("caf\xc3\xa9") == "caf\xc3\xa9");
  CHECK(escape_bytes("") == "");
}

TEST_CASE("from_cstr: up to the first NUL or the end of the array", "[strings]") {
  const char with_nul[8] = {'p', 'y', '\0', 'x', 'x', 'x', 'x', 'x'};
  CHECK(from_cstr(with_nul, sizeof with_nul) == "py");
  const char full[4] = {'a', 'b', 'c', 'd'};
  CHECK(from_cstr(full, sizeof full) == "abcd");
  CHECK(from_cstr(full, 2) == "ab");
  CHECK(from_cstr(full, 0) == "");
  const char empty[3] = {'\0', 'z', 'z'};
  CHECK(from_cstr(empty, sizeof empty) == "");
}

TEST_CASE("starts_with, ends_with, join", "[strings]") {
  CHECK(pm::starts_with("systemctl", "system"));
  CHECK_FALSE(pm::starts_with("sys", "system"));
  CHECK(pm::ends_with("web.service", ".service"));
  CHECK_FALSE(pm::ends_with("service", ".service"));
  CHECK(pm::join({"a", "b", "c"}, ", ") == "a, b, c");
  CHECK(pm::join({}, ":") == "");
}

TEST_CASE("basename_of and shebang_interpreter", "[strings]") {
  CHECK(pm::basename_of("/usr/bin/gunicorn") == "gunicorn");
  CHECK(pm::basename_of("gunicorn") == "gunicorn");
  CHECK(pm::shebang_interpreter("#!/srv/venv/bin/python3") == "/srv/venv/bin/python3");
  CHECK(pm::shebang_interpreter("#! /usr/bin/env python3") == "/usr/bin/env");
  CHECK(pm::shebang_interpreter("#!/usr/bin/python3 -u") == "/usr/bin/python3");
  CHECK(pm::shebang_interpreter("#!/usr/bin/python3\r") == "/usr/bin/python3\r");  // CRLF kept, as the kernel reads it
  CHECK(pm::shebang_interpreter("import os").empty());
}
