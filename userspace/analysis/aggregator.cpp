#include <csignal>
#include "analysis/aggregator.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>

#include "model/names.h"
#include "util/strings.h"

namespace pm::analysis {
namespace {

bool is_ip_literal(const std::string& s) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// Denials worth explaining; ENOENT is what import probing produces by the
// thousand and is never one.
bool is_denial(int err) { return err == EACCES || err == EPERM || err == EROFS; }

// Bounded: rules need the first few hundred of each kind, not a flood.
constexpr std::size_t kKeepPerKind = 512;
constexpr std::size_t kKeepHealthy = 64;
void keep(std::vector<model::Event>& v, const model::Event& e) {
  if (v.size() < kKeepPerKind) v.push_back(e);
}

}  // namespace

const char* role_name(Role r) {
  switch (r) {
    case Role::gunicorn_master: return "gunicorn master";
    case Role::gunicorn_worker: return "gunicorn worker";
    case Role::supervisor: return "supervisor";
    case Role::service_manager: return "service manager";
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

const std::vector<ManagedDirectory>& managed_directories() {
  static const std::vector<ManagedDirectory> dirs = {{"LogsDirectory", "/var/log"},
                                                      {"RuntimeDirectory", "/run"},
                                                      {"StateDirectory", "/var/lib"},
                                                      {"CacheDirectory", "/var/cache"}};
  return dirs;
}

std::optional<std::pair<const ManagedDirectory*, std::string>> managed_directory_of(const std::string& path) {
  std::string d = path.rfind("/var/run/", 0) == 0 ? path.substr(4) : path;
  for (const auto& m : managed_directories()) {
    std::string top = std::string(m.top) + "/";
    if (d.rfind(top, 0) == 0 && d.size() > top.size()) return std::make_pair(&m, d.substr(top.size()));
  }
  return std::nullopt;
}

namespace {
bool under(const std::string& path, const std::string& dir) {
  std::string d = dir.size() > 1 && dir.back() == '/' ? dir.substr(0, dir.size() - 1) : dir;
  return path == d || path.rfind(d + "/", 0) == 0;
}
bool on(const std::string& v) { return v == "yes" || v == "true" || v == "1" || v == "on"; }
}  // namespace

std::string sandbox_blocks_write(const std::string& protect_system, const std::string& protect_home, bool private_tmp,
                                 const std::vector<std::string>& writable, const std::string& path) {
  for (std::string w : writable) {
    while (!w.empty() && (w[0] == '-' || w[0] == '+')) w.erase(0, 1);
    if (!w.empty() && under(path, w)) return "";
  }
  for (const char* api : {"/dev", "/proc", "/sys"})
    if (under(path, api)) return "";
  if (protect_home == "read-only" || protect_home == "tmpfs" || on(protect_home))
    for (const char* home : {"/home", "/root", "/run/user"})
      if (under(path, home)) return "ProtectHome=" + protect_home;
  if (protect_system == "strict") {
    if (private_tmp && (under(path, "/tmp") || under(path, "/var/tmp"))) return "";
    return "ProtectSystem=strict";
  }
  std::vector<const char*> trees = {"/usr", "/boot", "/efi"};
  if (protect_system == "full") trees.push_back("/etc");
  else if (!on(protect_system)) return "";
  for (const char* t : trees)
    if (under(path, t)) return "ProtectSystem=" + protect_system;
  return "";
}

std::string unit_of_cgroup_path(const std::string& path) {
  auto parts = split(path, '/');
  for (auto it = parts.rbegin(); it != parts.rend(); ++it)
    if (ends_with(*it, ".service") || ends_with(*it, ".scope")) return *it;
  return "";
}

void Aggregator::set_unit_context(UnitContext u) {
  add_unit(u.name);
  for (auto& known : unit_contexts_)
    if (known.name == u.name) {
      known = std::move(u);
      return;
    }
  unit_contexts_.push_back(std::move(u));
}

const UnitContext* Aggregator::unit_context(const std::string& name) const {
  for (const auto& u : unit_contexts_)
    if (u.name == name) return &u;
  return nullptr;
}

const UnitContext* Aggregator::unit_context() const {
  for (const auto& u : unit_contexts_)
    if (u.loaded) return &u;
  return nullptr;
}

void Aggregator::set_process_start(std::uint32_t pid, const std::string& cgroup_path, std::optional<bool> notify_socket) {
  Process& p = procs_[pid];
  if (p.pid == 0) p.pid = pid;
  if (!cgroup_path.empty()) {
    p.cgroup_path = cgroup_path;
    p.unit = unit_of_cgroup_path(cgroup_path);
  }
  if (notify_socket) p.notify_socket = notify_socket;
}

void Aggregator::adopt_running(std::uint32_t pid, std::uint32_t ppid, const std::string& comm,
                               const std::vector<std::string>& argv) {
  Process& p = procs_[pid];
  p.pid = pid;
  p.ppid = ppid;
  p.comm = comm;
  p.argv = argv;
  p.running_before = true;
  // As at exec and fork: a gunicorn master's children are its workers (they
  // show the master's command line), whoever runs a master supervises it.
  auto parent = procs_.find(ppid);
  if (pid == 1) p.role = Role::service_manager;
  else if (parent != procs_.end() && parent->second.role == Role::gunicorn_master) p.role = Role::gunicorn_worker;
  else if (runs_gunicorn(argv)) p.role = Role::gunicorn_master;
  if (p.role == Role::gunicorn_master) {
    if (parent != procs_.end() && parent->second.role == Role::other) parent->second.role = Role::supervisor;
    for (auto& [cpid, c] : procs_)
      if (c.ppid == pid && c.running_before && cpid != pid) c.role = Role::gunicorn_worker;
  }
}

const Process* Aggregator::running_before_tracing() const {
  const Process* found = nullptr;
  for (const auto& [pid, p] : procs_)
    if (p.running_before && !p.exec_ns && p.role != Role::service_manager &&
        (!found || (p.role == Role::gunicorn_master && found->role != Role::gunicorn_master)))
      found = &p;
  return found;
}

bool Aggregator::descends_from(std::uint32_t pid, std::uint32_t ancestor) const {
  for (int depth = 0; depth < 64 && pid; ++depth) {
    if (pid == ancestor) return true;
    const Process* p = process(pid);
    if (!p || p->ppid == pid) return false;
    pid = p->ppid;
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
  // New, or known so far only from a fact (its cgroup read at exec).
  if (inserted || p.first_ns == 0) {
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
    p.cgroup_id = e.hdr.cgroup_id;
    if (p.unit.empty())
      if (auto it = unit_cgroups_.find(p.cgroup_id); it != unit_cgroups_.end()) p.unit = it->second;
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

std::optional<FileFacts> Aggregator::path_facts(const std::string& path) const {
  if (!path_lookup_) return std::nullopt;
  return path_lookup_(path);
}

std::optional<std::string> Aggregator::memory_limit(std::uint32_t pid) const {
  for (int depth = 0; depth < 16; ++depth) {
    const Process* p = process(pid);
    if (!p) return std::nullopt;
    if (!p->memory_limit.empty()) return p->memory_limit;
    pid = p->ppid;
  }
  return std::nullopt;
}

std::vector<PendingConnect> Aggregator::pending_connects() const {
  std::vector<PendingConnect> out = ended_pending_;
  for (const auto& [key, e] : inflight_connects_) out.push_back({e, std::max(end_ns(), e.hdr.ts_ns), false});
  return out;
}

void Aggregator::add_database(const model::SockAddr& a, const std::string& what) {
  for (const auto& [known, w] : databases_)
    if (known == a) return;
  if (databases_.size() < 16) databases_.emplace_back(a, what);
}

bool Aggregator::is_database(const model::SockAddr& a, std::string* what) const {
  std::string name;
  for (const auto& [known, w] : databases_) {
    // A host name (not an address literal) matches any address on its port:
    // the trace has addresses, the configuration may have names.
    bool same = !known.path.empty()
                    ? known.path == a.path
                    : a.path.empty() && known.port == a.port &&
                          (known.address == a.address || !is_ip_literal(known.address));
    if (same) {
      if (what) *what = w;
      return true;
    }
  }
  if (!a.path.empty()) {
    if (a.path.find(".s.PGSQL.") != std::string::npos) name = "PostgreSQL";
    else if (a.path.find("mysql") != std::string::npos) name = "MySQL";
  } else {
    switch (a.port) {
      case 5432: name = "PostgreSQL"; break;
      case 6432: name = "PgBouncer"; break;
      case 3306: name = "MySQL"; break;
      case 6379: name = "Redis"; break;
      case 27017: name = "MongoDB"; break;
      default: break;
    }
  }
  if (what) *what = name;
  return !name.empty();
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
  last_ns_ = std::max(last_ns_, e.hdr.ts_ns);

  switch (e.hdr.type) {
    case EventType::exec: {
      Process& p = proc(e);
      const auto* x = e.as<model::Exec>();
      p.exe = x->filename;
      p.argv = x->argv;
      p.comm = e.hdr.comm;
      p.exec_ns = e.hdr.ts_ns;
      p.role = runs_gunicorn(x->argv) ? Role::gunicorn_master : Role::other;
      // Whoever started gunicorn and is traced too supervises it.
      if (p.role == Role::gunicorn_master) {
        auto parent = procs_.find(p.ppid);
        if (parent != procs_.end() && parent->second.role == Role::other) parent->second.role = Role::supervisor;
      }
      if (e.hdr.pid == 1) p.role = Role::service_manager;
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
      c.cgroup_path = parent.cgroup_path;
      c.unit = parent.unit;
      c.notify_socket = parent.notify_socket;
      // gunicorn's sync workers are plain forks of the master, never exec'd.
      if (parent_role == Role::gunicorn_master) c.role = Role::gunicorn_worker;
      break;
    }
    case EventType::exit: {
      Process& p = proc(e);
      p.exit = *e.as<model::Exit>();
      p.exit_ns = e.hdr.ts_ns;
      // Its connects still in flight end with it.
      for (auto it = inflight_connects_.begin(); it != inflight_connects_.end();) {
        if (it->first.first == e.hdr.pid) {
          ended_pending_.push_back({it->second, e.hdr.ts_ns, true});
          it = inflight_connects_.erase(it);
        } else {
          ++it;
        }
      }
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
      if (s->sig != SIGCHLD && s->result == 0) keep(signals_, e);
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
    case EventType::connect: {
      Process& p = proc(e);
      const auto* c = e.as<model::Connect>();
      // Healthy connects are kept only up to a point, so a failure after
      // thousands of them (one per request) still is.
      bool healthy = c->err == 0 || c->err == EINPROGRESS;
      if (!healthy || ok_connects_kept_++ < kKeepHealthy) keep(connects_, e);
      p.fd_peers[c->fd] = c->addr;
      // On loopback the handshake can finish inside connect(): the TCP state
      // change then arrives before the EINPROGRESS it answers.
      bool answered = false;
      for (auto it = recent_tcp_.rbegin(); it != recent_tcp_.rend() && !answered; ++it)
        answered = it->hdr.pid == e.hdr.pid && it->as<model::TcpConnect>()->peer == c->addr &&
                   it->hdr.ts_ns + c->duration_ns >= e.hdr.ts_ns;
      if (c->err == EINPROGRESS && !answered && inflight_connects_.size() < kKeepPerKind)
        inflight_connects_[{e.hdr.pid, c->fd}] = e;
      break;
    }
    case EventType::tcp_connect: {
      if (!e.as<model::TcpConnect>()->established() || ok_tcp_kept_++ < kKeepHealthy) keep(tcp_connects_, e);
      recent_tcp_.push_back(e);
      if (recent_tcp_.size() > 64) recent_tcp_.pop_front();
      // The non-blocking connect it completes: same process, same peer.
      const auto& peer = e.as<model::TcpConnect>()->peer;
      for (auto it = inflight_connects_.begin(); it != inflight_connects_.end(); ++it) {
        if (it->first.first == e.hdr.pid && it->second.as<model::Connect>()->addr == peer) {
          inflight_connects_.erase(it);
          break;
        }
      }
      break;
    }
    case EventType::signal_deliver: {
      Process& p = proc(e);
      const auto* d = e.as<model::SignalDeliver>();
      Blocked b;
      b.ts_ns = e.hdr.ts_ns;
      b.sig = d->sig;
      b.syscall = model::syscall_name(d->syscall_nr);
      b.fd = d->syscall_fd;
      if (auto it = p.fd_peers.find(b.fd); b.fd >= 0 && it != p.fd_peers.end()) b.peer = it->second;
      // How long: an interrupted connect reports its own duration just before;
      // a poll on a socket still connecting has waited since the connect.
      if (auto it = inflight_connects_.find({e.hdr.pid, b.fd}); it != inflight_connects_.end()) {
        b.for_ns = e.hdr.ts_ns - it->second.hdr.ts_ns + it->second.as<model::Connect>()->duration_ns;
      } else if (b.syscall == "connect") {
        for (auto it = connects_.rbegin(); it != connects_.rend(); ++it) {
          if (it->hdr.pid != e.hdr.pid || it->as<model::Connect>()->fd != b.fd) continue;
          if (e.hdr.ts_ns - it->hdr.ts_ns < 100000000ull) b.for_ns = it->as<model::Connect>()->duration_ns;
          break;
        }
      }
      if (p.blocked.size() < 16) p.blocked.push_back(std::move(b));
      break;
    }
    case EventType::milestone: {
      Process& p = proc(e);
      keep(milestones_, e);
      auto kind = e.as<model::Milestone>()->kind;
      if (kind == model::MilestoneKind::heartbeat && !p.heartbeat_ns) p.heartbeat_ns = e.hdr.ts_ns;
      if (kind == model::MilestoneKind::accept && !p.accept_ns) p.accept_ns = e.hdr.ts_ns;
      break;
    }
    case EventType::chdir_failed:
      proc(e);
      keep(chdir_failures_, e);
      break;
    case EventType::exec_failed:
      proc(e);
      keep(exec_failures_, e);
      break;
    case EventType::oom_victim:
      keep(ooms_, e);
      break;
    case EventType::cgroup_adopt: {
      const auto* c = e.as<model::CgroupAdopt>();
      if (auto u = unit_of_cgroup_path(c->path); !u.empty()) unit_cgroups_[c->cgroup_id] = u;
      break;
    }
    default:
      proc(e);
      break;
  }
}

}  // namespace pm::analysis
