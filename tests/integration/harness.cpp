#include "harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace pmtest {
namespace {

long long now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

std::vector<char*> cargv(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

void parse_lines(Output& o) {
  std::istringstream in(o.out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '{') continue;
    try {
      o.lines.push_back(json::parse(line));
    } catch (...) {
    }
  }
}

}  // namespace

std::vector<json> Output::events(const std::string& type) const {
  std::vector<json> out;
  for (const auto& l : lines)
    if (l.value("type", "") == type) out.push_back(l);
  return out;
}

std::vector<json> Output::events_of(const std::string& type, unsigned pid) const {
  std::vector<json> out;
  for (const auto& l : events(type))
    if (l.value("pid", 0u) == pid) out.push_back(l);
  return out;
}

const json* Output::summary() const {
  for (const auto& l : lines)
    if (l.value("type", "") == "summary") return &l;
  return nullptr;
}

void skip(const std::string& why) {
  if (const char* code = std::getenv("PMTEST_SKIP_EXIT")) {
    std::fprintf(stderr, "skipped: %s\n", why.c_str());
    std::fflush(nullptr);
    std::_Exit(std::atoi(code));
  }
  WARN("skipped: " << why);
}

bool is_root() { return geteuid() == 0; }
std::string pmtrace_bin() { return PMTRACE_BIN; }
std::string prog(const std::string& name) { return std::string(PM_PROGS_DIR) + "/" + name; }

Background::Background(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) return;
  std::vector<std::string> full{pmtrace_bin()};
  full.insert(full.end(), args.begin(), args.end());
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
    auto a = cargv(full);
    execv(a[0], a.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  out_fd_ = out[0];
  err_fd_ = err[0];
}

Background::~Background() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
}

void Background::pump(int timeout_ms) {
  pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  if (poll(fds, 2, timeout_ms) <= 0) return;
  char buf[65536];
  for (int i = 0; i < 2; ++i) {
    if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
    ssize_t n = read(fds[i].fd, buf, sizeof buf);
    if (n > 0) (i == 0 ? out_ : err_).append(buf, n);
    if (n == 0) {
      close(fds[i].fd);
      (i == 0 ? out_fd_ : err_fd_) = -1;
    }
  }
}

bool Background::wait_ready(int timeout_ms) {
  long long deadline = now_ms() + timeout_ms;
  while (now_ms() < deadline && err_fd_ >= 0) {
    if (err_.find("tracing ready") != std::string::npos) return true;
    pump(50);
  }
  return err_.find("tracing ready") != std::string::npos;
}

Output Background::collect(int timeout_s) {
  Output o;
  long long deadline = now_ms() + timeout_s * 1000LL;
  int status = 0;
  bool exited = false;
  while ((out_fd_ >= 0 || err_fd_ >= 0) && now_ms() < deadline) {
    // pmtrace may have exited while a service it started still holds its
    // stdout: stop at pmtrace's exit, after reading what is there.
    if (!exited && waitpid(pid_, &status, WNOHANG) == pid_) exited = true;
    if (exited) {
      pump(0);
      pollfd p[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
      if (poll(p, 2, 0) <= 0) break;
      continue;
    }
    if (out_fd_ < 0 && err_fd_ >= 0) {
      pollfd p{err_fd_, POLLIN, 0};
      if (poll(&p, 1, 100) > 0) {
        char buf[4096];
        ssize_t n = read(err_fd_, buf, sizeof buf);
        if (n > 0) err_.append(buf, n);
        else { close(err_fd_); err_fd_ = -1; }
      }
      continue;
    }
    pump(100);
  }
  if (!exited) {
    if (out_fd_ >= 0 || err_fd_ >= 0) kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  o.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  o.out = out_;
  o.err = err_;
  parse_lines(o);
  return o;
}

Output Background::stop(int sig) {
  if (pid_ > 0) kill(pid_, sig);
  return collect(30);
}

Output Background::wait(int timeout_s) { return collect(timeout_s); }

Output run_shell(const std::string& command_line) {
  Output o;
  FILE* p = popen(("{ " + command_line + "\n} 2>&1; echo \"status=$?\"").c_str(), "r");
  if (!p) return o;
  char buf[4096];
  while (fgets(buf, sizeof buf, p)) o.out += buf;
  pclose(p);
  auto at = o.out.rfind("status=");
  if (at != std::string::npos) {
    o.status = std::atoi(o.out.c_str() + at + 7);
    o.out.erase(at);
  }
  std::istringstream lines(o.out);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty() && line[0] == '{') o.lines.push_back(json::parse(line, nullptr, false));
  return o;
}

Output run_pmtrace(const std::vector<std::string>& args, int timeout_s, const std::vector<std::string>& env) {
  Background bg(args, env);
  return bg.wait(timeout_s);
}

pid_t spawn(const std::vector<std::string>& argv) {
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 1);
    dup2(devnull, 2);
    auto a = cargv(argv);
    execv(a[0], a.data());
    _exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/pmtrace-test-XXXXXX";
  char* p = mkdtemp(tmpl);
  path_ = p ? p : "";
  if (p) chmod(p, 0755);
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

json last_incident(const std::string& incidents_file) {
  json incident;
  std::istringstream lines(slurp(incidents_file));
  for (std::string line; std::getline(lines, line);) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_object() && j.value("type", "") == "incident") incident = j;
  }
  return incident;
}

std::string cgroup2_root() {
  std::ifstream in("/proc/mounts");
  std::string dev, mnt, type, rest;
  while (in >> dev >> mnt >> type) {
    std::getline(in, rest);
    if (type == "cgroup2") return mnt;
  }
  return "";
}

}  // namespace pmtest
