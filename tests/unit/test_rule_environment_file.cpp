// environment-file on event sequences shaped like a gunicorn service whose
// unit has EnvironmentFile= lines systemd reads differently from a shell. The
// EnvFileInfo values are built the way Session::add_unit_context builds them:
// the EnvironmentFile= value ("-" prefix = optional), the file's text (absent
// when it cannot be read) parsed by target::parse_env_file.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "analysis/aggregator.h"
#include "analysis/checkpoints.h"
#include "rules/finding.h"
#include "target/envfile.h"

#include "trace_builder.h"

namespace {

constexpr const char* kUnit = "shop.service";
constexpr const char* kEnvPath = "/etc/shop/env";

// What Session::add_unit_context does for one EnvironmentFile= value.
analysis::EnvFileInfo env_file(std::string value, std::optional<std::string> content) {
  analysis::EnvFileInfo info;
  info.unit = kUnit;
  info.optional = !value.empty() && value[0] == '-';
  if (info.optional) value.erase(0, 1);
  info.path = value;
  if (content) {
    info.readable = true;
    auto parsed = target::parse_env_file(*content);
    for (const auto& v : parsed.vars) info.keys.push_back(v.key);
    for (const auto& i : parsed.issues) info.issues.push_back({i.line, i.text, i.key, i.problem, i.corrected});
  }
  return info;
}

// The worker's stderr when Django's settings module reads a variable that is
// not in the environment (gunicorn logs "Exception in worker process" first).
std::string django_key_error(std::uint32_t pid, const std::string& name) {
  return "[2024-06-11 10:00:01 +0000] [" + std::to_string(pid) +
         "] [ERROR] Exception in worker process\n"
         "Traceback (most recent call last):\n"
         "  File \"/srv/shop/venv/lib/python3.11/site-packages/gunicorn/arbiter.py\", line 609, in spawn_worker\n"
         "    worker.init_process()\n"
         "  File \"/srv/shop/venv/lib/python3.11/site-packages/django/conf/__init__.py\", line 185, in __init__\n"
         "    mod = importlib.import_module(self.SETTINGS_MODULE)\n"
         "  File \"/srv/shop/shop/settings.py\", line 23, in <module>\n"
         "    " + name + " = os.environ['" + name + "']\n"
         "  File \"<frozen os>\", line 679, in __getitem__\n"
         "KeyError: '" + name + "'\n";
}

const std::string kMasterHalt =
    "[2024-06-11 10:00:02 +0000] [500] [ERROR] Worker (pid:501) exited with code 3\n"
    "[2024-06-11 10:00:02 +0000] [500] [ERROR] Shutting down: Master\n"
    "[2024-06-11 10:00:02 +0000] [500] [ERROR] Reason: Worker failed to boot.\n";

// gunicorn starts, both workers fail while importing the app, each writing
// `worker_stderr(pid)`, exit 3 (WORKER_BOOT_ERROR) and the master halts with 3.
template <class Stderr>
void workers_fail_to_boot(Trace& t, Stderr worker_stderr) {
  t.task(500, 1, "(gunicorn)");
  t.exec(500, kT0, "/usr/bin/gunicorn", kGunicornArgv, "/usr/bin/python3");
  t.bind(500, kT0 + 380 * kMs, 5, inet("127.0.0.1", 8000));
  t.listen(500, kT0 + 380 * kMs + 20 * kUs, inet("127.0.0.1", 8000));
  t.fork(500, kT0 + 400 * kMs, 501);
  t.fork(500, kT0 + 405 * kMs, 502);
  t.write(501, kT0 + 900 * kMs, 2, worker_stderr(501));
  t.write(502, kT0 + 905 * kMs, 2, worker_stderr(502));
  t.exit(501, kT0 + 910 * kMs, 3 << 8);
  t.signal(501, kT0 + 910 * kMs + 5 * kUs, 500, SIGCHLD, kCldExited);
  t.exit(502, kT0 + 915 * kMs, 3 << 8);
  t.signal(502, kT0 + 915 * kMs + 5 * kUs, 500, SIGCHLD, kCldExited);
  t.write(500, kT0 + 1000 * kMs, 2, kMasterHalt);
  t.exit(500, kT0 + 1100 * kMs, 3 << 8);
}

std::vector<rules::Finding> failures(const std::vector<rules::Finding>& fs) {
  std::vector<rules::Finding> out;
  for (const auto& f : fs)
    if (f.severity == rules::Severity::failure) out.push_back(f);
  return out;
}

const std::string kExplanation =
    "systemd reads EnvironmentFile= with its own rules, not a shell's: no `export`, names of letters, digits and "
    "underscores only, quotes only around a whole value, everything after the first '=' is the value. A line it "
    "cannot read is skipped with only a warning in the journal.";

const std::string kExportSecretProblem =
    "systemd ignores this line: 'export SECRET_KEY' is not a valid variable name (an EnvironmentFile= is not a "
    "shell script: drop 'export'); it logs the whole assignment, value included, as 'Ignoring invalid environment "
    "assignment'";

}  // namespace

