// model/event_json.h: the JSON form of events, and one-line dumps of any bytes.
#include <netinet/in.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "model/event_json.h"
#include "synthetic.h"

using namespace pm::model;
using nlohmann::json;

namespace {

// A full header (every field set) so the JSON of each field can be checked.
Event make(EventType t, Payload body) {
  Event e = pmtest::event(t, 321, std::move(body), 7000000123ull);
  e.hdr.tid = 322;
  e.hdr.ppid = 1;
  e.hdr.uid = 33;
  e.hdr.gid = 44;
  e.hdr.cgroup_id = 555;
  return e;
}

}  // namespace

TEST_CASE("to_json: the header fields, adopted and truncated only when set", "[json]") {
  Event e = make(EventType::fork, Fork{400});
  json j = to_json(e);
  CHECK(j["type"] == "fork");
  CHECK(j["ts_ns"] == 7000000123ull);
  CHECK(j["pid"] == 321);
  CHECK(j["tid"] == 322);
  CHECK(j["ppid"] == 1);
  CHECK(j["uid"] == 33);
  CHECK(j["gid"] == 44);
  CHECK(j["cgroup_id"] == 555);
  CHECK(j["comm"] == "gunicorn");
  CHECK(j["child_pid"] == 400);
  CHECK_FALSE(j.contains("adopted"));
  CHECK_FALSE(j.contains("truncated"));

  e.hdr.adopted = true;
  e.hdr.truncated = true;
  j = to_json(e);
  CHECK(j["adopted"] == true);
  CHECK(j["truncated"] == true);
}

TEST_CASE("to_json: exec argv as an array, interp only when there is one", "[json]") {
  Exec x;
  x.filename = "/usr/bin/gunicorn";
  x.argv = {"gunicorn", "-b", "0.0.0.0:8000", "app:app"};
  json j = to_json(make(EventType::exec, x));
  CHECK(j["type"] == "exec");
  CHECK(j["filename"] == "/usr/bin/gunicorn");
  CHECK(j["argv"] == json::array({"gunicorn", "-b", "0.0.0.0:8000", "app:app"}));
  CHECK_FALSE(j.contains("interp"));

  x.interp = "/usr/bin/python3";
  x.argv.clear();
  j = to_json(make(EventType::exec, x));
  CHECK(j["interp"] == "/usr/bin/python3");
  CHECK(j["argv"].is_array());
  CHECK(j["argv"].empty());
}

TEST_CASE("to_json: exit by code or by signal", "[json]") {
  Exit code;
  code.raw = 2 << 8;
  code.start_ns = 99;
  json j = to_json(make(EventType::exit, code));
  CHECK(j["exit_code"] == 2);
  CHECK(j["start_ns"] == 99);
  CHECK_FALSE(j.contains("signal"));

  Exit sig;
  sig.raw = 11 | 0x80;
  j = to_json(make(EventType::exit, sig));
  CHECK(j["signal"] == "SIGSEGV");
  CHECK(j["core_dumped"] == true);
  CHECK_FALSE(j.contains("exit_code"));
}

