// target/unit_file.h: unit files and drop-ins read with systemd's syntax,
// ExecStart= quoting and prefixes, specifiers.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "tmpdir.h"
#include <cstdlib>
#include <fstream>
#include <string>

#include "target/unit_file.h"

using namespace pm::target;

namespace {
struct Tree {
  pmtest::TmpDir dir{"pm-units"};
  std::string root = dir.path;
  void write(const std::string& rel, const std::string& text) const { dir.put(rel.substr(1), text); }
  UnitEnv env() const {
    UnitEnv e;
    e.root = root;
    e.unit_paths = {"/etc/systemd/system", "/lib/systemd/system"};
    return e;
  }
};
}  // namespace

TEST_CASE("unit files: sections, comments, continuation lines, whitespace around '='", "[unit_file]") {
  std::vector<std::string> issues;
  auto s = parse_unit_text(
      "# comment\n[Unit]\nDescription = meats \n\n[Service]\n; also a comment\n"
      "ExecStart=/srv/venv/bin/gunicorn \\\n  --workers 3 \\\n# in between\n  meats.wsgi\n"
      "Environment=A=1\nbogus line\n[Broken\n",
      "/u/meats.service", &issues);
  REQUIRE(s.size() == 3);
  CHECK(s[0].section == "Unit");
  CHECK(s[0].key == "Description");
  CHECK(s[0].value == "meats");
  CHECK(s[1].key == "ExecStart");
  CHECK(s[1].value == "/srv/venv/bin/gunicorn  --workers 3  meats.wsgi");
  CHECK(s[1].line == 7);
  CHECK(s[2].value == "A=1");
  REQUIRE(issues.size() == 2);
  CHECK(issues[0] == "/u/meats.service:12: missing '=', line ignored");
  CHECK(issues[1] == "/u/meats.service:13: invalid section header");
}

TEST_CASE("unit files: drop-ins override in file-name order, an empty assignment resets a list", "[unit_file]") {
  Tree t;
  t.write("/lib/systemd/system/meats.service",
          "[Service]\nUser=meats\nEnvironmentFile=/etc/meats/a.env\nEnvironmentFile=-/etc/meats/b.env\n");
  t.write("/lib/systemd/system/meats.service.d/10-vendor.conf", "[Service]\nTimeoutStartSec=30\n");
  t.write("/etc/systemd/system/meats.service.d/20-local.conf", "[Service]\nUser=www-data\nEnvironmentFile=\nEnvironmentFile=/etc/meats/prod.env\n");
  t.write("/etc/systemd/system/meats.service.d/10-vendor.conf", "[Service]\nTimeoutStartSec=90\n");  // hides /lib's
  t.write("/etc/systemd/system/meats.service.d/notes.txt", "[Service]\nUser=nobody\n");             // not a .conf
  auto u = load_unit_file("meats", t.env());
  REQUIRE(u);
  CHECK(u->name == "meats.service");
  CHECK(u->path == t.root + "/lib/systemd/system/meats.service");
  REQUIRE(u->dropins.size() == 2);
  CHECK(u->dropins[0] == t.root + "/etc/systemd/system/meats.service.d/10-vendor.conf");
  CHECK(u->last("Service", "User")->value == "www-data");
  CHECK(u->last("Service", "TimeoutStartSec")->value == "90");
  auto envs = u->list("Service", "EnvironmentFile");
  REQUIRE(envs.size() == 1);
  CHECK(envs[0]->value == "/etc/meats/prod.env");
  CHECK(envs[0]->file == t.root + "/etc/systemd/system/meats.service.d/20-local.conf");
}

TEST_CASE("unit files: the first directory of the search path wins, templates, masked, missing", "[unit_file]") {
  Tree t;
  t.write("/lib/systemd/system/meats.service", "[Service]\nUser=vendor\n");
  t.write("/etc/systemd/system/meats.service", "[Service]\nUser=admin\n");
  t.write("/lib/systemd/system/worker@.service", "[Service]\nExecStart=/srv/bin/worker %i\n");
  t.write("/lib/systemd/system/worker@.service.d/x.conf", "[Service]\nUser=w\n");
  auto u = load_unit_file("meats.service", t.env());
  REQUIRE(u);
  CHECK(u->last("Service", "User")->value == "admin");
  auto w = load_unit_file("worker@3.service", t.env());
  REQUIRE(w);
  CHECK(w->path == t.root + "/lib/systemd/system/worker@.service");
  CHECK(w->last("Service", "User")->value == "w");
  ::symlink("/dev/null", (t.root + "/etc/systemd/system/old.service").c_str());
  auto m = load_unit_file("old", t.env());
  REQUIRE_FALSE(m);
  CHECK(m.error().message.find("is masked") != std::string::npos);
  auto none = load_unit_file("nope", t.env());
  REQUIRE_FALSE(none);
  CHECK(none.error().message.find("no unit named nope.service") == 0);
  CHECK(none.error().hint.find("systemctl list-unit-files") != std::string::npos);
}

TEST_CASE("ExecStart=: prefixes, quoting, escapes, @argv0", "[unit_file]") {
  auto c = parse_exec("-/srv/venv/bin/gunicorn --bind \"127.0.0.1:8000\" --access-logformat '%%(h)s %%(r)s' app:app",
                      "meats.service");
  REQUIRE(c);
  CHECK(c->ignore_failure);
  CHECK(c->path == "/srv/venv/bin/gunicorn");
  CHECK(c->argv == std::vector<std::string>{"/srv/venv/bin/gunicorn", "--bind", "127.0.0.1:8000",
                                             "--access-logformat", "%(h)s %(r)s", "app:app"});
  auto a = parse_exec("@/usr/bin/python3 gunicorn-meats -m gunicorn a\\ b \"x\\ty\" \\x41", "m.service");
  REQUIRE(a);
  CHECK(a->path == "/usr/bin/python3");
  CHECK(a->argv == std::vector<std::string>{"gunicorn-meats", "-m", "gunicorn", "a b", "x\ty", "A"});
  auto p = parse_exec("+:/bin/true", "m.service");
  REQUIRE(p);
  CHECK(p->privileged);
  CHECK(p->no_env_expand);
  CHECK_FALSE(parse_exec("/bin/echo \"unbalanced", "m.service"));
  CHECK_FALSE(parse_exec("   ", "m.service"));
  CHECK_FALSE(parse_exec("@/bin/true", "m.service"));
  CHECK_FALSE(parse_exec("/bin/echo \\q", "m.service"));
}

TEST_CASE("specifiers: unit name parts, directories, unknown ones refused", "[unit_file]") {
  CHECK(*expand_specifiers("%n %N %p %i", "worker@web-1.service") == "worker@web-1.service worker@web-1 worker web-1");
  CHECK(*expand_specifiers("%I %f", "backup@srv-data.service") == "srv/data /srv/data");
  CHECK(*expand_specifiers("%j %J", "a-b-c.service") == "c c");
  CHECK(*expand_specifiers("%t/%N.sock %L/%p %S %C %E %T %V %%", "meats.service") ==
        "/run/meats.sock /var/log/meats /var/lib /var/cache /etc /tmp /var/tmp %");
  CHECK(*expand_specifiers("%u %U %h %G", "m.service", "root") == "root 0 /root 0");
  auto bad = expand_specifiers("%q", "m.service");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("unknown specifier %q") != std::string::npos);
  CHECK_FALSE(expand_specifiers("50%", "m.service"));
}
