// report/describe.h and report/sink.h: one-line descriptions, the text report
// and JSON lines, all redacted.
#include <netinet/in.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>

#include "synthetic.h"
#include <cstdint>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "model/event_json.h"
#include "report/describe.h"
#include "investigation/preflight.h"
#include "report/sink.h"

using namespace pm::model;
using namespace pm::report;
using pm::investigation::preflight_checks;
using nlohmann::json;

namespace {

using pmtest::event;

SockAddr inet(const char* ip, std::uint16_t port) {
  SockAddr a;
  a.family = AF_INET;
  a.address = ip;
  a.port = port;
  return a;
}

Write stderr_write(std::string head, std::string tail = {}, std::uint64_t count = 0) {
  Write w;
  w.fd = 2;
  w.head = std::move(head);
  w.tail = std::move(tail);
  w.count = count ? count : w.head.size() + w.tail.size();
  return w;
}

bool has(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

std::vector<json> json_lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    INFO(line);
    REQUIRE_NOTHROW(out.push_back(json::parse(line)));
  }
  return out;
}

}  // namespace

TEST_CASE("describe: exec, with its arguments redacted and quoted", "[describe]") {
  Exec x;
  x.filename = "/usr/bin/gunicorn";
  x.argv = {"gunicorn", "--env", "SECRET_KEY=abc123", "app:app"};
  std::string d = describe(event(EventType::exec, 1, x));
  CHECK(d == "exec /usr/bin/gunicorn: gunicorn --env SECRET_KEY=*** app:app");
  CHECK_FALSE(has(d, "abc123"));

  Exec s;
  s.filename = "/srv/app/manage.py";
  s.interp = "/usr/bin/python3";
  s.argv = {"manage.py", "shell", "-c", "print('hi there')"};
  CHECK(describe(event(EventType::exec, 1, s)) ==
        "exec /srv/app/manage.py (interpreter /usr/bin/python3): manage.py shell -c \"print('hi there')\"");

  Exec bare;
  bare.filename = "/bin/true";
  CHECK(describe(event(EventType::exec, 1, bare)) == "exec /bin/true");
}

TEST_CASE("describe: a traceback written to stderr shows its first and last lines", "[describe]") {
  Write w = stderr_write("Traceback (most recent call last):\n  File \"/srv/app/wsgi.py\", line 3, in <module>\n",
                         "    import flask\nModuleNotFoundError: No module named 'flask'\n", 3000);
  std::string d = describe(event(EventType::write, 1, w));
  CHECK(d ==
        "stderr 3000B: \"Traceback (most recent call last):\" ... "
        "\"ModuleNotFoundError: No module named 'flask'\"");

  SECTION("a one-line write to stdout shows it once") {
    Write o;
    o.fd = 1;
    o.head = "hello\n";
    o.count = 6;
    CHECK(describe(event(EventType::write, 1, o)) == "stdout 6B: \"hello\"");
  }
  SECTION("with no tail, the last line comes from the head") {
    Write h = stderr_write("Traceback (most recent call last):\nKeyError: 'DATABASE_URL'\n\n");
    CHECK(describe(event(EventType::write, 1, h)) ==
          "stderr 61B: \"Traceback (most recent call last):\" ... \"KeyError: 'DATABASE_URL'\"");
  }
  SECTION("secrets in the output are redacted") {
    Write s = stderr_write("settings: SECRET_KEY=abc123\n");
    std::string text = describe(event(EventType::write, 1, s));
    CHECK(text == "stderr 28B: \"settings: SECRET_KEY=***\"");
  }
}

