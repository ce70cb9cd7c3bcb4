// pmtrace doctor on real broken setups: unit files in a temporary unit path,
// real users, files, permissions, a real listening port and a closed one.
#include <arpa/inet.h>
#include <signal.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness.h"
#include "postgres.h"
#include "scenario.h"

using namespace pmtest;

namespace {

const json* check(const Output& o, const std::string& id, const std::string& status) {
  if (o.lines.empty()) return nullptr;
  for (const auto& c : o.lines.back()["checks"])
    if (c["id"] == id && c["status"] == status) return &c;
  return nullptr;
}

std::string text_of(const json* c) { return c ? c->dump() : ""; }

}  // namespace

TEST_CASE("doctor: a broken setup fails each check with its evidence and fix", "[root][doctor]") {
  REQUIRE_ROOT();
  TempDir d;
  const std::string top = d.path();
  mkdir((top + "/units").c_str(), 0755);
  mkdir((top + "/venv").c_str(), 0755);
  mkdir((top + "/venv/bin").c_str(), 0755);
  symlink("/usr/bin/python3.4-removed", (top + "/venv/bin/python").c_str());
  std::ofstream(top + "/venv/bin/gunicorn") << "#!" << top << "/venv/bin/python\n";
  chmod((top + "/venv/bin/gunicorn").c_str(), 0755);
  mkdir((top + "/private").c_str(), 0700);  // root's: nobody cannot enter
  std::ofstream(top + "/meats.env") << "export SECRET_KEY=pm-doctor-secret-1\n"
                                    << "DATABASE_URL=postgresql://meats:pm-doctor-pw@127.0.0.1:" << free_port() << "/m\n";
  Listener taken;
  std::ofstream(top + "/units/meats.service")
      << "[Service]\nUser=nobody\nWorkingDirectory=" << top << "/private\nEnvironmentFile=" << top << "/meats.env\n"
      << "ExecStart=" << top << "/venv/bin/gunicorn -b 127.0.0.1:" << taken.port << " meats.wsgi\n";
  chmod(top.c_str(), 0755);

  auto o = run_pmtrace({"doctor", "meats", "--unit-path", top + "/units", "--json"});
  INFO(o.out << o.err);
  CHECK(o.status == 1);
  REQUIRE(!o.lines.empty());
  CHECK(check(o, "user", "ok"));
  const json* exec = check(o, "exec", "failure");
  REQUIRE(exec);
  CHECK(text_of(exec).find("/usr/bin/python3.4-removed, which does not exist") != std::string::npos);
  CHECK((*exec)["fix"].get<std::string>().find("recreate the virtualenv: python3 -m venv --clear " + top + "/venv") == 0);
  const json* wd = check(o, "working-directory", "failure");
  REQUIRE(wd);
  CHECK((*wd)["title"] == "nobody cannot enter WorkingDirectory=" + top + "/private");
  CHECK(text_of(wd).find("0700 root:root") != std::string::npos);
  const json* env = check(o, "environment-file", "warning");
  REQUIRE(env);
  CHECK((*env)["fix"] == "write line 1 as: SECRET_KEY=***");
  CHECK(check(o, "settings", "warning"));  // SECRET_KEY missing for a Django app
  const json* bind = check(o, "bind", "failure");
  REQUIRE(bind);
  // The holder is named: this test process listens there.
  CHECK((*bind)["title"].get<std::string>().find("127.0.0.1:" + std::to_string(taken.port) + " is already in use by ") == 0);
  CHECK(text_of(bind).find("(pid " + std::to_string(getpid()) + ")") != std::string::npos);
  const json* db = check(o, "database", "failure");
  REQUIRE(db);
  CHECK(text_of(db).find("refused the connection") != std::string::npos);
  // Secrets never in the output.
  CHECK(o.out.find("pm-doctor-secret-1") == std::string::npos);
  CHECK(o.out.find("pm-doctor-pw") == std::string::npos);
}

