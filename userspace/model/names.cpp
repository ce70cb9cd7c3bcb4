#include "model/names.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstdio>
#include <map>

#include "util/strings.h"

namespace pm::model {

std::string signal_name(int sig) {
  if (sig <= 0) return "SIG" + std::to_string(sig);
  const char* abbrev = sigabbrev_np(sig);
  if (abbrev) return std::string("SIG") + abbrev;
  if (sig >= SIGRTMIN && sig <= SIGRTMAX) return "SIGRTMIN+" + std::to_string(sig - SIGRTMIN);
  return "SIG" + std::to_string(sig);
}

std::string errno_name(int err) {
  // Kernel-internal codes a syscall exit tracepoint sees when a signal
  // interrupts a call (include/linux/errno.h); user space gets EINTR or a restart.
  switch (err) {
    case 512: return "ERESTARTSYS";
    case 513: return "ERESTARTNOINTR";
    case 514: return "ERESTARTNOHAND";
    case 516: return "ERESTART_RESTARTBLOCK";
    default: break;
  }
  const char* name = strerrorname_np(err);
  return name ? name : "E" + std::to_string(err);
}

std::string open_flags(std::uint64_t flags) {
  std::string out;
  switch (flags & O_ACCMODE) {
    case O_RDONLY: out = "O_RDONLY"; break;
    case O_WRONLY: out = "O_WRONLY"; break;
    case O_RDWR: out = "O_RDWR"; break;
    default: out = "O_ACCMODE"; break;
  }
  struct Bit {
    std::uint64_t bit;
    const char* name;
  };
  static const Bit bits[] = {
      {O_CREAT, "O_CREAT"},       {O_EXCL, "O_EXCL"},           {O_NOCTTY, "O_NOCTTY"},
      {O_TRUNC, "O_TRUNC"},       {O_APPEND, "O_APPEND"},       {O_NONBLOCK, "O_NONBLOCK"},
      {O_DIRECTORY, "O_DIRECTORY"}, {O_NOFOLLOW, "O_NOFOLLOW"}, {O_CLOEXEC, "O_CLOEXEC"},
      {O_PATH, "O_PATH"},
  };
  std::uint64_t rest = flags & ~static_cast<std::uint64_t>(O_ACCMODE);
  for (const auto& b : bits) {
    if ((flags & b.bit) == b.bit) {
      out += "|";
      out += b.name;
      rest &= ~b.bit;
    }
  }
  if (rest) {
    // Bits without a name here (O_DSYNC, __O_LARGEFILE, ...): kept as a number
    // so the text says everything the flags did.
    char hex[32];
    std::snprintf(hex, sizeof hex, "|0x%llx", static_cast<unsigned long long>(rest));
    out += hex;
  }
  return out;
}

std::string tcp_state_name(int st) {
  static const char* names[] = {"?",         "ESTABLISHED", "SYN_SENT", "SYN_RECV",
                                "FIN_WAIT1", "FIN_WAIT2",   "TIME_WAIT", "CLOSE",
                                "CLOSE_WAIT", "LAST_ACK",   "LISTEN",   "CLOSING",
                                "NEW_SYN_RECV"};
  if (st > 0 && st < static_cast<int>(sizeof names / sizeof names[0])) return names[st];
  return "STATE" + std::to_string(st);
}

std::string si_code_name(int code) {
  switch (code) {
    case SI_USER: return "SI_USER";
    case SI_KERNEL: return "SI_KERNEL";
    case SI_QUEUE: return "SI_QUEUE";
    case SI_TIMER: return "SI_TIMER";
    case SI_MESGQ: return "SI_MESGQ";
    case SI_ASYNCIO: return "SI_ASYNCIO";
    case SI_SIGIO: return "SI_SIGIO";
    case SI_TKILL: return "SI_TKILL";
    default: return std::to_string(code);
  }
}

bool terminating_signal(int sig) {
  switch (sig) {
    case SIGHUP: case SIGINT: case SIGQUIT: case SIGILL: case SIGABRT: case SIGBUS: case SIGFPE: case SIGKILL:
    case SIGSEGV: case SIGPIPE: case SIGALRM: case SIGTERM: case SIGXCPU: case SIGXFSZ:
      return true;
    default:
      return false;
  }
}

std::string syscall_name(int nr) {
  struct Call {
    int nr;
    const char* name;
  };
  // The calls a process waits in, by this architecture's numbers
  // (<sys/syscall.h>; a call the architecture lacks is left out).
#define PM_CALL(name) {SYS_##name, #name}
  static const Call calls[] = {
      PM_CALL(read),     PM_CALL(write),   PM_CALL(pread64),    PM_CALL(pwrite64),      PM_CALL(readv),
      PM_CALL(writev),   PM_CALL(nanosleep), PM_CALL(connect),  PM_CALL(accept),        PM_CALL(sendto),
      PM_CALL(recvfrom), PM_CALL(sendmsg), PM_CALL(recvmsg),    PM_CALL(wait4),         PM_CALL(flock),
      PM_CALL(fsync),    PM_CALL(futex),   PM_CALL(clock_nanosleep), PM_CALL(pselect6), PM_CALL(ppoll),
      PM_CALL(epoll_pwait), PM_CALL(rt_sigtimedwait), PM_CALL(rt_sigsuspend), PM_CALL(waitid), PM_CALL(accept4),
      PM_CALL(epoll_pwait2),
#ifdef SYS_poll
      PM_CALL(poll),     PM_CALL(select),  PM_CALL(pause),      PM_CALL(epoll_wait),
#endif
  };
#undef PM_CALL
  if (nr < 0) return "";
  for (const auto& c : calls)
    if (c.nr == nr) return c.name;
  return "syscall " + std::to_string(nr);
}

namespace {

// name -> number for every number in [lo, hi] that `name_of` names.
template <typename F>
std::map<std::string, int> reverse_table(F name_of, int lo, int hi) {
  std::map<std::string, int> m;
  for (int i = lo; i <= hi; ++i) m.emplace(name_of(i), i);
  return m;
}

bool lookup(const std::map<std::string, int>& m, const std::string& name, int& out) {
  auto it = m.find(name);
  if (it == m.end()) return false;
  out = it->second;
  return true;
}

// The numeric fallback: PREFIX followed by a decimal number.
bool numbered(const std::string& name, std::string_view prefix, int& out) {
  if (!starts_with(name, prefix)) return false;
  auto v = parse_int(std::string_view(name).substr(prefix.size()));
  if (!v || *v < -(1ll << 31) || *v > (1ll << 31) - 1) return false;
  out = static_cast<int>(*v);
  return true;
}

}  // namespace

bool signal_from_name(const std::string& name, int& out) {
  static const auto m = reverse_table(signal_name, 1, 64);
  return lookup(m, name, out) || numbered(name, "SIG", out);
}

bool errno_from_name(const std::string& name, int& out) {
  if (name.empty()) {
    out = 0;
    return true;
  }
  static const auto m = reverse_table(errno_name, 0, 4095);  // 0 too: errno_name(0) is "0"
  return lookup(m, name, out) || numbered(name, "E", out);
}

bool open_flags_from_names(const std::string& names, std::uint64_t& out) {
  static const auto m = [] {
    std::map<std::string, std::uint64_t> r;
    for (std::uint64_t bit = 1; bit; bit <<= 1)
      if (bit & ~static_cast<std::uint64_t>(O_ACCMODE)) r.emplace(split(open_flags(bit), '|').back(), bit);
    r.erase(std::string("O_RDONLY"));
    r["O_PATH"] = O_PATH;
    return r;
  }();
  auto parts = split(names, '|', false);
  if (parts.empty()) return false;
  std::uint64_t v = 0;
  if (parts[0] == "O_RDONLY") v = O_RDONLY;
  else if (parts[0] == "O_WRONLY") v = O_WRONLY;
  else if (parts[0] == "O_RDWR") v = O_RDWR;
  else if (parts[0] == "O_ACCMODE") v = O_ACCMODE;
  else return false;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const auto& p = parts[i];
    if (auto it = m.find(p); it != m.end()) {
      v |= it->second;
    } else if (starts_with(p, "0x") && p.size() > 2 && p.size() <= 18 &&
               p.find_first_not_of("0123456789abcdef", 2) == std::string::npos) {
      v |= std::stoull(p.substr(2), nullptr, 16);
    } else {
      return false;
    }
  }
  out = v;
  return true;
}

bool tcp_state_from_name(const std::string& name, int& out) {
  static const auto m = reverse_table(tcp_state_name, 1, 12);
  return lookup(m, name, out) || numbered(name, "STATE", out);
}

bool si_code_from_name(const std::string& name, int& out) {
  static const auto m = reverse_table(si_code_name, -64, 128);  // SI_KERNEL is 0x80
  return lookup(m, name, out) || numbered(name, "", out);
}

bool syscall_from_name(const std::string& name, int& out) {
  if (name.empty()) {
    out = -1;
    return true;
  }
  static const auto m = reverse_table(syscall_name, 0, 511);
  return lookup(m, name, out) || numbered(name, "syscall ", out);
}

bool process_named(const std::string& name, const std::string& comm, const std::vector<std::string>& argv) {
  if (name.empty()) return false;
  if (comm == name.substr(0, 15)) return true;
  if (argv.empty()) return false;
  std::string first = basename_of(argv[0]);
  if (first == name) return true;
  bool interpreter = starts_with(first, "python") || first == "perl" || first == "ruby" || first == "node";
  return interpreter && argv.size() > 1 && basename_of(argv[1]) == name;
}

}  // namespace pm::model
