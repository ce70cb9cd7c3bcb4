// The process table and the report sinks, on synthetic events.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "analysis/process_table.h"
#include "report/describe.h"
#include "report/sink.h"

using namespace pm;
using namespace pm::model;

namespace {

Event ev(EventType t, std::uint32_t pid, Payload body, std::uint64_t ts = 1000, std::string comm = "gunicorn") {
  Event e;
  e.hdr.type = t;
  e.hdr.pid = pid;
  e.hdr.tid = pid;
  e.hdr.ts_ns = ts;
  e.hdr.comm = std::move(comm);
  e.body = std::move(body);
  return e;
}

Event exit_ev(std::uint32_t pid, int raw) {
  Exit x;
  x.raw = raw;
  return ev(EventType::exit, pid, x);
}

}  // namespace

TEST_CASE("process table: forks, execs and exits", "[analysis]") {
  analysis::ProcessTable t;
  t.seed(10);
  t.on_event(ev(EventType::fork, 10, Fork{11}));
  t.on_event(ev(EventType::fork, 10, Fork{12}));
  CHECK(t.live_count() == 3);
  t.on_event(exit_ev(11, 0));
  CHECK_FALSE(t.live(11));
  CHECK(t.failures().empty());  // exit 0 is not a failure
  t.on_event(exit_ev(12, 3 << 8));
  t.on_event(exit_ev(10, 15));  // killed by SIGTERM
  REQUIRE(t.failures().size() == 2);
  CHECK(t.failures()[0].exit.code() == 3);
  CHECK(t.failures()[1].exit.signal() == 15);
  CHECK(t.live_count() == 0);
}

TEST_CASE("process table: late events do not revive an exited process", "[analysis]") {
  analysis::ProcessTable t;
  t.seed(20);
  t.on_event(exit_ev(20, 0));
  SignalGenerate sigchld;
  sigchld.sig = 17;
  sigchld.target_pid = 1;
  t.on_event(ev(EventType::signal_generate, 20, sigchld));  // the SIGCHLD it sends its parent
  t.on_event(ev(EventType::tcp_connect, 20, TcpConnect{}));  // its socket closing
  CHECK(t.live_count() == 0);
}

TEST_CASE("process table: a process first seen through its events becomes live", "[analysis]") {
  analysis::ProcessTable t;
  t.on_event(ev(EventType::open_failed, 30, OpenFailed{}));
  CHECK(t.live(30));
  CHECK_FALSE(t.listening());
  t.on_event(ev(EventType::listen, 30, Listen{}));
  CHECK(t.listening());
  t.forget(30);
  CHECK_FALSE(t.live(30));
}

TEST_CASE("describe: one line per event, redacted", "[report]") {
  Exec x;
  x.filename = "/usr/bin/gunicorn";
  x.argv = {"gunicorn", "--env", "SECRET_KEY=abc123", "app:app"};
  std::string d = report::describe(ev(EventType::exec, 1, x));
  CHECK(d.find("exec /usr/bin/gunicorn") == 0);
  CHECK(d.find("abc123") == std::string::npos);
  CHECK(d.find("SECRET_KEY=***") != std::string::npos);

  Write w;
  w.fd = 2;
  w.count = 3000;
  w.head = "Traceback (most recent call last):\n  File \"app.py\", line 1\n";
  w.tail = "    import flask\nModuleNotFoundError: No module named 'flask'\n";
  d = report::describe(ev(EventType::write, 1, w));
  CHECK(d.find("stderr 3000B") == 0);
  CHECK(d.find("Traceback (most recent call last):") != std::string::npos);
  CHECK(d.find("ModuleNotFoundError: No module named 'flask'") != std::string::npos);

  OpenFailed o;
  o.path = "/var/log/gunicorn/error.log";
  o.err = 13;
  o.flags = 01 | 0100 | 02000;
  CHECK(report::describe(ev(EventType::open_failed, 1, o)) ==
        "open failed EACCES /var/log/gunicorn/error.log (O_WRONLY|O_CREAT|O_APPEND)");
  CHECK(report::format_duration(1500000000ull) == "1.500s");
  CHECK(report::format_duration(2500000ull) == "2.5ms");
  CHECK(report::format_duration(12000ull) == "12us");
}

