// util/redact.h: secret values and URL passwords replaced by "***", the rest
// of the text kept as it was.
#include <catch2/catch.hpp>
#include <string>

#include "util/redact.h"

using pm::redact;
using pm::secret_name;

namespace {
bool has(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }
}  // namespace

TEST_CASE("redact: NAME=value assignments of secret-looking names", "[redact]") {
  CHECK(redact("SECRET_KEY=abc") == "SECRET_KEY=***");
  CHECK(redact("env SECRET_KEY=abc gunicorn app:app") == "env SECRET_KEY=*** gunicorn app:app");
  CHECK(redact("GITHUB_TOKEN=ghp_16C7e42F292c6912E7710c838347Ae178B4a") == "GITHUB_TOKEN=***");
  CHECK(redact("API_KEY=k-123") == "API_KEY=***");
  CHECK(redact("STRIPE_API_KEY=sk_live_abc") == "STRIPE_API_KEY=***");
  CHECK(redact("aws_secret_access_key = wJalrXUtnFEMI") == "aws_secret_access_key = ***");
  CHECK(redact("DB_PASSWD=x1 DB_USER=meats") == "DB_PASSWD=*** DB_USER=meats");
}

TEST_CASE("redact: option values, with '=' or after white space", "[redact]") {
  CHECK(redact("--password=x") == "--password=***");
  CHECK(redact("--password x") == "--password ***");
  CHECK(redact("mysqladmin --password s3cr3t --host db") == "mysqladmin --password *** --host db");
  CHECK(redact("celery --broker-password=pw worker") == "celery --broker-password=*** worker");
  CHECK(redact("--api-key abcd") == "--api-key ***");
}

TEST_CASE("redact: YAML/JSON style settings keep their quotes", "[redact]") {
  CHECK(redact(R"(DJANGO_DB_PASSWORD: "x")") == R"(DJANGO_DB_PASSWORD: "***")");
  CHECK(redact("DJANGO_DB_PASSWORD: 'hunter2'") == "DJANGO_DB_PASSWORD: '***'");
  CHECK(redact(R"({"password":"hunter2","user":"meats"})") == R"({"password":"***","user":"meats"})");
  CHECK(redact("{'api_key': 'abc def', 'debug': True}") == "{'api_key': '***', 'debug': True}");
}

TEST_CASE("redact: URL passwords go, user and host stay", "[redact]") {
  std::string r = redact("DATABASE_URL=postgres://user:pw@host/db");
  CHECK(r == "DATABASE_URL=postgres://user:***@host/db");
  CHECK_FALSE(has(r, ":pw@"));
  CHECK(has(r, "user"));
  CHECK(has(r, "@host/db"));

  CHECK(redact("CELERY_BROKER_URL=amqp://guest:guest@rabbit:5672//") ==
        "CELERY_BROKER_URL=amqp://guest:***@rabbit:5672//");
  CHECK(redact("connecting to mysql://root:Pa55:word@10.0.0.2:3306/app") ==
        "connecting to mysql://root:***@10.0.0.2:3306/app");
  // No password part: nothing to hide.
  CHECK(redact("https://user@example.org/x") == "https://user@example.org/x");
  CHECK(redact("http://example.org:8080/path?q=1") == "http://example.org:8080/path?q=1");
}

TEST_CASE("redact: text without secrets is unchanged", "[redact]") {
  for (const char* s : {
           "/var/log/app.log",
           "/var/log/gunicorn/error.log",
           "open failed EACCES /var/log/app.log (O_WRONLY|O_CREAT|O_APPEND)",
           "gunicorn --bind 0.0.0.0:8000 --workers 4 app:app",
           "ModuleNotFoundError: No module named 'flask'",
           "KeyError: 'SECRET_KEY'",
           "django.core.exceptions.ImproperlyConfigured: The SECRET_KEY setting must not be empty.",
           "KEYBOARD=us LANG=C.UTF-8",
           "",
       }) {
    CHECK(redact(s) == s);
  }
}