TEST_CASE("describe: exits, signals, opens, sockets, OOM, cgroups", "[describe]") {
  Exit code;
  code.raw = 3 << 8;
  CHECK(describe(event(EventType::exit, 1, code)) == "exit 3");
  Exit core;
  core.raw = 11 | 0x80;
  CHECK(describe(event(EventType::exit, 1, core)) == "killed by SIGSEGV (core dumped)");
  Exit kill;
  kill.raw = 9;
  CHECK(describe(event(EventType::exit, 1, kill)) == "killed by SIGKILL");

  SignalGenerate g;
  g.sig = 9;
  g.target_pid = 42;
  g.target_comm = "worker";
  CHECK(describe(event(EventType::signal_generate, 1, g)) == "send SIGKILL -> 42 (worker)");
  g.from_kernel = true;
  g.result = 1;
  CHECK(describe(event(EventType::signal_generate, 1, g)) == "send SIGKILL -> 42 (worker) from the kernel, ignored");

  SignalDeliver sd;
  sd.sig = 15;
  sd.sender_pid = 1;
  CHECK(describe(event(EventType::signal_deliver, 1, sd)) == "got SIGTERM from pid 1 (default action)");

  OpenFailed o;
  o.path = "/var/log/app.log";
  o.err = 13;
  o.flags = 01 | 0100 | 02000;
  CHECK(describe(event(EventType::open_failed, 1, o)) == "open failed EACCES /var/log/app.log (O_WRONLY|O_CREAT|O_APPEND)");

  ExecFailed ef{"/srv/venv/bin/gunicorn", 2};
  CHECK(describe(event(EventType::exec_failed, 1, ef)) == "exec failed ENOENT /srv/venv/bin/gunicorn");

  Connect c;
  c.err = 111;
  c.duration_ns = 2500000;
  c.addr = inet("10.0.0.5", 5432);
  CHECK(describe(event(EventType::connect, 1, c)) == "connect 10.0.0.5:5432 ECONNREFUSED in 2.5ms");

  TcpConnect t;
  t.old_state = 2;
  t.new_state = 7;
  t.duration_ns = 1000000000;
  t.peer = inet("10.0.0.5", 5432);
  CHECK(describe(event(EventType::tcp_connect, 1, t)) == "tcp connect to 10.0.0.5:5432 failed (CLOSE) after 1.000s");

  Bind b;
  b.err = 98;
  b.addr = inet("0.0.0.0", 8000);
  CHECK(describe(event(EventType::bind, 1, b)) == "bind 0.0.0.0:8000 EADDRINUSE");
  Listen l;
  l.addr = inet("0.0.0.0", 8000);
  CHECK(describe(event(EventType::listen, 1, l)) == "listening on 0.0.0.0:8000");

  OomVictim m;
  m.victim_pid = 77;
  m.victim_comm = "gunicorn";
  m.total_vm_pages = 262144;  // 4 KiB pages: 1 GiB
  CHECK(describe(event(EventType::oom_victim, 1, m)) == "OOM killer chose 77 (gunicorn), 1024 MiB virtual");

  CgroupAdopt a;
  a.path = "/system.slice/web.service";
  CHECK(describe(event(EventType::cgroup_adopt, 1, a)) == "cgroup /system.slice/web.service created: tracing its processes");

  Event adopted = event(EventType::fork, 1, Fork{12});
  adopted.hdr.adopted = true;
  CHECK(describe(adopted) == "fork -> 12 [adopted]");
}

// argv_text() clips the joined arguments to 160 characters before describe()
// redacts; a URL cut before its '@' no longer looks like one, so the start of
// its password is printed.
TEST_CASE("describe: a long command line never shows part of a URL password", "[describe]") {
  const std::string password = "Xq7vR2pLm9sT4wZk8nB3cJ6hF1yD5gA0eUoI7rQ2tW6mN4b";
  Exec x;
  x.filename = "/srv/venv/bin/gunicorn";
  x.argv = {"gunicorn", "--bind", "0.0.0.0:8000", "--workers", "4", "--access-logfile",
            "/var/log/gunicorn/access.log", "--env",
            "DATABASE_URL=postgres://meats:" + password + "@db.internal:5432/meats", "app:app"};
  std::string joined;
  for (const auto& a : x.argv) joined += (joined.empty() ? "" : " ") + a;
  const auto at = joined.find(password);
  REQUIRE(at < 160);                     // the password starts before the clip
  REQUIRE(at + password.size() > 160);  // and ends after it
  std::string d = describe(event(EventType::exec, 1, x));
  CHECK_FALSE(has(d, password.substr(0, 8)));
}