TEST_CASE("environment-file: `export SECRET_KEY=` dropped by systemd, then KeyError: 'SECRET_KEY' at boot",
          "[rules][environment-file][envfile-rule]") {
  Trace t;
  t.agg.add_env_file(env_file(kEnvPath, "export SECRET_KEY=abc\nDATABASE_URL=postgres://u:p@db/x\n"));
  // What the parser made of the file, as the session stores it.
  const auto& info = t.agg.env_files().at(0);
  REQUIRE(info.keys == std::vector<std::string>{"DATABASE_URL"});
  REQUIRE(info.issues.size() == 1);
  REQUIRE(info.issues[0].key == "SECRET_KEY");

  workers_fail_to_boot(t, [](std::uint32_t pid) { return django_key_error(pid, "SECRET_KEY"); });

  auto f = rules::environment_file(t.agg);
  REQUIRE(f.size() == 1);  // both workers missed it: one finding
  CHECK(f[0].severity == rules::Severity::failure);
  CHECK(f[0].rank == rules::rank::unit_setting);
  CHECK(f[0].ts_ns == kT0);
  CHECK(f[0].title == "SECRET_KEY is missing in the service: systemd does not read /etc/shop/env line 1 as meant");
  INFO(facts_text(f[0]));
  REQUIRE(f[0].facts.size() == 3);
  CHECK(f[0].facts[0] == "/etc/shop/env line 1: export SECRET_KEY=abc");
  CHECK(f[0].facts[1] == kExportSecretProblem);
  CHECK(f[0].facts[2] == "the application failed over SECRET_KEY (see its traceback)");
  CHECK(f[0].explanation == kExplanation);
  CHECK(f[0].fix == "write line 1 of /etc/shop/env as: SECRET_KEY=abc (then systemctl restart shop.service)");

  // The root cause before gunicorn's own report of the boot failure.
  auto all = rules::run_rules(t.agg);
  INFO(titles(all));
  REQUIRE(all.size() == 2);
  CHECK(all[0].rule == "environment-file");
  CHECK(all[0].title == f[0].title);
  CHECK(all[1].rule == "gunicorn-boot-failure");
  CHECK(all[1].title == "gunicorn worker failed to boot (exit code 3): KeyError: 'SECRET_KEY'");
}