TEST_CASE("redact: several secrets in one text", "[redact]") {
  std::string r = redact("SECRET_KEY=k1 DATABASE_URL=postgres://u:p2@db/x --password p3");
  CHECK(r == "SECRET_KEY=*** DATABASE_URL=postgres://u:***@db/x --password ***");
}

// Django's generated keys come from "abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*(-_=+)":
// most 50-character keys hold a '&'. The bare value stops at '&' (meant for
// query strings), so everything after the first '&' is printed.
TEST_CASE("redact: a secret value holding '&' is hidden whole", "[redact]") {
  std::string r = redact("SECRET_KEY=django-insecure-k3(x&9v+w^2z");
  CHECK_FALSE(has(r, "9v+w^2z"));
  CHECK(r == "SECRET_KEY=***");
}

TEST_CASE("secret_name: which names hold secrets", "[redact]") {
  for (const char* n : {"SECRET_KEY", "DJANGO_SECRET_KEY", "DB_PASSWORD", "postgres_password", "GITHUB_TOKEN",
                        "API_KEY", "api-key", "apikey", "AWS_SECRET_ACCESS_KEY", "private_key", "passphrase",
                        "GOOGLE_APPLICATION_CREDENTIALS"}) {
    INFO(n);
    CHECK(secret_name(n));
  }
  for (const char* n : {"PATH", "HOME", "DATABASE_URL", "KEYBOARD", "MONKEY", "DEBUG", ""}) {
    INFO(n);
    CHECK_FALSE(secret_name(n));
  }
}

TEST_CASE("redact: quoted values are hidden whole, prose naming a setting is kept", "[redact]") {
  CHECK(pm::redact("DJANGO_SECRET_KEY='x y'") == "DJANGO_SECRET_KEY='***'");
  CHECK(pm::redact(R"({"password": "hunter2"})") == R"({"password": "***"})");
  // Diagnosis needs the message; there is no value in it.
  CHECK(pm::redact("The SECRET_KEY setting must not be empty.") == "The SECRET_KEY setting must not be empty.");
}

TEST_CASE("redact_argv: assignments, options taking the next argument, URLs", "[redact]") {
  std::vector<std::string> in{"gunicorn", "--env", "SECRET_KEY=a b c", "--password", "hunter2",
                              "postgres://u:pw@db/x", "--workers", "3"};
  std::vector<std::string> want{"gunicorn", "--env", "SECRET_KEY=***", "--password", "***",
                                "postgres://u:***@db/x", "--workers", "3"};
  CHECK(pm::redact_argv(in) == want);
}

// std::regex recursed once per character matched (a 28 KB value overflowed
// the stack) and backtracked quadratically; the scanners are linear.
TEST_CASE("redact: megabyte values and names, fast and without a crash", "[redact][hostile]") {
  const std::string big(1u << 20, 'a');
  CHECK(redact("SECRET_KEY=" + big) == "SECRET_KEY=***");
  CHECK(redact("--password " + big) == "--password ***");
  CHECK(redact("password=\"" + big) == "password=\"***\"");
  CHECK(redact("postgres://u:" + big + "@h/db") == "postgres://u:***@h/db");
  CHECK(pm::secret_name(big + "_TOKEN"));
  CHECK_FALSE(pm::secret_name(big));
  std::string words;
  for (int i = 0; i < 100000; ++i) words += "token-";
  CHECK(redact("token " + words).size() > 0);
  CHECK(pm::redact_argv({"x", big, "--api-key", big}) == std::vector<std::string>{"x", big, "--api-key", "***"});
}

