// The text timeline folds runs of writes and of ENOENT opens, never denials.
#include <catch2/catch.hpp>
#include <sstream>

#include "report/sink.h"
#include "synthetic.h"

using namespace pm;
using namespace pm::model;

namespace {
Event ev(EventType t, std::uint32_t pid, Payload body) { return pmtest::event(t, pid, std::move(body), 1000); }
}  // namespace

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
  CHECK(text.find("2 lost because the ring buffer was full (2 write): increase --ringbuf-size") != std::string::npos);
  CHECK(text.find("\nVERDICT: healthy") != std::string::npos);
}
