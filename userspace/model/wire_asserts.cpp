// Pins the wire layout of bpf/pmtrace.h: a field moved or resized on one side
// fails the build instead of corrupting decodes.
#include <cstddef>

#include "pmtrace.h"

#define PM_SIZE(type, n) static_assert(sizeof(struct type) == (n), #type " size changed")
#define PM_OFF(type, field, n) \
  static_assert(offsetof(struct type, field) == (n), #type "." #field " moved")

PM_SIZE(pm_hdr, 64);
PM_OFF(pm_hdr, type, 0);
PM_OFF(pm_hdr, flags, 2);
PM_OFF(pm_hdr, size, 4);
PM_OFF(pm_hdr, ts_ns, 8);
PM_OFF(pm_hdr, tgid, 16);
PM_OFF(pm_hdr, tid, 20);
PM_OFF(pm_hdr, ppid, 24);
PM_OFF(pm_hdr, uid, 28);
PM_OFF(pm_hdr, gid, 32);
PM_OFF(pm_hdr, cgroup_id, 40);
PM_OFF(pm_hdr, comm, 48);

PM_SIZE(pm_sockaddr, 120);
PM_OFF(pm_sockaddr, raw, 8);

PM_SIZE(pm_ev_exec, 1096);
PM_OFF(pm_ev_exec, old_tid, 64);
PM_OFF(pm_ev_exec, args_len, 68);
PM_OFF(pm_ev_exec, filename, 72);
PM_OFF(pm_ev_exec, interp, 328);
PM_OFF(pm_ev_exec, args, 584);

PM_SIZE(pm_ev_exec_fail, 328);
PM_OFF(pm_ev_exec_fail, err, 64);
PM_OFF(pm_ev_exec_fail, filename, 72);

PM_SIZE(pm_ev_fork, 72);
PM_OFF(pm_ev_fork, child_tgid, 64);

PM_SIZE(pm_ev_exit, 80);
PM_OFF(pm_ev_exit, exit_code, 64);
PM_OFF(pm_ev_exit, start_ns, 72);

PM_SIZE(pm_ev_signal_generate, 120);
PM_OFF(pm_ev_signal_generate, sig, 64);
PM_OFF(pm_ev_signal_generate, target_tgid, 80);
PM_OFF(pm_ev_signal_generate, from_kernel, 92);
PM_OFF(pm_ev_signal_generate, sender_pid, 96);
PM_OFF(pm_ev_signal_generate, target_comm, 104);

PM_SIZE(pm_ev_signal_deliver, 112);
PM_OFF(pm_ev_signal_deliver, sender_pid, 76);
PM_OFF(pm_ev_signal_deliver, handler, 88);
PM_OFF(pm_ev_signal_deliver, syscall_nr, 96);
PM_OFF(pm_ev_signal_deliver, syscall_ret, 104);

PM_SIZE(pm_ev_open_fail, 344);
PM_OFF(pm_ev_open_fail, flags, 72);
PM_OFF(pm_ev_open_fail, mode, 80);
PM_OFF(pm_ev_open_fail, path, 88);

PM_SIZE(pm_ev_connect, 200);
PM_OFF(pm_ev_connect, duration_ns, 72);
PM_OFF(pm_ev_connect, addr, 80);

PM_SIZE(pm_ev_tcp_connect, 200);
PM_OFF(pm_ev_tcp_connect, duration_ns, 72);
PM_OFF(pm_ev_tcp_connect, peer, 80);

PM_SIZE(pm_ev_bind, 192);
PM_OFF(pm_ev_bind, addr, 72);

PM_SIZE(pm_ev_listen, 184);
PM_OFF(pm_ev_listen, addr, 64);

PM_SIZE(pm_ev_write, 600);
PM_OFF(pm_ev_write, count, 80);
PM_OFF(pm_ev_write, data, 88);

PM_SIZE(pm_ev_oom_victim, 96);
PM_OFF(pm_ev_oom_victim, total_vm_pages, 72);
PM_OFF(pm_ev_oom_victim, victim_comm, 80);

PM_SIZE(pm_ev_cgroup_adopt, 208);
PM_OFF(pm_ev_cgroup_adopt, cgroup_id, 64);
PM_OFF(pm_ev_cgroup_adopt, path, 80);

PM_SIZE(pm_ev_chdir_fail, 328);
PM_OFF(pm_ev_chdir_fail, path, 72);

PM_SIZE(pm_ev_milestone, 192);
PM_OFF(pm_ev_milestone, fd, 68);
PM_OFF(pm_ev_milestone, addr, 72);

// Every catalogue row's wire struct starts with the common header and keeps
// 8-byte alignment (ring buffer records are 8-aligned).
#define PM_EVENT(number, WIRE, wire, name, Model, description)                  \
  static_assert(offsetof(struct wire, hdr) == 0, #wire " must start with pm_hdr"); \
  static_assert(sizeof(struct wire) % 8 == 0, #wire " size must be a multiple of 8");
#include "pmtrace_events.def"
#undef PM_EVENT
