// A test bed with real systemd as PID 1: systemd-nspawn booting a
// copy-on-write view of this machine (an overlay over /, its upper layer a
// tmpfs), private network, so gunicorn, Flask and Django are all there.
// Commands run inside with `nsenter -t PID1 -a`, what an operator's
// `machinectl shell` gives. Torn down on every path: the destructor, and
// SIGINT/SIGTERM/SIGHUP or exit of the test program (bed.cpp installs the
// handlers): poweroff, then the nspawn process killed, then the mounts gone.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "harness.h"

namespace pmtest {

class SystemdBed {
 public:
  SystemdBed();  // boots and waits for `systemctl is-system-running` (at most 30 s)
  ~SystemdBed();
  SystemdBed(const SystemdBed&) = delete;
  SystemdBed& operator=(const SystemdBed&) = delete;

  bool ok() const { return pid1_ > 0; }
  const std::string& why() const { return why_; }  // why it could not boot
  pid_t pid1() const { return pid1_; }            // the container's systemd, as this machine sees it
  const std::string& root() const { return root_; }  // the container's / on this machine

  // `sh -c CMD` inside the container (root, its PID, mount, cgroup and network namespaces).
  Output sh(const std::string& cmd) const;
  // argv prefix that runs a command inside: nsenter -t PID1 -a.
  std::vector<std::string> inside(std::vector<std::string> argv) const;
  // Where a unit of the container has its cgroup, as this machine's
  // /sys/fs/cgroup shows it (what an operator on the host attaches to).
  std::string host_cgroup(const std::string& unit) const;
  // A unit file into /etc/systemd/system, then daemon-reload.
  void install_unit(const std::string& name, const std::string& text) const;
  // Powers the container off and removes it (idempotent; the destructor and
  // the signal handlers call it).
  void teardown();

 private:
  std::string dir_, upper_, root_, why_;
  pid_t nspawn_ = -1, pid1_ = -1;
};

// `pmtrace run --json [EXTRA] -- systemctl start UNIT` inside the container.
Output run_inside(const SystemdBed& bed, const std::string& unit, const std::string& extra = "");
// `pmtrace attach --json --unit UNIT` inside, started before the unit is,
// ended (SIGINT, as Ctrl-C) after SCRIPT (which starts it) has run and
// LINGER seconds more. Its exit status is attach's.
Output attach_inside(const SystemdBed& bed, const std::string& unit, const std::string& script, int linger = 1);

// `pmtrace attach --json TARGET` on this machine (TARGET a cgroup path or
// id: --cgroup), with no unit files here (everything is learnt in the
// container), started before SCRIPT runs inside the container and ended
// with SIGINT LINGER seconds after it. Status -1 when it never got ready.
Output attach_from_host(const SystemdBed& bed, const std::string& target, const std::string& script, int linger = 1);

// The summary line of a pmtrace --json output (the test fails without one).
// With PMTEST_DEBUG_DIR=DIR every output passed here is also written to
// DIR/out-N.txt, for reading a failure whole.
const json& summary_of(const Output& o);

// A failed start's finding of `rule`: checks that pmtrace exited 1 with the
// verdict "failed" (`sum`, its summary); null when the rule found nothing.
const json* failed_finding(const Output& o, const json& sum, const std::string& rule);

// A unit file's ExecStart= line of argv (words with no spaces).
std::string exec_line(const std::vector<std::string>& argv);
inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace pmtest

// Skipped (not passed) when the bed cannot boot here: says why.
#define REQUIRE_BED(bed)                                                             \
  do {                                                                               \
    REQUIRE_ROOT();                                                                  \
    if (!(bed).ok()) FAIL("the systemd test bed did not boot: " << (bed).why());     \
  } while (0)
