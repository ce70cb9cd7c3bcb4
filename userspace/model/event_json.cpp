#include "model/event_json.h"

#include "model/names.h"

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
  if (p.sender_pid) j["sender_pid"] = p.sender_pid;
}
void fill(json& j, const SignalDeliver& p) {
  j["signal"] = signal_name(p.sig);
  j["si_code"] = si_code_name(p.code);
  if (p.sender_pid) j["sender_pid"] = p.sender_pid;
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
  j["kind"] = p.kind == MilestoneKind::heartbeat ? "heartbeat" : p.kind == MilestoneKind::accept ? "accept" : "unknown";
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

}  // namespace pm::model
