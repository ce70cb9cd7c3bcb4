#include "report/describe.h"

#include <cstdio>

#include "model/names.h"
#include "util/redact.h"
#include "util/strings.h"

namespace pm::report {
namespace {

using namespace pm::model;

constexpr std::size_t kMaxArgs = 160;
constexpr std::size_t kMaxText = 200;

std::string quote_arg(const std::string& a) {
  if (!a.empty() && a.find_first_of(" \t\n\"'\\$") == std::string::npos) return escape_bytes(a);
  return "\"" + escape_bytes(a) + "\"";
}

std::string clip(std::string s, std::size_t max) {
  if (s.size() > max) s = s.substr(0, max) + "...";
  return s;
}

std::string argv_text(const std::vector<std::string>& argv) {
  std::vector<std::string> q;
  for (const auto& a : redact_argv(argv)) q.push_back(quote_arg(a));
  return clip(join(q, " "), kMaxArgs);
}

// The first and the last non-empty line of captured output (Python puts the
// error on the last one).
std::string first_line(const std::string& s) {
  for (const auto& line : split(s, '\n')) {
    auto t = trim(line);
    if (!t.empty()) return std::string(t);
  }
  return "";
}
std::string last_line(const std::string& s) {
  auto lines = split(s, '\n');
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    auto t = trim(*it);
    if (!t.empty()) return std::string(t);
  }
  return "";
}

std::string text(const Exec& p) {
  std::string s = "exec " + escape_bytes(p.filename);
  if (!p.interp.empty()) s += " (interpreter " + escape_bytes(p.interp) + ")";
  if (!p.argv.empty()) s += ": " + argv_text(p.argv);
  return s;
}
std::string text(const ExecFailed& p) {
  return "exec failed " + errno_name(p.err) + " " + escape_bytes(p.filename);
}
std::string text(const Fork& p) { return "fork -> " + std::to_string(p.child_pid); }
std::string text(const Exit& p) {
  if (p.signal())
    return std::string("killed by ") + signal_name(p.signal()) + (p.core_dumped() ? " (core dumped)" : "");
  return "exit " + std::to_string(p.code());
}
std::string text(const SignalGenerate& p) {
  std::string s = "send " + signal_name(p.sig) + " -> " + std::to_string(p.target_pid) + " (" +
                  escape_bytes(p.target_comm) + ")";
  if (p.from_kernel) s += " from the kernel";
  if (p.result == 1) s += ", ignored";
  else if (p.result == 2) s += ", already pending";
  else if (p.result > 2) s += ", not delivered";
  return s;
}
std::string text(const SignalDeliver& p) {
  std::string s = "got " + signal_name(p.sig);
  if (p.sender_pid) s += " from pid " + std::to_string(p.sender_pid);
  s += p.handler == 0 ? " (default action)" : p.handler == 1 ? " (ignored)" : " (handler)";
  if (p.syscall_nr >= 0) {
    s += " in " + syscall_name(p.syscall_nr) + "()";
    if (p.syscall_fd >= 0) s += " on fd " + std::to_string(p.syscall_fd);
  }
  return s;
}
std::string text(const OpenFailed& p) {
  return "open failed " + errno_name(p.err) + " " + escape_bytes(p.path) + " (" + open_flags(p.flags) + ")";
}
std::string text(const Connect& p) {
  std::string res = p.err ? errno_name(p.err) : "ok";
  return "connect " + p.addr.to_string() + " " + res + " in " + format_duration(p.duration_ns);
}
std::string text(const TcpConnect& p) {
  if (p.established()) return "tcp connected " + p.peer.to_string() + " after " + format_duration(p.duration_ns);
  return "tcp connect to " + p.peer.to_string() + " failed (" + tcp_state_name(p.new_state) + ") after " +
         format_duration(p.duration_ns);
}
std::string text(const Bind& p) {
  return "bind " + p.addr.to_string() + " " + (p.err ? errno_name(p.err) : std::string("ok"));
}
std::string text(const Listen& p) { return "listening on " + p.addr.to_string(); }
std::string text(const Write& p) {
  std::string where = p.fd == 2 ? "stderr" : "stdout";
  std::string first = first_line(p.head);
  std::string s = where + " " + std::to_string(p.count) + "B: \"" + clip(escape_bytes(first), 80) + "\"";
  std::string last = last_line(p.tail.empty() ? p.head : p.tail);
  if (!last.empty() && last != first) s += " ... \"" + clip(escape_bytes(last), 100) + "\"";
  return s;
}
std::string text(const OomVictim& p) {
  return "OOM killer chose " + std::to_string(p.victim_pid) + " (" + escape_bytes(p.victim_comm) + "), " +
         std::to_string(p.total_vm_pages * 4 / 1024) + " MiB virtual";
}
std::string text(const ChdirFailed& p) {
  return "chdir failed " + errno_name(p.err) + " " + escape_bytes(p.path);
}
std::string text(const Milestone& p) {
  if (p.kind == MilestoneKind::heartbeat) return "first heartbeat (fd " + std::to_string(p.fd) + "): booted";
  if (p.kind == MilestoneKind::accept)
    return "first connection accepted" + (p.peer.family ? " from " + p.peer.to_string() : std::string());
  return "milestone " + std::to_string(static_cast<unsigned>(p.kind));
}
std::string text(const CgroupAdopt& p) {
  return "cgroup " + escape_bytes(p.path) + " created: tracing its processes";
}

}  // namespace

std::string format_duration(std::uint64_t ns) {
  char buf[32];
  if (ns >= 1000000000ull) std::snprintf(buf, sizeof buf, "%.3fs", ns / 1e9);
  else if (ns >= 1000000ull) std::snprintf(buf, sizeof buf, "%.1fms", ns / 1e6);
  else std::snprintf(buf, sizeof buf, "%lluus", static_cast<unsigned long long>(ns / 1000));
  return buf;
}

std::string describe(const model::Event& e) {
  std::string s = std::visit([](const auto& p) { return text(p); }, e.body);
  if (e.hdr.adopted) s += " [adopted]";
  return clip(redact(s), kMaxText + kMaxArgs);
}

}  // namespace pm::report
