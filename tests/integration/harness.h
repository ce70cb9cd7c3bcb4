// Runs the real pmtrace binary against real processes and reads its JSON lines.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pmtest {

using nlohmann::json;

struct Output {
  int status = -1;  // exit code
  std::string out, err;
  std::vector<json> lines;  // stdout parsed as JSON lines (non-JSON lines skipped)

  std::vector<json> events(const std::string& type) const;
  std::vector<json> events_of(const std::string& type, unsigned pid) const;
  const json* summary() const;
};

bool is_root();
// Says why a test cannot run here; under ctest ends the process with the
// skip code (PMTEST_SKIP_EXIT), else warns (the caller returns).
void skip(const std::string& why);
std::string pmtrace_bin();
std::string prog(const std::string& name);  // path of a tests/progs program

// Runs pmtrace with args to completion (killed after timeout_s).
// Runs a shell command line (sh -c), its stdout and stderr together in `out`
// (JSON lines among them parsed into `lines`), its exit status in `status`.
Output run_shell(const std::string& command_line);

Output run_pmtrace(const std::vector<std::string>& args, int timeout_s = 60,
                   const std::vector<std::string>& env = {});

// pmtrace running in the background: started, waited for until it is tracing.
class Background {
 public:
  Background(const std::vector<std::string>& args, const std::vector<std::string>& env = {});
  ~Background();
  // Waits for the "tracing ready" line (or a "waiting for" line) on stderr.
  bool wait_ready(int timeout_ms = 10000);
  // SIGINT (as Ctrl-C) unless it has already ended, then collects the output.
  Output stop(int sig = 2);
  // Waits for it to end by itself.
  Output wait(int timeout_s = 60);
  pid_t pid() const { return pid_; }

 private:
  Output collect(int timeout_s);
  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  std::string out_, err_;
  void pump(int timeout_ms);
};

// Starts a process (argv) and returns its pid; it is not waited for.
pid_t spawn(const std::vector<std::string>& argv);
int wait_exit(pid_t pid);  // exit code, or 128+signal

// A fresh temporary directory, removed with its contents at scope end.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string cgroup2_root();  // from /proc/mounts

// A file's whole content, bytes as they are ("" when it cannot be read).
std::string slurp(const std::string& path);

// The last line of type "incident" in a watch incidents file (null if none).
json last_incident(const std::string& incidents_file);

}  // namespace pmtest

// A test that needs root (BPF, cgroups, the systemd bed) is skipped, never
// passed, without it: under ctest (which sets PMTEST_SKIP_EXIT=77 and takes
// 77 as SKIP_RETURN_CODE) the test process exits 77 and ctest reports the
// test as skipped; run by hand it warns and returns.
#define REQUIRE_ROOT()                                              \
  do {                                                              \
    if (!pmtest::is_root()) {                                       \
      pmtest::skip("needs root to load BPF programs");              \
      return;                                                       \
    }                                                               \
  } while (0)