TEST_CASE("redact: a URL password with '@' or '/' in it is hidden whole", "[redact]") {
  CHECK(pm::redact("postgres://meats:p@ss/w0rd@127.0.0.1:5432/meats") == "postgres://meats:***@127.0.0.1:5432/meats");
  CHECK(pm::redact("DATABASE_URL=postgresql://u:pa/ss@db/x ok") == "DATABASE_URL=postgresql://u:***@db/x ok");
  CHECK(pm::redact("\"postgresql://u:pw@h/db\" and 'x'") == "\"postgresql://u:***@h/db\" and 'x'");
  CHECK(pm::redact("postgres://app:pa'ss9word@127.0.0.1/db") == "postgres://app:***@127.0.0.1/db");
  CHECK(pm::redact("DATABASE_URL=postgresql://app:pa\"ss9word@127.0.0.1:5432/db") ==
        "DATABASE_URL=postgresql://app:***@127.0.0.1:5432/db");
  CHECK(pm::redact("http://host:8080/path no at here") == "http://host:8080/path no at here");
  // Many schemes in one long word without '@' stay linear (no rescans to the end of the word).
  std::string w;
  for (int i = 0; i < 20000; ++i) w += "a://b:";
  CHECK(pm::redact(w) == w);
}

TEST_CASE("redact: secret segments of a name (DB_PASS, STRIPE_KEY, MYSQL_PWD), not parts of words", "[redact]") {
  CHECK(pm::secret_name("DB_PASS"));
  CHECK(pm::secret_name("STRIPE_KEY"));
  CHECK(pm::secret_name("MYSQL_PWD"));
  CHECK(pm::secret_name("key"));
  CHECK(pm::secret_name("pass-phrase"));
  CHECK_FALSE(pm::secret_name("BYPASS_CACHE"));
  CHECK_FALSE(pm::secret_name("KEYBOARD_LAYOUT"));
  CHECK_FALSE(pm::secret_name("PASSENGERS"));
  CHECK(pm::redact("export DB_PASS=hunter2hunter2") == "export DB_PASS=***");
  CHECK(pm::redact("STRIPE_KEY=sk_live_abcdef123456") == "STRIPE_KEY=***");
  CHECK(pm::redact("BYPASS_CACHE=yes") == "BYPASS_CACHE=yes");
  // The shell's working directory is no password: a learned "PWD" value hid
  // every path under the directory pmtrace was started in.
  CHECK_FALSE(pm::secret_name("PWD"));
  CHECK_FALSE(pm::secret_name("OLDPWD"));
  CHECK(pm::redact("PWD=/work/main OLDPWD=/root") == "PWD=/work/main OLDPWD=/root");
  pm::learn_secrets_from_environ(std::string("PWD=/srv/projectmeats\0OLDPWD=/root\0", 35));
  CHECK(pm::redact("/srv/projectmeats/app.py") == "/srv/projectmeats/app.py");
}

TEST_CASE("redact: systemd's words about credentials keep their errno text and the settings they name",
          "[redact]") {
  // systemd reporting an errno after a colon: no password there.
  CHECK(pm::redact("app.service: Failed to set up credentials: Protocol error") ==
        "app.service: Failed to set up credentials: Protocol error");
  CHECK(pm::redact("Failed to determine user credentials: No such process") ==
        "Failed to determine user credentials: No such process");
  // A password that only begins like one is still hidden.
  CHECK(pm::redact("password: Permission_denied") == "password: ***");
  CHECK(pm::redact("password: hunter2") == "password: ***");
  // Prose naming settings: no value follows them.
  CHECK(pm::redact("(LoadCredential=, SetCredential=) failed") == "(LoadCredential=, SetCredential=) failed");
  // Where a credential is loaded from is no secret; a value set in the unit is.
  CHECK(pm::redact("LoadCredential=db:/etc/meats/db-password") == "LoadCredential=db:/etc/meats/db-password");
  CHECK(pm::redact("SetCredential=db:hunter2") == "SetCredential=***");
  CHECK(pm::redact("DB_PASSWORD=,x") == "DB_PASSWORD=***");
}

TEST_CASE("redact: a path ending in a secret-looking name is no option", "[redact]") {
  CHECK(redact("create /etc/meats/db-password (the source)") == "create /etc/meats/db-password (the source)");
  CHECK(redact("LoadCredential=db-password:/etc/meats/db-password api-token") ==
        "LoadCredential=db-password:/etc/meats/db-password api-token");
  CHECK(redact("run --db-password hunter2") == "run --db-password ***");
  CHECK(redact("'--db-password' 'hunter2'") == "'--db-password' '***'");
}
