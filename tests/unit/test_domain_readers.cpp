// The one reader of each piece of domain knowledge that several layers need:
// #! lines, NUL-separated argument lists, /proc/PID/cgroup, a unit's
// EnvironmentFile= files.
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <fstream>
#include <string>
#include <vector>

#include "target/cgroup.h"
#include "target/envfile.h"
#include "target/unit_file.h"
#include "util/strings.h"
#include "tmpdir.h"

using namespace std::string_literals;

namespace {

using Dir = pmtest::TmpDir;

pm::target::UnitFile unit_with(const std::string& text) {
  pm::target::UnitFile u;
  u.name = "meats@blue.service";
  u.settings = pm::target::parse_unit_text(text, "/etc/systemd/system/meats@.service");
  return u;
}

}  // namespace

TEST_CASE("read_shebang: the first line within the 256 bytes the kernel reads", "[domain][shebang]") {
  Dir d;
  CHECK(pm::read_shebang(d.put("s", "#!/usr/bin/python3 -u\nprint(1)\n")) == "#!/usr/bin/python3 -u");
  // CRLF: the carriage return is part of what the kernel looks up.
  CHECK(pm::read_shebang(d.put("crlf", "#!/bin/sh\r\necho\r\n")) == "#!/bin/sh\r");
  CHECK(pm::shebang_interpreter(pm::read_shebang(d.path + "/crlf")) == "/bin/sh\r");
  // A line longer than 256 bytes is cut where the kernel stops reading.
  std::string long_line = "#!/" + std::string(400, 'p') + "\nrest\n";
  CHECK(pm::read_shebang(d.put("long", long_line)).size() == 256);
  CHECK(pm::read_shebang(d.put("bin", "\x7f" "ELF\x02\x01")) == "");
  CHECK(pm::read_shebang(d.put("empty", "")) == "");
  CHECK(pm::read_shebang(d.path + "/missing") == "");
  CHECK(pm::read_shebang(d.path) == "");  // a directory
}

TEST_CASE("split_args: NUL-separated arguments, empty ones kept, a cut last one kept", "[domain][cmdline]") {
  using V = std::vector<std::string>;
  CHECK(pm::split_args("gunicorn\0-b\0:8000\0"s) == V{"gunicorn", "-b", ":8000"});
  CHECK(pm::split_args("a\0\0b\0"s) == V{"a", "", "b"});
  CHECK(pm::split_args("python3\0-c\0imp"s) == V{"python3", "-c", "imp"});
  CHECK(pm::split_args("") == V{});
  CHECK(pm::split_args("\0"s) == V{""});
}

TEST_CASE("parse_proc_cgroup: v2 and v1 lines, a path holding ':'", "[domain][cgroup]") {
  auto lines = pm::target::parse_proc_cgroup("12:memory:/system.slice/a.service\n0::/system.slice/b:c.service\nbad\n");
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].hierarchy == "12");
  CHECK(lines[0].controllers == "memory");
  CHECK(lines[0].path == "/system.slice/a.service");
  CHECK_FALSE(lines[0].v2());
  CHECK(lines[1].v2());
  CHECK(lines[1].path == "/system.slice/b:c.service");
  CHECK(pm::target::parse_proc_cgroup("").empty());
}

TEST_CASE("read_environment_files: specifiers, wildcards in order, optional and missing files", "[domain][envfile]") {
  Dir d;
  d.put("b.env", "B=2\n");
  d.put("a.env", "A=1\nexport C=3\n");
  d.put("blue.conf", "COLOR=blue\n");
  auto u = unit_with("[Service]\nEnvironmentFile=" + d.path + "/*.env\nEnvironmentFile=-" + d.path +
                     "/nothere\nEnvironmentFile=" + d.path + "/%i.conf\nEnvironmentFile=" + d.path +
                     "/gone\nEnvironmentFile=" + d.path + "/none*.env\nEnvironmentFile=-" + d.path + "/none*.opt\n");
  auto files = pm::target::read_environment_files(u);
  REQUIRE(files.size() == 7);
  CHECK(files[0].path == d.path + "/a.env");
  CHECK(files[0].readable);
  CHECK(files[0].parsed.vars.size() == 1);  // export C=3 is ignored by systemd
  CHECK(files[0].parsed.issues.size() == 1);
  CHECK(files[1].path == d.path + "/b.env");
  CHECK(files[2].optional);
  CHECK_FALSE(files[2].readable);
  CHECK(files[2].err == ENOENT);
  CHECK(files[3].path == d.path + "/blue.conf");  // %i of meats@blue.service
  CHECK(files[3].parsed.vars.at(0).value == "blue");
  CHECK_FALSE(files[4].readable);
  CHECK_FALSE(files[4].optional);
  // A wildcard that matches nothing: systemd fails the start unless it is optional.
  CHECK(files[5].path == d.path + "/none*.env");
  CHECK_FALSE(files[5].readable);
  CHECK_FALSE(files[5].optional);
  CHECK(files[6].optional);
  REQUIRE(files[0].setting);
  CHECK(files[0].setting->line == 2);

  // Read under a root (a container's /proc/PID/root): paths stay as the unit sees them.
  auto in_root = unit_with("[Service]\nEnvironmentFile=/*.env\n");
  auto rooted = pm::target::read_environment_files(in_root, "root", d.path);
  REQUIRE(rooted.size() == 2);
  CHECK(rooted[0].path == "/a.env");
  CHECK(rooted[0].readable);
  // An empty assignment resets the list, as in systemd.
  auto reset = unit_with("[Service]\nEnvironmentFile=/x\nEnvironmentFile=\nEnvironmentFile=-/y\n");
  auto after = pm::target::read_environment_files(reset);
  REQUIRE(after.size() == 1);
  CHECK(after[0].path == "/y");
}
