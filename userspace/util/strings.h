#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace pm {

std::vector<std::string> split(std::string_view s, char sep, bool skip_empty = true);
std::string_view trim(std::string_view s);
bool starts_with(std::string_view s, std::string_view prefix);
bool ends_with(std::string_view s, std::string_view suffix);
std::string join(const std::vector<std::string>& parts, std::string_view sep);

// A fixed-size C char array from the wire, up to its first NUL.
std::string from_cstr(const char* s, std::size_t max);

// Printable form of captured bytes: control characters escaped (\n, \t, \xNN).
std::string escape_bytes(std::string_view s);

// Reads a whole (small) file: /proc and /sys entries, unit files. A regular
// file only (errno EISDIR/EINVAL otherwise, and a FIFO is not waited on), of
// at most kMaxReadFile bytes (errno EFBIG).
inline constexpr std::size_t kMaxReadFile = 64u << 20;
std::optional<std::string> read_file(const std::string& path);

// Writes `text` to `tmp` (never through a symlink; O_EXCL when `exclusive`,
// else an old tmp is truncated), gives it `mode`, syncs it and renames it
// over `path`: a reader sees the old file or the new one, never half of it.
// `what` names the file in errors ("metrics file"). A failed write leaves
// no tmp behind.
Result<void> replace_file(const std::string& path, const std::string& tmp, const std::string& text, unsigned mode,
                          const std::string& what, bool exclusive = false);

std::optional<long long> parse_int(std::string_view s);

// "/usr/bin/gunicorn" -> "gunicorn"
std::string basename_of(const std::string& path);

// The interpreter a "#!" line names, as the kernel reads it (up to the first
// blank): "#!/srv/venv/bin/python3 -u" -> "/srv/venv/bin/python3"; "" when
// the line is not a "#!" line.
std::string shebang_interpreter(const std::string& first_line);

// The "#!" line of a file as the kernel reads it: the first line, within the
// first 256 bytes (BINPRM_BUF_SIZE); "" when the file does not start with "#!"
// or cannot be read. The one reader of #! lines (exec facts, ptrace, doctor).
std::string read_shebang(const std::string& path);

// Arguments from NUL-separated bytes (/proc/PID/cmdline, the exec record's
// argument buffer): each NUL ends one, an empty argument is kept, bytes after
// the last NUL are a last argument that was cut. The one cmdline parser.
std::vector<std::string> split_args(std::string_view nul_separated);

// "4096", "64K", "16M", "1G" (powers of 1024) -> bytes.
std::optional<unsigned long long> parse_size_bytes(std::string_view s);

// "1.5s", "300ms", "2m", "10" (seconds) -> milliseconds.
std::optional<long long> parse_duration_ms(std::string_view s);

}  // namespace pm
