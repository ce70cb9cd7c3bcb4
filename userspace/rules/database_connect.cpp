// Rule: a database connect that was refused, timed out or stalled, or a unix
// socket that is missing. libpq (psycopg2) connects non-blocking: connect()
// returns EINPROGRESS for a healthy, a refused and a stalled database alike,
// so the answer is read from the TCP state change (SYN_SENT -> CLOSE after an
// RST is a refusal; time spent in SYN_SENT is a stall), or from a connect
// still in flight when its process or the trace ended.
#include <algorithm>
#include <cerrno>
#include <map>
#include <set>

#include "analysis/checkpoints.h"
#include "model/names.h"
#include "rules/finding.h"

namespace pm::rules {
namespace {

// An RST answers within a round trip; anything slower is a peer that did not
// answer (the client gave up, or the kernel's SYN retries ran out).
constexpr std::uint64_t kRefusedWithin = 1000000000ull;

enum class Kind { refused, no_answer, stalled, socket_missing, socket_stale, socket_denied, unreachable };

struct Problem {
  Kind kind;
  model::SockAddr addr;
  std::string db;  // "PostgreSQL"
  std::vector<model::Event> evidence;
  std::uint64_t ts_ns = 0;
  std::uint64_t longest_ns = 0;
  unsigned attempts = 0;
  bool ended_with_process = false;
};

std::string fix_for(Kind k, const Problem& p) {
  std::string port = p.addr.port ? std::to_string(p.addr.port) : "5432";
  switch (k) {
    case Kind::refused:
      return "start the database or point the app at the right one: is " + p.db + " running and listening on " +
             p.addr.to_string() + "? (`systemctl status postgresql`, `ss -ltn 'sport = :" + port +
             "'`); check host and port in DATABASE_URL and listen_addresses in postgresql.conf; for a local "
             "database add After=postgresql.service and Wants=postgresql.service to the unit";
    case Kind::no_answer:
    case Kind::stalled:
      return "nothing answers at " + p.addr.to_string() +
             ": check the host in DATABASE_URL (a stale IP, a host that is down), routes and firewalls between "
             "here and there (the SYN is dropped, not refused); and add connect_timeout=5 to DATABASE_URL "
             "(libpq waits forever by default) so the app fails fast instead of hanging its worker";
    case Kind::socket_missing:
      return "no socket at " + p.addr.path + ": " + p.db +
             " is not running, or its socket is elsewhere (unix_socket_directories in postgresql.conf); use "
             "host=127.0.0.1 in DATABASE_URL or the right socket directory; with PrivateTmp= a socket under /tmp "
             "is not visible to the service";
    case Kind::socket_stale:
      return "start " + p.db + " (`systemctl start postgresql`): the socket file " + p.addr.path +
             " is left over from a server that is no longer running; or point DATABASE_URL at the right socket "
             "directory";
    case Kind::socket_denied:
      return "the service user may not connect to " + p.addr.path +
             ": add it to the socket's group (usually postgres) or fix the directory's mode "
             "(unix_socket_permissions / unix_socket_group in postgresql.conf)";
    case Kind::unreachable:
      return "no route to " + p.addr.to_string() + ": check the host in DATABASE_URL and this machine's network";
  }
  return "";
}

std::string title_for(const Problem& p) {
  std::string where = p.db + " at " + p.addr.to_string();
  switch (p.kind) {
    case Kind::refused: return where + " refused the connection (nothing listens there)";
    case Kind::no_answer:
      return where + " did not answer: connect gave up after " + seconds_text(p.longest_ns / 1e9);
    case Kind::stalled:
      return where + " did not answer: connect stalled for " + seconds_text(p.longest_ns / 1e9) +
             (p.ended_with_process ? " until its process ended" : " until the trace ended");
    case Kind::socket_missing: return p.db + " unix socket " + p.addr.path + " does not exist";
    case Kind::socket_stale: return "nothing listens on " + p.db + " unix socket " + p.addr.path + " (a stale socket file)";
    case Kind::socket_denied: return "permission denied connecting to " + p.db + " unix socket " + p.addr.path;
    case Kind::unreachable: return where + " is unreachable";
  }
  return where;
}

bool same_peer(const model::Event& a, const model::SockAddr& peer) {
  return a.as<model::Connect>()->addr == peer;
}

// A TCP state change that another record already tells: the result of a
// blocking connect (its own connect event has the errno), or the close of a
// connect that stalled until its process ended (the kernel closes the socket
// after the process's exit record).
bool already_told(const analysis::Aggregator& agg, const std::vector<analysis::PendingConnect>& pending,
                  const model::Event& tcp) {
  const auto& peer = tcp.as<model::TcpConnect>()->peer;
  for (const auto& pc : pending)
    if (pc.start.hdr.pid == tcp.hdr.pid && same_peer(pc.start, peer) && pc.process_ended &&
        tcp.hdr.ts_ns >= pc.until_ns)
      return true;
  for (const auto& e : agg.connects()) {
    const auto* c = e.as<model::Connect>();
    if (e.hdr.pid != tcp.hdr.pid || c->err == 0 || c->err == EINPROGRESS || !same_peer(e, peer)) continue;
    if (tcp.hdr.ts_ns <= e.hdr.ts_ns && tcp.hdr.ts_ns + c->duration_ns + 1000000 >= e.hdr.ts_ns) return true;
  }
  return false;
}

// libpq tries every address a name resolves to: ::1 refused, then 127.0.0.1
// accepted is a connect that worked.
bool succeeded_next(const analysis::Aggregator& agg, const model::Event& tcp) {
  const auto& peer = tcp.as<model::TcpConnect>()->peer;
  for (const auto& e : agg.tcp_connects()) {
    const auto* t = e.as<model::TcpConnect>();
    if (t->established() && e.hdr.pid == tcp.hdr.pid && t->peer.port == peer.port && !(t->peer == peer) &&
        e.hdr.ts_ns >= tcp.hdr.ts_ns && e.hdr.ts_ns - tcp.hdr.ts_ns < 2000000000ull)
      return true;
  }
  return false;
}

}  // namespace

std::vector<Finding> database_connect(const analysis::Aggregator& agg) {
  std::map<std::pair<int, std::string>, Problem> problems;
  auto note = [&](Kind k, const model::SockAddr& a, const model::Event& e, std::uint64_t took, bool ended) {
    std::string db;
    if (!agg.is_database(a, &db)) return;
    auto [it, inserted] = problems.try_emplace({static_cast<int>(k), a.to_string()}, Problem{k, a, db, {}});
    Problem& p = it->second;
    if (inserted) p.ts_ns = e.hdr.ts_ns;
    ++p.attempts;
    p.longest_ns = std::max(p.longest_ns, took);
    p.ended_with_process |= ended;
    if (p.evidence.size() < 6) p.evidence.push_back(e);
  };

  for (const auto& e : agg.connects()) {
    const auto* c = e.as<model::Connect>();
    switch (c->err) {
      case ECONNREFUSED:
        note(c->addr.family == 1 ? Kind::socket_stale : Kind::refused, c->addr, e, c->duration_ns, false);
        break;
      case ENOENT: note(Kind::socket_missing, c->addr, e, 0, false); break;
      case EACCES:
      case EPERM: note(Kind::socket_denied, c->addr, e, 0, false); break;
      case ETIMEDOUT: note(Kind::no_answer, c->addr, e, c->duration_ns, false); break;
      case ENETUNREACH:
      case EHOSTUNREACH: note(Kind::unreachable, c->addr, e, 0, false); break;
      case EINTR:
      case 512:  // ERESTARTSYS: a blocking connect interrupted by a signal
        if (c->duration_ns >= kRefusedWithin) note(Kind::stalled, c->addr, e, c->duration_ns, true);
        break;
      default: break;
    }
  }
  auto pending = agg.pending_connects();
  for (const auto& e : agg.tcp_connects()) {
    const auto* t = e.as<model::TcpConnect>();
    if (t->established() || already_told(agg, pending, e) || succeeded_next(agg, e)) continue;
    note(t->duration_ns < kRefusedWithin ? Kind::refused : Kind::no_answer, t->peer, e, t->duration_ns, false);
  }
  for (const auto& pc : pending) {
    const auto* c = pc.start.as<model::Connect>();
    note(Kind::stalled, c->addr, pc.start, pc.until_ns - pc.start.hdr.ts_ns, pc.process_ended);
  }

  std::vector<Finding> out;
  for (auto& [key, p] : problems) {
    Finding f;
    f.ts_ns = p.ts_ns;
    f.title = title_for(p);
    f.evidence = std::move(p.evidence);
    sort_by_time(f.evidence);
    f.facts.push_back(std::to_string(p.attempts) + " attempt" + (p.attempts > 1 ? "s" : "") + " seen");
    std::set<std::uint32_t> pids;
    for (const auto& e : f.evidence) pids.insert(e.hdr.pid);
    for (auto pid : pids)
      if (const analysis::Process* pr = agg.process(pid)) f.facts.push_back("by " + describe_process(*pr));
    switch (p.kind) {
      case Kind::refused:
        f.explanation = "The connection was refused at once (a TCP reset): the host answered, but nothing listens on "
                        "port " + std::to_string(p.addr.port) + ". The database is down, listens elsewhere, or "
                        "DATABASE_URL names the wrong host or port.";
        break;
      case Kind::no_answer:
      case Kind::stalled:
        f.explanation = "The connection attempt got no answer at all (no SYN-ACK, no reset): packets to " +
                        p.addr.to_string() + " are dropped or the host is gone. libpq without connect_timeout "
                        "waits as long as the kernel retries (about 2 minutes), longer than gunicorn's worker "
                        "timeout (30 s) and systemd's start timeout would allow.";
        break;
      case Kind::socket_missing:
        f.explanation = "The client connects through a unix socket (an empty host in DATABASE_URL), and no server "
                        "socket exists at that path.";
        break;
      case Kind::socket_stale:
        f.explanation = "The socket file exists but no server accepts on it: the database stopped (or was killed) "
                        "without removing it.";
        break;
      case Kind::socket_denied:
        f.explanation = "The socket exists, but the service user may not open it.";
        break;
      case Kind::unreachable:
        f.explanation = "The kernel has no route to that address.";
        break;
    }
    f.fix = fix_for(p.kind, p);
    out.push_back(std::move(f));
  }
  return out;
}

PM_RULE(database_connect, "database-connect", Severity::failure, rank::dependency, {CheckId::database})

}  // namespace pm::rules
