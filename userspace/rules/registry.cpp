#include <algorithm>
#include <cstdio>
#include <set>

#include "model/names.h"
#include "rules/finding.h"
#include "util/strings.h"

namespace pm::rules {

const std::vector<RuleInfo>& all_rules() {
  static const std::vector<RuleInfo> rules = {
#define PM_RULE_INFO(fn) fn##_rule(),
      PM_RULES(PM_RULE_INFO)
#undef PM_RULE_INFO
  };
  return rules;
}

std::vector<Finding> run_rules(const analysis::Aggregator& agg) {
  std::vector<Finding> out;
  for (const auto& r : all_rules()) {
    auto found = r.fn(agg);
    for (auto& f : found) {
      f.rule = r.id;
      if (f.preflight.empty()) f.preflight = r.preflight;
      if (f.rank == rank::unranked) f.rank = r.rank;
      // The same finding again (each start of a Restart= loop fails alike):
      // one finding that says how often and when.
      auto same = std::find_if(out.begin(), out.end(),
                               [&](const Finding& o) { return o.rule == f.rule && o.title == f.title; });
      if (same == out.end()) {
        out.push_back(std::move(f));
        continue;
      }
      same->repeats.push_back(f.ts_ns);
      constexpr std::size_t kMaxEvidence = 16;
      for (auto& e : f.evidence)
        if (same->evidence.size() < kMaxEvidence) same->evidence.push_back(std::move(e));
      sort_by_time(same->evidence);
    }
  }
  for (auto& f : out)
    if (!f.repeats.empty()) {
      std::string when = "+" + seconds_text(seconds_since_start(agg, f.ts_ns));
      for (auto ts : f.repeats) when += ", +" + seconds_text(seconds_since_start(agg, ts));
      f.facts.push_back("seen " + std::to_string(f.repeats.size() + 1) + " times: at " + when);
    }
  std::stable_sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) {
    if (a.severity != b.severity) return a.severity < b.severity;
    if (a.rank != b.rank) return a.rank < b.rank;
    return a.ts_ns < b.ts_ns;
  });
  return out;
}

std::string describe_process(const analysis::Process& p) {
  std::string s = std::string(analysis::role_name(p.role));
  if (p.role == analysis::Role::other) s = p.comm.empty() ? "process" : p.comm;
  s += " (pid " + std::to_string(p.pid);
  if (p.uid_known) s += ", uid " + std::to_string(p.uid) + " gid " + std::to_string(p.gid);
  return s + ")";
}

double seconds_since_start(const analysis::Aggregator& agg, std::uint64_t ts_ns) {
  if (ts_ns < agg.start_ns()) return 0;
  return static_cast<double>(ts_ns - agg.start_ns()) / 1e9;
}

