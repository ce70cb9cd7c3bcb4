// target/cgroup.h: finding a cgroup by name or by id in a tree. The id is a
// directory's file handle, so a plain directory tree stands in for
// /sys/fs/cgroup (the real hierarchy is exercised by the systemd bed tests).
#include <stdlib.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "target/cgroup.h"

using pm::target::cgroup_id;
using pm::target::find_cgroup_by_id;
using pm::target::find_cgroup_named;

namespace {
struct Tree {
  std::string root;
  Tree() {
    char tmpl[] = "/tmp/pm-cgtree-XXXXXX";
    REQUIRE(mkdtemp(tmpl));
    root = tmpl;
    for (const char* d : {"/machine.slice", "/machine.slice/c1", "/machine.slice/c1/system.slice",
                          "/machine.slice/c1/system.slice/app.service", "/system.slice",
                          "/system.slice/app.service"})
      REQUIRE(::mkdir((root + d).c_str(), 0755) == 0);
  }
  ~Tree() { std::filesystem::remove_all(root); }
};
}  // namespace

TEST_CASE("find_cgroup_by_id: the directory with that id, however deep, the root itself, none", "[cgroup]") {
  Tree t;
  auto deep = cgroup_id(t.root + "/machine.slice/c1/system.slice/app.service");
  INFO((deep ? std::string() : deep.error().message));
  REQUIRE(deep);  // /tmp's filesystem gives file handles (tmpfs, ext4 and overlayfs do)
  auto found = find_cgroup_by_id(t.root, *deep);
  REQUIRE(found);
  // Not the host's app.service of the same name: the one with that id.
  CHECK(*found == "/machine.slice/c1/system.slice/app.service");
  auto top = cgroup_id(t.root);
  REQUIRE(top);
  CHECK(find_cgroup_by_id(t.root, *top) == std::string());
  CHECK_FALSE(find_cgroup_by_id(t.root, *deep + 1000000));
  // Too deep for the limit: not found rather than wrong.
  CHECK_FALSE(find_cgroup_by_id(t.root, *deep, 2));
}

TEST_CASE("find_cgroup_named: the shallowest of a level first", "[cgroup]") {
  Tree t;
  CHECK(find_cgroup_named(t.root, "app.service") == std::string("/system.slice/app.service"));
  CHECK(find_cgroup_named(t.root, "c1") == std::string("/machine.slice/c1"));
  CHECK_FALSE(find_cgroup_named(t.root, "gone.service"));
}
