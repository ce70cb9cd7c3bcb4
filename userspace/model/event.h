// The one event model every source produces and every consumer reads.
// Decoded once from the wire structs in bpf/pmtrace.h (or built by the ptrace
// and replay sources); times are CLOCK_MONOTONIC nanoseconds.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace pm::model {

// Numbered by the catalogue, bpf/pmtrace_events.def (one row per type).
enum class EventType : std::uint16_t {
#define PM_EVENT(number, WIRE, wire, name, Model, description) name = number,
#include "pmtrace_events.def"
#undef PM_EVENT
};
// How many types the catalogue has, and one past the highest: the size of
// arrays indexed by type (the kernel's PM_EV_TYPE_MAX, checked in model/decode.cpp).
inline constexpr std::size_t kEventTypeCount = 0
#define PM_EVENT(...) +1
#include "pmtrace_events.def"
#undef PM_EVENT
    ;
inline constexpr std::size_t kEventTypeEnd = kEventTypeCount + 1;

// Every type, in catalogue order.
inline constexpr EventType kEventTypes[] = {
#define PM_EVENT(number, WIRE, wire, name, Model, description) EventType::name,
#include "pmtrace_events.def"
#undef PM_EVENT
};

// Stable names used in JSON and recordings ("exec", "open_failed", ...).
const char* type_name(EventType t);
bool type_from_name(const std::string& name, EventType& out);

struct SockAddr {
  int family = 0;          // AF_INET, AF_INET6, AF_UNIX, 0 when unknown
  std::string address;     // "127.0.0.1", "::1"; empty for AF_UNIX
  std::uint16_t port = 0;  // host byte order
  std::string path;        // AF_UNIX path; abstract names start with '@'

  std::string to_string() const;  // "127.0.0.1:5432", "[::1]:80", "unix:/run/x.sock"
  bool operator==(const SockAddr&) const = default;
};

struct Header {
  EventType type{};
  std::uint64_t ts_ns = 0;  // CLOCK_MONOTONIC
  std::uint32_t pid = 0, tid = 0, ppid = 0, uid = 0, gid = 0;
  std::uint64_t cgroup_id = 0;
  std::string comm;
  bool adopted = false;    // this event brought the process into scope
  bool truncated = false;  // a string or buffer was cut
};

struct Exec {
  std::string filename;
  std::string interp;  // #! interpreter, empty unless it differs from filename
  std::vector<std::string> argv;
  std::uint32_t old_tid = 0;
};
struct ExecFailed {
  std::string filename;
  int err = 0;
};
struct Fork {
  std::uint32_t child_pid = 0;
};
struct Exit {
  int raw = 0;  // kernel exit_code
  int code() const { return (raw >> 8) & 0xff; }
  int signal() const { return raw & 0x7f; }
  bool core_dumped() const { return raw & 0x80; }
  bool failed() const { return raw != 0; }
  std::uint64_t start_ns = 0;
};
struct SignalGenerate {
  int sig = 0, code = 0, err = 0, result = 0;
  std::uint32_t target_pid = 0, target_tid = 0;
  std::string target_comm;
  bool group = false;
  bool from_kernel = false;
  std::uint32_t sender_pid = 0;
};
struct SignalDeliver {
  int sig = 0, code = 0, err = 0;
  std::uint32_t sender_pid = 0, sender_uid = 0;
  std::uint64_t handler = 0;  // 0 default, 1 ignored, else a handler
  // What the receiver was in when the signal arrived: a system call number
  // (x86_64; -1 none), its descriptor (-1 none) and its interrupted result.
  int syscall_nr = -1;
  int syscall_fd = -1;
  std::int64_t syscall_ret = 0;
};
struct OpenFailed {
  std::string path;
  int dfd = 0;
  int err = 0;
  std::uint64_t flags = 0;
  std::uint32_t mode = 0;
  bool openat2 = false;
};
struct Connect {
  int fd = 0;
  int err = 0;  // 0 or errno (EINPROGRESS for a non-blocking start)
  std::uint64_t duration_ns = 0;
  SockAddr addr;
};
struct TcpConnect {
  int old_state = 0, new_state = 0;  // TCP_SYN_SENT -> TCP_ESTABLISHED / TCP_CLOSE
  std::uint64_t duration_ns = 0;
  SockAddr peer;
  bool established() const { return new_state == 1; }
};
struct Bind {
  int fd = 0;
  int err = 0;
  SockAddr addr;
};
struct Listen {
  SockAddr addr;
};
struct Write {
  int fd = 0;
  std::uint64_t count = 0;
  std::string head;  // first bytes
  std::string tail;  // last bytes, when the write was longer than head
  std::uint64_t skipped() const { return count > head.size() + tail.size() ? count - head.size() - tail.size() : 0; }
};
struct OomVictim {
  std::uint32_t victim_pid = 0, victim_uid = 0;
  std::uint64_t total_vm_pages = 0;
  std::string victim_comm;
};
struct CgroupAdopt {
  std::uint64_t cgroup_id = 0;
  int level = 0;
  std::string path;
};

struct ChdirFailed {
  std::string path;
  int err = 0;
};
enum class MilestoneKind : std::uint32_t { heartbeat = 1, accept = 2 };
// The first time a process did something that marks progress (once per kind).
struct Milestone {
  MilestoneKind kind = MilestoneKind::heartbeat;
  int fd = -1;
  SockAddr peer;  // accept: the client
};

namespace detail {
template <typename... T>
struct TypeList {
  template <typename U>
  using add = TypeList<T..., U>;
  using variant = std::variant<T...>;
};
}  // namespace detail

// One alternative per catalogue row, in its order: alternative I is type I + 1.
using Payload = detail::TypeList<>
#define PM_EVENT(number, WIRE, wire, name, Model, description) ::add<Model>
#include "pmtrace_events.def"
#undef PM_EVENT
    ::variant;
#define PM_EVENT(number, WIRE, wire, name, Model, description)                                    \
  static_assert(std::is_same_v<std::variant_alternative_t<number - 1, Payload>, Model>,            \
                "pmtrace_events.def: rows must be numbered 1, 2, 3... in order (" #name ")");
#include "pmtrace_events.def"
#undef PM_EVENT

// The catalogue's description of a type (docs, --help); "" for an unknown type.
const char* type_description(EventType t);

struct Event {
  Header hdr;
  Payload body;

  template <typename T>
  const T* as() const { return std::get_if<T>(&body); }
};

// Checks that hdr.type names the payload alternative (decoders and parsers
// build events field by field; this keeps the two in step).
bool consistent(const Event& e);

}  // namespace pm::model
