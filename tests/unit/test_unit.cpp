// target/unit.h: unit names, slices, systemctl command lines, and resolving a
// unit without systemd over the fixture tree tests/fixtures/unit-tree:
//
//   etc/systemd/system/api.service        Slice=custom.slice
//   etc/systemd/system/worker.service     no Slice= (a commented one)
//   etc/systemd/system/spaced.service     "Slice = spaced.slice"
//   lib/systemd/system/api.service        Slice=vendor.slice (shadowed by etc/)
//   lib/systemd/system/vendoronly.service Slice=vendor-web.slice
//   cgroup2/system.slice/adhoc.service/   a cgroup with no unit file
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "target/unit.h"

using namespace pm::target;
using Strings = std::vector<std::string>;

namespace {

const std::string kRoot = std::string(PM_FIXTURES) + "/unit-tree";
const std::string kCgroup2 = kRoot + "/cgroup2";

UnitEnv fixture_env(Strings paths = {"/etc/systemd/system"}) {
  UnitEnv env;
  env.root = kRoot;
  env.unit_paths = std::move(paths);
  env.systemd_running = false;
  return env;
}

bool has(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("normalize_unit_name and has_unit_suffix", "[unit]") {
  CHECK(normalize_unit_name("web") == "web.service");
  CHECK(normalize_unit_name("web.service") == "web.service");
  CHECK(normalize_unit_name("web.socket") == "web.socket");
  CHECK(normalize_unit_name("session-3.scope") == "session-3.scope");
  CHECK(normalize_unit_name("app@1") == "app@1.service");
  CHECK(normalize_unit_name("web.conf") == "web.conf.service");  // not a unit suffix

  for (const char* n : {"a.service", "a.scope", "a.slice", "a.socket", "a.target", "a.timer", "a.mount", "a.path"}) {
    INFO(n);
    CHECK(has_unit_suffix(n));
  }
  CHECK_FALSE(has_unit_suffix("gunicorn"));
  CHECK_FALSE(has_unit_suffix("a.service.d"));
  CHECK_FALSE(has_unit_suffix("service"));
}

TEST_CASE("slice_to_path: each dash adds a parent slice", "[unit]") {
  CHECK(slice_to_path("system.slice") == "/system.slice");
  CHECK(slice_to_path("a-b-c.slice") == "/a.slice/a-b.slice/a-b-c.slice");
  CHECK(slice_to_path("user-1000.slice") == "/user.slice/user-1000.slice");
  CHECK(slice_to_path("-.slice") == "");  // the root slice
  CHECK(slice_to_path("") == "");
}

TEST_CASE("slice_from_unit_text: the last Slice= wins, comments do not count", "[unit]") {
  CHECK(slice_from_unit_text("[Service]\nSlice=custom.slice\nUser=x\n") == "custom.slice");
  CHECK(slice_from_unit_text("[Service]\nUser=x\nExecStart=/bin/true\n") == "");
  CHECK(slice_from_unit_text("[Service]\nSlice=a.slice\nSlice=b.slice\n") == "b.slice");
  CHECK(slice_from_unit_text("[Service]\n  Slice=indented.slice  \r\n") == "indented.slice");
  CHECK(slice_from_unit_text("[Service]\n#Slice=commented.slice\n;Slice=also.slice\n") == "");
  CHECK(slice_from_unit_text("[Service]\nSlice=a.slice\nSlice=\n") == "");  // an empty value resets it
  CHECK(slice_from_unit_text("") == "");
}

// systemd's parser strips white space around '=' ("Slice = x.slice" is valid);
// only "Slice=" at the start of the line is recognized, so such a unit is
// placed in system.slice and the wrong cgroup is watched.
TEST_CASE("slice_from_unit_text: white space around '='", "[unit]") {
  CHECK(slice_from_unit_text("[Service]\nSlice = spaced.slice\n") == "spaced.slice");
  auto u = resolve_unit("spaced", fixture_env(), kCgroup2);
  REQUIRE(u.ok());
  CHECK(u->cgroup == "/spaced.slice/spaced.service");
}

TEST_CASE("units_started_by: systemctl start/restart lines only", "[unit]") {
  CHECK(units_started_by({"systemctl", "start", "a", "b"}) == Strings{"a.service", "b.service"});
  CHECK(units_started_by({"systemctl", "--no-block", "restart", "x.service"}) == Strings{"x.service"});
  CHECK(units_started_by({"/usr/bin/systemctl", "restart", "--no-block", "web", "web.socket"}) ==
        Strings{"web.service", "web.socket"});
  CHECK(units_started_by({"systemctl", "reload-or-restart", "api"}) == Strings{"api.service"});
  CHECK(units_started_by({"systemctl", "try-restart", "api"}) == Strings{"api.service"});
  CHECK(units_started_by({"systemctl", "status", "x"}).empty());
  CHECK(units_started_by({"systemctl", "stop", "x"}).empty());
  CHECK(units_started_by({"systemctl", "start"}).empty());
  CHECK(units_started_by({"service", "x", "start"}).empty());
  CHECK(units_started_by({"/bin/notsystemctl", "start", "x"}).empty());
  CHECK(units_started_by({}).empty());
}

TEST_CASE("resolve_unit: from a unit file, with and without Slice=", "[unit]") {
  UnitEnv env = fixture_env();

  auto api = resolve_unit("api", env, kCgroup2);
  REQUIRE(api.ok());
  CHECK(api->name == "api.service");
  CHECK(api->cgroup == "/custom.slice/api.service");
  CHECK(api->unit_file == kRoot + "/etc/systemd/system/api.service");
  CHECK(api->source == "unit file");

  auto worker = resolve_unit("worker.service", env, kCgroup2);
  REQUIRE(worker.ok());
  CHECK(worker->name == "worker.service");
  CHECK(worker->cgroup == "/system.slice/worker.service");
  CHECK(worker->source == "unit file");
}

TEST_CASE("resolve_unit: the first directory of the search path wins", "[unit]") {
  UnitEnv env = fixture_env({"/etc/systemd/system", "/lib/systemd/system"});
  auto api = resolve_unit("api", env, "");
  REQUIRE(api.ok());
  CHECK(api->cgroup == "/custom.slice/api.service");
  CHECK(api->unit_file == kRoot + "/etc/systemd/system/api.service");

  auto vendor = resolve_unit("vendoronly", env, "");
  REQUIRE(vendor.ok());
  CHECK(vendor->cgroup == "/vendor.slice/vendor-web.slice/vendoronly.service");
  CHECK(vendor->unit_file == kRoot + "/lib/systemd/system/vendoronly.service");

  // with only /etc on the path, the vendor unit is unknown
  CHECK_FALSE(resolve_unit("vendoronly", fixture_env(), "").ok());
}

TEST_CASE("resolve_unit: a unit known only by its cgroup", "[unit]") {
  auto u = resolve_unit("adhoc", fixture_env(), kCgroup2);
  REQUIRE(u.ok());
  CHECK(u->name == "adhoc.service");
  CHECK(u->cgroup == "/system.slice/adhoc.service");
  CHECK(u->source == "cgroup");
  CHECK(u->unit_file.empty());

  // without a cgroup2 root to look in, it is unknown
  CHECK_FALSE(resolve_unit("adhoc", fixture_env(), "").ok());
}

TEST_CASE("resolve_unit: unknown and invalid names are errors that say what to do", "[unit]") {
  auto bad = resolve_unit("ghost", fixture_env(), kCgroup2);
  REQUIRE_FALSE(bad.ok());
  const std::string& msg = bad.error().message;
  CHECK(has(msg, "no unit named ghost.service"));
  CHECK(has(msg, "systemctl list-unit-files"));
  CHECK(has(msg, "/etc/systemd/system"));  // where it looked

  auto path = resolve_unit("../../etc/passwd", fixture_env(), kCgroup2);
  REQUIRE_FALSE(path.ok());
  CHECK(has(path.error().message, "not a valid unit name"));
  CHECK_FALSE(resolve_unit(std::string(300, 'a'), fixture_env(), kCgroup2).ok());
}
