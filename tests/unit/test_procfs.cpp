// target/procfs.h: /proc/PID/stat parsing, name matching, and a Procfs over the
// fixture tree tests/fixtures/procfs:
//
//   1   systemd                       ppid 0    0::/init.scope
//   300 python3 /usr/bin/gunicorn ... ppid 1    0::/system.slice/web.service (hybrid file)
//   301 gunicorn (setproctitle argv)  ppid 300  0::/system.slice/web.service
//   302 "my (odd) work)"              ppid 301  no cgroup file
//   310 celery-beat-sch (cut comm)    ppid 1
//   320 sh -c "gunicorn app:app"      ppid 1
//   400 kworker/0:1, empty cmdline    ppid 2 (absent)
//   500 unparsable stat
//   sys/ (not a pid)
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/names.h"
#include "target/procfs.h"

using namespace pm::target;
using Pids = std::vector<std::uint32_t>;
using Strings = std::vector<std::string>;

namespace {

const std::string kRoot = std::string(PM_FIXTURES) + "/procfs";

Pids sorted(Pids v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_CASE("parse_stat: comm may hold spaces and parentheses", "[procfs]") {
  ProcInfo p;
  SECTION("plain") {
    REQUIRE(parse_stat("100 (gunicorn) S 1 100 100 0 -1 4194560", p));
    CHECK(p.pid == 100);
    CHECK(p.comm == "gunicorn");
    CHECK(p.ppid == 1);
  }
  SECTION("spaces and a ')' inside comm: the last ')' ends it") {
    REQUIRE(parse_stat("302 (my (odd) work)) S 301 300 300 0", p));
    CHECK(p.pid == 302);
    CHECK(p.comm == "my (odd) work)");
    CHECK(p.ppid == 301);
  }
  SECTION("a comm that looks like the fields after it") {
    REQUIRE(parse_stat("55 (a) S 999 x) R 66 55 55", p));
    CHECK(p.comm == "a) S 999 x");
    CHECK(p.ppid == 66);
  }
  SECTION("an empty comm") {
    REQUIRE(parse_stat("7 () S 3 7 7", p));
    CHECK(p.comm.empty());
    CHECK(p.ppid == 3);
  }
  SECTION("refused") {
    CHECK_FALSE(parse_stat("", p));
    CHECK_FALSE(parse_stat("500 no parentheses here", p));
    CHECK_FALSE(parse_stat("12 (unclosed S 1", p));
    CHECK_FALSE(parse_stat("x (comm) S 1", p));      // pid is not a number
    CHECK_FALSE(parse_stat("12 (comm) S", p));       // no ppid
    CHECK_FALSE(parse_stat("12 (comm) S one", p));   // ppid is not a number
    CHECK_FALSE(parse_stat("12 )comm( S 1", p));     // ')' before '('
  }
}

TEST_CASE("process_named: comm as the kernel cuts it, argv[0]'s basename, argv[1]'s after an interpreter",
          "[procfs]") {
  const auto name_matches = pm::model::process_named;
  CHECK(name_matches("gunicorn", "gunicorn", {}));
  // TASK_COMM_LEN is 16 with the NUL: the kernel keeps 15 bytes.
  CHECK(name_matches("celery-beat-scheduler", "celery-beat-sch", {}));
  CHECK_FALSE(name_matches("celery-beat-scheduler", "celery-beat-sc", {}));
  CHECK_FALSE(name_matches("celery-beat-scheduler", "celery-beat-sche", {}));
  // the interpreter runs the script: python3 /usr/bin/gunicorn
  CHECK(name_matches("gunicorn", "python3", {"python3", "/usr/bin/gunicorn", "app:app"}));
  CHECK(name_matches("gunicorn", "python3", {"/srv/venv/bin/gunicorn"}));
  // only the first two arguments count, and only whole basenames
  CHECK_FALSE(name_matches("gunicorn", "sh", {"sh", "-c", "gunicorn"}));
  CHECK_FALSE(name_matches("gunicorn", "python3", {"python3", "-m", "gunicorn"}));
  CHECK_FALSE(name_matches("gun", "gunicorn", {"/usr/bin/gunicorn"}));
  CHECK_FALSE(name_matches("gunicorn", "gunicorn-ex", {"/usr/bin/gunicorn-ex"}));
  CHECK_FALSE(name_matches("", "", {""}));
  // Another program's argument is not the program: attach gunicorn and
  // watch gunicorn pick the same processes.
  CHECK_FALSE(name_matches("gunicorn", "vim", {"vim", "/etc/default/gunicorn"}));
  CHECK_FALSE(name_matches("gunicorn", "pgrep", {"pgrep", "gunicorn"}));
  CHECK(name_matches("celery", "perl", {"perl", "/usr/local/bin/celery"}));
}

TEST_CASE("Procfs: exists, read and list over a fixture root", "[procfs]") {
  Procfs fs(kRoot);
  CHECK(fs.root() == kRoot);
  CHECK(fs.exists(300));
  CHECK(fs.exists(500));  // the directory is there, even if its stat is not readable
  CHECK_FALSE(fs.exists(2));
  CHECK_FALSE(fs.exists(999));

  auto master = fs.read(300);
  REQUIRE(master);
  CHECK(master->pid == 300);
  CHECK(master->ppid == 1);
  CHECK(master->comm == "python3");
  CHECK(master->argv == Strings{"python3", "/usr/bin/gunicorn", "--bind", "127.0.0.1:8000", "app:app"});

  auto odd = fs.read(302);
  REQUIRE(odd);
  CHECK(odd->comm == "my (odd) work)");
  CHECK(odd->ppid == 301);

  auto kthread = fs.read(400);
  REQUIRE(kthread);
  CHECK(kthread->argv.empty());

  CHECK_FALSE(fs.read(500));
  CHECK_FALSE(fs.read(999));

  Pids listed;
  for (const auto& p : fs.list()) listed.push_back(p.pid);
  CHECK(sorted(listed) == Pids{1, 300, 301, 302, 310, 320, 400});  // not 500, not sys/
}

TEST_CASE("Procfs: tree() is a pid and all its descendants", "[procfs]") {
  Procfs fs(kRoot);
  CHECK(sorted(fs.tree(300)) == Pids{300, 301, 302});
  CHECK(sorted(fs.tree(301)) == Pids{301, 302});
  CHECK(fs.tree(302) == Pids{302});
  CHECK(sorted(fs.tree(1)) == Pids{1, 300, 301, 302, 310, 320});  // 400's parent is 2
  CHECK(fs.tree(999).empty());
  CHECK(fs.tree(300).front() == 300);  // the root comes first
}

TEST_CASE("Procfs: by_name() finds comm and argv matches only", "[procfs]") {
  Procfs fs(kRoot);
  CHECK(sorted(fs.by_name("gunicorn")) == Pids{300, 301});  // not 320 (argv[2]), not 500 (unreadable)
  CHECK(fs.by_name("celery-beat-scheduler") == Pids{310});
  CHECK(fs.by_name("python") == Pids{310});  // argv[0] /srv/venv/bin/python; 300's comm is python3
  CHECK(fs.by_name("systemd") == Pids{1});
  CHECK(fs.by_name("nginx").empty());
  CHECK(fs.by_name("").empty());
}

TEST_CASE("Procfs: cgroup_of() reads the cgroup v2 (0::) line", "[procfs]") {
  Procfs fs(kRoot);
  CHECK(fs.cgroup_of(1) == std::optional<std::string>("/init.scope"));
  CHECK(fs.cgroup_of(300) == std::optional<std::string>("/system.slice/web.service"));  // after v1 lines
  CHECK(fs.cgroup_of(301) == std::optional<std::string>("/system.slice/web.service"));
  CHECK_FALSE(fs.cgroup_of(302));  // no cgroup file
  CHECK_FALSE(fs.cgroup_of(999));
}

TEST_CASE("Procfs: a missing root has no processes", "[procfs]") {
  Procfs fs(std::string(PM_FIXTURES) + "/no-such-root");
  CHECK(fs.list().empty());
  CHECK_FALSE(fs.exists(1));
  CHECK(fs.tree(1).empty());
  CHECK(fs.by_name("gunicorn").empty());
}

// /proc/330/cmdline is "python3\0\0gunicorn\0": three arguments, the second
// empty. split() with skip_empty drops it, so argv shifts left and argv[1]
// becomes "gunicorn" (by_name would then match on an argument that was argv[2]).
TEST_CASE("Procfs: read() keeps empty arguments of cmdline", "[procfs]") {
  Procfs fs(std::string(PM_FIXTURES) + "/procfs-empty-arg");
  auto p = fs.read(330);
  REQUIRE(p);
  CHECK(p->argv == Strings{"python3", "", "gunicorn"});
  CHECK(fs.by_name("gunicorn").empty());
}
