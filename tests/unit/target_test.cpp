// /proc, units, cgroup and tracefs discovery against fixture trees.
#include <catch2/catch.hpp>
#include <algorithm>

#include "sources/environment.h"
#include "target/cgroup.h"
#include "target/procfs.h"
#include "target/unit.h"

using namespace pm::target;

namespace {
const std::string kFixtures = PM_FIXTURES;
}

TEST_CASE("procfs: stat lines with spaces and parentheses in comm", "[procfs]") {
  ProcInfo p;
  REQUIRE(parse_stat("102 (odd) name)) R 101 100 100 0", p));
  CHECK(p.pid == 102);
  CHECK(p.comm == "odd) name)");
  CHECK(p.ppid == 101);
  CHECK_FALSE(parse_stat("garbage", p));
  CHECK_FALSE(parse_stat("12 (x)", p));
}

TEST_CASE("procfs: names match comm (truncated to 15) or argv[0]/argv[1] basenames", "[procfs]") {
  CHECK(name_matches("gunicorn", "gunicorn", {}));
  CHECK(name_matches("gunicorn", "python3", {"/usr/bin/python3", "/usr/bin/gunicorn", "app:app"}));
  CHECK(name_matches("averyveryverylongname", "averyveryveryl", {}) == false);  // 14 chars: not the kernel's cut
  CHECK(name_matches("averyveryverylongname", "averyveryverylo", {}));          // the kernel keeps 15
  CHECK_FALSE(name_matches("gunicorn", "python3", {"python3", "-m", "gunicorn"}));
  CHECK_FALSE(name_matches("", "", {}));
}

TEST_CASE("procfs: a fixture tree", "[procfs]") {
  Procfs fs(kFixtures + "/proc-tree");
  CHECK(fs.exists(100));
  CHECK_FALSE(fs.exists(999));
  auto tree = fs.tree(100);
  std::sort(tree.begin(), tree.end());
  CHECK(tree == std::vector<std::uint32_t>{100, 101, 102});
  CHECK(fs.tree(999).empty());
  auto g = fs.by_name("gunicorn");
  std::sort(g.begin(), g.end());
  CHECK(g == std::vector<std::uint32_t>{100, 101});
  CHECK(fs.cgroup_of(100) == std::optional<std::string>("/system.slice/projectmeats.service"));
  CHECK_FALSE(fs.cgroup_of(200));
  auto info = fs.read(100);
  REQUIRE(info);
  CHECK(info->argv == std::vector<std::string>{"/usr/bin/python3", "/usr/bin/gunicorn", "app:app"});
}

TEST_CASE("units: names, slices, systemctl command lines", "[unit]") {
  CHECK(normalize_unit_name("projectmeats") == "projectmeats.service");
  CHECK(normalize_unit_name("web.socket") == "web.socket");
  CHECK(has_unit_suffix("a.service"));
  CHECK_FALSE(has_unit_suffix("gunicorn"));
  CHECK(slice_to_path("system.slice") == "/system.slice");
  CHECK(slice_to_path("a-b-c.slice") == "/a.slice/a-b.slice/a-b-c.slice");
  CHECK(slice_to_path("-.slice") == "");
  CHECK(slice_from_unit_text("[Service]\nSlice=web.slice\nUser=x\n") == "web.slice");
  CHECK(slice_from_unit_text("[Service]\nUser=x\n") == "");
  CHECK(units_started_by({"systemctl", "start", "a", "b.service"}) ==
        std::vector<std::string>{"a.service", "b.service"});
  CHECK(units_started_by({"/bin/systemctl", "--no-block", "restart", "x.service"}) ==
        std::vector<std::string>{"x.service"});
  CHECK(units_started_by({"systemctl", "status", "x"}).empty());
  CHECK(units_started_by({"service", "x", "start"}).empty());
}

TEST_CASE("units: resolved from unit files, a cgroup, or refused", "[unit]") {
  UnitEnv env;
  env.root = kFixtures + "/units";
  env.unit_paths = {"/etc/systemd/system"};
  env.systemd_running = false;
  std::string cg2 = kFixtures + "/cgroup2";

  auto u = resolve_unit("projectmeats", env, cg2);
  REQUIRE(u.ok());
  CHECK(u->name == "projectmeats.service");
  CHECK(u->cgroup == "/system.slice/projectmeats.service");
  CHECK(u->source == "unit file");

  auto s = resolve_unit("sliced.service", env, cg2);
  REQUIRE(s.ok());
  CHECK(s->cgroup == "/custom.slice/custom-web.slice/sliced.service");

  auto t = resolve_unit("transient", env, cg2);
  REQUIRE(t.ok());
  CHECK(t->source == "cgroup");
  CHECK(t->cgroup == "/system.slice/transient.service");

  auto bad = resolve_unit("nosuch", env, cg2);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("no unit named nosuch.service") != std::string::npos);
  CHECK(bad.error().message.find("systemctl list-unit-files") != std::string::npos);
  CHECK_FALSE(resolve_unit("../etc/passwd", env, cg2).ok());
}

TEST_CASE("mount table: cgroup2 and tracefs, wherever they are", "[env]") {
  const std::string hybrid =
      "tmpfs /sys/fs/cgroup tmpfs rw 0 0\ncgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n"
      "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n";
  const std::string unified = "cgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate 0 0\n";
  CHECK(find_cgroup2_mount(hybrid) == "/sys/fs/cgroup/unified");
  CHECK(find_cgroup2_mount(unified) == "/sys/fs/cgroup");
  CHECK(find_cgroup2_mount("proc /proc proc rw 0 0\n") == "");
  CHECK(pm::sources::find_tracefs("tracefs /sys/kernel/tracing tracefs rw 0 0\n") == "/sys/kernel/tracing");
  CHECK(pm::sources::find_tracefs("debugfs /sys/kernel/debug debugfs rw 0 0\n") == "/sys/kernel/debug/tracing");
  CHECK(pm::sources::find_tracefs(unified) == "");
}
