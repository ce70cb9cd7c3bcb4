#include "analysis/aggregator.h"

#include <cerrno>

namespace pm::analysis {
namespace {

std::string basename_of(const std::string& p) {
  auto pos = p.rfind('/');
  return pos == std::string::npos ? p : p.substr(pos + 1);
}

// Denials worth explaining; ENOENT is what import probing produces by the
// thousand and is never one.
bool is_denial(int err) { return err == EACCES || err == EPERM || err == EROFS; }

// Bounded: rules need the first few hundred of each kind, not a flood.
constexpr std::size_t kKeepPerKind = 512;
void keep(std::vector<model::Event>& v, const model::Event& e) {
  if (v.size() < kKeepPerKind) v.push_back(e);
}

}  // namespace

const char* role_name(Role r) {
  switch (r) {
    case Role::gunicorn_master: return "gunicorn master";
    case Role::gunicorn_worker: return "gunicorn worker";
    default: return "process";
  }
}

bool runs_gunicorn(const std::vector<std::string>& argv) {
  for (std::size_t i = 0; i < argv.size() && i < 3; ++i) {
    if (basename_of(argv[i]) == "gunicorn") return true;
    if (argv[i] == "-m" && i + 1 < argv.size() && argv[i + 1] == "gunicorn") return true;
  }
  return false;
}

const Process* Aggregator::process(std::uint32_t pid) const {
  auto it = procs_.find(pid);
  return it == procs_.end() ? nullptr : &it->second;
}

Process& Aggregator::proc(const model::Event& e) {
  auto [it, inserted] = procs_.try_emplace(e.hdr.pid);
  Process& p = it->second;
  if (inserted) {
    p.pid = e.hdr.pid;
    p.ppid = e.hdr.ppid;
    p.comm = e.hdr.comm;
    p.first_ns = e.hdr.ts_ns;
  }
  // Signals and OOM records run in another task's context; only events the
  // process ran itself tell its credentials.
  if (e.hdr.type != model::EventType::tcp_connect) {
    p.uid = e.hdr.uid;
    p.gid = e.hdr.gid;
    p.uid_known = true;
  }
  return p;
}

const Process* Aggregator::gunicorn_master_of(std::uint32_t pid) const {
  const Process* p = process(pid);
  if (!p) return nullptr;
  if (p->role == Role::gunicorn_master) return p;
  if (p->role == Role::gunicorn_worker) return process(p->ppid);
  return nullptr;
}

std::optional<FileFacts> Aggregator::file_facts(const std::string& path) const {
  if (!file_lookup_) return std::nullopt;
  return file_lookup_(path);
}

std::string Aggregator::user_name(std::uint32_t uid) const {
  std::string n = user_names_ ? user_names_(uid) : "";
  return n.empty() ? std::to_string(uid) : n;
}

std::string Aggregator::group_name(std::uint32_t gid) const {
  std::string n = group_names_ ? group_names_(gid) : "";
  return n.empty() ? std::to_string(gid) : n;
}

void Aggregator::on_event(const model::Event& e) {
  using model::EventType;
  table_.on_event(e);
  if (start_ns_ == 0 || (e.hdr.type == EventType::exec && e.hdr.ts_ns < start_ns_)) start_ns_ = e.hdr.ts_ns;

  switch (e.hdr.type) {
    case EventType::exec: {
      Process& p = proc(e);
      const auto* x = e.as<model::Exec>();
      p.exe = x->filename;
      p.argv = x->argv;
      p.comm = e.hdr.comm;
      p.exec_ns = e.hdr.ts_ns;
      p.role = runs_gunicorn(x->argv) ? Role::gunicorn_master : Role::other;
      break;
    }
    case EventType::fork: {
      const Process& parent = proc(e);
      Role parent_role = parent.role;
      auto child_pid = e.as<model::Fork>()->child_pid;
      Process& c = procs_[child_pid];
      c.pid = child_pid;
      c.ppid = e.hdr.pid;
      c.comm = e.hdr.comm;
      c.first_ns = e.hdr.ts_ns;
      c.uid = e.hdr.uid;
      c.gid = e.hdr.gid;
      c.uid_known = true;
      // gunicorn's sync workers are plain forks of the master, never exec'd.
      if (parent_role == Role::gunicorn_master) c.role = Role::gunicorn_worker;
      break;
    }
    case EventType::exit: {
      Process& p = proc(e);
      p.exit = *e.as<model::Exit>();
      p.exit_ns = e.hdr.ts_ns;
      break;
    }
    case EventType::write: {
      Process& p = proc(e);
      const auto* w = e.as<model::Write>();
      p.output += w->head;
      if (w->skipped()) p.output += "\n...\n";
      p.output += w->tail;
      if (p.output.size() > kOutputKeep) p.output.erase(0, p.output.size() - kOutputKeep);
      break;
    }
    case EventType::open_failed:
      proc(e);
      if (is_denial(e.as<model::OpenFailed>()->err)) keep(denied_opens_, e);
      break;
    case EventType::signal_generate: {
      const auto* s = e.as<model::SignalGenerate>();
      // SIGCHLD is bookkeeping, and a signal that was not delivered did nothing.
      if (s->sig != 17 && s->result == 0) keep(signals_, e);
      break;
    }
    case EventType::bind:
      proc(e);
      keep(binds_, e);
      if (e.as<model::Bind>()->err) keep(failed_binds_, e);
      break;
    case EventType::listen:
      proc(e);
      keep(listens_, e);
      break;
    case EventType::connect:
      proc(e);
      keep(connects_, e);
      break;
    case EventType::tcp_connect:
      keep(tcp_connects_, e);
      break;
    case EventType::exec_failed:
      proc(e);
      keep(exec_failures_, e);
      break;
    case EventType::oom_victim:
      keep(ooms_, e);
      break;
    default:
      proc(e);
      break;
  }
}

}  // namespace pm::analysis
