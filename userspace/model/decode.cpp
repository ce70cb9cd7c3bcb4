#include "model/decode.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "pmtrace.h"
#include "util/strings.h"

namespace pm::model {

// The kernel's enum and the model's are built from the same catalogue rows; the
// bound of both is checked here, where the two meet.
static_assert(kEventTypeEnd == PM_EV_TYPE_MAX, "model and wire disagree on the number of event types");
static_assert(kWireVersion == PM_WIRE_VERSION, "model/decode.h's kWireVersion must follow bpf/pmtrace.h");

namespace {

template <typename T>
std::string str(const T& arr) {
  return from_cstr(arr, sizeof(arr));
}

SockAddr sockaddr_of(const pm_sockaddr& sa) {
  std::size_t len = sa.len > sizeof(sa.raw) ? sizeof(sa.raw) : sa.len;
  return decode_sockaddr(sa.family, sa.raw, len);
}

Header header_of(const pm_hdr& h) {
  Header out;
  out.type = static_cast<EventType>(h.type);
  out.ts_ns = h.ts_ns;
  out.pid = h.tgid;
  out.tid = h.tid;
  out.ppid = h.ppid;
  out.uid = h.uid;
  out.gid = h.gid;
  out.cgroup_id = h.cgroup_id;
  out.comm = str(h.comm);
  out.adopted = h.flags & PM_F_ADOPTED;
  out.truncated = h.flags & PM_F_TRUNCATED;
  return out;
}

Payload payload_of(const pm_ev_exec& e) {
  Exec p;
  p.filename = str(e.filename);
  p.interp = str(e.interp);
  std::size_t n = e.args_len > sizeof(e.args) ? sizeof(e.args) : e.args_len;
  p.argv = split_args(std::string_view(e.args, n));
  p.old_tid = e.old_tid;
  return p;
}
Payload payload_of(const pm_ev_exec_fail& e) { return ExecFailed{str(e.filename), e.err}; }
Payload payload_of(const pm_ev_fork& e) { return Fork{e.child_tgid}; }
Payload payload_of(const pm_ev_exit& e) {
  Exit p;
  p.raw = e.exit_code;
  p.start_ns = e.start_ns;
  return p;
}
Payload payload_of(const pm_ev_signal_generate& e) {
  SignalGenerate p;
  p.sig = e.sig;
  p.code = e.code;
  p.err = e.err;
  p.result = e.result;
  p.target_pid = e.target_tgid;
  p.target_tid = e.target_tid;
  p.target_comm = str(e.target_comm);
  p.group = e.group != 0;
  p.from_kernel = e.from_kernel != 0;
  p.sender_pid = e.sender_pid;
  return p;
}
Payload payload_of(const pm_ev_signal_deliver& e) {
  return SignalDeliver{e.sig, e.code, e.err, e.sender_pid, e.sender_uid, e.handler, e.syscall_nr, e.syscall_fd,
                       e.syscall_ret};
}
Payload payload_of(const pm_ev_open_fail& e) {
  return OpenFailed{str(e.path), e.dfd, e.err, e.flags, e.mode, e.openat2 != 0};
}
Payload payload_of(const pm_ev_connect& e) {
  return Connect{e.fd, e.err, e.duration_ns, sockaddr_of(e.addr)};
}
Payload payload_of(const pm_ev_tcp_connect& e) {
  return TcpConnect{e.oldstate, e.newstate, e.duration_ns, sockaddr_of(e.peer)};
}
Payload payload_of(const pm_ev_bind& e) { return Bind{e.fd, e.err, sockaddr_of(e.addr)}; }
Payload payload_of(const pm_ev_listen& e) { return Listen{sockaddr_of(e.addr)}; }
Payload payload_of(const pm_ev_write& e) {
  Write p;
  p.fd = e.fd;
  p.count = e.count;
  std::size_t head = e.head_len > PM_WRITE_HEAD ? PM_WRITE_HEAD : e.head_len;
  std::size_t tail = e.tail_len > PM_WRITE_TAIL ? PM_WRITE_TAIL : e.tail_len;
  p.head.assign(e.data, head);
  p.tail.assign(e.data + PM_WRITE_HEAD, tail);
  return p;
}
Payload payload_of(const pm_ev_oom_victim& e) {
  return OomVictim{e.victim_tgid, e.victim_uid, e.total_vm_pages, str(e.victim_comm)};
}
Payload payload_of(const pm_ev_cgroup_adopt& e) {
  return CgroupAdopt{e.cgroup_id, e.level, str(e.path)};
}
Payload payload_of(const pm_ev_chdir_fail& e) { return ChdirFailed{str(e.path), e.err}; }
Payload payload_of(const pm_ev_milestone& e) {
  return Milestone{static_cast<MilestoneKind>(e.kind), e.fd, sockaddr_of(e.addr)};
}

// Copies the record into an aligned local of its wire type and decodes it.
template <typename Wire>
DecodeResult decode_as(const void* data, std::size_t size) {
  DecodeResult r;
  if (size != sizeof(Wire)) {
    r.error = DecodeError::size_mismatch;
    return r;
  }
  Wire w;
  std::memcpy(&w, data, sizeof w);
  r.event.hdr = header_of(w.hdr);
  r.event.body = payload_of(w);
  return r;
}

}  // namespace

SockAddr decode_sockaddr(std::uint16_t family, const std::uint8_t* raw, std::size_t len) {
  SockAddr out;
  out.family = family;
  char buf[INET6_ADDRSTRLEN] = {};
  if (family == AF_INET && len >= sizeof(sockaddr_in)) {
    sockaddr_in sin;
    std::memcpy(&sin, raw, sizeof sin);
    inet_ntop(AF_INET, &sin.sin_addr, buf, sizeof buf);
    out.address = buf;
    out.port = ntohs(sin.sin_port);
  } else if (family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    sockaddr_in6 sin6;
    std::memcpy(&sin6, raw, sizeof sin6);
    inet_ntop(AF_INET6, &sin6.sin6_addr, buf, sizeof buf);
    out.address = buf;
    out.port = ntohs(sin6.sin6_port);
  } else if (family == AF_UNIX && len > offsetof(sockaddr_un, sun_path)) {
    const char* path = reinterpret_cast<const char*>(raw) + offsetof(sockaddr_un, sun_path);
    std::size_t n = len - offsetof(sockaddr_un, sun_path);
    if (n > 0 && path[0] == '\0') {
      out.path = "@" + from_cstr(path + 1, n - 1);  // abstract namespace
    } else {
      out.path = from_cstr(path, n);
    }
  }
  return out;
}

DecodeResult decode_record(const void* data, std::size_t size) noexcept {
  DecodeResult r;
  try {
    if (size < sizeof(pm_hdr)) {
      r.error = DecodeError::too_short;
      return r;
    }
    pm_hdr h;
    std::memcpy(&h, data, sizeof h);
    if (h.size != size) {
      r.error = DecodeError::size_mismatch;
      return r;
    }
    switch (h.type) {
#define PM_EVENT(number, WIRE, wire, name, Model, description) \
  case PM_EV_##WIRE: return decode_as<wire>(data, size);
#include "pmtrace_events.def"
#undef PM_EVENT
      default: r.error = DecodeError::unknown_type; return r;
    }
  } catch (...) {  // std::bad_alloc from a string: count it as malformed
    r.error = DecodeError::size_mismatch;
    return r;
  }
}

}  // namespace pm::model
