// The machine doctor checks, behind one interface: users and groups, access
// as a user, stat/lstat, reading files, who listens on a port, bind and
// connect probes, running a child as a user with a time limit. RealHost is
// this machine (root needed for `can` and `run_as`); the unit tests give the
// checks a fake one (tests/unit/fake_host.h), so every check runs without
// root. Every check reaches the machine only through a Host.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analysis/aggregator.h"
#include "target/unit_file.h"

namespace pm::doctor {

// The user the service runs as, with the groups it gets.
struct User {
  std::string name = "root", group = "root";
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home = "/root";
  bool exists = true;
  bool dynamic = false;  // DynamicUser=yes: made by systemd at start
  std::vector<gid_t> extra_groups;  // SupplementaryGroups=
};

// A passwd entry, or a group entry (home empty, id the gid).
struct Account {
  std::string name;
  std::uint32_t id = 0;   // uid, or gid for a group
  std::uint32_t gid = 0;  // a user's primary group
  std::string home;
};

enum class FileType { none, regular, directory, symlink, socket, fifo, device, other };

// What stat (symlinks followed) or lstat (a symlink as such) says of a path.
struct PathStat {
  bool exists = false;
  FileType type = FileType::none;
  std::uint32_t mode = 0;           // permission bits (07777)
  std::uint32_t uid = 0, gid = 0;
  std::string owner, group;         // names, when known
  std::string link_target;          // lstat of a symlink: what readlink says
  bool target_exists = true;        // lstat of a symlink: whether it leads to something
};

// A child run as the service user: argv[0] is executed (no PATH search) with
// exactly `env`, in `dir`; stdin is /dev/null, stdout and stderr are
// `output`, and what it writes to fd 3 is its `answer`. Killed, with all it
// started, at `timeout_ms`.
struct ChildRun {
  std::vector<std::string> argv, env;
  std::string dir;
  long long timeout_ms = 20000;
};
struct ChildResult {
  bool started = false;    // false: it could not be started (failure says why)
  int status = 0;          // wait status
  bool timed_out = false;
  std::string blocked_in;  // the system call it sat in when the time limit hit
  std::string output;      // stdout and stderr (the last 64 KiB)
  std::string answer;      // fd 3
  long long ms = 0;
  std::string failure;     // not started: "cannot fork: Resource temporarily unavailable"
};

class Host {
 public:
  virtual ~Host() = default;
  // passwd and group (NSS on the real machine).
  virtual std::optional<Account> user_by_name(const std::string& name) const = 0;
  virtual std::optional<Account> user_by_id(std::uint32_t uid) const = 0;
  virtual std::optional<Account> group_by_name(const std::string& name) const = 0;
  virtual std::optional<Account> group_by_id(std::uint32_t gid) const = 0;
  // Whether `user` may access `path` with `mode` (R_OK, W_OK, X_OK): access()
  // with that user's uid, gid, own groups and SupplementaryGroups=.
  virtual bool can(const User& user, const std::string& path, int mode) const = 0;
  virtual PathStat stat(const std::string& path) const = 0;
  virtual PathStat lstat(const std::string& path) const = 0;
  // A regular file of at most kMaxReadFile bytes (util/strings.h read_file);
  // nullopt with errno set otherwise.
  virtual std::optional<std::string> read_file(const std::string& path) const = 0;
  // The "#!" line of the file `path` finally names, symlinks followed ("" when none).
  virtual std::string shebang(const std::string& path) const = 0;
  // The paths a wildcard matches, sorted (glob(3)).
  virtual std::vector<std::string> glob(const std::string& pattern) const = 0;
  // A command in doctor's own $PATH, as execvp finds it ("" when not found).
  virtual std::string find_in_path(const std::string& name) const = 0;
  // system.conf's [Manager] defaults.
  virtual target::ManagerDefaults manager_defaults() const = 0;
  // Who listens on a TCP port now.
  virtual std::vector<analysis::PortHolder> listeners(std::uint16_t port) const = 0;
  // bind() of a TCP socket with SO_REUSEADDR, closed at once: 0 or the errno.
  virtual int bind_probe(const std::string& address, std::uint16_t port, bool v6) const = 0;
  // A TCP connect to an IPv4 address: 0, or the errno (ETIMEDOUT: no answer in time).
  virtual int connect_probe(const std::string& address, std::uint16_t port, int timeout_ms) const = 0;
  virtual ChildResult run_as(const User& user, const ChildRun& run) const = 0;
};

// This machine.
class RealHost : public Host {
 public:
  std::optional<Account> user_by_name(const std::string& name) const override;
  std::optional<Account> user_by_id(std::uint32_t uid) const override;
  std::optional<Account> group_by_name(const std::string& name) const override;
  std::optional<Account> group_by_id(std::uint32_t gid) const override;
  bool can(const User& user, const std::string& path, int mode) const override;
  PathStat stat(const std::string& path) const override;
  PathStat lstat(const std::string& path) const override;
  std::optional<std::string> read_file(const std::string& path) const override;
  std::string shebang(const std::string& path) const override;
  std::vector<std::string> glob(const std::string& pattern) const override;
  std::string find_in_path(const std::string& name) const override;
  target::ManagerDefaults manager_defaults() const override;
  std::vector<analysis::PortHolder> listeners(std::uint16_t port) const override;
  int bind_probe(const std::string& address, std::uint16_t port, bool v6) const override;
  int connect_probe(const std::string& address, std::uint16_t port, int timeout_ms) const override;
  ChildResult run_as(const User& user, const ChildRun& run) const override;
};

}  // namespace pm::doctor
