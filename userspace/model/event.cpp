#include "model/event.h"

#include <sys/socket.h>

#include <array>
#include <utility>

namespace pm::model {
namespace {

constexpr std::array<std::pair<EventType, const char*>, 16> kNames{{
    {EventType::exec, "exec"},
    {EventType::exec_failed, "exec_failed"},
    {EventType::fork, "fork"},
    {EventType::exit, "exit"},
    {EventType::signal_generate, "signal_generate"},
    {EventType::signal_deliver, "signal_deliver"},
    {EventType::open_failed, "open_failed"},
    {EventType::connect, "connect"},
    {EventType::tcp_connect, "tcp_connect"},
    {EventType::bind, "bind"},
    {EventType::listen, "listen"},
    {EventType::write, "write"},
    {EventType::oom_victim, "oom_victim"},
    {EventType::cgroup_adopt, "cgroup_adopt"},
    {EventType::chdir_failed, "chdir_failed"},
    {EventType::milestone, "milestone"},
}};

}  // namespace

const char* type_name(EventType t) {
  for (const auto& [type, name] : kNames)
    if (type == t) return name;
  return "unknown";
}

bool type_from_name(const std::string& name, EventType& out) {
  for (const auto& [type, n] : kNames) {
    if (name == n) {
      out = type;
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