TEST_CASE("environment-file: `DATABASE_URL==postgres://...` and Django's ImproperlyConfigured naming DATABASE_URL",
          "[rules][environment-file][envfile-rule]") {
  Trace t;
  t.agg.add_env_file(env_file(kEnvPath, "SECRET_KEY=abc\nDATABASE_URL==postgres://u:p@db:5432/shop\n"));
  const auto& info = t.agg.env_files().at(0);
  REQUIRE(info.keys == std::vector<std::string>{"SECRET_KEY", "DATABASE_URL"});  // systemd does set it, to "=postgres..."
  REQUIRE(info.issues.size() == 1);

  workers_fail_to_boot(t, [](std::uint32_t pid) {
    return "[2024-06-11 10:00:01 +0000] [" + std::to_string(pid) +
           "] [ERROR] Exception in worker process\n"
           "Traceback (most recent call last):\n"
           "  File \"/srv/shop/shop/settings.py\", line 31, in <module>\n"
           "    DATABASES = {\"default\": database_from_env()}\n"
           "  File \"/srv/shop/shop/settings.py\", line 18, in database_from_env\n"
           "    raise ImproperlyConfigured(\"DATABASE_URL is not a valid database url\")\n"
           "django.core.exceptions.ImproperlyConfigured: DATABASE_URL is not a valid database url\n";
  });

  auto f = rules::environment_file(t.agg);
  INFO(titles(f));
  REQUIRE(f.size() == 1);
  CHECK(f[0].severity == rules::Severity::failure);
  CHECK(f[0].rank == rules::rank::unit_setting);
  // systemd does set it (to "=postgres://..."): the wrong value, not a missing one.
  CHECK(f[0].title ==
        "DATABASE_URL has the wrong value in the service: systemd does not read /etc/shop/env line 2 as meant");
  INFO(facts_text(f[0]));
  REQUIRE(f[0].facts.size() == 3);
  CHECK(f[0].facts[0] == "/etc/shop/env line 2: DATABASE_URL==postgres://u:p@db:5432/shop");
  CHECK(f[0].facts[1] ==
        "systemd sets DATABASE_URL to a value that starts with '=' (only the first '=' separates name and value)");
  CHECK(f[0].facts[2] ==
        "the application failed over DATABASE_URL (see its traceback); systemd did set it, to something else than "
        "the line says");
  CHECK(f[0].fix ==
        "write line 2 of /etc/shop/env as: DATABASE_URL=postgres://u:p@db:5432/shop (then systemctl restart "
        "shop.service)");

  auto all = rules::run_rules(t.agg);
  INFO(titles(all));
  REQUIRE(all.size() == 2);
  CHECK(all[0].rule == "environment-file");
  CHECK(all[1].rule == "gunicorn-boot-failure");
}

TEST_CASE("environment-file: an env-file issue the app did not miss is a warning only", "[rules][environment-file][envfile-rule]") {
  Trace t;
  t.agg.add_env_file(env_file(kEnvPath, "SECRET_KEY=abc\nexport DEBUG=0\n"));
  gunicorn_boot(t);  // both workers heartbeat: the app imported
  t.accept(501, kT0 + 3 * kS, 10, inet("127.0.0.1", 50312));

  auto f = rules::environment_file(t.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].severity == rules::Severity::warning);
  CHECK(f[0].rank == rules::rank::incidental);
  CHECK(f[0].title ==
        "/etc/shop/env line 2: systemd ignores this line: 'export DEBUG' is not a valid variable name (an "
        "EnvironmentFile= is not a shell script: drop 'export'); it logs the whole assignment, value included, as "
        "'Ignoring invalid environment assignment'");
  INFO(facts_text(f[0]));
  REQUIRE(f[0].facts.size() == 2);  // no "failed for want of"
  CHECK(f[0].facts[0] == "/etc/shop/env line 2: export DEBUG=0");
  CHECK(f[0].fix == "write line 2 of /etc/shop/env as: DEBUG=0 (then systemctl restart shop.service)");

  auto all = rules::run_rules(t.agg);
  INFO(titles(all));
  CHECK(failures(all).empty());
  REQUIRE(all.size() == 1);
  CHECK(all[0].rule == "environment-file");
}

