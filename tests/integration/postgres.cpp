// Throwaway PostgreSQL clusters, stalled and refused ports, and a capturing command runner for the scenario tests.
#include "postgres.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

extern char** environ;

namespace pmtest {
namespace {

namespace fs = std::filesystem;

long long now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

struct RunAs {
  bool switch_user = false;
  unsigned uid = 0, gid = 0;
  std::string cwd;
};

// Forks and execs argv with stdout and stderr into a pipe; returns when it exits (or is killed at the deadline).
// Output still held open by a daemon it started (pg_ctl start) does not keep us waiting: we stop at its exit.
Captured run(const std::vector<std::string>& argv, const std::vector<std::string>& env, int timeout_s,
             const RunAs& as = {}) {
  Captured c;
  int p[2];
  if (argv.empty() || pipe2(p, O_CLOEXEC)) return c;
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) {
    std::string s(*e);
    bool replaced = std::any_of(env.begin(), env.end(), [&](const std::string& x) {
      return x.substr(0, x.find('=') + 1) == s.substr(0, s.find('=') + 1);
    });
    if (!replaced) envs.push_back(s);
  }
  envs.insert(envs.end(), env.begin(), env.end());
  std::vector<char*> cargv, cenv;
  for (const auto& s : argv) cargv.push_back(const_cast<char*>(s.c_str()));
  cargv.push_back(nullptr);
  for (const auto& s : envs) cenv.push_back(const_cast<char*>(s.c_str()));
  cenv.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return c;
  }
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(p[1], 1);
    dup2(p[1], 2);
    if (!as.cwd.empty() && chdir(as.cwd.c_str()) != 0) _exit(126);
    if (as.switch_user && (setgroups(0, nullptr) != 0 || setgid(as.gid) != 0 || setuid(as.uid) != 0)) {
      dprintf(2, "cannot switch to uid %u: %s\n", as.uid, strerror(errno));
      _exit(126);
    }
    execve(cargv[0], cargv.data(), cenv.data());
    dprintf(2, "cannot execute %s: %s\n", cargv[0], strerror(errno));
    _exit(127);
  }
  close(p[1]);
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  long long deadline = now_ms() + timeout_s * 1000LL;
  int status = 0;
  bool exited = false, killed = false;
  char buf[65536];
  for (;;) {
    pollfd pfd{p[0], POLLIN, 0};
    poll(&pfd, 1, exited ? 0 : 50);
    ssize_t n;
    while ((n = read(p[0], buf, sizeof buf)) > 0) c.output.append(buf, n);
    if (exited || n == 0) break;
    if (waitpid(pid, &status, WNOHANG) == pid)
      exited = true;  // one more pass to drain
    else if (!killed && now_ms() > deadline) {
      kill(pid, SIGKILL);
      killed = true;
      c.output += "\n[killed after " + std::to_string(timeout_s) + " s]\n";
    }
  }
  close(p[0]);
  if (!exited) waitpid(pid, &status, 0);
  c.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return c;
}

// The bin dir of the highest installed PostgreSQL (Debian: /usr/lib/postgresql/<major>/bin), or "".
std::string find_bindir() {
  std::string best;
  double best_version = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    std::string bin = entry.path().string() + "/bin";
    if (access((bin + "/initdb").c_str(), X_OK) || access((bin + "/pg_ctl").c_str(), X_OK)) continue;
    double v = std::atof(entry.path().filename().c_str());
    if (v > best_version) {
      best_version = v;
      best = bin;
    }
  }
  return best;
}

std::pair<int, int> ephemeral_range() {
  int lo = 32768, hi = 60999;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> lo >> hi;
  return {lo, hi};
}

bool bindable(int port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(s);
  return ok;
}

// A port on 127.0.0.1 nobody has bound, outside the ephemeral range when there is room: no client's source port
// takes it between now and its use, and a connect to it never self-connects.
int free_port() {
  auto [lo, hi] = ephemeral_range();
  int first = 20000, last = lo - 1;  // below the range (Linux's default starts at 32768)
  if (last - first < 1000) {         // a range moved down: above it, or anywhere
    first = hi + 1;
    last = 65535;
  }
  if (last - first < 1000) {
    first = 1024;
    last = 65535;
  }
  static std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<int> pick(first, last);
  for (int i = 0; i < 500; ++i) {
    int port = pick(rng);
    if (port != 5432 && bindable(port)) return port;
  }
  return 0;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string tail(const std::string& s, size_t n = 2000) { return s.size() > n ? "..." + s.substr(s.size() - n) : s; }

}  // namespace

Captured run_capture(const std::vector<std::string>& argv, const std::vector<std::string>& env, int timeout_s) {
  return run(argv, env, timeout_s);
}

