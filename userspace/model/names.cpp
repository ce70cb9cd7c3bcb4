#include "model/names.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>

#include <cerrno>

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
  for (const auto& b : bits) {
    if (b.bit == O_PATH) {
      if ((flags & O_PATH) == O_PATH) out += "|O_PATH";
    } else if (flags & b.bit) {
      out += "|";
      out += b.name;
    }
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

std::string syscall_name(int nr) {
  struct Call {
    int nr;
    const char* name;
  };
  // arch/x86/entry/syscalls/syscall_64.tbl
  static const Call calls[] = {
      {0, "read"},        {1, "write"},          {7, "poll"},          {17, "pread64"},    {18, "pwrite64"},
      {19, "readv"},      {20, "writev"},        {23, "select"},       {34, "pause"},      {35, "nanosleep"},
      {42, "connect"},    {43, "accept"},        {44, "sendto"},       {45, "recvfrom"},   {46, "sendmsg"},
      {47, "recvmsg"},    {61, "wait4"},         {73, "flock"},        {74, "fsync"},      {202, "futex"},
      {230, "clock_nanosleep"}, {232, "epoll_wait"}, {270, "pselect6"}, {271, "ppoll"},  {281, "epoll_pwait"},
      {288, "accept4"},   {441, "epoll_pwait2"},
  };
  if (nr < 0) return "";
  for (const auto& c : calls)
    if (c.nr == nr) return c.name;
  return "syscall " + std::to_string(nr);
}

}  // namespace pm::model