TEST_CASE("doctor: a correct service passes every check", "[root][doctor]") {
  REQUIRE_GUNICORN();
  TempDir d;
  const std::string top = d.path();
  chmod(top.c_str(), 0755);
  mkdir((top + "/units").c_str(), 0755);
  Listener db;
  std::ofstream(top + "/app.env") << "SECRET_KEY=pm-doctor-ok-key-123\nDATABASE_URL=postgresql://m:pw@127.0.0.1:" << db.port
                                  << "/m?connect_timeout=5\n";
  int port = free_port();
  std::ofstream(top + "/units/app.service")
      << "[Service]\nUser=nobody\nWorkingDirectory=" << kFlaskApp << "\nEnvironmentFile=" << top << "/app.env\n"
      << "ExecStart=/usr/bin/gunicorn -b 127.0.0.1:" << port << " app:app\n";
  auto o = run_pmtrace({"doctor", "app.service", "--unit-path", top + "/units"});
  INFO(o.out << o.err);
  CHECK(o.status == 0);
  CHECK(o.out.find("FAILURE") == std::string::npos);
  CHECK(o.out.find("  warning ") == std::string::npos);
  CHECK(o.out.find("0 failures, 0 warnings") != std::string::npos);
  CHECK(o.out.find("accepts connections") != std::string::npos);
}

TEST_CASE("doctor: an unknown unit is one line and exit 2", "[doctor][errors]") {
  TempDir d;
  auto o = run_pmtrace({"doctor", "nope", "--unit-path", d.path()});
  CHECK(o.status == 2);
  CHECK(o.out.empty());
  CHECK(o.err.find("no unit named nope.service") != std::string::npos);
}

TEST_CASE("doctor: without root it says why and exits 2", "[root][doctor][errors]") {
  REQUIRE_ROOT();
  TempDir d;
  chmod(d.path().c_str(), 0755);
  std::ofstream(d.path() + "/meats.service") << "[Service]\nExecStart=/bin/true\n";
  auto o = run_shell("setpriv --reuid=65534 --regid=65534 --clear-groups " + pmtrace_bin() +
                     " doctor meats --unit-path " + d.path());
  INFO(o.out);
  CHECK(o.out.find("pmtrace doctor needs root") != std::string::npos);
  CHECK(o.out.find("sudo pmtrace doctor meats") != std::string::npos);
  CHECK(o.status == 3);  // cannot check here (no root)
}

namespace {
// Runs pmtrace doctor in a private mount namespace whose /run says systemd is
// PID 1 (/run/systemd/system), with `systemctl` on PATH answering `cat` as
// systemd's does: the files systemd has loaded, each after a "# /path" line.
Output doctor_under_systemd(const std::string& fake_bin, const std::string& unit, const std::string& extra = "") {
  return run_shell("unshare --mount --propagation private sh -c 'mount -t tmpfs tmpfs /run && mkdir -p "
                   "/run/systemd/system && PATH=" + fake_bin + ":$PATH exec " + pmtrace_bin() + " doctor " + unit +
                   " --json " + extra + "'");
}
}  // namespace

