#include "util/strings.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace pm {

std::vector<std::string> split(std::string_view s, char sep, bool skip_empty) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    if (!(skip_empty && end == start)) out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n";
  auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

std::string from_cstr(const char* s, std::size_t max) {
  std::size_t n = 0;
  while (n < max && s[n] != '\0') ++n;
  return std::string(s, n);
}

std::string escape_bytes(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\\': out += "\\\\"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[5];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

std::optional<std::string> read_file(const std::string& path) {
  // Never blocks on a FIFO, never reads a device: regular files only, and at
  // most kMaxReadFile bytes (/dev/zero or a huge file named where a small
  // one belongs would otherwise take all memory).
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    return std::nullopt;
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > kMaxReadFile) {
      ::close(fd);
      errno = EFBIG;
      return std::nullopt;
    }
  }
  ::close(fd);
  return out;
}

Result<void> replace_file(const std::string& path, const std::string& tmp, const std::string& text, unsigned mode,
                          const std::string& what, bool exclusive) {
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC), mode);
  if (fd < 0) return errno_error("cannot write the " + what + " " + tmp);
  std::size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return errno_error("cannot write the " + what + " " + tmp, err);
    }
    off += static_cast<std::size_t>(n);
  }
  ::fchmod(fd, static_cast<mode_t>(mode));  // an old tmp kept its mode through O_TRUNC
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return errno_error("cannot replace the " + what + " " + path, err);
  }
  return {};
}

std::optional<long long> parse_int(std::string_view s) {
  s = trim(s);
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<unsigned long long> parse_size_bytes(std::string_view s) {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  unsigned long long mult = 1;
  switch (s.back()) {
    case 'K': case 'k': mult = 1ull << 10; break;
    case 'M': case 'm': mult = 1ull << 20; break;
    case 'G': case 'g': mult = 1ull << 30; break;
    default: break;
  }
  if (mult != 1) s.remove_suffix(1);
  auto v = parse_int(s);
  if (!v || *v < 0 || static_cast<unsigned long long>(*v) > (1ull << 40) / mult) return std::nullopt;
  return static_cast<unsigned long long>(*v) * mult;
}

std::optional<long long> parse_duration_ms(std::string_view s) {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  std::size_t i = 0;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
  std::string num(s.substr(0, i));
  std::string_view unit = s.substr(i);
  if (num.empty()) return std::nullopt;
  double v = 0;
  try {
    std::size_t used = 0;
    v = std::stod(num, &used);
    if (used != num.size()) return std::nullopt;
  } catch (...) {
    return std::nullopt;
  }
  double mult;
  if (unit.empty() || unit == "s") mult = 1000;
  else if (unit == "ms") mult = 1;
  else if (unit == "m" || unit == "min") mult = 60000;
  else if (unit == "h") mult = 3600000;
  else return std::nullopt;
  // Beyond a long long (2^63 ms, 292 million years) llround's result is
  // unspecified: LLONG_MIN, a negative duration, on x86-64.
  if (!(v * mult < 9223372036854775808.0)) return std::nullopt;
  return std::llround(v * mult);
}

std::string basename_of(const std::string& path) {
  auto pos = path.rfind('/');
  return pos == std::string::npos ? path : path.substr(pos + 1);
}

std::string read_shebang(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  char buf[256];
  in.read(buf, sizeof buf);
  std::string head(buf, static_cast<std::size_t>(in.gcount()));
  if (!starts_with(head, "#!")) return "";
  return head.substr(0, head.find('\n'));
}

std::vector<std::string> split_args(std::string_view s) {
  std::vector<std::string> argv;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\0') {
      argv.emplace_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  if (start < s.size()) argv.emplace_back(s.substr(start));  // cut mid-argument
  return argv;
}

std::string shebang_interpreter(const std::string& first_line) {
  if (!starts_with(first_line, "#!")) return "";
  // Only blanks separate: a carriage return (CRLF line endings) is part of
  // the name the kernel looks up, which is why such a script fails.
  auto start = first_line.find_first_not_of(" \t", 2);
  if (start == std::string::npos) return "";
  auto end = first_line.find_first_of(" \t\n", start);
  return first_line.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace pm
