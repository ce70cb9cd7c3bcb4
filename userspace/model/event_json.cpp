#include "model/event_json.h"

#include "model/json_fields.h"
#include "model/names.h"
#include "util/strings.h"

#include <limits>

namespace pm::model {
namespace {

using nlohmann::json;

// Captured bytes may be any binary: a json holding them must be dumped with
// error_handler_t::replace (see dump_line), never the throwing default.
json text(const std::string& s) { return json(s); }

void fill(json& j, const Exec& p) {
  j["filename"] = text(p.filename);
  if (!p.interp.empty()) j["interp"] = text(p.interp);
  json argv = json::array();
  for (const auto& a : p.argv) argv.push_back(text(a));
  j["argv"] = std::move(argv);
  if (p.old_tid) j["old_tid"] = p.old_tid;
}
void fill(json& j, const ExecFailed& p) {
  j["filename"] = text(p.filename);
  j["errno"] = errno_name(p.err);
}
void fill(json& j, const Fork& p) { j["child_pid"] = p.child_pid; }
void fill(json& j, const Exit& p) {
  if (p.signal()) {
    j["signal"] = signal_name(p.signal());
    j["core_dumped"] = p.core_dumped();
  } else {
    j["exit_code"] = p.code();
  }
  j["start_ns"] = p.start_ns;
}
void fill(json& j, const SignalGenerate& p) {
  j["signal"] = signal_name(p.sig);
  j["si_code"] = si_code_name(p.code);
  j["from_kernel"] = p.from_kernel;
  j["target_pid"] = p.target_pid;
  j["target_tid"] = p.target_tid;
  j["target_comm"] = text(p.target_comm);
  j["group"] = p.group;
  j["result"] = p.result;
  if (p.err) j["errno"] = errno_name(p.err);
  if (p.sender_pid) j["sender_pid"] = p.sender_pid;
}
void fill(json& j, const SignalDeliver& p) {
  j["signal"] = signal_name(p.sig);
  j["si_code"] = si_code_name(p.code);
  if (p.sender_pid) j["sender_pid"] = p.sender_pid;
  if (p.sender_uid) j["sender_uid"] = p.sender_uid;
  if (p.err) j["errno"] = errno_name(p.err);
  j["handler"] = p.handler == 0 ? "default" : p.handler == 1 ? "ignore" : "handler";
  if (p.syscall_nr >= 0) {
    j["syscall"] = syscall_name(p.syscall_nr);
    j["syscall_fd"] = p.syscall_fd;
    j["syscall_ret"] = p.syscall_ret;
  }
}
void fill(json& j, const OpenFailed& p) {
  j["path"] = text(p.path);
  j["errno"] = errno_name(p.err);
  j["flags"] = open_flags(p.flags);
  j["mode"] = p.mode;
  if (p.openat2) j["openat2"] = true;
}
void fill(json& j, const Connect& p) {
  j["fd"] = p.fd;
  j["addr"] = to_json(p.addr);
  j["errno"] = p.err ? errno_name(p.err) : "";
  j["duration_ns"] = p.duration_ns;
}
void fill(json& j, const TcpConnect& p) {
  j["peer"] = to_json(p.peer);
  j["state"] = tcp_state_name(p.new_state);
  j["old_state"] = tcp_state_name(p.old_state);
  j["established"] = p.established();
  j["duration_ns"] = p.duration_ns;
}
void fill(json& j, const Bind& p) {
  j["fd"] = p.fd;
  j["addr"] = to_json(p.addr);
  j["errno"] = p.err ? errno_name(p.err) : "";
}
void fill(json& j, const Listen& p) { j["addr"] = to_json(p.addr); }
void fill(json& j, const Write& p) {
  j["fd"] = p.fd;
  j["count"] = p.count;
  j["head"] = text(p.head);
  if (!p.tail.empty()) j["tail"] = text(p.tail);
  if (p.skipped()) j["skipped"] = p.skipped();
}
void fill(json& j, const OomVictim& p) {
  j["victim_pid"] = p.victim_pid;
  j["victim_uid"] = p.victim_uid;
  j["victim_comm"] = text(p.victim_comm);
  j["total_vm_pages"] = p.total_vm_pages;
}
void fill(json& j, const ChdirFailed& p) {
  j["path"] = text(p.path);
  j["errno"] = errno_name(p.err);
}
void fill(json& j, const Milestone& p) {
  // A kind this version has no name for (a newer kernel side) keeps its number.
  j["kind"] = p.kind == MilestoneKind::heartbeat ? std::string("heartbeat")
              : p.kind == MilestoneKind::accept  ? std::string("accept")
                                                 : "kind " + std::to_string(static_cast<std::uint32_t>(p.kind));
  j["fd"] = p.fd;
  if (p.peer.family) j["peer"] = to_json(p.peer);
}
void fill(json& j, const CgroupAdopt& p) {
  j["cgroup_id"] = p.cgroup_id;
  j["level"] = p.level;
  j["path"] = text(p.path);
}

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
  if (!a.path.empty()) j["path"] = text(a.path);
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
  j["comm"] = text(e.hdr.comm);
  if (e.hdr.adopted) j["adopted"] = true;
  if (e.hdr.truncated) j["truncated"] = true;
  std::visit([&](const auto& p) { fill(j, p); }, e.body);
  return j;
}

namespace {

void read(JsonFields& r, Exec& p) {
  r.str("filename", p.filename);
  r.str("interp", p.interp, false);
  r.num("old_tid", p.old_tid, false);
  r.strings("argv", p.argv);
}
void read(JsonFields& r, ExecFailed& p) {
  r.str("filename", p.filename);
  r.named("errno", p.err, errno_from_name);
}
void read(JsonFields& r, Fork& p) { r.num("child_pid", p.child_pid); }
void read(JsonFields& r, Exit& p) {
  int sig = 0, code = 0;
  bool core = false;
  if (r.field("signal", false)) {
    r.named("signal", sig, signal_from_name);
    r.boolean("core_dumped", core, false);
    if (sig < 0 || sig > 0x7f) r.fail("signal out of range");
  } else {
    r.num("exit_code", code);
    if (code < 0 || code > 0xff) r.fail("exit_code out of range");
  }
  p.raw = sig ? (sig | (core ? 0x80 : 0)) : (code << 8);
  r.num("start_ns", p.start_ns, false);
}
void read(JsonFields& r, SignalGenerate& p) {
  r.named("signal", p.sig, signal_from_name);
  r.named("si_code", p.code, si_code_from_name, false);
  r.boolean("from_kernel", p.from_kernel, false);
  r.num("target_pid", p.target_pid);
  r.num("target_tid", p.target_tid, false);
  r.str("target_comm", p.target_comm, false);
  r.boolean("group", p.group, false);
  r.num("result", p.result, false);
  r.named("errno", p.err, errno_from_name, false);
  r.num("sender_pid", p.sender_pid, false);
}
void read(JsonFields& r, SignalDeliver& p) {
  r.named("signal", p.sig, signal_from_name);
  r.named("si_code", p.code, si_code_from_name, false);
  r.num("sender_pid", p.sender_pid, false);
  r.num("sender_uid", p.sender_uid, false);
  r.named("errno", p.err, errno_from_name, false);
  std::string handler = "default";
  r.str("handler", handler, false);
  p.handler = handler == "default" ? 0 : handler == "ignore" ? 1 : 2;
  if (r.field("syscall", false)) {
    r.named("syscall", p.syscall_nr, syscall_from_name);
    r.num("syscall_fd", p.syscall_fd, false);
    r.num("syscall_ret", p.syscall_ret, false);
  }
}
void read(JsonFields& r, OpenFailed& p) {
  r.str("path", p.path);
  r.named("errno", p.err, errno_from_name);
  r.named("flags", p.flags, open_flags_from_names, false);
  r.num("mode", p.mode, false);
  r.boolean("openat2", p.openat2, false);
}
void read(JsonFields& r, Connect& p) {
  r.num("fd", p.fd, false);
  r.addr("addr", p.addr);
  r.named("errno", p.err, errno_from_name, false);
  r.num("duration_ns", p.duration_ns, false);
}
void read(JsonFields& r, TcpConnect& p) {
  r.addr("peer", p.peer);
  r.named("state", p.new_state, tcp_state_from_name);
  r.named("old_state", p.old_state, tcp_state_from_name, false);
  r.num("duration_ns", p.duration_ns, false);
}
void read(JsonFields& r, Bind& p) {
  r.num("fd", p.fd, false);
  r.addr("addr", p.addr);
  r.named("errno", p.err, errno_from_name, false);
}
void read(JsonFields& r, Listen& p) { r.addr("addr", p.addr); }
void read(JsonFields& r, Write& p) {
  r.num("fd", p.fd);
  r.num("count", p.count);
  r.str("head", p.head);
  r.str("tail", p.tail, false);
}
void read(JsonFields& r, OomVictim& p) {
  r.num("victim_pid", p.victim_pid);
  r.num("victim_uid", p.victim_uid, false);
  r.str("victim_comm", p.victim_comm, false);
  r.num("total_vm_pages", p.total_vm_pages, false);
}
void read(JsonFields& r, CgroupAdopt& p) {
  r.num("cgroup_id", p.cgroup_id);
  r.num("level", p.level, false);
  r.str("path", p.path, false);
}
void read(JsonFields& r, ChdirFailed& p) {
  r.str("path", p.path);
  r.named("errno", p.err, errno_from_name);
}
void read(JsonFields& r, Milestone& p) {
  std::string kind;
  r.str("kind", kind);
  if (kind == "heartbeat") p.kind = MilestoneKind::heartbeat;
  else if (kind == "accept") p.kind = MilestoneKind::accept;
  else if (auto n = parse_int(kind.rfind("kind ", 0) == 0 ? std::string_view(kind).substr(5) : std::string_view());
           n && *n >= 0 && *n <= 0xffffffffll)
    p.kind = static_cast<MilestoneKind>(*n);
  else if (r.ok()) r.fail("unknown milestone kind");
  r.num("fd", p.fd, false);
  r.addr("peer", p.peer, false);
}

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
  std::visit([&](auto& p) { read(r, p); }, e.body);
  if (!r.ok()) return failed(type + ": " + r.why());
  return e;
}

}  // namespace pm::model
