// target/cgroup.h find_cgroup2_mount / cgroup2_mount and sources/environment.h
// find_tracefs over /proc/mounts texts (tests/fixtures/mounts/<kind>/proc/mounts).
#include <catch2/catch.hpp>
#include <string>

#include "sources/environment.h"
#include "target/cgroup.h"

using pm::sources::find_tracefs;
using pm::target::cgroup2_mount;
using pm::target::find_cgroup2_mount;

namespace {

const std::string kHybrid =
    "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n"
    "tmpfs /sys/fs/cgroup tmpfs ro,nosuid,nodev,noexec,mode=755 0 0\n"
    "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0\n"
    "cgroup /sys/fs/cgroup/systemd cgroup rw,nosuid,nodev,noexec,relatime,xattr,name=systemd 0 0\n"
    "cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,nodev,noexec,relatime,memory 0 0\n"
    "debugfs /sys/kernel/debug debugfs rw,nosuid,nodev,noexec,relatime 0 0\n";

const std::string kUnified =
    "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n"
    "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0\n"
    "tracefs /sys/kernel/tracing tracefs rw,nosuid,nodev,noexec,relatime 0 0\n";

const std::string kNone =
    "proc /proc proc rw 0 0\n"
    "cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n";

const std::string kFixtures = PM_FIXTURES;

}  // namespace

TEST_CASE("find_cgroup2_mount: hybrid, unified, none", "[mounts]") {
  CHECK(find_cgroup2_mount(kHybrid) == "/sys/fs/cgroup/unified");
  CHECK(find_cgroup2_mount(kUnified) == "/sys/fs/cgroup");
  CHECK(find_cgroup2_mount(kNone) == "");
  CHECK(find_cgroup2_mount("") == "");
}

TEST_CASE("find_cgroup2_mount: the filesystem type decides, not the device name", "[mounts]") {
  CHECK(find_cgroup2_mount("none /mnt/unified cgroup2 rw 0 0\n") == "/mnt/unified");
  CHECK(find_cgroup2_mount("cgroup2 /mnt/v1 cgroup rw,cpu 0 0\n") == "");
  CHECK(find_cgroup2_mount("cgroup2\n/sys/fs/cgroup\n") == "");  // too few fields
  // the first cgroup2 mount is the one used
  CHECK(find_cgroup2_mount("cgroup2 /a cgroup2 rw 0 0\ncgroup2 /b cgroup2 rw 0 0\n") == "/a");
}

TEST_CASE("find_tracefs: tracefs, or debugfs's tracing directory, or nothing", "[mounts]") {
  CHECK(find_tracefs(kUnified) == "/sys/kernel/tracing");
  CHECK(find_tracefs(kHybrid) == "/sys/kernel/debug/tracing");  // only debugfs
  CHECK(find_tracefs(kNone) == "");
  CHECK(find_tracefs("") == "");
  // tracefs wins over debugfs wherever the lines are
  CHECK(find_tracefs("debugfs /sys/kernel/debug debugfs rw 0 0\n"
                     "tracefs /sys/kernel/tracing tracefs rw 0 0\n") == "/sys/kernel/tracing");
  CHECK(find_tracefs("tracefs /sys/kernel/debug/tracing tracefs rw 0 0\n"
                     "debugfs /sys/kernel/debug debugfs rw 0 0\n") == "/sys/kernel/debug/tracing");
  CHECK(find_tracefs("nodev /mnt/trace tracefs rw 0 0\n") == "/mnt/trace");
}

TEST_CASE("cgroup2_mount: reads root/proc/mounts and prefixes the root", "[mounts]") {
  auto hybrid = cgroup2_mount(kFixtures + "/mounts/hybrid");
  REQUIRE(hybrid.ok());
  CHECK(*hybrid == kFixtures + "/mounts/hybrid/sys/fs/cgroup/unified");

  auto unified = cgroup2_mount(kFixtures + "/mounts/unified");
  REQUIRE(unified.ok());
  CHECK(*unified == kFixtures + "/mounts/unified/sys/fs/cgroup");

  auto none = cgroup2_mount(kFixtures + "/mounts/none");
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message.find("no cgroup v2 hierarchy is mounted") != std::string::npos);
  CHECK_FALSE(none.error().hint.empty());

  auto missing = cgroup2_mount(kFixtures + "/mounts/no-such-dir");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("failed to read") != std::string::npos);
}
