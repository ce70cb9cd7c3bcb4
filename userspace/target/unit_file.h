// A unit as systemd loads it, without systemd: the unit file and its drop-ins
// (NAME.d/*.conf in every directory of the search path, applied in file-name
// order after the unit file), read with systemd's syntax: [Section] headers,
// comments (# and ;), continuation lines (a trailing backslash), empty
// assignments that reset list settings; ExecStart= command lines with their
// prefixes, quoting and escapes; the common specifiers (%n, %i, %t, ...).
// systemd's own parsers (src/shared/conf-parser.c, extract-word.c,
// specifier.c) are the reference; tests/unit/test_unit_file.cpp holds the
// cases checked against them.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "target/unit.h"
#include "util/result.h"

namespace pm::target {

struct UnitSetting {
  std::string section, key, value;
  std::string file;  // where it was set
  int line = 0;      // its first line there
};

struct UnitFile {
  std::string name;                  // "projectmeats.service"
  std::string path;                  // the unit file
  std::vector<std::string> dropins;  // applied after it, in order
  std::vector<UnitSetting> settings; // every assignment, in the order applied
  std::vector<std::string> issues;   // lines systemd would ignore, "file:line: why"

  // A single-valued setting: the last assignment (an empty one included).
  const UnitSetting* last(std::string_view section, std::string_view key) const;
  // A list setting: the values since its last empty assignment, in order.
  std::vector<const UnitSetting*> list(std::string_view section, std::string_view key) const;
};

// The assignments of one file's text.
std::vector<UnitSetting> parse_unit_text(std::string_view text, const std::string& file,
                                         std::vector<std::string>* issues = nullptr);

// Reads NAME (".service" added when it has no suffix) from env's search path
// (the first directory that has it), then its drop-ins. An error names the
// directories searched.
Result<UnitFile> load_unit_file(const std::string& name, const UnitEnv& env);

// The unit as systemd has it loaded where systemd runs (`systemctl cat`),
// otherwise read from the unit files as systemd would (`files_only` forces
// that, for a unit path given by hand). `source` says which.
Result<UnitFile> load_unit_as_loaded(const std::string& name, const UnitEnv& env, bool files_only = false,
                                     std::string* source = nullptr);

// A systemd time span ("90", "1min 30s", "500ms", "2h", "infinity") in
// milliseconds; a bare number is seconds; "infinity" is LLONG_MAX.
std::optional<long long> parse_timespan_ms(std::string_view value);

// A unit as `systemctl cat NAME` prints it where systemd runs: each file
// (the unit file first, then its drop-ins) after a "# /path" line, a blank
// line between files. systemd has already chosen the files; the
// assignments are read as load_unit_file reads them.
// A "# /path" line is a file's header only at the start or after a blank
// line, and only when `is_file(path)` (the files exist where systemd runs):
// a comment such as "# /srv/meats holds the code" is not one.
UnitFile unit_from_systemctl_cat(const std::string& name, std::string_view text,
                                 const std::function<bool(const std::string&)>& is_file = nullptr);

// The service manager's defaults a unit falls back on ([Manager] in
// /etc/systemd/system.conf and its system.conf.d/*.conf drop-ins, as
// systemd-system.conf(5) reads them), with systemd's built-in values.
struct ManagerDefaults {
  long long timeout_start_ms = 90000;        // DefaultTimeoutStartSec=
  long long restart_ms = 100;                // DefaultRestartSec=
  long long start_limit_interval_ms = 10000; // DefaultStartLimitIntervalSec=
  long long start_limit_burst = 5;           // DefaultStartLimitBurst=
  std::vector<std::string> environment;      // DefaultEnvironment= words (KEY=VALUE)
  std::vector<std::string> files;            // the files read, in order
};
ManagerDefaults read_manager_defaults(const std::string& root = "");

// A command line of ExecStart= and friends.
struct ExecCommand {
  std::string path;               // argv[0] unless '@' gave another
  std::vector<std::string> argv;
  bool ignore_failure = false;    // '-'
  bool privileged = false;        // '+' or '!'/'!!'
  bool no_env_expand = false;     // ':'
};

// Expands %n %N %p %P %i %I %f %j %J %u %U %h %g %G %t %S %C %L %E %T %V %H
// %% in `value` for the unit `name` (as a system unit run by `user`).
// An unknown specifier is an error, as in systemd.
Result<std::string> expand_specifiers(std::string_view value, const std::string& name, const std::string& user = "root");

// Splits an ExecStart= value: prefixes, then words with systemd's quoting
// ("..." '...' and C escapes), specifiers expanded in each word.
Result<ExecCommand> parse_exec(std::string_view value, const std::string& unit_name, const std::string& user = "root");

// The sandbox settings that decide which paths the service may write
// (analysis::sandbox_blocks_write): ProtectSystem=, ProtectHome=,
// PrivateTmp=, and the paths ReadWritePaths= and the *Directory= settings
// make writable again (those under their tree: /var/log/NAME, ...).
struct Sandbox {
  std::string protect_system = "no", protect_home = "no";
  bool private_tmp = false;
  std::vector<std::string> writable;
};
Sandbox sandbox_of(const UnitFile& u);

// A shell wrapper ExecStart= runs (a #!/bin/sh script, or `sh -c "..."`), read
// as sh reads the simple forms wrappers use, up to the line that runs
// gunicorn: backslash continuations, commands joined by && || ;, the venv it
// activates (`. venv/bin/activate`, `PATH=venv/bin:$PATH`), the directory it
// cds to, and gunicorn's argv with "$@" / $* replaced by `args` (the
// wrapper's own arguments). The one reader of wrappers (doctor); fuzzed.
struct ShellWrapper {
  bool runs_gunicorn = false;
  std::vector<std::string> gunicorn_argv;  // argv[0] as written ("gunicorn", "/srv/venv/bin/gunicorn")
  std::string venv_bin;    // the bin/ directory activated before it, "" when none
  std::string cd;          // the directory it runs in ("$(dirname "$0")/x" resolved against wrapper_dir)
  std::string cd_unknown;  // a cd only its shell can resolve ("$APP_DIR"), as written
};
ShellWrapper read_shell_wrapper(std::string_view text, const std::string& wrapper_dir,
                                const std::vector<std::string>& args);

}  // namespace pm::target
