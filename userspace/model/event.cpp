#include "model/event.h"

#include "model/event_fields.h"
#include "util/strings.h"

#include <sys/socket.h>


namespace pm::model {
const char* type_name(EventType t) {
  switch (t) {
#define PM_EVENT(number, WIRE, wire, name, Model, description) \
  case EventType::name: return #name;
#include "pmtrace_events.def"
#undef PM_EVENT
  }
  return "unknown";
}

const char* type_description(EventType t) {
  switch (t) {
#define PM_EVENT(number, WIRE, wire, name, Model, description) \
  case EventType::name: return description;
#include "pmtrace_events.def"
#undef PM_EVENT
  }
  return "";
}

bool type_from_name(const std::string& name, EventType& out) {
  for (EventType t : kEventTypes) {
    if (name == type_name(t)) {
      out = t;
      return true;
    }
  }
  return false;
}

std::string SockAddr::to_string() const {
  switch (family) {
    case AF_INET: return address + ":" + std::to_string(port);
    case AF_INET6: return "[" + address + "]:" + std::to_string(port);
    case AF_UNIX: return "unix:" + (path.empty() ? std::string("(unnamed)") : path);
    case 0: return "(no address)";
    default: return "family " + std::to_string(family);
  }
}

std::string milestone_kind_name(MilestoneKind k) {
  switch (k) {
    case MilestoneKind::heartbeat: return "heartbeat";
    case MilestoneKind::accept: return "accept";
  }
  // A kind this version has no name for (a newer kernel side) keeps its number.
  return "kind " + std::to_string(static_cast<std::uint32_t>(k));
}

bool milestone_kind_from_name(const std::string& name, MilestoneKind& out) {
  if (name == "heartbeat") out = MilestoneKind::heartbeat;
  else if (name == "accept") out = MilestoneKind::accept;
  else if (auto n = parse_int(starts_with(name, "kind ") ? std::string_view(name).substr(5) : std::string_view());
           n && *n >= 0 && *n <= 0xffffffffll)
    out = static_cast<MilestoneKind>(*n);
  else
    return false;
  return true;
}

namespace {
// Adds up the strings a payload's field declarations name.
struct StringBytes {
  std::size_t n = 0;
  void text(const char*, const std::string& s, Field) { n += s.size(); }
  void texts(const char*, const std::vector<std::string>& v, Field) {
    for (const auto& s : v) n += s.size() + sizeof(std::string);
  }
  template <typename T>
  void number(const char*, const T&, Field) {}
  void flag(const char*, bool, Field) {}
  template <typename T, typename A, typename B>
  void named(const char*, const T&, A, B, Field) {}
  void address(const char*, const SockAddr& a, Field) { n += a.address.size() + a.path.size(); }
  template <typename T>
  void derived(const char*, const T&) {}
  template <typename W, typename R>
  void custom(W, R) {}
};
}  // namespace

std::size_t string_bytes(const Payload& p) {
  StringBytes b;
  std::visit([&](const auto& payload) { fields(b, payload); }, p);
  return b.n;
}

bool consistent(const Event& e) {
  // Payload alternatives are declared in EventType order, starting at 1.
  return static_cast<std::size_t>(e.hdr.type) == e.body.index() + 1;
}

}  // namespace pm::model
