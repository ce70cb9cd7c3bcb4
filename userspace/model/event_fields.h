// Each event payload's fields, declared once: JSON writing, JSON reading and
// the watch window's size estimate all walk these declarations, so a field
// added to a model struct (model/event.h) is added here and nowhere else.
//
// A visitor V has, for a field `key` of the payload:
//   v.text(key, std::string&, Field)
//   v.texts(key, std::vector<std::string>&, Field)
//   v.number(key, integer&, Field)
//   v.flag(key, bool&, Field)
//   v.named(key, integer&, to_name, from_name, Field)  a number shown by its name (errno, signal...)
//   v.address(key, SockAddr&, Field)
//   v.derived(key, value)        written only: computed from the other fields
//   v.custom(write, read)        fields stored packed (Exit's raw status, ...):
//                                write(json&) and read(JsonFields&)
// and `P` is the payload, const when written, not when read.
#pragma once

#include <string>
#include <type_traits>

#include "model/event.h"
#include "model/names.h"

namespace pm::model {

// How a field appears in JSON.
enum class Field {
  required,  // always written; a recording without it is malformed
  optional,  // always written; absent in a recording reads as the default
  when_set,  // written only when not the default (0, "", false); optional when read
};

template <typename P, typename T>
concept payload_of_type = std::is_same_v<std::remove_const_t<P>, T>;

// "" for no error: connect() and bind() succeed more often than not.
inline std::string errno_or_empty(int err) { return err ? errno_name(err) : ""; }

template <typename V, payload_of_type<Exec> P>
void fields(V& v, P& p) {
  v.text("filename", p.filename, Field::required);
  v.text("interp", p.interp, Field::when_set);
  v.texts("argv", p.argv, Field::required);
  v.number("old_tid", p.old_tid, Field::when_set);
}

template <typename V, payload_of_type<ExecFailed> P>
void fields(V& v, P& p) {
  v.text("filename", p.filename, Field::required);
  v.named("errno", p.err, errno_name, errno_from_name, Field::required);
}

template <typename V, payload_of_type<Fork> P>
void fields(V& v, P& p) {
  v.number("child_pid", p.child_pid, Field::required);
}

template <typename V, payload_of_type<Exit> P>
void fields(V& v, P& p) {
  // The kernel's packed status: a signal (and core dump) or an exit code.
  v.custom(
      [&](auto& j) {
        if (p.signal()) {
          j["signal"] = signal_name(p.signal());
          j["core_dumped"] = p.core_dumped();
        } else {
          j["exit_code"] = p.code();
        }
      },
      [&](auto& r) {
        if constexpr (!std::is_const_v<P>) {
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
        }
      });
  v.number("start_ns", p.start_ns, Field::optional);
}

template <typename V, payload_of_type<SignalGenerate> P>
void fields(V& v, P& p) {
  v.named("signal", p.sig, signal_name, signal_from_name, Field::required);
  v.named("si_code", p.code, si_code_name, si_code_from_name, Field::optional);
  v.flag("from_kernel", p.from_kernel, Field::optional);
  v.number("target_pid", p.target_pid, Field::required);
  v.number("target_tid", p.target_tid, Field::optional);
  v.text("target_comm", p.target_comm, Field::optional);
  v.flag("group", p.group, Field::optional);
  v.number("result", p.result, Field::optional);
  v.named("errno", p.err, errno_name, errno_from_name, Field::when_set);
  v.number("sender_pid", p.sender_pid, Field::when_set);
}

template <typename V, payload_of_type<SignalDeliver> P>
void fields(V& v, P& p) {
  v.named("signal", p.sig, signal_name, signal_from_name, Field::required);
  v.named("si_code", p.code, si_code_name, si_code_from_name, Field::optional);
  v.number("sender_pid", p.sender_pid, Field::when_set);
  v.number("sender_uid", p.sender_uid, Field::when_set);
  v.named("errno", p.err, errno_name, errno_from_name, Field::when_set);
  // The disposition (a handler's address means nothing elsewhere), and the
  // system call the receiver was in, when it was in one.
  v.custom(
      [&](auto& j) {
        j["handler"] = p.handler == 0 ? "default" : p.handler == 1 ? "ignore" : "handler";
        if (p.syscall_nr >= 0) {
          j["syscall"] = syscall_name(p.syscall_nr);
          j["syscall_fd"] = p.syscall_fd;
          j["syscall_ret"] = p.syscall_ret;
        }
      },
      [&](auto& r) {
        if constexpr (!std::is_const_v<P>) {
          std::string handler = "default";
          r.str("handler", handler, false);
          p.handler = handler == "default" ? 0 : handler == "ignore" ? 1 : 2;
          if (r.field("syscall", false)) {
            r.named("syscall", p.syscall_nr, syscall_from_name);
            r.num("syscall_fd", p.syscall_fd, false);
            r.num("syscall_ret", p.syscall_ret, false);
          }
        }
      });
}

template <typename V, payload_of_type<OpenFailed> P>
void fields(V& v, P& p) {
  v.text("path", p.path, Field::required);
  v.named("errno", p.err, errno_name, errno_from_name, Field::required);
  v.named("flags", p.flags, open_flags, open_flags_from_names, Field::optional);
  v.number("mode", p.mode, Field::optional);
  v.flag("openat2", p.openat2, Field::when_set);
}

template <typename V, payload_of_type<Connect> P>
void fields(V& v, P& p) {
  v.number("fd", p.fd, Field::optional);
  v.address("addr", p.addr, Field::required);
  v.named("errno", p.err, errno_or_empty, errno_from_name, Field::optional);
  v.number("duration_ns", p.duration_ns, Field::optional);
}

template <typename V, payload_of_type<TcpConnect> P>
void fields(V& v, P& p) {
  v.address("peer", p.peer, Field::required);
  v.named("state", p.new_state, tcp_state_name, tcp_state_from_name, Field::required);
  v.named("old_state", p.old_state, tcp_state_name, tcp_state_from_name, Field::optional);
  v.derived("established", p.established());
  v.number("duration_ns", p.duration_ns, Field::optional);
}

template <typename V, payload_of_type<Bind> P>
void fields(V& v, P& p) {
  v.number("fd", p.fd, Field::optional);
  v.address("addr", p.addr, Field::required);
  v.named("errno", p.err, errno_or_empty, errno_from_name, Field::optional);
}

template <typename V, payload_of_type<Listen> P>
void fields(V& v, P& p) {
  v.address("addr", p.addr, Field::required);
}

template <typename V, payload_of_type<Write> P>
void fields(V& v, P& p) {
  v.number("fd", p.fd, Field::required);
  v.number("count", p.count, Field::required);
  v.text("head", p.head, Field::required);
  v.text("tail", p.tail, Field::when_set);
  if (p.skipped()) v.derived("skipped", p.skipped());
}

template <typename V, payload_of_type<OomVictim> P>
void fields(V& v, P& p) {
  v.number("victim_pid", p.victim_pid, Field::required);
  v.number("victim_uid", p.victim_uid, Field::optional);
  v.text("victim_comm", p.victim_comm, Field::optional);
  v.number("total_vm_pages", p.total_vm_pages, Field::optional);
}

template <typename V, payload_of_type<CgroupAdopt> P>
void fields(V& v, P& p) {
  v.number("cgroup_id", p.cgroup_id, Field::required);
  v.number("level", p.level, Field::optional);
  v.text("path", p.path, Field::optional);
}

template <typename V, payload_of_type<ChdirFailed> P>
void fields(V& v, P& p) {
  v.text("path", p.path, Field::required);
  v.named("errno", p.err, errno_name, errno_from_name, Field::required);
}

// "heartbeat", "accept", or "kind N" for a kind this version has no name for.
std::string milestone_kind_name(MilestoneKind k);
bool milestone_kind_from_name(const std::string& name, MilestoneKind& out);

template <typename V, payload_of_type<Milestone> P>
void fields(V& v, P& p) {
  v.named("kind", p.kind, milestone_kind_name, milestone_kind_from_name, Field::required);
  v.number("fd", p.fd, Field::optional);
  v.address("peer", p.peer, Field::when_set);
}

// The bytes a payload's strings hold (text, texts, addresses), for the watch
// window's memory estimate.
std::size_t string_bytes(const Payload& p);

}  // namespace pm::model
