// Names for kernel numbers: signals, errnos, open flags, TCP states.
#pragma once

#include <cstdint>
#include <string>

namespace pm::model {

std::string signal_name(int sig);    // "SIGTERM", "SIG42"
std::string errno_name(int err);     // "EACCES", "E1234"
std::string open_flags(std::uint64_t flags);  // "O_WRONLY|O_CREAT|O_APPEND"
std::string tcp_state_name(int st);  // "ESTABLISHED", "SYN_SENT"
std::string si_code_name(int code);  // "SI_USER", "SI_KERNEL", ...
// x86_64 system call numbers of the calls a process is typically blocked in
// ("poll", "connect", "recvfrom"); "syscall 202" for others, "" for -1.
std::string syscall_name(int nr);

}  // namespace pm::model
