#include "model/event.h"

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

bool consistent(const Event& e) {
  // Payload alternatives are declared in EventType order, starting at 1.
  return static_cast<std::size_t>(e.hdr.type) == e.body.index() + 1;
}

}  // namespace pm::model