// quote_arg() puts the quotes around the whole argument, before NAME=, so the
// redactor sees a bare value that ends at the first space.
TEST_CASE("describe: a secret argument with spaces is hidden whole", "[describe]") {
  Exec x;
  x.filename = "/usr/bin/env";
  x.argv = {"env", "SECRET_KEY=correct horse battery staple", "gunicorn", "app:app"};
  std::string d = describe(event(EventType::exec, 1, x));
  CHECK_FALSE(has(d, "horse"));
  CHECK_FALSE(has(d, "staple"));
}

TEST_CASE("format_duration and relative_time", "[describe]") {
  CHECK(format_duration(1500000000ull) == "1.500s");
  CHECK(format_duration(1000000000ull) == "1.000s");
  CHECK(format_duration(61000000000ull) == "61.000s");
  CHECK(format_duration(2500000ull) == "2.5ms");
  CHECK(format_duration(1000000ull) == "1.0ms");
  CHECK(format_duration(850000000ull) == "850.0ms");
  CHECK(format_duration(12000ull) == "12us");
  CHECK(format_duration(999ull) == "0us");
  CHECK(format_duration(0) == "0us");

  CHECK(relative_time(2500000000ull, 1000000000ull) == "+1.500s");
  CHECK(relative_time(1000000000ull, 1000000000ull) == "+0.000s");
  CHECK(relative_time(500000000ull, 1000000000ull) == "-0.500s");
}

