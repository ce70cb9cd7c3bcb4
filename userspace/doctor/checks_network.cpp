// The network a start needs: gunicorn's bind address and the database.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "doctor/checks.h"
#include "target/environ.h"
#include "util/redact.h"
#include "util/strings.h"

namespace pm::doctor {

Check check_bind(const Context& c, const std::string& bind) {
  const User& user = c.user;
  if (starts_with(bind, "unix:")) return check_writable(c, CheckId::bind, "gunicorn's socket", bind.substr(5), PathKind::entry);
  if (bind.find('$') != std::string::npos)
    return make(CheckId::bind, Status::skipped, "--bind " + bind + ": set by the shell of the wrapper, not checked");
  if (starts_with(bind, "fd://"))
    return make(CheckId::bind, Status::skipped, "--bind " + bind + ": a socket the service inherits (socket activation), not bound by it");
  auto colon = bind.rfind(':');
  std::string host = colon == std::string::npos ? bind : bind.substr(0, colon);
  bool v6 = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (v6) host = host.substr(1, host.size() - 2);
  auto port = colon == std::string::npos ? std::optional<long long>(8000) : parse_int(bind.substr(colon + 1));
  if (!port || *port <= 0 || *port > 65535) return make(CheckId::bind, Status::failure, "--bind " + bind + " has no valid port");
  if (host.empty() || host == "0.0.0.0" || host == "localhost") host = host == "localhost" ? "127.0.0.1" : "0.0.0.0";
  // An address in the right family, or not checked (a probe never resolves names).
  unsigned char scratch[sizeof(in6_addr)];
  if (::inet_pton(v6 ? AF_INET6 : AF_INET, host.c_str(), scratch) != 1)
    return make(CheckId::bind, Status::skipped, "--bind " + bind + (v6 ? ": not an IPv6 address, not checked"
                                                                        : ": a host name, not resolved (doctor stays offline)"));
  int err = c.host.bind_probe(host, static_cast<std::uint16_t>(*port), v6);
  if (err == 0) {
    if (*port < 1024 && user.uid != 0) {
      // The capability systemd can hand the user (systemd.exec(5)).
      for (const auto* s : c.unit.list("Service", "AmbientCapabilities"))
        if (s->value.find("CAP_NET_BIND_SERVICE") != std::string::npos && s->value[0] != '~')
          return make(CheckId::bind, Status::ok, bind + " is free; " + user.name + " binds it with AmbientCapabilities=CAP_NET_BIND_SERVICE");
      Check k = make(CheckId::bind, Status::failure, user.name + " may not bind port " + std::to_string(*port) + " (below 1024)",
                     {"--bind " + bind}, "AmbientCapabilities=CAP_NET_BIND_SERVICE in [Service], or a port above 1023 behind the proxy");
      k.unit_lines.push_back({"Service", "AmbientCapabilities=CAP_NET_BIND_SERVICE"});
      return k;
    }
    return make(CheckId::bind, Status::ok, bind + " is free");
  }
  if (err == EADDRINUSE) {
    std::vector<std::string> evidence{"bind(" + bind + "): EADDRINUSE"};
    std::string holder;
    for (const auto& p : c.host.listeners(static_cast<std::uint16_t>(*port))) {
      std::string who = p.comm + " (pid " + std::to_string(p.pid) + ")";
      if (holder.empty()) holder = who;
      evidence.push_back("listening on port " + std::to_string(*port) + ": " + who + ": " + join(redact_argv(p.argv), " "));
    }
    return make(CheckId::bind, Status::failure, bind + " is already in use" + (holder.empty() ? "" : " by " + holder), evidence,
                holder.empty() ? "find the holder with `ss -ltnp 'sport = :" + std::to_string(*port) +
                                     "'` and stop it (an old gunicorn still running?), or bind another port"
                               : "stop " + holder + " (an old instance still running?), or bind the service to another port");
  }
  return make(CheckId::bind, Status::warning, "--bind " + bind + " could not be checked: " + std::strerror(err));
}

Check check_database(const Context& c) {
  const auto& env = c.env;
  int timeout_ms = c.opts.connect_timeout_ms;
  auto it = env.find("DATABASE_URL");
  if (it == env.end()) return make(CheckId::database, Status::skipped, "no DATABASE_URL in the unit's environment");
  auto db = target::parse_database_url(it->second);
  if (!db) return make(CheckId::database, Status::skipped, "DATABASE_URL does not parse (see settings)");
  const auto& a = db->addr;
  if (a.family == AF_UNIX) {
    if (c.host.stat(a.path).type != FileType::socket)
      return make(CheckId::database, Status::failure, db->what + " socket " + a.path + " does not exist",
                  {"DATABASE_URL -> " + a.to_string()}, "start the database (systemctl start postgresql) or fix the host in DATABASE_URL");
    return make(CheckId::database, Status::ok, db->what + " socket " + a.path + " exists");
  }
  in_addr scratch{};
  if (::inet_pton(AF_INET, a.address.c_str(), &scratch) != 1)
    return make(CheckId::database, Status::skipped, db->what + " at " + a.to_string() + ": a host name, not resolved (doctor stays offline)");
  int err = c.host.connect_probe(a.address, a.port, timeout_ms);
  if (err == 0) return make(CheckId::database, Status::ok, db->what + " at " + a.to_string() + " accepts connections");
  if (err == ETIMEDOUT)
    return make(CheckId::database, Status::failure,
                db->what + " at " + a.to_string() + " did not answer within " + std::to_string(timeout_ms) + " ms",
                {"connect(" + a.to_string() + "): no answer"},
                "check the host in DATABASE_URL and the firewall; add connect_timeout=5 so a dead database fails fast");
  return make(CheckId::database, Status::failure, db->what + " at " + a.to_string() + " refused the connection",
              {std::string("connect(") + a.to_string() + "): " + std::strerror(err)},
              "start the database (systemctl start postgresql), or fix the port in DATABASE_URL");
}

}  // namespace pm::doctor
