#include "util/subprocess.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "util/fd.h"
#include "util/strings.h"

namespace pm {

Result<Captured> run_capture(const std::vector<std::string>& argv) {
  if (argv.empty()) return make_error("internal: empty command");
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return errno_error("failed to create a pipe");
  Fd rd(p[0]), wr(p[1]);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return errno_error("failed to fork for " + argv[0]);
  if (pid == 0) {
    ::dup2(wr.get(), 1);
    int devnull = ::open("/dev/null", O_WRONLY);
    if (devnull >= 0) ::dup2(devnull, 2);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  wr.reset();
  Captured c;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(rd.get(), buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) c.out.append(buf, n);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  c.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return c;
}

std::string find_in_path(const std::string& cmd) {
  if (cmd.find('/') != std::string::npos) return ::access(cmd.c_str(), F_OK) == 0 ? cmd : "";
  const char* path = std::getenv("PATH");
  for (const auto& dir : split(path ? path : "/usr/local/bin:/usr/bin:/bin", ':')) {
    std::string full = dir + "/" + cmd;
    if (::access(full.c_str(), X_OK) == 0) return full;
  }
  return "";
}

}  // namespace pm