TEST_CASE("environment-file: a required EnvironmentFile= that is missing is a failure", "[rules][environment-file][envfile-rule]") {
  Trace t;
  t.agg.add_env_file(env_file(kEnvPath, std::nullopt));
  // systemd refuses to start the unit: only the operator's systemctl runs.
  t.task(900, 880, "bash", 0, 1);
  t.exec(900, kT0, "/usr/bin/systemctl", {"systemctl", "start", "shop.service"});
  t.write(900, kT0 + 40 * kMs, 2,
          "Job for shop.service failed because of unavailable resources or another system error.\n");
  t.exit(900, kT0 + 41 * kMs, 1 << 8);

  auto f = rules::environment_file(t.agg);
  REQUIRE(f.size() == 1);
  CHECK(f[0].severity == rules::Severity::failure);
  auto reported = rules::run_rules(t.agg);  // the rank its PM_RULE declares
  REQUIRE_FALSE(reported.empty());
  CHECK(reported[0].rule == "environment-file");
  CHECK(reported[0].rank == rules::rank::unit_setting);
  CHECK(f[0].title == "EnvironmentFile /etc/shop/env of shop.service cannot be read");
  CHECK(f[0].fix ==
        "create /etc/shop/env (readable by root), or write EnvironmentFile=-/etc/shop/env if the file is optional");
  CHECK(contains(f[0].explanation, "result 'resources'"));
}

TEST_CASE("environment-file: a missing optional (-) EnvironmentFile= is nothing", "[rules][environment-file][envfile-rule]") {
  Trace t;
  t.agg.add_env_file(env_file(kEnvPath, "SECRET_KEY=abc\nDATABASE_URL=postgres://u:p@db/x\n"));
  t.agg.add_env_file(env_file("-/etc/shop/env.local", std::nullopt));
  REQUIRE(t.agg.env_files().at(1).optional);
  REQUIRE(t.agg.env_files().at(1).path == "/etc/shop/env.local");
  gunicorn_boot(t);

  CHECK(rules::environment_file(t.agg).empty());
}

TEST_CASE("environment-file: a KeyError for a name no EnvironmentFile= sets, and the service failed",
          "[rules][environment-file][envfile-rule]") {
  Trace t;
  t.agg.add_env_file(env_file(kEnvPath, "SECRET_KEY=abc\nDATABASE_URL=postgres://u:p@db/x\n"));
  REQUIRE(t.agg.env_files().at(0).issues.empty());
  workers_fail_to_boot(t, [](std::uint32_t pid) { return django_key_error(pid, "STRIPE_API_KEY"); });

  auto f = rules::environment_file(t.agg);
  INFO(titles(f));
  REQUIRE(f.size() == 1);
  CHECK(f[0].severity == rules::Severity::failure);
  CHECK(f[0].rank == rules::rank::before_exec);
  CHECK(f[0].ts_ns == kT0);
  CHECK(f[0].title == "STRIPE_API_KEY is missing in the service: no EnvironmentFile= of shop.service sets it");
  CHECK(f[0].explanation == "The application reads STRIPE_API_KEY from its environment and failed without it.");
  CHECK(f[0].fix == "add STRIPE_API_KEY=... to /etc/shop/env (then systemctl restart shop.service)");

  auto all = rules::run_rules(t.agg);
  INFO(titles(all));
  REQUIRE(all.size() == 2);
  CHECK(all[0].rule == "environment-file");
  CHECK(all[1].rule == "gunicorn-boot-failure");
}

