// target/environ.h: parse_database_url on the whole input, and
// databases_from_environ on it as a NUL-separated /proc/PID/environ.
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "check.h"
#include "target/environ.h"

namespace {

void check_endpoint(const pm::target::DatabaseEndpoint& d) {
  PM_FUZZ_CHECK(d.what == "PostgreSQL" || d.what == "MySQL" || d.what == "Redis");
  // A host (maybe a name) and a port, or a socket path.
  if (d.addr.family == AF_INET) {
    PM_FUZZ_CHECK(!d.addr.address.empty() && d.addr.path.empty());
  } else {
    PM_FUZZ_CHECK(d.addr.family == AF_UNIX);
    PM_FUZZ_CHECK(!d.addr.path.empty() && d.addr.path[0] == '/' && d.addr.address.empty());
  }
  (void)d.addr.to_string();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  auto url = pm::target::parse_database_url(s);
  if (s.find("://") == std::string::npos) PM_FUZZ_CHECK(!url);
  if (url) check_endpoint(*url);
  for (const auto& d : pm::target::databases_from_environ(s)) check_endpoint(d);
  return 0;
}
