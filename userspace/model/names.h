// Names for kernel numbers: signals, errnos, open flags, TCP states.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pm::model {

std::string signal_name(int sig);    // "SIGTERM", "SIG42"
// Whether a signal ends a process unless it handles it (its default action
// terminates: signal(7)).
bool terminating_signal(int sig);
std::string errno_name(int err);     // "EACCES", "E1234"
std::string open_flags(std::uint64_t flags);  // "O_WRONLY|O_CREAT|O_APPEND"
std::string tcp_state_name(int st);  // "ESTABLISHED", "SYN_SENT"
std::string si_code_name(int code);  // "SI_USER", "SI_KERNEL", ...
// x86_64 system call numbers of the calls a process is typically blocked in
// ("poll", "connect", "recvfrom"); "syscall 202" for others, "" for -1.
std::string syscall_name(int nr);

// The reverse of each, for reading recordings: false when the text is neither
// a name these functions produce nor their numeric fallback.
// Whether a process with this comm and argv is called `name` (attach NAME,
// watch NAME, the one matcher): its comm as the kernel cuts it (15 bytes),
// argv[0]'s basename, or argv[1]'s when argv[0] is an interpreter (python3
// /usr/bin/gunicorn), never another program's argument (`vim
// /etc/default/gunicorn`, `pgrep gunicorn`).
bool process_named(const std::string& name, const std::string& comm, const std::vector<std::string>& argv);

bool signal_from_name(const std::string& name, int& out);
bool errno_from_name(const std::string& name, int& out);  // "" is 0 (no error)
bool open_flags_from_names(const std::string& names, std::uint64_t& out);
bool tcp_state_from_name(const std::string& name, int& out);
bool si_code_from_name(const std::string& name, int& out);
bool syscall_from_name(const std::string& name, int& out);  // "" is -1 (none)

}  // namespace pm::model