TEST_CASE("environment-file: the same KeyError in a service that did not fail is nothing", "[rules][environment-file][envfile-rule]") {
  Trace t;
  t.agg.add_env_file(env_file(kEnvPath, "SECRET_KEY=abc\nDATABASE_URL=postgres://u:p@db/x\n"));
  gunicorn_boot(t);
  t.accept(501, kT0 + 3 * kS, 10, inet("127.0.0.1", 50312));
  // A request handler's 500: the worker logs the traceback and keeps serving.
  t.write(501, kT0 + 3 * kS + 8 * kMs, 2,
          "Internal Server Error: /checkout/\nTraceback (most recent call last):\n"
          "  File \"/srv/shop/shop/payments.py\", line 12, in charge\n"
          "    key = os.environ['STRIPE_API_KEY']\n"
          "KeyError: 'STRIPE_API_KEY'\n");

  CHECK(rules::environment_file(t.agg).empty());
  CHECK(failures(rules::run_rules(t.agg)).empty());
}

TEST_CASE("environment-file: no EnvironmentFile= at all: nothing from this rule, even with a KeyError",
          "[rules][environment-file][envfile-rule]") {
  Trace t;
  workers_fail_to_boot(t, [](std::uint32_t pid) { return django_key_error(pid, "SECRET_KEY"); });
  CHECK(rules::environment_file(t.agg).empty());

  auto all = rules::run_rules(t.agg);
  INFO(titles(all));
  REQUIRE(all.size() == 1);
  CHECK(all[0].rule == "gunicorn-boot-failure");
}

// Bug probes: names the rule takes for missing settings that are not.

// Django's own message for an empty DATABASES (what a settings module built on
// dj-database-url raises when DATABASE_URL was lost): DATABASES and ENGINE are
// Django settings keys, not environment variables, yet every capitalised word
// of an ImproperlyConfigured message is read as a variable the app missed.
TEST_CASE("environment-file: Django's 'Please supply the ENGINE value' names no environment variable",
          "[rules][environment-file][envfile-rule]") {
  Trace t;
  t.agg.add_env_file(env_file(kEnvPath, "SECRET_KEY=abc\nexport DATABASE_URL=postgres://u:p@db/x\n"));
  workers_fail_to_boot(t, [](std::uint32_t pid) {
    return "[2024-06-11 10:00:01 +0000] [" + std::to_string(pid) +
           "] [ERROR] Exception in worker process\n"
           "Traceback (most recent call last):\n"
           "  File \"/srv/shop/venv/lib/python3.11/site-packages/django/db/backends/dummy/base.py\", line 20, in "
           "complain\n"
           "    raise ImproperlyConfigured(\n"
           "django.core.exceptions.ImproperlyConfigured: settings.DATABASES is improperly configured. Please supply "
           "the ENGINE value. Check settings documentation for more details.\n";
  });

  auto f = rules::environment_file(t.agg);
  INFO(titles(f));
  for (const auto& x : f) {
    CHECK_FALSE(contains(x.title, "ENGINE is missing in the service"));
    CHECK_FALSE(contains(x.title, "DATABASES is missing in the service"));
  }
  REQUIRE(f.size() == 1);  // the `export DATABASE_URL=` line only
  CHECK(contains(f[0].title, "/etc/shop/env line 2"));
}

// A variable the app read successfully shows in any traceback through that
// line: here DATABASE_URL (set by Environment= in the unit, so in no env
// file) is read fine and the connect to the database is refused.
TEST_CASE("environment-file: os.environ['X'] in a traceback that ends in another error is no missing X",
          "[rules][environment-file][envfile-rule]") {
  Trace t;
  t.agg.add_env_file(env_file(kEnvPath, "SECRET_KEY=abc\n"));
  workers_fail_to_boot(t, [](std::uint32_t pid) {
    return "[2024-06-11 10:00:01 +0000] [" + std::to_string(pid) +
           "] [ERROR] Exception in worker process\n"
           "Traceback (most recent call last):\n"
           "  File \"/srv/shop/shop/db.py\", line 9, in <module>\n"
           "    engine = create_engine(os.environ['DATABASE_URL']).connect()\n"
           "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server at \"db\" "
           "(10.0.0.5), port 5432 failed: Connection refused\n";
  });

  auto f = rules::environment_file(t.agg);
  INFO(titles(f));
  CHECK(f.empty());
}
