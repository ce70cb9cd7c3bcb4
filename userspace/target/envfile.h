// Reading a systemd EnvironmentFile= the way systemd reads it, and saying where
// that differs from what the file's author meant. The reading follows systemd's
// parser in src/basic/env-file.c (parse_env_file_internal and load_env_file),
// its name rule in src/basic/env-util.c (env_name_is_valid) and what the
// service manager does with the result in src/core/execute.c
// (exec_context_load_environment: invalid names are logged and dropped).
//
// Values may be secrets: `problem` never contains a value, but `text` and
// `corrected` hold the raw line, so callers redact those before showing them.
// Nothing here logs.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pm::target {

// One variable as systemd will set it. `line` is where its (last) assignment
// starts, counting every line of the file from 1.
struct EnvVar {
  std::string key, value;
  int line = 0;
};

struct EnvFileIssue {
  int line = 0;           // 1-based line where the problem starts
  std::string text;       // the raw line as written (without the newline)
  std::string key;        // the name the author evidently meant; may be empty
  std::string problem;    // plain words, never the value
  std::string corrected;  // the line as it should be written; empty when no single-line correction exists
};

struct EnvFile {
  std::vector<EnvVar> vars;  // in the order systemd keeps them; empty when systemd refuses the whole file
  std::vector<EnvFileIssue> issues;  // ordered by line
};

EnvFile parse_env_file(std::string_view text);

struct UnitFile;
struct UnitSetting;

// One file an EnvironmentFile= setting makes the service manager read.
struct EnvFileRead {
  const UnitSetting* setting = nullptr;  // the EnvironmentFile= line that names it
  std::string path;       // specifiers expanded; for a wildcard, one file it matched
  bool optional = false;  // "-": a missing file is allowed
  bool readable = false;
  int err = 0;            // errno when it could not be read
  EnvFile parsed;         // as systemd reads it (empty unless readable)
};

// The one reader of a unit's EnvironmentFile= files: every setting of
// [Service], in order, with its specifiers expanded for `user`, and a wildcard
// expression replaced by every file it matches, sorted (systemd.exec(5)); the
// files are read under `root` ("" here, a container's /proc/PID/root there) and
// their paths are given as the unit sees them.
std::vector<EnvFileRead> read_environment_files(const UnitFile& unit, const std::string& user = "root",
                                                const std::string& root = "");
// The same, with the files read and the wildcards matched by `from` (doctor's
// Host: the real machine, or a fake one in the tests).
struct EnvFileSource {
  std::function<std::optional<std::string>(const std::string& path)> read;  // nullopt with errno set
  std::function<std::vector<std::string>(const std::string& pattern)> glob;  // the matches, sorted
};
std::vector<EnvFileRead> read_environment_files(const UnitFile& unit, const std::string& user, const EnvFileSource& from);

}  // namespace pm::target
