// Shared pieces of the scenario tests: real gunicorn serving the Flask and
// Django apps under tests/scenarios, a fake systemd unit (its cgroup, made as
// systemd would, and tests/progs/svc_start playing systemd's spawn), and the
// findings in pmtrace's JSON summary.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "harness.h"

namespace pmtest {

extern const std::string kFlaskApp;
extern const std::string kDjangoApp;

int free_port();
bool have_gunicorn();

// /usr/bin/gunicorn --chdir APP -b 127.0.0.1:PORT -w 2 EXTRA... SPEC
std::vector<std::string> gunicorn(int port, const std::string& spec, std::vector<std::string> extra = {},
                                  const std::string& app_dir = kFlaskApp);
std::vector<std::string> as_nobody(std::vector<std::string> argv);

// The finding of `rule` in the summary, or null.
const json* finding(const Output& o, const std::string& rule);
std::string field(const json* f, const char* key);  // "" when f is null
// Whether the summary's checkpoint `name` was reached.
bool reached(const Output& o, const std::string& name);

std::vector<std::string> run_args(std::vector<std::string> cmd, const std::string& timeout = "40s",
                                  const std::string& settle = "2s");

// GET http://127.0.0.1:PORT/PATH; the status line's code, or -1.
int http_get(int port, const std::string& path, int timeout_s = 5);

// Waits until something listens on 127.0.0.1:port.
bool wait_listening(int port, int timeout_ms = 10000);

// A fake systemd unit: a unit file in its own unit path and its cgroup under
// system.slice in the cgroup v2 hierarchy, as systemd would make them.
struct FakeUnit {
  TempDir units;
  std::string name;
  std::string cgroup;  // absolute

  explicit FakeUnit(const std::string& unit_text = "[Service]\nExecStart=/bin/true\n");
  ~FakeUnit();  // ends every process left in the cgroup, then removes it
  void write_unit(const std::string& unit_text) const;
  bool create_cgroup();
  void remove_cgroup();
  void kill_all();
  std::vector<std::string> env() const;  // SYSTEMD_UNIT_PATH for pmtrace
  // svc_start's argv: join the cgroup, then the steps systemd takes.
  std::vector<std::string> start_argv(const std::vector<std::string>& cmd,
                                      const std::vector<std::string>& opts = {}) const;
};

// A failure reproduced in a unit, diagnosed either way users do it:
// `pmtrace run --unit U -- <start>` or `pmtrace attach U` started before the
// service, and `run` with the ptrace backend (which follows the start's
// process tree, not the unit's cgroup). The service is started as systemd would (svc_start): in the
// unit's cgroup, with its environment from an EnvironmentFile= the unit
// file names.
enum class Mode { run, attach, run_ptrace };
const char* mode_name(Mode m);

struct Scenario {
  std::vector<std::string> cmd;       // ExecStart=
  std::vector<std::string> env;       // KEY=value lines of its EnvironmentFile=
  std::vector<std::string> svc_opts;  // svc_start options: --chdir DIR, --uid N --gid N
  int limit_s = 30;                   // run --timeout / attach --duration
  std::string settle = "2s";          // run --settle
  std::function<void()> during;       // runs while the service runs (a client, a stop)
  bool env_in_dropin = false;         // EnvironmentFile= in NAME.d/50-env.conf, not the unit file
};

Output diagnose(Mode mode, FakeUnit& unit, const Scenario& s);

// `pmtrace explain --json RECORDING` gives the summary the live run gave.
void check_replay(const Output& live, const std::string& recording);

// The unit's main process: the oldest process in its cgroup; -1 if none.
pid_t unit_main_pid(const FakeUnit& unit);

}  // namespace pmtest

#define REQUIRE_GUNICORN()                                                      \
  do {                                                                          \
    REQUIRE_ROOT();                                                             \
    if (!pmtest::have_gunicorn()) FAIL("gunicorn is not installed (tools/setup.sh installs it)"); \
  } while (0)
