// Databases for the scenario tests: a throwaway PostgreSQL cluster, a port whose connects stall, a port whose
// connects are refused, and a runner that captures a command's output (psql, python3 -c ...).
#pragma once

#include <string>
#include <vector>

#include "harness.h"

namespace pmtest {

// Debian's interpreter, which has Django, psycopg2 and Flask. The python3 on PATH may be another one (pyenv)
// without them.
inline const std::string kSystemPython = "/usr/bin/python3";

struct Captured {
  int status = -1;     // exit code, or 128+signal (-1: could not start)
  std::string output;  // stdout and stderr together
};

// Runs argv to completion (killed after timeout_s), stdout and stderr captured; env entries ("NAME=value") are
// added to this process's environment.
Captured run_capture(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
                     int timeout_s = 60);

// A private throwaway PostgreSQL cluster, started in a temp dir, stopped and removed at scope end.
//
// initdb (highest /usr/lib/postgresql/<version>/bin; as user postgres when we are root) into a fresh temp dir,
// listening on 127.0.0.1 at a free port and on a unix socket in socket_dir(). The superuser "postgres" may connect
// over the socket without a password (for setup and psql()); the app's user "meats" (password "pw-s3cret", owner of
// database "meats") needs its password (md5) over TCP and over the socket. fsync is off. initdb + start take about
// a second.
//
// Never throws: check ok(), or use REQUIRE_POSTGRES(pg), which fails the test with error() (e.g. "PostgreSQL is
// not installed: ...") when it is not ok.
class Postgres {
 public:
  static constexpr const char* kUser = "meats";
  static constexpr const char* kPassword = "pw-s3cret";
  static constexpr const char* kDatabase = "meats";

  Postgres();
  ~Postgres();  // pg_ctl stop -m immediate, the dir removed
  Postgres(const Postgres&) = delete;
  Postgres& operator=(const Postgres&) = delete;

  bool ok() const { return ok_; }
  std::string error() const { return error_; }

  int port() const { return port_; }
  std::string socket_dir() const { return sock_; }
  std::string url() const;         // "postgresql://meats:pw-s3cret@127.0.0.1:PORT/meats"
  std::string socket_url() const;  // "postgresql://meats:pw-s3cret@/meats?host=SOCKET_DIR&port=PORT"
  std::string log() const;         // the server's log so far

  // Runs SQL as the superuser over the socket (psql -c, ON_ERROR_STOP), e.g. to change the app's password or
  // terminate its backends mid-test.
  Captured psql(const std::string& sql) const;

  // Stops the server now (pg_ctl stop -m immediate), as a crashed or restarting database; idempotent. Its port
  // then refuses connections.
  void stop();

 private:
  bool start(std::string* why);

  TempDir dir_;
  std::string bindir_, data_, sock_;
  unsigned uid_ = 0, gid_ = 0;  // who runs the server (postgres when we are root)
  bool as_other_ = false;
  int port_ = 0;
  bool ok_ = false, running_ = false;
  std::string error_;
};

// A TCP port on 127.0.0.1 whose connects stall in SYN_SENT, closed at scope end.
//
// A listener with backlog 0 that never accepts: its one accept-queue slot (Linux admits backlog+1) is filled by a
// connection of ours, so the kernel drops every further SYN (TcpExtListenOverflows/ListenDrops count them) and the
// client retransmits it (1 s, 3 s, 7 s, ...). Checked on Linux 6.18 with tcp_syncookies=1, no iptables/nft needed:
// `ss -tan` shows the client in SYN-SENT with retrans growing and the listener at Recv-Q 1. A connect with a
// timeout (libpq connect_timeout, socket.settimeout) times out; one without fails with ETIMEDOUT after the
// tcp_syn_retries retransmissions (6: 135 s measured), far beyond gunicorn's worker timeout.
class StalledPort {
 public:
  StalledPort();
  ~StalledPort();
  StalledPort(const StalledPort&) = delete;
  StalledPort& operator=(const StalledPort&) = delete;

  int port() const { return port_; }
  bool ok() const { return port_ > 0; }

 private:
  int listener_ = -1, filler_ = -1, port_ = 0;
};

// A TCP port on 127.0.0.1 that accepts connections, held by this process until scope end: a port in use, or a
// database that answers a connect (nothing is served).
class Listener {
 public:
  Listener();
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  int fd = -1;
  int port = 0;
};

// A free TCP port on 127.0.0.1 with nothing listening (connects are refused). It is taken below the ephemeral
// range (ip_local_port_range), so a client's own source port can never be it (no TCP self-connect).
int refused_port();

}  // namespace pmtest

// Fails the test with the reason when the cluster could not be set up (PostgreSQL not installed, initdb failed...).
#define REQUIRE_POSTGRES(pg)            \
  do {                                  \
    if (!(pg).ok()) FAIL((pg).error()); \
  } while (0)
