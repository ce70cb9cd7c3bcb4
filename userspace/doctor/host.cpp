// The real machine behind doctor's checks: NSS, access() with the service
// user's credentials in a forked child, stat/lstat, files, /proc/net/tcp,
// bind() and connect() probes, and the child that imports the app.
#include "doctor/host.h"

#include <cstring>

#include <arpa/inet.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>

#include "model/names.h"
#include "target/cgroup.h"
#include "target/host.h"
#include "util/strings.h"
#include "util/subprocess.h"

namespace pm::doctor {
namespace {

// Drops this (forked) process to the user's uid, gid and groups; false on failure.
bool become(const User& user) {
  if (::initgroups(user.name.c_str(), user.gid) != 0 && ::setgroups(0, nullptr) != 0) return false;
  if (!user.extra_groups.empty()) {  // SupplementaryGroups= on top of the user's own
    std::vector<gid_t> groups(static_cast<std::size_t>(std::max(::getgroups(0, nullptr), 0)));
    if (::getgroups(static_cast<int>(groups.size()), groups.data()) < 0) groups.clear();
    groups.insert(groups.end(), user.extra_groups.begin(), user.extra_groups.end());
    if (::setgroups(groups.size(), groups.data()) != 0) return false;
  }
  return ::setgid(user.gid) == 0 && ::setuid(user.uid) == 0;
}

std::optional<Account> from_passwd(const struct passwd* pw) {
  if (!pw) return std::nullopt;
  return Account{pw->pw_name, pw->pw_uid, pw->pw_gid, pw->pw_dir};
}

std::optional<Account> from_group(const struct group* gr) {
  if (!gr) return std::nullopt;
  return Account{gr->gr_name, gr->gr_gid, gr->gr_gid, ""};
}

PathStat path_stat(const std::optional<analysis::FileFacts>& f) {
  PathStat s;
  if (!f) return s;
  s.exists = true;
  switch (f->mode & S_IFMT) {
    case S_IFREG: s.type = FileType::regular; break;
    case S_IFDIR: s.type = FileType::directory; break;
    case S_IFLNK: s.type = FileType::symlink; break;
    case S_IFSOCK: s.type = FileType::socket; break;
    case S_IFIFO: s.type = FileType::fifo; break;
    case S_IFCHR:
    case S_IFBLK: s.type = FileType::device; break;
    default: s.type = FileType::other;
  }
  s.mode = f->mode & 07777;
  s.uid = f->uid;
  s.gid = f->gid;
  s.owner = f->owner;
  s.group = f->group;
  s.link_target = f->link_target;
  s.target_exists = f->target_exists;
  return s;
}

long long now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

std::string blocked_syscall(pid_t pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/syscall");
  if (!text) return "";
  auto nr = parse_int(text->substr(0, text->find(' ')));
  if (!nr) return "";
  return *nr < 0 ? "" : model::syscall_name(static_cast<int>(*nr));
}

// A cgroup of its own for the import: whatever the app starts stays in it
// (setsid and setpgid do not leave a cgroup) and is killed with it. Without
// a writable cgroup2 mount the process group is all there is.
class Jail {
 public:
  Jail() {
    // Orphans of the app (a double fork) are reparented to doctor, not to a
    // PID 1 that may never reap them.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    auto root = target::cgroup2_mount();
    if (!root) return;
    dir_ = *root + "/pmtrace-doctor-" + std::to_string(::getpid());
    if (::mkdir(dir_.c_str(), 0755) != 0 && errno != EEXIST) dir_.clear();
  }
  ~Jail() { kill_all(); }
  Jail(const Jail&) = delete;
  Jail& operator=(const Jail&) = delete;
  // In the forked child, still root: move itself in.
  void enter() const {
    if (dir_.empty()) return;
    int fd = ::open((dir_ + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    (void)!::write(fd, "0", 1);
    ::close(fd);
  }
  void kill_all() {
    if (dir_.empty()) return;
    for (int round = 0; round < 100; ++round) {
      auto procs = target::cgroup_procs(dir_);
      if (procs.empty()) break;
      for (auto p : procs) ::kill(static_cast<pid_t>(p), SIGKILL);
      ::usleep(10000);
      while (::waitpid(-1, nullptr, WNOHANG) > 0) {  // orphans come to us (subreaper): reap them
      }
    }
    ::rmdir(dir_.c_str());
    dir_.clear();
  }

 private:
  std::string dir_;
};

// SIGINT, SIGTERM and SIGHUP caught while the import runs, then raised again
// once it is cleaned up.
volatile std::sig_atomic_t g_caught = 0;
class Interrupts {
 public:
  Interrupts() {
    struct sigaction sa{};
    sa.sa_handler = [](int sig) { g_caught = sig; };
    ::sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; ++i) ::sigaction(kSignals[i], &sa, &old_[i]);
  }
  ~Interrupts() { restore(); }
  bool caught() const { return g_caught != 0; }
  void reraise() {
    restore();
    if (int sig = g_caught) {
      g_caught = 0;
      ::raise(sig);
    }
  }

 private:
  void restore() {
    if (restored_) return;
    for (int i = 0; i < 3; ++i) ::sigaction(kSignals[i], &old_[i], nullptr);
    restored_ = true;
  }
  static constexpr int kSignals[3] = {SIGINT, SIGTERM, SIGHUP};
  struct sigaction old_[3] {};
  bool restored_ = false;
};

}  // namespace

std::optional<Account> RealHost::user_by_name(const std::string& name) const { return from_passwd(::getpwnam(name.c_str())); }
std::optional<Account> RealHost::user_by_id(std::uint32_t uid) const { return from_passwd(::getpwuid(static_cast<uid_t>(uid))); }
std::optional<Account> RealHost::group_by_name(const std::string& name) const { return from_group(::getgrnam(name.c_str())); }
std::optional<Account> RealHost::group_by_id(std::uint32_t gid) const { return from_group(::getgrgid(static_cast<gid_t>(gid))); }

bool RealHost::can(const User& user, const std::string& path, int mode) const {
  if (user.uid == 0) return ::access(path.c_str(), mode) == 0;
  pid_t pid = ::fork();
  if (pid < 0) return ::access(path.c_str(), mode) == 0;
  if (pid == 0) {
    if (!become(user)) ::_exit(2);
    ::_exit(::access(path.c_str(), mode) == 0 ? 0 : 1);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

PathStat RealHost::stat(const std::string& path) const { return path_stat(target::host_file_lookup()(path)); }
PathStat RealHost::lstat(const std::string& path) const { return path_stat(target::host_path_lookup()(path)); }
std::optional<std::string> RealHost::read_file(const std::string& path) const { return pm::read_file(path); }

std::string RealHost::shebang(const std::string& path) const {
  char* real = ::realpath(path.c_str(), nullptr);
  if (!real) return "";
  auto f = target::host_path_lookup()(real);
  ::free(real);
  return f ? f->shebang : "";
}

std::vector<std::string> RealHost::glob(const std::string& pattern) const {
  std::vector<std::string> out;
  glob_t g{};
  if (::glob(pattern.c_str(), 0, nullptr, &g) == 0)
    for (std::size_t i = 0; i < g.gl_pathc; ++i) out.push_back(g.gl_pathv[i]);
  ::globfree(&g);
  return out;
}

std::string RealHost::find_in_path(const std::string& name) const { return pm::find_in_path(name); }
target::ManagerDefaults RealHost::manager_defaults() const { return target::read_manager_defaults(); }
std::vector<analysis::PortHolder> RealHost::listeners(std::uint16_t port) const { return target::host_port_holders(port); }

int RealHost::bind_probe(const std::string& address, std::uint16_t port, bool v6) const {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (v6) {
    auto* sa6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sa6->sin6_family = AF_INET6;
    sa6->sin6_port = htons(port);
    if (::inet_pton(AF_INET6, address.c_str(), &sa6->sin6_addr) != 1) return EINVAL;
    len = sizeof *sa6;
  } else {
    auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    if (::inet_pton(AF_INET, address.c_str(), &sa->sin_addr) != 1) return EINVAL;
    len = sizeof *sa;
  }
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&ss), len);
  int err = errno;
  ::close(fd);
  return rc == 0 ? 0 : err;
}

// Connects with a deadline: 0, or the errno (ETIMEDOUT when no answer came).
int RealHost::connect_probe(const std::string& address, std::uint16_t port, int timeout_ms) const {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1) return EINVAL;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int err = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    err = errno;
    if (err == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int n = ::poll(&p, 1, timeout_ms);
      if (n == 0) {
        err = ETIMEDOUT;
      } else {
        socklen_t l = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
      }
    }
  }
  ::close(fd);
  return err;
}