TEST_CASE("JsonSink: start, events and summary lines, all JSON, nothing secret", "[sink]") {
  std::ostringstream out;
  JsonSink sink(out);
  RunInfo info;
  info.mode = "run";
  info.target = "gunicorn --env SECRET_KEY=abc123 app:app";
  info.backend = "bpf";
  info.start_ns = 1000000000ull;
  sink.begin(info);

  Exec x;
  x.filename = "/usr/bin/gunicorn";
  x.argv = {"gunicorn", "--env", "SECRET_KEY=abc123", "--env", "DATABASE_URL=postgres://meats:pw123@db/meats",
            "app:app"};
  sink.event(event(EventType::exec, 5, x, 1250000000ull));
  sink.event(event(EventType::write, 5, stderr_write("boot failed: DB_PASSWORD=hunter2 \xff\xfe\n"), 2000000000ull));
  Exit e;
  e.raw = 1 << 8;
  sink.event(event(EventType::exit, 5, e, 3000000000ull));

  Summary s;
  s.end_ns = 4000000000ull;
  s.events = 3;
  s.losses.ring_full[static_cast<std::size_t>(EventType::exec)] = 2;
  s.losses.ring_full[static_cast<std::size_t>(EventType::write)] = 5;
  s.losses.track_full = 3;
  s.losses.malformed = 1;
  s.losses.unknown = 2;
  s.notes = {"openat2 tracepoint not available", "ignored DB_PASSWORD=hunter2"};
  pm::analysis::ProcessEnd code;
  code.pid = 5;
  code.comm = "gunicorn";
  code.exit.raw = 1 << 8;
  code.ts_ns = 3000000000ull;
  pm::analysis::ProcessEnd sig;
  sig.pid = 6;
  sig.comm = "worker";
  sig.exit.raw = 11 | 0x80;
  sig.ts_ns = 3500000000ull;
  s.failures = {code, sig};
  s.end_reason = "command and its processes exited";
  s.exit_status = 1;
  sink.end(s);

  const std::string text = out.str();
  for (const char* secret : {"abc123", "pw123", "hunter2"}) {
    INFO(secret);
    CHECK_FALSE(has(text, secret));
  }
  auto lines = json_lines(text);
  REQUIRE(lines.size() == 5);

  const json& start = lines[0];
  CHECK(start["type"] == "start");
  CHECK(start["schema"] == pm::investigation::kJsonSchema);
  CHECK(start["mode"] == "run");
  CHECK(start["backend"] == "bpf");
  CHECK(start["target"] == "gunicorn --env SECRET_KEY=*** app:app");
  CHECK(start["start_ns"] == 1000000000ull);
  CHECK(start["pmtrace_version"].is_string());

  const json& exec = lines[1];
  CHECK(exec["type"] == "exec");
  CHECK(exec["pid"] == 5);
  CHECK(exec["time"].get<double>() == Approx(0.25));
  CHECK(exec["argv"][2] == "SECRET_KEY=***");
  CHECK(exec["argv"][4] == "DATABASE_URL=postgres://meats:***@db/meats");

  const json& write = lines[2];
  CHECK(write["type"] == "write");
  std::string head = write["head"];
  CHECK(has(head, "DB_PASSWORD=***"));
  CHECK(has(head, "\xEF\xBF\xBD"));  // invalid bytes replaced

  CHECK(lines[3]["type"] == "exit");
  CHECK(lines[3]["exit_code"] == 1);
  CHECK(lines[3]["time"].get<double>() == Approx(2.0));

  const json& sum = lines[4];
  CHECK(sum["type"] == "summary");
  CHECK(sum["events"] == 3);
  CHECK(sum["duration_s"].get<double>() == Approx(3.0));
  CHECK(sum["end_reason"] == "command and its processes exited");
  CHECK(sum["lost"]["total"] == s.losses.total());
  CHECK(sum["lost"]["total"] == 13);  // 2 + 5 ring, 3 untracked, 1 malformed, 2 unknown
  CHECK(sum["lost"]["ring_buffer_full"] == 7);
  CHECK(sum["lost"]["by_type"] == json({{"exec", 2}, {"write", 5}}));
  CHECK(sum["lost"]["untracked_processes"] == 3);
  CHECK(sum["lost"]["malformed"] == 1);
  CHECK(sum["lost"]["unknown_type"] == 2);
  CHECK(sum["notes"] == json::array({"openat2 tracepoint not available", "ignored DB_PASSWORD=***"}));
  REQUIRE(sum["failures"].size() == 2);
  CHECK(sum["failures"][0]["pid"] == 5);
  CHECK(sum["failures"][0]["exit_code"] == 1);
  CHECK_FALSE(sum["failures"][0].contains("signal"));
  CHECK(sum["failures"][1]["pid"] == 6);
  CHECK(sum["failures"][1]["comm"] == "worker");
  CHECK(sum["failures"][1]["signal"] == "SIGSEGV");
  CHECK_FALSE(sum["failures"][1].contains("exit_code"));
  CHECK(sum["exit_status"] == 1);
}

TEST_CASE("JsonSink: no losses is a total of 0 and an empty by_type", "[sink]") {
  std::ostringstream out;
  JsonSink sink(out);
  sink.begin(RunInfo{});
  Summary s;
  sink.end(s);
  auto lines = json_lines(out.str());
  REQUIRE(lines.size() == 2);
  CHECK(lines[1]["lost"]["total"] == 0);
  CHECK(lines[1]["lost"]["by_type"].empty());
  CHECK(lines[1]["failures"].empty());
}

// Each JSON string is redacted on its own, so "--password" and its value,
// two elements of argv, are never seen together ("--password x" in one string
// is redacted; describe() joins argv first and hides it).
TEST_CASE("JsonSink: a password passed as the next argument is redacted", "[sink]") {
  Exec x;
  x.filename = "/srv/venv/bin/python3";
  x.argv = {"python3", "manage.py", "createsuperuser", "--password", "hunter2"};
  Event e = event(EventType::exec, 5, x);
  CHECK_FALSE(has(describe(e), "hunter2"));  // the text form hides it

  std::ostringstream out;
  JsonSink sink(out);
  sink.begin(RunInfo{});
  sink.event(e);
  CHECK_FALSE(has(out.str(), "hunter2"));
}