std::string after_start_text(const analysis::Aggregator& agg, std::uint64_t ts_ns) {
  return seconds_text(seconds_since_start(agg, ts_ns)) +
         (agg.running_before_tracing() ? " after tracing began" : " after start");
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

void sort_by_time(std::vector<model::Event>& events) {
  std::stable_sort(events.begin(), events.end(),
                   [](const model::Event& a, const model::Event& b) { return a.hdr.ts_ns < b.hdr.ts_ns; });
}

std::string mode_string(std::uint32_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

std::string owner_of(const analysis::Aggregator& agg, const analysis::FileFacts& f) {
  std::string u = f.owner.empty() ? agg.user_name(f.uid) : f.owner;
  std::string g = f.group.empty() ? agg.group_name(f.gid) : f.group;
  return u + ":" + g;
}

std::string ownership(const analysis::Aggregator& agg, const std::string& path, const analysis::FileFacts& f) {
  return path + ": owner " + owner_of(agg, f) + ", mode " + mode_string(f.mode);
}

std::string blocked_text(const analysis::Blocked& b, const analysis::Aggregator* databases) {
  std::string s = b.syscall.empty() ? "running (not in a system call)" : b.syscall + "()";
  if (b.peer) s += (b.syscall == "connect" ? " to " : " on a socket connected to ") + b.peer->to_string();
  else if (b.fd >= 0) s += " on fd " + std::to_string(b.fd);
  std::string db;
  if (b.peer && databases && databases->is_database(*b.peer, &db) && !db.empty()) s += " (" + db + ")";
  if (b.for_ns) s += " for " + seconds_text(b.for_ns / 1e9);
  return s;
}

namespace {
// An event of p's with its header as the kernel would have filled it.
model::Event process_event(const analysis::Process& p, model::EventType type, std::uint64_t ts_ns) {
  model::Event e;
  e.hdr.type = type;
  e.hdr.pid = p.pid;
  e.hdr.tid = p.pid;
  e.hdr.ppid = p.ppid;
  e.hdr.ts_ns = ts_ns;
  e.hdr.comm = p.comm;
  e.hdr.cgroup_id = p.cgroup_id;
  return e;
}
}  // namespace

model::Event exit_event(const analysis::Process& p) {
  model::Event e = process_event(p, model::EventType::exit, p.exit_ns);
  e.body = p.exit.value_or(model::Exit{});
  return e;
}

model::Event exec_event(const analysis::Process& p) {
  model::Event e = process_event(p, model::EventType::exec, p.exec_ns.value_or(p.first_ns));
  e.hdr.uid = p.uid;
  e.hdr.gid = p.gid;
  model::Exec x;
  x.filename = p.exe;
  x.argv = p.argv;
  e.body = x;
  return e;
}

std::string exit_text(const model::Exit& x) {
  if (x.signal()) return "was killed by " + std::string(model::signal_name(x.signal()));
  return "exited with status " + std::to_string(x.code());
}

std::string output_tail(const std::string& output, std::size_t lines) {
  auto all = split(output, '\n');
  std::vector<std::string> last;
  for (auto it = all.rbegin(); it != all.rend() && last.size() < lines; ++it) {
    auto t = std::string(trim(*it));
    if (!t.empty()) last.insert(last.begin(), t);
  }
  return join(last, " / ");
}

namespace {
// A supervisor, or a command it ran (a `kill` a supervising script started).
// A service manager: it started a process into a traced unit's cgroup and
// lives outside it (PID 1, a container's systemd seen from the host, a
// manager that forks the unit's main process).
bool starts_unit_processes(const analysis::Aggregator& agg, std::uint32_t pid) {
  if (agg.units().empty()) return false;
  const analysis::Process* self = agg.process(pid);
  if (self && agg.in_traced_unit(*self)) return false;
  for (const auto& [child, p] : agg.processes())
    if (p.ppid == pid && child != pid && agg.in_traced_unit(p)) return true;
  return false;
}

bool is_supervisor(const analysis::Aggregator& agg, const analysis::Process* p) {
  if (!p) return false;
  if (p->role == analysis::Role::supervisor) return true;
  const analysis::Process* parent = agg.process(p->ppid);
  return parent && parent->role == analysis::Role::supervisor;
}
}  // namespace

Sender signal_sender(const analysis::Aggregator& agg, const model::Event& generate) {
  const auto* g = generate.as<model::SignalGenerate>();
  Sender s;
  s.pid = generate.hdr.pid;
  // A sender known only from the receiver's side (ptrace) may be gone
  // before its name could be read.
  std::string who = generate.hdr.comm.empty() ? "an unknown process (pid " + std::to_string(s.pid) + ", gone)"
                                              : generate.hdr.comm + " (pid " + std::to_string(s.pid) + ")";
  // The operator's own tools: kill, pkill, systemctl stop, a shell's kill builtin.
  static const std::set<std::string> tools = {"kill",  "pkill", "killall", "systemctl", "supervisorctl",
                                              "bash",  "sh",    "dash",    "zsh",       "fish"};
  const analysis::Process* target = agg.process(g->target_pid);
  const analysis::Process* sender = agg.process(s.pid);
  if (g->from_kernel) {
    s.kind = SenderKind::kernel;
    s.text = "the kernel";
  } else if (s.pid == g->target_pid) {
    s.kind = SenderKind::self;
    s.text = "itself";
  } else if (s.pid == 1) {
    s.kind = SenderKind::service_manager;
    s.text = "PID 1 (" + generate.hdr.comm + ")";
  } else if ((sender && sender->role == analysis::Role::service_manager) || starts_unit_processes(agg, s.pid)) {
    s.kind = SenderKind::service_manager;
    s.text = "the service manager " + who;
  } else if (target && target->role == analysis::Role::gunicorn_worker && target->ppid == s.pid) {
    s.kind = SenderKind::gunicorn_master;
    s.text = "the gunicorn master (pid " + std::to_string(s.pid) + ")";
  } else if (is_supervisor(agg, sender) || (target && target->ppid == s.pid)) {
    s.kind = SenderKind::supervisor;
    s.text = "its supervisor " + who;
  } else if (tools.count(generate.hdr.comm)) {
    s.kind = SenderKind::operator_tool;
    s.text = who;
  } else {
    s.kind = SenderKind::other;
    s.text = generate.hdr.comm.empty() ? who : "another process, " + who;
  }
  // The wrapped command, or something it ran that is not gunicorn itself.
  if (agg.wrapped_pid() && s.kind != SenderKind::kernel && s.kind != SenderKind::gunicorn_master &&
      agg.descends_from(s.pid, agg.wrapped_pid()) &&
      !(sender && (sender->role == analysis::Role::gunicorn_master || sender->role == analysis::Role::gunicorn_worker)))
    s.wrapped = true;
  return s;
}

}  // namespace pm::rules