TEST_CASE("to_json: failures carry symbolic errnos, flags and addresses", "[json]") {
  OpenFailed o;
  o.path = "/var/log/app.log";
  o.err = 13;
  o.flags = 01 | 0100 | 02000;
  o.mode = 0640;
  json j = to_json(make(EventType::open_failed, o));
  CHECK(j["path"] == "/var/log/app.log");
  CHECK(j["errno"] == "EACCES");
  CHECK(j["flags"] == "O_WRONLY|O_CREAT|O_APPEND");
  CHECK(j["mode"] == 0640);
  CHECK_FALSE(j.contains("openat2"));

  Connect c;
  c.fd = 9;
  c.err = 111;
  c.duration_ns = 300;
  c.addr.family = AF_INET;
  c.addr.address = "127.0.0.1";
  c.addr.port = 5432;
  j = to_json(make(EventType::connect, c));
  CHECK(j["fd"] == 9);
  CHECK(j["errno"] == "ECONNREFUSED");
  CHECK(j["duration_ns"] == 300);
  CHECK(j["addr"]["family"] == AF_INET);
  CHECK(j["addr"]["address"] == "127.0.0.1");
  CHECK(j["addr"]["port"] == 5432);
  CHECK(j["addr"]["text"] == "127.0.0.1:5432");
  CHECK_FALSE(j["addr"].contains("path"));

  c.err = 0;
  CHECK(to_json(make(EventType::connect, c))["errno"] == "");

  SockAddr un;
  un.family = AF_UNIX;
  un.path = "@gunicorn.ctl";
  json a = to_json(un);
  CHECK(a["path"] == "@gunicorn.ctl");
  CHECK(a["text"] == "unix:@gunicorn.ctl");
  CHECK_FALSE(a.contains("address"));
  CHECK_FALSE(a.contains("port"));
}

TEST_CASE("to_json: signals, tcp, writes", "[json]") {
  SignalGenerate g;
  g.sig = 9;
  g.code = 0;
  g.target_pid = 50;
  g.target_tid = 51;
  g.target_comm = "worker";
  g.group = true;
  json j = to_json(make(EventType::signal_generate, g));
  CHECK(j["signal"] == "SIGKILL");
  CHECK(j["si_code"] == "SI_USER");
  CHECK(j["target_pid"] == 50);
  CHECK(j["target_tid"] == 51);
  CHECK(j["target_comm"] == "worker");
  CHECK(j["group"] == true);
  CHECK(j["from_kernel"] == false);
  CHECK_FALSE(j.contains("sender_pid"));  // only when the sender set one

  SignalDeliver d;
  d.sig = 15;
  d.handler = 1;
  d.sender_pid = 7;
  j = to_json(make(EventType::signal_deliver, d));
  CHECK(j["signal"] == "SIGTERM");
  CHECK(j["handler"] == "ignore");
  CHECK(j["sender_pid"] == 7);

  TcpConnect t;
  t.old_state = 2;
  t.new_state = 7;
  j = to_json(make(EventType::tcp_connect, t));
  CHECK(j["state"] == "CLOSE");
  CHECK(j["established"] == false);

  Write w;
  w.fd = 2;
  w.count = 1000;
  w.head = "Traceback";
  w.tail = "Error: x\n";
  j = to_json(make(EventType::write, w));
  CHECK(j["fd"] == 2);
  CHECK(j["count"] == 1000);
  CHECK(j["head"] == "Traceback");
  CHECK(j["tail"] == "Error: x\n");
  CHECK(j["skipped"] == 1000 - 9 - 9);

  w.tail.clear();
  w.count = w.head.size();
  j = to_json(make(EventType::write, w));
  CHECK_FALSE(j.contains("tail"));
  CHECK_FALSE(j.contains("skipped"));
}

TEST_CASE("dump_line: invalid UTF-8 is replaced, never thrown on", "[json]") {
  Write w;
  w.fd = 1;
  w.head = "ok \xff\xfe bytes \xc3";  // stray bytes and a cut sequence
  w.count = w.head.size();
  json j = to_json(make(EventType::write, w));
  REQUIRE_THROWS(j.dump());  // the input really is invalid UTF-8
  std::string line;
  REQUIRE_NOTHROW(line = dump_line(j));
  CHECK(line.find('\n') == std::string::npos);
  json back = json::parse(line);
  std::string head = back["head"];
  CHECK(head.find("ok ") == 0);
  CHECK(head.find("\xEF\xBF\xBD") != std::string::npos);  // U+FFFD
  CHECK(head.find(" bytes ") != std::string::npos);
}

TEST_CASE("dump_line: newlines and quotes in values stay on one line", "[json]") {
  json j = {{"text", "line 1\nline \"2\"\n"}};
  std::string line = dump_line(j);
  CHECK(line == R"({"text":"line 1\nline \"2\"\n"})");
}