TEST_CASE("doctor: where systemd runs, the unit is what systemctl cat says (drop-ins included)", "[root][doctor]") {
  REQUIRE_ROOT();
  TempDir d;
  const std::string top = d.path();
  mkdir((top + "/bin").c_str(), 0755);
  mkdir((top + "/etc").c_str(), 0755);
  // The files systemd loaded live where no unit path points; only systemctl knows them.
  std::ofstream(top + "/etc/meats.service") << "[Service]\nUser=nobody\nExecStart=/bin/sleep 60\n";
  mkdir((top + "/etc/meats.service.d").c_str(), 0755);
  const std::string dropin = top + "/etc/meats.service.d/override.conf";
  std::ofstream(dropin) << "[Service]\nUser=pm-no-such-user-77\n";
  std::ofstream(top + "/bin/systemctl")
      << "#!/bin/sh\n"
      << "[ \"$1\" = cat ] || exit 1\n"
      << "for a; do last=$a; done\n"
      << "if [ \"$last\" != meats.service ]; then echo \"No files found for $last.\" >&2; exit 1; fi\n"
      << "echo '# " << top << "/etc/meats.service'; cat " << top << "/etc/meats.service\n"
      << "echo; echo '# " << dropin << "'; cat " << dropin << "\n";
  chmod((top + "/bin/systemctl").c_str(), 0755);

  auto o = doctor_under_systemd(top + "/bin", "meats");
  INFO(o.out);
  REQUIRE(!o.lines.empty());
  const json& j = o.lines.back();
  CHECK(j["source"] == "systemctl cat");
  CHECK(j["unit_file"] == top + "/etc/meats.service");
  CHECK(j["dropins"] == json::array({dropin}));
  // The drop-in's User= wins, as in systemd: a user that does not exist.
  const json* user = check(o, "user", "failure");
  REQUIRE(user);
  CHECK((*user)["title"] == "User=pm-no-such-user-77 does not exist on this machine");
  CHECK(text_of(user).find(dropin + ":2") != std::string::npos);
  CHECK(o.status == 1);

  // A unit systemd does not know: one line, exit 2.
  auto u = doctor_under_systemd(top + "/bin", "nope");
  INFO(u.out);
  CHECK(u.status == 2);
  CHECK(u.out.find("no unit named nope.service (systemctl cat found no file for it)") != std::string::npos);
}

TEST_CASE("doctor: an app that closes its output at import and hangs is still stopped at --import-timeout",
          "[root][doctor]") {
  REQUIRE_GUNICORN();
  TempDir d;
  const std::string top = d.path();
  mkdir((top + "/units").c_str(), 0755);
  mkdir((top + "/app").c_str(), 0755);
  std::ofstream(top + "/app/quiet.py") << "import os, time\nos.close(1)\nos.close(2)\ntime.sleep(120)\napp = None\n";
  chmod((top + "/app/quiet.py").c_str(), 0644);
  std::ofstream(top + "/units/q.service") << "[Service]\nUser=nobody\nWorkingDirectory=" << top
                                          << "/app\nExecStart=/usr/bin/gunicorn -b 127.0.0.1:" << free_port()
                                          << " quiet:app\n";
  auto t0 = std::chrono::steady_clock::now();
  auto o = run_pmtrace({"doctor", "q", "--unit-path", top + "/units", "--json", "--import-timeout", "2s"}, 60);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO(o.out << o.err);
  const json* imp = check(o, "import", "failure");
  REQUIRE(imp);
  CHECK((*imp)["title"].get<std::string>().find("did not finish importing within 2 s") != std::string::npos);
  CHECK(text_of(imp).find("it was in ") != std::string::npos);  // the system call it sat in (a sleep)
  CHECK(took < 30);  // not the app's 120 s: it was stopped
  CHECK(o.status == 1);
}

