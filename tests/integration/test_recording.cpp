// Recordings of real captures: secrets never in any output or in the file,
// a pmtrace killed mid-capture leaves a readable recording, and bad
// recordings get one line and exit 2 from `pmtrace explain`.
#include <signal.h>
#include <sys/stat.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <thread>

#include "harness.h"
#include "scenario.h"

using namespace pmtest;
using namespace std::chrono_literals;

namespace {

std::string gunzip(const std::string& path) {
  gzFile g = gzopen(path.c_str(), "rb");
  if (!g) return "";
  std::string out;
  char buf[65536];
  int n;
  while ((n = gzread(g, buf, sizeof buf)) > 0) out.append(buf, n);
  gzclose(g);
  return out;
}

const char* const kSecretKey = "pm-django-key-7f3a9";
const char* const kDbPassword = "pm-pg-pass-51c2";
const char* const kToken = "pm-api-token-88d0";

// gunicorn with the secrets in its environment and on its command line
// (gunicorn's --env), serving an app whose boot error prints them unnamed.
// Its own stdout and stderr go to `log` (as under systemd, to the journal):
// pmtrace's stderr must hold only what pmtrace writes.
std::vector<std::string> leaky_gunicorn(int port, const std::string& log) {
  auto g = gunicorn(port, "leaky:app", {"--env", std::string("API_TOKEN=") + kToken});
  std::vector<std::string> cmd{"/bin/sh", "-c", "exec \"$@\" >>" + log + " 2>&1", "sh", "/usr/bin/env",
                               std::string("SECRET_KEY=") + kSecretKey,
                               std::string("DATABASE_URL=postgres://meats:") + kDbPassword + "@127.0.0.1:5432/meats"};
  cmd.insert(cmd.end(), g.begin(), g.end());
  return cmd;
}

void check_no_secret(const std::string& where, const std::string& text) {
  INFO(where);
  CHECK_FALSE(text.empty());
  for (const char* s : {kSecretKey, kDbPassword, kToken}) {
    INFO(s);
    CHECK(text.find(s) == std::string::npos);
  }
}

}  // namespace

TEST_CASE("recording: secrets of a real gunicorn never reach any output or the recording", "[root][record][redact]") {
  REQUIRE_GUNICORN();
  TempDir d;
  const std::string rec = d.path() + "/leak.pmt", text = d.path() + "/report.txt";
  int port = free_port();
  auto o = run_pmtrace({"run", "-v", "--json", "--record", rec, "--text-report", text, "--timeout", "30s", "--"}, 60);
  // (an empty command is refused: that run only proves the option parsing)
  CHECK(o.status == 2);

  o = run_pmtrace([&] {
    std::vector<std::string> a{"run", "-v", "--json", "--record", rec, "--text-report", text, "--timeout", "30s", "--"};
    auto cmd = leaky_gunicorn(port, d.path() + "/service.log");
    a.insert(a.end(), cmd.begin(), cmd.end());
    return a;
  }(), 60);
  INFO(o.err);
  REQUIRE(o.summary());
  // The capture did see the leak: the boot failure and its traceback.
  REQUIRE(finding(o, "gunicorn-boot-failure"));
  CHECK(o.out.find("refusing to start") != std::string::npos);
  check_no_secret("JSON on stdout", o.out);
  check_no_secret("live events and logs on stderr (-v)", o.err);
  check_no_secret("--text-report", slurp(text));
  std::string recorded = gunzip(rec);
  check_no_secret("the recording's bytes, uncompressed", recorded);
  check_no_secret("the recording's bytes as stored", slurp(rec));
  CHECK(recorded.find("\"redacted\":true") != std::string::npos);

  auto off = run_pmtrace({"explain", rec}, 60);
  check_no_secret("explain", off.out + off.err);
  // The service itself did print them (where it writes, not pmtrace's business).
  CHECK(slurp(d.path() + "/service.log").find(kSecretKey) != std::string::npos);
  CHECK(off.out.find("gunicorn-boot-failure") != std::string::npos);

  // The same capture with --no-redact: the secrets are there (so the checks
  // above can fail), and the header and the report say so.
  const std::string clear = d.path() + "/clear.pmt";
  auto raw = run_pmtrace([&] {
    std::vector<std::string> a{"run", "--no-redact", "--record", clear, "--timeout", "30s", "--"};
    auto cmd = leaky_gunicorn(free_port(), d.path() + "/service.log");
    a.insert(a.end(), cmd.begin(), cmd.end());
    return a;
  }(), 60);
  CHECK(raw.out.find(kSecretKey) != std::string::npos);
  CHECK(raw.out.find("SECRETS ARE NOT REDACTED") != std::string::npos);
  std::string clear_text = gunzip(clear);
  CHECK(clear_text.find(kSecretKey) != std::string::npos);
  CHECK(clear_text.find("\"redacted\":false") != std::string::npos);
  // Explaining it redacts again unless asked not to.
  auto re = run_pmtrace({"explain", clear}, 60);
  CHECK(re.err.find("recorded with --no-redact") != std::string::npos);
  check_no_secret("explain of a --no-redact recording", re.out);
}

