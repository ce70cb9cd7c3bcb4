// What a process's environment says about the service: the database it is
// configured to use (DATABASE_URL, PGHOST/PGPORT), so connects to it are
// recognised on any port. Only host and port are kept, never credentials.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/event.h"

namespace pm::target {

struct DatabaseEndpoint {
  model::SockAddr addr;  // family AF_INET with address = the host (may be a name), or AF_UNIX with a socket path
  std::string what;      // "PostgreSQL", "MySQL", "Redis"
};

// "postgres://u:p@db:5432/x", "postgresql://u@/x?host=/run/postgresql&port=5433",
// "mysql://...", "redis://..."; nullopt for anything else.
std::optional<DatabaseEndpoint> parse_database_url(const std::string& url);

// From a /proc/PID/environ text (NUL-separated): DATABASE_URL, and PGHOST/PGPORT.
std::vector<DatabaseEndpoint> databases_from_environ(const std::string& environ);

}  // namespace pm::target