ChildResult RealHost::run_as(const User& user, const ChildRun& run) const {
  ChildResult r;
  auto failed = [&](const char* what) {
    r.failure = std::string(what) + ": " + std::strerror(errno);
    return r;
  };
  int out_pipe[2], res_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return failed("cannot create a pipe");
  if (::pipe2(res_pipe, O_CLOEXEC) != 0) {
    int err = errno;
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    errno = err;
    return failed("cannot create a pipe");
  }
  std::vector<std::string> argv = run.argv, envs = run.env;
  std::vector<char*> av, ev;
  for (auto& s : argv) av.push_back(s.data());
  av.push_back(nullptr);
  for (auto& s : envs) ev.push_back(s.data());
  ev.push_back(nullptr);
  const std::string& dir = run.dir;
  Jail jail;
  long long start = now_ms();
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    for (int fd : {out_pipe[0], out_pipe[1], res_pipe[0], res_pipe[1]}) ::close(fd);
    errno = err;
    return failed("cannot fork");
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    jail.enter();
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(out_pipe[1], 2);
    ::dup2(res_pipe[1], 3);
    if (!become(user) || ::chdir(dir.c_str()) != 0) ::_exit(126);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // after the uid change, which clears it
    if (::getppid() == 1) ::_exit(126);   // doctor already gone
    ::execve(av[0], av.data(), ev.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(res_pipe[1]);
  r.started = true;
  // Ctrl-C, SIGTERM or SIGHUP while the child runs: kill it (and all it
  // started) first, then die of the same signal.
  Interrupts interrupts;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {res_pipe[0], POLLIN, 0}};
  int status = 0;
  bool reaped = false;
  auto stop = [&](bool timed_out) {
    if (timed_out && !r.timed_out) {
      r.timed_out = true;
      r.blocked_in = blocked_syscall(pid);
    }
    ::kill(pid, SIGKILL);  // itself, even if it left its process group
    ::kill(-pid, SIGKILL);
    jail.kill_all();
  };
  // Until the child has exited and its answer is read. Its output pipe may
  // stay open in something it left running: that is not waited for.
  for (;;) {
    if (!reaped && ::waitpid(pid, &status, WNOHANG) == pid) reaped = true;
    if (reaped && fds[1].fd < 0) break;
    if (interrupts.caught()) {
      stop(false);
      break;
    }
    long long left = run.timeout_ms - (now_ms() - start);
    if (left <= 0) {
      stop(true);
      break;
    }
    int n = ::poll(fds, 2, static_cast<int>(std::min<long long>(left, 100)));
    if (n < 0 && errno != EINTR) break;
    for (auto& f : fds) {
      if (f.fd < 0 || !(f.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t got = ::read(f.fd, buf, sizeof buf);
      if (got <= 0) {
        ::close(f.fd);
        f.fd = -1;
        continue;
      }
      std::string& to = &f == &fds[0] ? r.output : r.answer;
      to.append(buf, static_cast<std::size_t>(got));
      if (to.size() > (1u << 20)) to.erase(0, to.size() - (1u << 20));
    }
  }
  if (fds[0].fd >= 0) {  // what is already in the output pipe
    ::fcntl(fds[0].fd, F_SETFL, O_NONBLOCK);
    char buf[4096];
    ssize_t got;
    while ((got = ::read(fds[0].fd, buf, sizeof buf)) > 0) r.output.append(buf, static_cast<std::size_t>(got));
  }
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);
  if (!reaped)
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  ::kill(-pid, SIGKILL);  // anything the child left behind
  jail.kill_all();
  interrupts.reraise();
  r.ms = now_ms() - start;
  r.status = status;
  if (r.output.size() > 65536) r.output.erase(0, r.output.size() - 65536);
  return r;
}

}  // namespace pm::doctor