namespace {
// A Django unit whose MEDIA_ROOT (from the app's settings) is `media`, run as nobody.
Output doctor_media(const std::string& top, const std::string& name, const std::string& media_line,
                    const std::vector<std::string>& extra = {}) {
  std::ofstream(top + "/" + name + ".env") << "SECRET_KEY=pm-doctor-media-key-1\n"
                                           << "DATABASE_URL=postgresql://m:pw@127.0.0.1:" << refused_port()
                                           << "/m?connect_timeout=2\n"
                                           << media_line << "\n";
  std::ofstream(top + "/units/" + name + ".service")
      << "[Service]\nUser=nobody\nWorkingDirectory=" << kDjangoApp << "\nEnvironmentFile=" << top << "/" << name
      << ".env\nExecStart=/usr/bin/gunicorn -b 127.0.0.1:" << free_port() << " meats.wsgi:application\n";
  std::vector<std::string> args{"doctor", name, "--unit-path", top + "/units", "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_pmtrace(args, 60);
}
}  // namespace

TEST_CASE("doctor: no scripted fix through a symlink, a '..' path or a system directory the app names",
          "[root][doctor][security]") {
  REQUIRE_GUNICORN();
  TempDir d;
  const std::string top = d.path();
  mkdir((top + "/units").c_str(), 0755);
  mkdir((top + "/victim").c_str(), 0700);
  mkdir((top + "/userdir").c_str(), 0755);
  chown((top + "/userdir").c_str(), 65534, 65534);
  symlink((top + "/victim").c_str(), (top + "/userdir/media").c_str());
  struct Case {
    std::string media, why;
  } cases[] = {{top + "/userdir/media", top + "/userdir/media is a symlink (to " + top + "/victim)"},
               {top + "/userdir/../victim", "it has '.' or '..' components"},
               {"/etc/systemd", "it is a system path"}};
  int n = 0;
  for (const auto& c : cases) {
    std::string script = top + "/fix" + std::to_string(n) + ".sh";
    auto o = doctor_media(top, "m" + std::to_string(n++), "MEATS_UPLOADS=" + c.media, {"--fix-script", script});
    INFO(c.media << "\n" << o.out << o.err);
    const json* w = check(o, "writable", "warning");  // uploads fail, the start does not
    REQUIRE(w);
    CHECK((*w)["commands"].empty());
    CHECK((*w)["unit_settings"].empty());
    CHECK((*w)["fix"].get<std::string>().find(c.why) != std::string::npos);
    std::ifstream in(script);
    std::stringstream body;
    body << in.rdbuf();
    CHECK(body.str().find("\nchown") == std::string::npos);
    CHECK(body.str().find("\ninstall") == std::string::npos);
  }
  struct stat st{};
  REQUIRE(stat((top + "/victim").c_str(), &st) == 0);
  CHECK(st.st_uid == 0);
}

TEST_CASE("doctor: a MEDIA_ROOT with newlines cannot put commands in the fix script", "[root][doctor][security]") {
  REQUIRE_GUNICORN();
  TempDir d;
  const std::string top = d.path();
  mkdir((top + "/units").c_str(), 0755);
  const std::string marker = top + "/ran-as-root";
  // A double-quoted value may span lines in an EnvironmentFile=; it ends up in Django's MEDIA_ROOT.
  std::string evil = "MEATS_UPLOADS=\"/var/lib/pm-x\nPMTRACE_EOF\ntouch " + marker + "\ncat >/dev/null <<'Z'\"";
  std::string script = top + "/fix.sh";
  auto o = doctor_media(top, "e", evil, {"--fix-script", script});
  INFO(o.out << o.err);
  const json* w = check(o, "writable", "warning");
  REQUIRE(w);
  CHECK((*w)["unit_settings"].empty());
  CHECK((*w)["fix"].get<std::string>().find("control characters") != std::string::npos);
  auto r = run_capture({"/bin/sh", script});
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(access(marker.c_str(), F_OK) != 0);
  // The text report keeps one line a check.
  auto t = run_pmtrace({"doctor", "e", "--unit-path", top + "/units"}, 60);
  CHECK(t.out.find("\nPMTRACE_EOF") == std::string::npos);
  CHECK(t.out.find("\ntouch ") == std::string::npos);
}

TEST_CASE("doctor: what the app starts at import is killed, even when it leaves the process group",
          "[root][doctor][security]") {
  REQUIRE_GUNICORN();
  TempDir d;
  const std::string top = d.path();
  mkdir((top + "/units").c_str(), 0755);
  mkdir((top + "/app").c_str(), 0755);
  mkdir((top + "/pids").c_str(), 0777);
  chmod((top + "/pids").c_str(), 0777);  // past the umask: nobody writes its pid there
  // One child that setsid()s away and sleeps; the app itself then joins doctor's process group and sleeps.
  std::ofstream(top + "/app/escape.py")
      << "import os, time\n"
      << "if os.fork() == 0:\n    os.setsid()\n    open('" << top << "/pids/child', 'w').write(str(os.getpid()))\n"
      << "    time.sleep(120)\n    os._exit(0)\n"
      << "time.sleep(0.5)\nos.setpgid(0, os.getpgid(os.getppid()))\ntime.sleep(120)\napp = None\n";
  chmod((top + "/app/escape.py").c_str(), 0644);
  std::ofstream(top + "/units/x.service") << "[Service]\nUser=nobody\nWorkingDirectory=" << top
                                          << "/app\nExecStart=/usr/bin/gunicorn -b 127.0.0.1:" << free_port()
                                          << " escape:app\n";
  auto t0 = std::chrono::steady_clock::now();
  auto o = run_pmtrace({"doctor", "x", "--unit-path", top + "/units", "--json", "--import-timeout", "3s"}, 60);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO(o.out << o.err);
  CHECK(check(o, "import", "failure"));
  CHECK(took < 30);
  std::ifstream pidf(top + "/pids/child");
  int child = 0;
  pidf >> child;
  REQUIRE(child > 0);
  usleep(200000);
  CHECK(kill(child, 0) != 0);  // gone
  if (kill(child, 0) == 0) kill(child, SIGKILL);
}

TEST_CASE("doctor: the fix script replaces the file at its name, never writes into someone else's",
          "[root][doctor][security]") {
  REQUIRE_ROOT();
  TempDir d;
  const std::string top = d.path();
  mkdir((top + "/units").c_str(), 0755);
  std::ofstream(top + "/units/s.service") << "[Service]\nUser=nobody\nExecStart=/bin/sleep 60\nRestart=always\n"
                                          << "RestartSec=10\n";
  // A symlink at the name: replaced by the script, its target untouched.
  std::ofstream(top + "/target") << "keep\n";
  symlink((top + "/target").c_str(), (top + "/fix.sh").c_str());
  auto o = run_pmtrace({"doctor", "s", "--unit-path", top + "/units", "--fix-script", top + "/fix.sh"}, 60);
  INFO(o.out << o.err);
  struct stat st{};
  REQUIRE(lstat((top + "/fix.sh").c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK((st.st_mode & 07777) == 0600);
  std::ifstream t(top + "/target");
  std::string keep;
  t >> keep;
  CHECK(keep == "keep");
  // A file someone else owns at the name: refused, one line, exit 2, left as it was.
  std::ofstream(top + "/theirs.sh") << "echo theirs\n";
  chown((top + "/theirs.sh").c_str(), 65534, 65534);
  chmod((top + "/theirs.sh").c_str(), 0666);
  auto r = run_pmtrace({"doctor", "s", "--unit-path", top + "/units", "--fix-script", top + "/theirs.sh"}, 60);
  CHECK(r.status == 2);
  CHECK(r.err.find("belongs to uid 65534") != std::string::npos);
  std::ifstream th(top + "/theirs.sh");
  std::string line;
  std::getline(th, line);
  CHECK(line == "echo theirs");
}

TEST_CASE("doctor: gunicorn behind the shell: sh -c with cd &&, cd semicolon, $VENV, cd \"$(dirname \"$0\")/app\"",
          "[root][doctor]") {
  REQUIRE_GUNICORN();
  TempDir d;
  const std::string top = d.path();
  mkdir((top + "/units").c_str(), 0755);
  auto unit = [&](const std::string& name, const std::string& body) {
    std::ofstream(top + "/units/" + name + ".service") << "[Service]\nUser=nobody\n" << body;
  };
  auto script = [&](const std::string& name, const std::string& body) {
    std::ofstream(top + "/" + name) << "#!/bin/sh\n" << body;
    chmod((top + "/" + name).c_str(), 0755);
    return top + "/" + name;
  };
  auto doctor = [&](const std::string& name) {
    auto o = run_pmtrace({"doctor", name, "--unit-path", top + "/units", "--json"}, 60);
    INFO(o.out << o.err);
    return o;
  };
  // sh -c "cd DIR && exec gunicorn ...": the import runs in DIR and finds the missing module.
  unit("a", "ExecStart=/bin/sh -c \"cd " + kFlaskApp + " && exec /usr/bin/gunicorn -b 127.0.0.1:" +
                std::to_string(free_port()) + " broken_import:app\"\n");
  auto a = doctor("a");
  const json* ai = check(a, "import", "failure");
  REQUIRE(ai);
  CHECK((*ai)["title"].get<std::string>().find("Python module 'rest_framework' is missing") == 0);
  // cd DIR; exec gunicorn, on one line of a script.
  unit("b", "ExecStart=" + script("b.sh", "cd " + kFlaskApp + "; exec /usr/bin/gunicorn -b 127.0.0.1:" +
                                              std::to_string(free_port()) + " app:app\n") + "\n");
  CHECK(check(doctor("b"), "import", "ok"));
  // gunicorn through a shell variable: not claimed missing, the import says why it is not tried.
  unit("c", "WorkingDirectory=" + kFlaskApp + "\nExecStart=" +
                script("c.sh", "VENV=/usr\nexec $VENV/bin/gunicorn -b 127.0.0.1:" + std::to_string(free_port()) + " app:app\n") +
                "\n");
  auto c = doctor("c");
  CHECK(check(c, "exec", "ok"));
  const json* ci = check(c, "import", "skipped");
  REQUIRE(ci);
  CHECK((*ci)["title"].get<std::string>().find("only the wrapper's shell knows") != std::string::npos);
  // cd "$(dirname "$0")/app": the wrapper's own directory.
  mkdir((top + "/app").c_str(), 0755);
  std::filesystem::copy_file(kFlaskApp + "/app.py", top + "/app/app.py");
  chmod((top + "/app/app.py").c_str(), 0644);
  unit("e", "ExecStart=" + script("e.sh", "cd \"$(dirname \"$0\")/app\"\nexec /usr/bin/gunicorn -b 127.0.0.1:" +
                                              std::to_string(free_port()) + " app:app\n") + "\n");
  auto e = doctor("e");
  const json* ei = check(e, "import", "ok");
  REQUIRE(ei);
  CHECK((*ei)["title"].get<std::string>().find(" in " + top + "/app ") != std::string::npos);
}

TEST_CASE("doctor: a template's specifiers (User=%i, EnvironmentFile=%i, LogsDirectory=%p) and env-file wildcards",
          "[root][doctor]") {
  REQUIRE_GUNICORN();
  TempDir d;
  const std::string top = d.path();
  mkdir((top + "/units").c_str(), 0755);
  mkdir((top + "/env.d").c_str(), 0755);
  const std::string prefix = "pmdt" + std::to_string(getpid());
  std::ofstream(top + "/nobody.env") << "SECRET_KEY=pm-doctor-tmpl-key-1\n";
  std::ofstream(top + "/env.d/10-a.env") << "A_SETTING=1\n";
  std::ofstream(top + "/env.d/20-b.env") << "export B_SETTING=2\n";  // a warning shows the file was read
  std::ofstream(top + "/units/" + prefix + "@.service")
      << "[Service]\nUser=%i\nWorkingDirectory=" << kFlaskApp << "\nEnvironmentFile=" << top
      << "/%i.env\nEnvironmentFile=" << top << "/env.d/*.env\nEnvironmentFile=-" << top
      << "/nothing.d/*.env\nLogsDirectory=%p\nExecStart=/usr/bin/gunicorn -b 127.0.0.1:" << free_port()
      << " --access-logfile /var/log/" << prefix << "/access.log app:app\n";
  auto o = run_pmtrace({"doctor", prefix + "@nobody", "--unit-path", top + "/units", "--json"}, 60);
  INFO(o.out << o.err);
  CHECK(check(o, "user", "ok"));
  const json* user = check(o, "user", "ok");
  REQUIRE(user);
  CHECK((*user)["title"].get<std::string>().find("runs as nobody") == 0);
  CHECK(o.out.find(top + "/nobody.env: 1 variables") != std::string::npos);
  CHECK(o.out.find(top + "/env.d/10-a.env: 1 variables") != std::string::npos);
  const json* b = check(o, "environment-file", "warning");
  REQUIRE(b);
  CHECK((*b)["title"].get<std::string>().find(top + "/env.d/20-b.env line 1") == 0);
  CHECK(check(o, "environment-file", "failure") == nullptr);  // "-" and a wildcard matching nothing: fine
  const json* w = check(o, "writable", "ok");
  REQUIRE(w);
  CHECK((*w)["title"].get<std::string>().find("(LogsDirectory=" + prefix + ")") != std::string::npos);
  CHECK(o.status == 0);
  struct stat st{};
  CHECK(stat(("/var/log/" + prefix).c_str(), &st) != 0);  // doctor made nothing
}

TEST_CASE("doctor: IPv6 and inherited binds, and ExecStart=@ naming argv[0]", "[root][doctor]") {
  REQUIRE_GUNICORN();
  TempDir d;
  const std::string top = d.path();
  mkdir((top + "/units").c_str(), 0755);
  // A port held on [::1].
  int held = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_addr = in6addr_loopback;
  REQUIRE(bind(held, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  listen(held, 4);
  socklen_t len = sizeof sa;
  getsockname(held, reinterpret_cast<sockaddr*>(&sa), &len);
  int port = ntohs(sa.sin6_port);
  std::ofstream(top + "/units/v.service") << "[Service]\nUser=nobody\nWorkingDirectory=" << kFlaskApp
                                          << "\nExecStart=@/usr/bin/gunicorn meats-master -b [::1]:" << port
                                          << " -b [::]:80 -b fd://3 app:app\n";
  auto o = run_pmtrace({"doctor", "v", "--unit-path", top + "/units", "--json"}, 60);
  INFO(o.out << o.err);
  close(held);
  // @: argv[0] is a name, the program is gunicorn: the app is imported.
  CHECK(check(o, "import", "ok"));
  int in_use = 0, low_port = 0, inherited = 0;
  for (const auto& c : o.lines.back()["checks"]) {
    if (c["id"] != "bind") continue;
    std::string t = c["title"];
    in_use += c["status"] == "failure" && t.find("[::1]:" + std::to_string(port) + " is already in use by ") == 0;
    low_port += c["status"] == "failure" && t == "nobody may not bind port 80 (below 1024)";
    inherited += c["status"] == "skipped" && t.find("fd://3") != std::string::npos;
  }
  CHECK(in_use == 1);
  CHECK(low_port == 1);
  CHECK(inherited == 1);
}

TEST_CASE("doctor: an import that leaves a process running is done when the import is, an interrupted doctor "
          "leaves nothing behind",
          "[root][doctor][security]") {
  REQUIRE_GUNICORN();
  TempDir d;
  const std::string top = d.path();
  mkdir((top + "/units").c_str(), 0755);
  mkdir((top + "/app").c_str(), 0755);
  mkdir((top + "/pids").c_str(), 0777);
  chmod((top + "/pids").c_str(), 0777);
  // bg: starts a sleeper that keeps the output pipe, imports at once.
  std::ofstream(top + "/app/bg.py") << "import subprocess\nsubprocess.Popen(['sleep', '60'])\napp = None\n";
  // hang: writes its pid, then never finishes importing.
  std::ofstream(top + "/app/hang.py") << "import os, time\nopen('" << top
                                      << "/pids/hang', 'w').write(str(os.getpid()))\ntime.sleep(300)\napp = None\n";
  for (const char* f : {"/app/bg.py", "/app/hang.py"}) chmod((top + f).c_str(), 0644);
  for (const char* name : {"bg", "hang"})
    std::ofstream(top + "/units/" + name + ".service") << "[Service]\nUser=nobody\nWorkingDirectory=" << top
                                                       << "/app\nExecStart=/usr/bin/gunicorn -b 127.0.0.1:" << free_port()
                                                       << " " << name << ":app\n";
  auto t0 = std::chrono::steady_clock::now();
  auto o = run_pmtrace({"doctor", "bg", "--unit-path", top + "/units", "--json", "--import-timeout", "20s"}, 60);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO(o.out << o.err);
  CHECK(check(o, "import", "ok"));
  CHECK(took < 15);  // not the 20 s limit: the sleeper it left is no reason to wait

  Background bg({"doctor", "hang", "--unit-path", top + "/units", "--import-timeout", "120s"});
  int probe = 0;
  for (int i = 0; i < 100 && probe == 0; ++i) {
    usleep(100000);
    std::ifstream(top + "/pids/hang") >> probe;
  }
  REQUIRE(probe > 0);
  pid_t doctor_pid = bg.pid();
  bg.stop(SIGTERM);
  usleep(300000);
  CHECK(kill(probe, 0) != 0);  // the import's process is gone (not left to PID 1)
  if (kill(probe, 0) == 0) kill(probe, SIGKILL);
  auto root = std::string("/sys/fs/cgroup");
  std::ifstream mounts("/proc/mounts");
  for (std::string dev, dir, type, rest; mounts >> dev >> dir >> type && std::getline(mounts, rest);)
    if (type == "cgroup2") root = dir;
  struct stat st{};
  CHECK(stat((root + "/pmtrace-doctor-" + std::to_string(doctor_pid)).c_str(), &st) != 0);  // its cgroup removed
}

TEST_CASE("doctor: a production-style unit behind a wrapper with continuation lines, a venv activated, "
          "SupplementaryGroups= and ${VAR} in ExecStart=",
          "[root][doctor]") {
  REQUIRE_GUNICORN();
  TempDir d;
  const std::string top = d.path();
  mkdir((top + "/units").c_str(), 0755);
  // The code: readable only by the group "staff" (root:staff 0750), as deployments do.
  mkdir((top + "/srv").c_str(), 0750);
  REQUIRE(chown((top + "/srv").c_str(), 0, 50) == 0);  // gid 50: staff on Debian
  std::filesystem::copy_file(kFlaskApp + "/app.py", top + "/srv/app.py");
  chmod((top + "/srv/app.py").c_str(), 0644);
  // A "venv" whose bin/gunicorn is the system one, so the import is real.
  mkdir((top + "/srv/venv").c_str(), 0755);
  mkdir((top + "/srv/venv/bin").c_str(), 0755);
  symlink("/usr/bin/gunicorn", (top + "/srv/venv/bin/gunicorn").c_str());
  std::ofstream(top + "/srv/venv/bin/activate") << "# sourced\n";
  std::ofstream(top + "/start.sh") << "#!/bin/sh\ncd " << top << "/srv\n. venv/bin/activate\nexec gunicorn \\\n"
                                   << "    --workers 2 \\\n    --bind \"$BIND\" \\\n    \"$@\" \\\n    app:app\n";
  chmod((top + "/start.sh").c_str(), 0755);
  std::ofstream(top + "/app.env") << "BIND=127.0.0.1:" << free_port() << "\nLOG_DIR=" << top << "/logs\n";
  std::ofstream(top + "/units/p.service")
      << "[Service]\nUser=nobody\nSupplementaryGroups=staff\nEnvironmentFile=" << top << "/app.env\n"
      << "ExecStart=" << top << "/start.sh --error-logfile ${LOG_DIR}/error.log\n";
  mkdir((top + "/logs").c_str(), 0755);
  REQUIRE(chown((top + "/logs").c_str(), 65534, 65534) == 0);
  auto o = run_pmtrace({"doctor", "p", "--unit-path", top + "/units", "--json"}, 60);
  INFO(o.out << o.err);
  // The wrapper's continued line, its activate and the staff group: the app imports as nobody from the venv.
  const json* imp = check(o, "import", "ok");
  REQUIRE(imp);
  CHECK((*imp)["title"].get<std::string>().find("in " + top + "/srv") != std::string::npos);
  // ${LOG_DIR} expanded from the environment, "$BIND" passed to the wrapper is not a bind doctor can see, but the
  // log path is: nobody owns that directory.
  const json* w = check(o, "writable", "ok");
  REQUIRE(w);
  CHECK((*w)["title"] == "nobody can create --error-logfile " + top + "/logs/error.log");
  CHECK(o.status == 0);
}