TEST_CASE("recording: pmtrace killed with SIGKILL leaves a recording explain can read", "[root][record]") {
  REQUIRE_ROOT();
  TempDir d;
  const std::string rec = d.path() + "/killed.pmt";
  // A process that fails an open every 100 ms, traced by attach --record.
  pid_t p = spawn({"/bin/sh", "-c", "while :; do cat /nonexistent/pm-killed-probe 2>/dev/null; sleep 0.1; done"});
  Background bg({"attach", "--pid", std::to_string(p), "--record", rec});
  REQUIRE(bg.wait_ready());
  std::this_thread::sleep_for(2500ms);
  kill(bg.pid(), SIGKILL);
  bg.wait(10);
  kill(p, SIGKILL);
  wait_exit(p);

  struct stat st{};
  REQUIRE(stat(rec.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto o = run_pmtrace({"explain", "--json", rec}, 60);
  INFO(o.err);
  // Everything but the last second is there: at least a second's worth of probes.
  std::size_t probes = 0;
  for (const auto& e : o.events("open_failed"))
    if (e["path"] == "/nonexistent/pm-killed-probe") ++probes;
  CHECK(probes >= 8);
  REQUIRE(o.summary());
  CHECK(o.status == 4);  // damaged input: said on stderr in one line
  // The cut shows as a cut gzip stream (or, had the kill come right after a
  // flush, as a missing end record).
  CHECK((o.err.find("is damaged: truncated") != std::string::npos ||
         o.err.find("is damaged: it has no end record") != std::string::npos));
}

TEST_CASE("explain: bad recordings get one line on stderr, nothing on stdout, exit 2 (usage) or 4 (damaged)",
          "[record][errors]") {
  TempDir d;
  auto expect = [](const std::vector<std::string>& args, const std::string& message, int status = 4) {
    auto o = run_pmtrace(args, 30);
    INFO(o.err);
    CHECK(o.status == status);
    CHECK(o.out.empty());
    CHECK(o.err.find(message) != std::string::npos);
    CHECK(o.err.find("terminate") == std::string::npos);
  };
  expect({"explain", d.path() + "/none.pmt"}, "no such recording", 2);
  expect({"explain", d.path()}, "is a directory", 2);
  std::ofstream(d.path() + "/empty.pmt").close();
  expect({"explain", d.path() + "/empty.pmt"}, "is empty");
  std::ofstream(d.path() + "/notes.txt") << "these are my notes\n";
  expect({"explain", d.path() + "/notes.txt"}, "is not a pmtrace recording");
  std::ofstream(d.path() + "/future.pmt")
      << R"({"type":"header","format":"pmtrace-recording","schema":7,"mode":"run"})" << "\n";
  expect({"explain", d.path() + "/future.pmt"}, "newer pmtrace (recording schema 7");
  expect({"explain"}, "recording is required", 2);
}

TEST_CASE("explain: a cut recording of a real failure still explains what it holds, and exits 4", "[root][record]") {
  REQUIRE_GUNICORN();
  TempDir d;
  const std::string rec = d.path() + "/whole.pmt";
  auto cmd = gunicorn(free_port(), "broken_import:app");
  std::vector<std::string> a{"run", "--json", "--record", rec, "--timeout", "30s", "--"};
  a.insert(a.end(), cmd.begin(), cmd.end());
  auto live = run_pmtrace(a, 60);
  REQUIRE(finding(live, "missing-python-module"));

  // Unknown records from a newer pmtrace are skipped and counted, not an error.
  std::string lines = gunzip(rec);
  auto first_nl = lines.find('\n');
  std::string newer = lines.substr(0, first_nl + 1) + "{\"type\":\"gpu_fault\",\"pid\":1}\n" + lines.substr(first_nl + 1);
  const std::string newer_path = d.path() + "/newer.pmt";
  std::ofstream(newer_path) << newer;
  auto n = run_pmtrace({"explain", "--json", newer_path}, 60);
  CHECK(n.status == live.status);
  REQUIRE(n.summary());
  CHECK((*n.summary())["lost"]["unknown_type"] == 1);
  CHECK(finding(n, "missing-python-module"));

  // Cut the compressed file: what is before the cut is explained, exit 4.
  std::string bytes = slurp(rec);
  const std::string cut = d.path() + "/cut.pmt";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() * 2 / 3);
  auto o = run_pmtrace({"explain", cut}, 60);
  CHECK(o.status == 4);
  CHECK(o.out.find("CHECKPOINTS") != std::string::npos);
  CHECK(o.out.find("note: the recording is damaged: truncated") != std::string::npos);
  CHECK(o.err.find("is damaged: truncated") != std::string::npos);
}