TEST_CASE("TextSink: timeline lines, loss counts and FAILED lines", "[sink]") {
  std::ostringstream out;
  TextSink sink(out);
  RunInfo info;
  info.mode = "run";
  info.target = "gunicorn --env SECRET_KEY=abc123 app:app";
  info.backend = "bpf";
  info.start_ns = 1000000000ull;
  sink.begin(info);

  Exec x;
  x.filename = "/usr/bin/gunicorn";
  x.argv = {"gunicorn", "--env", "SECRET_KEY=abc123", "app:app"};
  sink.event(event(EventType::exec, 5, x, 1500000000ull));

  Summary s;
  s.end_ns = 4000000000ull;
  s.events = 42;
  s.end_reason = "timeout";
  s.losses.ring_full[static_cast<std::size_t>(EventType::signal_generate)] = 3;
  s.losses.ring_full[static_cast<std::size_t>(EventType::write)] = 4;
  s.losses.track_full = 2;
  s.losses.malformed = 1;
  s.losses.unknown = 1;
  s.notes = {"openat2 tracepoint not available"};
  pm::analysis::ProcessEnd code;
  code.pid = 5;
  code.comm = "gunicorn";
  code.exit.raw = 3 << 8;
  code.ts_ns = 2500000000ull;
  pm::analysis::ProcessEnd kill;
  kill.pid = 6;
  kill.comm = "worker";
  kill.exit.raw = 9;
  kill.ts_ns = 3000000000ull;
  s.failures = {code, kill};
  sink.end(s);

  const std::string text = out.str();
  CHECK_FALSE(has(text, "abc123"));
  CHECK(text.rfind("pmtrace run gunicorn --env SECRET_KEY=*** app:app\nbackend bpf, started ", 0) == 0);
  CHECK(has(text, "\n     TIME     PID COMM            EVENT\n"));
  // "%9s %7u %-15s ": time right-aligned in 9, pid in 7, comm left-aligned in 15
  CHECK(has(text, "\n  +0.500s" + std::string(7, ' ') + "5 gunicorn" + std::string(8, ' ') +
                      "exec /usr/bin/gunicorn: gunicorn --env SECRET_KEY=*** app:app\n"));
  CHECK(has(text, "\n42 events in 3.00s (timeout); 11 lost\n"));
  CHECK(has(text, "\n  7 lost because the ring buffer was full (3 signal_generate, 4 write): increase --ringbuf-size\n"));
  CHECK(has(text, "\n  2 new processes could not be tracked (map full)"));
  CHECK(has(text, "\n  1 malformed and 1 unknown records skipped\n"));
  CHECK(has(text, "\nnote: openat2 tracepoint not available\n"));
  CHECK(has(text, "\nFAILED: pid 5 (gunicorn) exited with code 3 at +1.500s\n"));
  CHECK(has(text, "\nFAILED: pid 6 (worker) killed by SIGKILL at +2.000s\n"));
  CHECK(has(text, "\nVERDICT: "));
}

