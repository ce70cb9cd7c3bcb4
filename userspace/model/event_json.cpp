#include "model/event_json.h"

#include "model/event_fields.h"
#include "model/json_fields.h"
#include "model/names.h"

#include <limits>

namespace pm::model {
namespace {

using nlohmann::json;

// Captured bytes may be any binary: a json holding them must be dumped with
// error_handler_t::replace (see dump_line), never the throwing default.
json text_of(const std::string& s) { return json(s); }

// Writes a payload's fields (model/event_fields.h) into a JSON object.
struct Writer {
  json& j;
  void text(const char* key, const std::string& s, Field f) {
    if (f != Field::when_set || !s.empty()) j[key] = text_of(s);
  }
  void texts(const char* key, const std::vector<std::string>& v, Field f) {
    if (f == Field::when_set && v.empty()) return;
    json a = json::array();
    for (const auto& s : v) a.push_back(text_of(s));
    j[key] = std::move(a);
  }
  template <typename T>
  void number(const char* key, const T& n, Field f) {
    if (f != Field::when_set || n != T{}) j[key] = n;
  }
  void flag(const char* key, bool b, Field f) {
    if (f != Field::when_set || b) j[key] = b;
  }
  template <typename T, typename ToName, typename FromName>
  void named(const char* key, const T& n, ToName to_name, FromName, Field f) {
    if (f != Field::when_set || n != T{}) j[key] = to_name(n);
  }
  void address(const char* key, const SockAddr& a, Field f) {
    if (f != Field::when_set || a.family) j[key] = to_json(a);
  }
  template <typename T>
  void derived(const char* key, const T& v) {
    j[key] = v;
  }
  template <typename W, typename R>
  void custom(W write, R) {
    write(j);
  }
};

}  // namespace

std::string dump_line(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

nlohmann::json to_json(const SockAddr& a) {
  json j;
  j["family"] = a.family;
  if (!a.address.empty()) {
    j["address"] = a.address;
    j["port"] = a.port;
  }
  if (!a.path.empty()) j["path"] = text_of(a.path);
  j["text"] = a.to_string();
  return j;
}

nlohmann::json to_json(const Event& e) {
  json j;
  j["type"] = type_name(e.hdr.type);
  j["ts_ns"] = e.hdr.ts_ns;
  j["pid"] = e.hdr.pid;
  j["tid"] = e.hdr.tid;
  j["ppid"] = e.hdr.ppid;
  j["uid"] = e.hdr.uid;
  j["gid"] = e.hdr.gid;
  j["cgroup_id"] = e.hdr.cgroup_id;
  j["comm"] = text_of(e.hdr.comm);
  if (e.hdr.adopted) j["adopted"] = true;
  if (e.hdr.truncated) j["truncated"] = true;
  std::visit(
      [&](const auto& p) {
        Writer w{j};
        fields(w, p);
      },
      e.body);
  return j;
}

namespace {

// Reads a payload's fields (model/event_fields.h) back, never throwing.
struct Reader {
  JsonFields& r;
  void text(const char* key, std::string& s, Field f) { r.str(key, s, f == Field::required); }
  void texts(const char* key, std::vector<std::string>& v, Field f) { r.strings(key, v, f == Field::required); }
  template <typename T>
  void number(const char* key, T& n, Field f) {
    r.num(key, n, f == Field::required);
  }
  void flag(const char* key, bool& b, Field f) { r.boolean(key, b, f == Field::required); }
  template <typename T, typename ToName, typename FromName>
  void named(const char* key, T& n, ToName, FromName from_name, Field f) {
    r.named(key, n, from_name, f == Field::required);
  }
  void address(const char* key, SockAddr& a, Field f) { r.addr(key, a, f == Field::required); }
  template <typename T>
  void derived(const char*, const T&) {}
  template <typename W, typename R>
  void custom(W, R read) {
    read(r);
  }
};

// The payload alternative for a type: index type - 1 (see consistent()).
template <std::size_t I = 0>
Payload payload_for(EventType t) {
  if constexpr (I < std::variant_size_v<Payload>) {
    if (static_cast<std::size_t>(t) == I + 1) return Payload(std::in_place_index<I>);
    return payload_for<I + 1>(t);
  } else {
    return Payload{};
  }
}

}  // namespace

std::optional<SockAddr> sockaddr_from_json(const json& j) {
  JsonFields r(j);
  SockAddr a;
  r.num("family", a.family);
  r.str("address", a.address, false);
  r.num("port", a.port, false);
  r.str("path", a.path, false);
  if (!r.ok()) return std::nullopt;
  return a;
}

json to_json(const Losses& l) {
  json by_type = json::object();
  for (std::size_t i = 0; i < l.ring_full.size(); ++i)
    if (l.ring_full[i]) by_type[type_name(static_cast<EventType>(i))] = l.ring_full[i];
  return {{"total", l.total()},     {"ring_buffer_full", l.ring_total()}, {"by_type", by_type},
          {"untracked_processes", l.track_full}, {"malformed", l.malformed}, {"unknown_type", l.unknown}};
}

std::optional<Losses> losses_from_json(const json& j) {
  JsonFields r(j);
  Losses l;
  r.num("untracked_processes", l.track_full, false);
  r.num("malformed", l.malformed, false);
  r.num("unknown_type", l.unknown, false);
  if (const json* by_type = r.field("by_type", false)) {
    if (!by_type->is_object()) return std::nullopt;
    for (const auto& [name, n] : by_type->items()) {
      EventType t{};
      if (!n.is_number_unsigned()) return std::nullopt;
      auto v = n.get<std::uint64_t>();
      // A type this version does not know was lost all the same: counted as unknown.
      if (type_from_name(name, t) && static_cast<std::size_t>(t) < l.ring_full.size())
        l.ring_full[static_cast<std::size_t>(t)] += v;
      else
        l.unknown += v;
    }
  }
  if (!r.ok()) return std::nullopt;
  return l;
}

std::optional<Event> event_from_json(const json& j, std::string* why) {
  auto failed = [&](const std::string& reason) -> std::optional<Event> {
    if (why) *why = reason;
    return std::nullopt;
  };
  JsonFields r(j);
  std::string type;
  r.str("type", type);
  if (!r.ok()) return failed(r.why());
  Event e;
  if (!type_from_name(type, e.hdr.type)) return failed("unknown event type '" + type.substr(0, 40) + "'");
  r.num("ts_ns", e.hdr.ts_ns);
  r.num("pid", e.hdr.pid);
  r.num("tid", e.hdr.tid, false);
  r.num("ppid", e.hdr.ppid, false);
  r.num("uid", e.hdr.uid, false);
  r.num("gid", e.hdr.gid, false);
  r.num("cgroup_id", e.hdr.cgroup_id, false);
  r.str("comm", e.hdr.comm, false);
  r.boolean("adopted", e.hdr.adopted, false);
  r.boolean("truncated", e.hdr.truncated, false);
  e.body = payload_for(e.hdr.type);
  std::visit(
      [&](auto& p) {
        Reader rd{r};
        fields(rd, p);
      },
      e.body);
  if (!r.ok()) return failed(type + ": " + r.why());
  return e;
}

}  // namespace pm::model