Postgres::Postgres() {
  bindir_ = find_bindir();
  if (bindir_.empty()) {
    error_ =
        "PostgreSQL is not installed: no /usr/lib/postgresql/<version>/bin/initdb and pg_ctl "
        "(apt-get install -y postgresql)";
    return;
  }
  if (dir_.path().empty()) {
    error_ = std::string("cannot create a temp dir under /tmp: ") + strerror(errno);
    return;
  }
  std::string base = dir_.path();
  data_ = base + "/data";
  sock_ = base + "/sock";
  uid_ = geteuid();
  gid_ = getegid();
  if (uid_ == 0) {  // initdb and postgres refuse to run as root
    passwd* pw = getpwnam("postgres");
    if (!pw) {
      error_ = "PostgreSQL is not installed properly: no user postgres to run it as (apt-get install -y postgresql)";
      return;
    }
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
    as_other_ = true;
  }
  if (mkdir(sock_.c_str(), 0755) != 0 || chown(base.c_str(), uid_, gid_) != 0 ||
      chown(sock_.c_str(), uid_, gid_) != 0) {
    error_ = "cannot prepare " + base + ": " + strerror(errno);
    return;
  }
  RunAs as{as_other_, uid_, gid_, base};
  Captured init =
      run({bindir_ + "/initdb", "-D", data_, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"},
          {}, 120, as);
  if (init.status != 0) {
    error_ = "initdb failed (exit " + std::to_string(init.status) + "):\n" + tail(init.output);
    return;
  }
  {
    std::ofstream hba(data_ + "/pg_hba.conf", std::ios::trunc);
    hba << "# pmtest: the superuser over the socket for setup; the app's user with its password.\n"
           "local all postgres trust\n"
           "local all all md5\n"
           "host all all 127.0.0.1/32 md5\n";
    std::ofstream conf(data_ + "/postgresql.conf", std::ios::app);
    conf << "\n# pmtest\n"
            "listen_addresses = '127.0.0.1'\n"
            "unix_socket_directories = '"
         << sock_
         << "'\n"
            "fsync = off\n"
            "synchronous_commit = off\n"
            "full_page_writes = off\n"
            "log_connections = on\n";
    if (!hba || !conf) {
      error_ = "cannot write the configuration in " + data_;
      return;
    }
  }
  std::string why;
  for (int attempt = 0; attempt < 3 && !running_; ++attempt) {  // another process may take the port meanwhile
    port_ = free_port();
    if (!start(&why) && why.find("already in use") == std::string::npos) break;
  }
  if (!running_) {
    error_ = "PostgreSQL did not start: " + why;
    return;
  }
  Captured setup = psql(std::string("CREATE ROLE ") + kUser + " LOGIN PASSWORD '" + kPassword + "'");
  if (setup.status == 0) setup = psql(std::string("CREATE DATABASE ") + kDatabase + " OWNER " + kUser);
  if (setup.status != 0) {
    error_ = "cannot create the user and database: " + tail(setup.output);
    return;
  }
  ok_ = true;
}

bool Postgres::start(std::string* why) {
  std::string logfile = dir_.path() + "/postgres.log";
  RunAs as{as_other_, uid_, gid_, dir_.path()};
  Captured c = run(
      {bindir_ + "/pg_ctl", "start", "-w", "-t", "60", "-D", data_, "-l", logfile, "-o", "-p " + std::to_string(port_)},
      {}, 90, as);
  if (c.status == 0) {
    running_ = true;
    return true;
  }
  *why = "pg_ctl start exited " + std::to_string(c.status) + ":\n" + tail(c.output) + "\nserver log:\n" +
         tail(read_file(logfile));
  // A failed start may leave a postmaster behind (pg_ctl timed out): stop it before trying another port.
  run({bindir_ + "/pg_ctl", "stop", "-m", "immediate", "-w", "-D", data_}, {}, 30, as);
  return false;
}

Postgres::~Postgres() { stop(); }

void Postgres::stop() {
  if (!running_) return;
  running_ = false;
  RunAs as{as_other_, uid_, gid_, dir_.path()};
  Captured c = run({bindir_ + "/pg_ctl", "stop", "-m", "immediate", "-w", "-t", "20", "-D", data_}, {}, 30, as);
  if (c.status != 0) {  // last resort: the postmaster's pid is the first line of postmaster.pid
    std::ifstream in(data_ + "/postmaster.pid");
    pid_t pid = 0;
    if (in >> pid && pid > 1) kill(pid, SIGKILL);
  }
}

std::string Postgres::url() const {
  return std::string("postgresql://") + kUser + ":" + kPassword + "@127.0.0.1:" + std::to_string(port_) + "/" +
         kDatabase;
}

std::string Postgres::socket_url() const {
  return std::string("postgresql://") + kUser + ":" + kPassword + "@/" + kDatabase + "?host=" + sock_ +
         "&port=" + std::to_string(port_);
}

std::string Postgres::log() const { return read_file(dir_.path() + "/postgres.log"); }

Captured Postgres::psql(const std::string& sql) const {
  RunAs as{as_other_, uid_, gid_, dir_.path()};
  return run({bindir_ + "/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", sock_, "-p",
              std::to_string(port_), "-U", "postgres", "-d", "postgres", "-c", sql},
             {}, 60, as);
}

StalledPort::StalledPort() {
  int port = free_port();
  listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  filler_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (port <= 0 || listener_ < 0 || filler_ < 0) return;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(listener_, 0) != 0) return;
  if (connect(filler_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
  // connect() returns once the SYN-ACK is in; wait until our connection sits in the accept queue (the listener is
  // readable), or a SYN arriving meanwhile would still be answered.
  pollfd p{listener_, POLLIN, 0};
  if (poll(&p, 1, 2000) != 1) return;
  port_ = port;
}

StalledPort::~StalledPort() {
  if (filler_ >= 0) close(filler_);
  if (listener_ >= 0) close(listener_);
}

Listener::Listener() {
  fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  listen(fd, 8);
  socklen_t len = sizeof sa;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  port = ntohs(sa.sin_port);
}

Listener::~Listener() { close(fd); }

int refused_port() {
  // Below the ephemeral range, so no client's own source port is ever it (a TCP self-connect would "answer").
  int low = 32768;
  if (FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
    if (std::fscanf(f, "%d", &low) != 1) low = 32768;
    std::fclose(f);
  }
  static unsigned next = static_cast<unsigned>(getpid()) * 7919u;
  for (int tries = 0; tries < 1000; ++tries) {
    int port = 10000 + static_cast<int>(next++ % static_cast<unsigned>(std::max(low - 10000, 1)));
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    bool free = bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(s);
    if (free) return port;
  }
  return free_port();
}

}  // namespace pmtest