TEST_CASE("TextSink: a clean run, and a traceback written in pieces folds into one line", "[sink]") {
  std::ostringstream out;
  TextSink sink(out);
  RunInfo info;
  info.mode = "attach";
  info.target = "web.service";
  info.backend = "bpf";
  sink.begin(info);

  const std::vector<std::string> pieces = {"Traceback (most recent call last):\n",
                                           "  File \"/srv/app/wsgi.py\", line 1, in <module>\n",
                                           "    import flask\n", "ModuleNotFoundError: No module named 'flask'\n"};
  std::size_t bytes = 0;
  for (const auto& p : pieces) {
    sink.event(event(EventType::write, 7, stderr_write(p)));
    bytes += p.size();
  }
  Exit ok;
  sink.event(event(EventType::exit, 7, ok));  // ends the run of writes
  Summary s;
  s.events = 5;
  s.verdict_text = "the service is healthy (up since 0.1 s after start)";
  sink.end(s);

  const std::string text = out.str();
  CHECK(has(text, "stderr (4 writes) " + std::to_string(bytes) +
                      "B: \"Traceback (most recent call last):\" ... \"ModuleNotFoundError: No module named 'flask'\"\n"));
  CHECK_FALSE(has(text, "import flask"));  // the middle lines are folded away
  CHECK(has(text, " exit 0\n"));
  CHECK(has(text, "; 0 lost\n"));
  CHECK_FALSE(has(text, "lost because"));
  CHECK_FALSE(has(text, "FAILED"));
  CHECK(has(text, "\nVERDICT: healthy: the service is healthy (up since 0.1 s after start)\n"));
  // A healthy run's summary has no error words in it (the traceback above is
  // the app's own output).
  const std::string summary = text.substr(text.find("; 0 lost"));
  for (const char* word : {"FAIL", "fail", "error", "Error"}) {
    INFO(word);
    CHECK_FALSE(has(summary, word));
  }
}

TEST_CASE("report: findings a static check would have caught point at pmtrace doctor", "[report][preflight]") {
  pm::rules::Finding f;
  f.rule = "oom-kill";  // happens under load: nothing to check before a start
  CHECK(preflight_checks(f).empty());
  f.rule = "killed-by-signal";
  f.preflight = {pm::rules::CheckId::notify, pm::rules::CheckId::start_timeout};
  CHECK(preflight_checks(f) == std::vector<std::string>{"notify", "start-timeout"});

  Summary s;
  s.findings.push_back(f);
  s.preflight_checks = {"notify", "start-timeout"};
  CHECK(preflight_command(s) == "pmtrace doctor UNIT");
  s.unit = "meats.service";
  CHECK(preflight_command(s) == "pmtrace doctor meats.service");
  std::ostringstream text;
  TextSink sink(text);
  RunInfo info;
  sink.begin(info);
  sink.end(s);
  CHECK(text.str().find("before the next start: `pmtrace doctor meats.service` finds this without starting the service "
                        "(its checks notify, start-timeout)") != std::string::npos);
}

TEST_CASE("report: a ring-buffer loss of every event type reaches the JSON and back, milestone included",
          "[report][losses]") {
  for (std::size_t i = 1; i < pm::model::Losses::kTypes; ++i) {
    pm::model::Losses l;
    l.ring_full[i] = 7;
    auto j = pm::model::to_json(l);
    INFO("type " << i << ": " << j.dump());
    CHECK(j["ring_buffer_full"] == 7);
    CHECK(j["total"] == 7);
    CHECK(j["by_type"][pm::model::type_name(static_cast<EventType>(i))] == 7);
    auto back = pm::model::losses_from_json(j);
    REQUIRE(back);
    CHECK(back->ring_full[i] == 7);
    CHECK(back->unknown == 0);
  }
  CHECK(pm::model::Losses::kTypes == static_cast<std::size_t>(EventType::milestone) + 1);
}

TEST_CASE("report: the text report names a ring-buffer loss of every event type, milestone included",
          "[report][losses]") {
  for (EventType t : pm::model::kEventTypes) {
    Summary s;
    s.losses.ring_full[static_cast<std::size_t>(t)] = 5;
    std::ostringstream out;
    TextSink sink(out);
    sink.begin(RunInfo{});
    sink.end(s);
    INFO(out.str());
    CHECK(has(out.str(), std::string("5 lost because the ring buffer was full (5 ") + pm::model::type_name(t) + ")"));
  }
}
