#include "target/environ.h"

#include <sys/socket.h>

#include "util/strings.h"

namespace pm::target {
namespace {

// %XX decoding, for socket directories written into the host part.
std::string percent_decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string query_param(const std::string& query, const std::string& key) {
  for (const auto& kv : split(query, '&')) {
    auto eq = kv.find('=');
    if (eq != std::string::npos && kv.substr(0, eq) == key) return percent_decode(kv.substr(eq + 1));
  }
  return "";
}

// libpq's socket directory when the host is empty (Debian's build).
constexpr const char* kPgSocketDir = "/var/run/postgresql";

DatabaseEndpoint endpoint(const std::string& what, std::string host, int port) {
  DatabaseEndpoint d;
  d.what = what;
  bool postgres = what == "PostgreSQL";
  if (postgres && host.empty()) host = kPgSocketDir;  // libpq: no host is the unix socket
  if (!host.empty() && host[0] == '/') {
    d.addr.family = AF_UNIX;
    // PostgreSQL names a directory and the port picks the socket in it; MySQL
    // and Redis name the socket itself.
    d.addr.path = postgres ? host + "/.s.PGSQL." + std::to_string(port) : host;
  } else {
    d.addr.family = AF_INET;
    d.addr.address = host.empty() ? "localhost" : host;
    d.addr.port = static_cast<std::uint16_t>(port);
  }
  return d;
}

}  // namespace

std::optional<DatabaseEndpoint> parse_database_url(const std::string& url) {
  auto colon = url.find("://");
  if (colon == std::string::npos) return std::nullopt;
  std::string scheme = url.substr(0, colon);
  std::string what;
  int port = 0;
  if (scheme == "postgres" || scheme == "postgresql" || starts_with(scheme, "postgresql+") || scheme == "pgsql") {
    what = "PostgreSQL";
    port = 5432;
  } else if (scheme == "mysql" || starts_with(scheme, "mysql+")) {
    what = "MySQL";
    port = 3306;
  } else if (scheme == "redis" || scheme == "rediss") {
    what = "Redis";
    port = 6379;
  } else {
    return std::nullopt;
  }
  std::string rest = url.substr(colon + 3);
  std::string query;
  if (auto q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string netloc = rest.substr(0, rest.find('/'));
  if (auto at = netloc.rfind('@'); at != std::string::npos) netloc = netloc.substr(at + 1);  // drop credentials
  std::string host = netloc;
  if (!netloc.empty() && netloc[0] == '[') {  // [::1]:5432
    auto close = netloc.find(']');
    host = netloc.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    if (close != std::string::npos && close + 1 < netloc.size() && netloc[close + 1] == ':')
      if (auto p = parse_int(netloc.substr(close + 2))) port = static_cast<int>(*p);
  } else if (auto c = netloc.rfind(':'); c != std::string::npos) {
    host = netloc.substr(0, c);
    if (auto p = parse_int(netloc.substr(c + 1))) port = static_cast<int>(*p);
  }
  host = percent_decode(host);
  if (auto h = query_param(query, "host"); !h.empty()) host = h;
  if (auto p = parse_int(query_param(query, "port"))) port = static_cast<int>(*p);
  return endpoint(what, host, port);
}

std::vector<DatabaseEndpoint> databases_from_environ(const std::string& environ) {
  std::vector<DatabaseEndpoint> out;
  std::string pghost, pgport;
  for (const auto& var : split(environ, '\0')) {
    auto eq = var.find('=');
    if (eq == std::string::npos) continue;
    std::string key = var.substr(0, eq), value = var.substr(eq + 1);
    if (key == "DATABASE_URL" || ends_with(key, "_DATABASE_URL") || key == "REDIS_URL") {
      if (auto d = parse_database_url(value)) out.push_back(*d);
    } else if (key == "PGHOST") {
      pghost = value;
    } else if (key == "PGPORT") {
      pgport = value;
    }
  }
  if (!pghost.empty() || !pgport.empty()) {
    auto port = parse_int(pgport);
    out.push_back(endpoint("PostgreSQL", pghost, port ? static_cast<int>(*port) : 5432));
  }
  return out;
}

}  // namespace pm::target