TEST_CASE("JSON sink: start, events, summary with losses and failures, nothing secret", "[report]") {
  std::ostringstream out;
  report::JsonSink sink(out);
  report::RunInfo info;
  info.mode = "run";
  info.target = "gunicorn --env DATABASE_URL=postgres://u:topsecret@db/x app:app";
  info.backend = "bpf";
  info.start_ns = 1000;
  sink.begin(info);
  Exec x;
  x.filename = "/usr/bin/gunicorn";
  x.argv = {"gunicorn", "--env", "DATABASE_URL=postgres://u:topsecret@db/x"};
  sink.event(ev(EventType::exec, 5, x, 2000));
  report::Summary s;
  s.end_ns = 3000;
  s.events = 1;
  s.losses.ring_full[7] = 4;
  s.losses.malformed = 1;
  analysis::ProcessEnd f;
  f.pid = 5;
  f.comm = "gunicorn";
  f.exit.raw = 4 << 8;
  s.failures.push_back(f);
  s.exit_status = 1;
  sink.end(s);

  std::string text = out.str();
  CHECK(text.find("topsecret") == std::string::npos);
  std::istringstream in(text);
  std::string line;
  std::vector<nlohmann::json> lines;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  REQUIRE(lines.size() == 3);
  CHECK(lines[0]["type"] == "start");
  CHECK(lines[1]["type"] == "exec");
  CHECK(lines[1]["time"] == Approx(1e-6));
  CHECK(lines[2]["type"] == "summary");
  CHECK(lines[2]["lost"]["total"] == 5);
  CHECK(lines[2]["lost"]["by_type"]["open_failed"] == 4);
  CHECK(lines[2]["failures"][0]["exit_code"] == 4);
  CHECK(lines[2]["exit_status"] == 1);
}

TEST_CASE("text sink: runs of writes and of ENOENT opens fold into one line", "[report]") {
  std::ostringstream out;
  report::TextSink sink(out);
  report::RunInfo info;
  info.mode = "run";
  info.target = "python3 app.py";
  info.backend = "bpf";
  sink.begin(info);
  for (int i = 0; i < 5; ++i) {
    OpenFailed o;
    o.path = "/usr/lib/python3/site" + std::to_string(i) + ".py";
    o.err = 2;
    sink.event(ev(EventType::open_failed, 7, o));
  }
  for (const char* piece : {"Traceback (most recent call last):\n", "  File \"x\"\n", "KeyError: 'SECRET_KEY'\n"}) {
    Write w;
    w.fd = 2;
    w.head = piece;
    w.count = w.head.size();
    sink.event(ev(EventType::write, 7, w));
  }
  OpenFailed denied;
  denied.path = "/var/log/app.log";
  denied.err = 13;
  sink.event(ev(EventType::open_failed, 7, denied));
  report::Summary s;
  s.events = 9;
  s.losses.ring_full[12] = 2;
  sink.end(s);
  std::string text = out.str();
  CHECK(text.find("open failed ENOENT /usr/lib/python3/site0.py") != std::string::npos);
  CHECK(text.find("... and 4 more ENOENT opens, the last /usr/lib/python3/site4.py") != std::string::npos);
  CHECK(text.find("site2.py") == std::string::npos);  // folded away
  CHECK(text.find("stderr (3 writes)") != std::string::npos);
  CHECK(text.find("KeyError: 'SECRET_KEY'") != std::string::npos);
  CHECK(text.find("open failed EACCES /var/log/app.log") != std::string::npos);  // denials never fold
  CHECK(text.find("2 lost because the ring buffer was full: increase --ringbuf-size") != std::string::npos);
  CHECK(text.find("no traced process failed") != std::string::npos);
}
