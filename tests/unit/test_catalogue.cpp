// The event catalogue (bpf/pmtrace_events.def): every row reaches the names,
// the payload variant, the decoder, the JSON and the docs' type table.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "model/decode.h"
#include "model/event.h"
#include "model/event_fields.h"
#include "model/event_json.h"
#include "pmtrace.h"

using namespace pm::model;

namespace {

std::string read_doc(const std::string& rel) {
  std::ifstream in(std::string(PM_SOURCE_DIR) + "/" + rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The wire struct of each row, zeroed, with a header that names it.
template <typename Wire>
std::vector<unsigned char> record(std::uint16_t type) {
  Wire w;
  std::memset(&w, 0, sizeof w);
  w.hdr.type = type;
  w.hdr.size = sizeof w;
  w.hdr.tgid = 42;
  std::vector<unsigned char> out(sizeof w);
  std::memcpy(out.data(), &w, sizeof w);
  return out;
}

std::vector<unsigned char> record_of(EventType t) {
  switch (t) {
#define PM_EVENT(number, WIRE, wire, name, Model, description) \
  case EventType::name: return record<wire>(PM_EV_##WIRE);
#include "pmtrace_events.def"
#undef PM_EVENT
  }
  return {};
}

}  // namespace

TEST_CASE("catalogue: every type is numbered 1..N in order, named, described and named back", "[catalogue]") {
  REQUIRE(std::size(kEventTypes) == kEventTypeCount);
  REQUIRE(kEventTypeEnd == PM_EV_TYPE_MAX);
  std::size_t expect = 1;
  for (EventType t : kEventTypes) {
    INFO(type_name(t));
    CHECK(static_cast<std::size_t>(t) == expect++);
    CHECK(std::string(type_name(t)) != "unknown");
    CHECK(std::strlen(type_description(t)) > 10);
    EventType back{};
    CHECK(type_from_name(type_name(t), back));
    CHECK(back == t);
  }
  CHECK(std::string(type_name(static_cast<EventType>(kEventTypeEnd))) == "unknown");
}

TEST_CASE("catalogue: a record of every type decodes to its payload and goes through JSON and back", "[catalogue]") {
  for (EventType t : kEventTypes) {
    INFO(type_name(t));
    auto raw = record_of(t);
    auto r = decode_record(raw.data(), raw.size());
    REQUIRE(r.error == DecodeError::none);
    CHECK(r.event.hdr.type == t);
    CHECK(consistent(r.event));
    CHECK(r.event.hdr.pid == 42u);
    auto j = to_json(r.event);
    CHECK(j["type"] == type_name(t));
    std::string why;
    auto back = event_from_json(j, &why);
    INFO(why);
    REQUIRE(back);
    CHECK(back->hdr.type == t);
    CHECK(back->body.index() == r.event.body.index());
    // A record one byte short of its type's size is refused, never read past.
    auto short_r = decode_record(raw.data(), raw.size() - 1);
    CHECK(short_r.error != DecodeError::none);
  }
}

TEST_CASE("catalogue: docs/architecture.md's type table has a row for every type", "[catalogue][docs]") {
  const std::string doc = read_doc("docs/architecture.md");
  REQUIRE_FALSE(doc.empty());
  for (EventType t : kEventTypes) {
    std::string row = "| " + std::to_string(static_cast<int>(t)) + " | `" + type_name(t) + "` |";
    INFO(row);
    CHECK(doc.find(row) != std::string::npos);
  }
}

TEST_CASE("fields: the watch window's size estimate walks the same field declarations as JSON", "[catalogue][fields]") {
  Exec x;
  x.filename = "/usr/bin/gunicorn";
  x.interp = "/usr/bin/python3";
  x.argv = {"gunicorn", "app:app"};
  CHECK(string_bytes(x) == 17 + 16 + 8 + 7 + 2 * sizeof(std::string));
  Connect c;
  c.addr.address = "127.0.0.1";
  CHECK(string_bytes(c) == 9);
  SignalDeliver d;  // numbers only
  CHECK(string_bytes(d) == 0);
  Milestone m;
  m.peer.path = "/run/app.sock";
  CHECK(string_bytes(m) == 13);
}

TEST_CASE("floor: bpf/floor.bpf.c holds an empty program on every tracepoint pmtrace.bpf.c attaches to", "[floor]") {
  auto sections = [](const std::string& text) {
    std::vector<std::string> out;
    const std::string tag = "SEC(\"";
    for (auto at = text.find(tag); at != std::string::npos; at = text.find(tag, at + 1)) {
      auto name = text.substr(at + tag.size(), text.find('"', at + tag.size()) - at - tag.size());
      if (name.rfind("tp", 0) == 0) out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  auto pm = sections(read_doc("bpf/pmtrace.bpf.c"));
  auto floor = sections(read_doc("bpf/floor.bpf.c"));
  CHECK(pm.size() >= 20);
  CHECK(floor == pm);
}
