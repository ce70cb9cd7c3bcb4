// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * pmtrace kernel side: tracepoints only (no kprobes, no fentry on the kernels we
 * target). Scope is decided here: a process is traced when its tgid is in
 * tracked_tgids, its cgroup is in tracked_cgrps, or its name is in adopt_comms
 * at exec. Untracked processes pay one hash lookup per hooked syscall.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "pmtrace.h"
#include "pmtrace.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Knobs, set by userspace between open and load. */
const volatile __u32 cfg_self_tgid = 0;      /* never trace pmtrace itself */
const volatile __u8 cfg_scope_cgroups = 0;   /* tracked_cgrps may be non-empty */
const volatile __u8 cfg_adopt_comms = 0;     /* adopt_comms may be non-empty */
const volatile __u8 cfg_watch_cgpaths = 0;   /* watch_cgpaths may be non-empty */
const volatile __u8 cfg_watch_cgnames = 0;   /* watch_cgnames may be non-empty */
const volatile __u64 cfg_wakeup_bytes = 65536; /* wake the reader past this backlog */
const volatile __u8 cfg_count_enoent = 0;    /* watch: count read-only ENOENT opens, emit none */
/* pmtrace's PID namespace when it is not the initial one (a container's):
 * its nsfs inode. Every pid emitted or scoped is then the one that namespace
 * sees (what `ps` shows where pmtrace runs); tasks outside it are pid 0 and
 * never in scope. 0: the initial namespace, the kernel's own pids. */
const volatile __u32 cfg_pidns_inum = 0;

/* Loss counters, read by userspace through the mmapped .bss. */
__u64 pm_lost[PM_EV_TYPE_MAX] = {};
__u64 pm_track_full = 0;   /* a tgid could not be added: its events are missed */
__u64 pm_enoent_counted = 0; /* read-only opens that failed ENOENT, counted, not emitted */

/* Those opens by process (cfg_count_enoent): Python's import probing makes
 * thousands a start, none of them a failure, so they cost an add, not a record. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);   /* tgid */
	__type(value, __u64);
} enoent_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* resized by userspace */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);   /* tgid */
	__type(value, __u8);
} tracked_tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u64);   /* cgroup v2 id */
	__type(value, __u8);
} tracked_cgrps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, char[PM_COMM_LEN]);
	__type(value, __u8);
} adopt_comms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct pm_cgpath_key);
	__type(value, __u8);
} watch_cgpaths SEC(".maps");

/* Unit cgroups watched by their last component ("x.service") wherever they
 * are created: a transient unit's, one under a sub-slice, a container's. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct pm_cgpath_key);
	__type(value, __u8);
} watch_cgnames SEC(".maps");

/* Syscall arguments stashed at enter, by tid, for the exit handler. A plain
 * (preallocated) hash: every stashed syscall has an exit that deletes its entry
 * (a killed thread still returns through sys_exit), and it is cheaper than LRU. */
struct inflight {
	__u64 start_ns;
	__u64 arg[4];
	__u32 kind;
	__u32 _pad;
};

enum inflight_kind {
	IF_EXECVE = 1,
	IF_EXECVEAT = 2,
	IF_OPENAT = 3,
	IF_OPENAT2 = 4,
	IF_CONNECT = 5,
	IF_BIND = 6,
	IF_CHDIR = 7,
	IF_ACCEPT = 8,
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);   /* tid */
	__type(value, struct inflight);
} inflight SEC(".maps");

/* TCP sockets of tracked processes in SYN_SENT, by struct sock address: the
 * state change out of SYN_SENT runs in softirq context, not in the owner. */
struct tcp_pending {
	struct pm_hdr hdr;    /* owner's header at connect time */
	__u64 start_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct tcp_pending);
} tcp_pending SEC(".maps");

/* Milestones already emitted, by (tgid << 8 | kind): one record per process
 * and kind, so a busy worker's accepts and heartbeats cost a lookup each. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} milestones SEC(".maps");

/* ---- pids as pmtrace's PID namespace sees them ------------------------------ */

/* How many namespace levels above a task's own a pmtrace may sit: a service
 * in a container inside the container pmtrace runs in is still seen. */
#define PM_PIDNS_DEPTH 4

/* The number of `pid` in the namespace cfg_pidns_inum, 0 if it has none there
 * (the task runs outside that namespace). struct pid's numbers[] holds one
 * entry per level, from the initial namespace (0) to the task's own. */
static __always_inline __u32 pid_nr_seen(struct pid *pid)
{
	int level;

	if (!pid)
		return 0;
	level = BPF_CORE_READ(pid, level);
	for (int i = 0; i < PM_PIDNS_DEPTH; i++) {
		struct upid up = {};
		int l = level - i;

		if (l < 0)
			return 0;
		if (bpf_core_read(&up, sizeof(up), &pid->numbers[l]))
			return 0;
		if (up.ns && BPF_CORE_READ(up.ns, ns.inum) == cfg_pidns_inum)
			return up.nr;
	}
	return 0;
}

static __always_inline __u32 task_tgid_seen(struct task_struct *t)
{
	if (!cfg_pidns_inum)
		return BPF_CORE_READ(t, tgid);
	return pid_nr_seen(BPF_CORE_READ(t, group_leader, thread_pid));
}

static __always_inline __u32 task_tid_seen(struct task_struct *t)
{
	if (!cfg_pidns_inum)
		return BPF_CORE_READ(t, pid);
	return pid_nr_seen(BPF_CORE_READ(t, thread_pid));
}

/* bpf_get_current_pid_tgid() in pmtrace's namespace. */
static __always_inline __u64 current_pid_tgid(void)
{
	struct task_struct *t;

	if (!cfg_pidns_inum)
		return bpf_get_current_pid_tgid();
	t = (struct task_struct *)bpf_get_current_task();
	return (__u64)task_tgid_seen(t) << 32 | task_tid_seen(t);
}

static __always_inline __u32 current_tgid(void) { return current_pid_tgid() >> 32; }

/* ---- scope ---------------------------------------------------------------- */

static __always_inline void track_tgid(__u32 tgid)
{
	__u8 one = 1;

	if (tgid == cfg_self_tgid || tgid == 0)
		return;
	if (bpf_map_update_elem(&tracked_tgids, &tgid, &one, BPF_ANY))
		__sync_fetch_and_add(&pm_track_full, 1);
}

static __always_inline bool tgid_tracked(__u32 tgid)
{
	return bpf_map_lookup_elem(&tracked_tgids, &tgid) != NULL;
}

static __always_inline bool cgroup_tracked(__u64 cgid)
{
	if (!cfg_scope_cgroups)
		return false;
	return bpf_map_lookup_elem(&tracked_cgrps, &cgid) != NULL;
}

/* Is the current task in scope? Adopts it when only its cgroup matches, so it
 * stays traced if it later leaves the cgroup. */
static __always_inline bool current_in_scope(__u32 tgid)
{
	if (tgid == 0)
		return false; /* outside pmtrace's PID namespace */
	if (tgid_tracked(tgid))
		return true;
	if (cgroup_tracked(bpf_get_current_cgroup_id()) && tgid != cfg_self_tgid) {
		track_tgid(tgid);
		return true;
	}
	return false;
}

static __always_inline bool task_in_scope(struct task_struct *task)
{
	__u32 tgid = task_tgid_seen(task);

	if (tgid == 0)
		return false;
	if (tgid_tracked(tgid))
		return true;
	return cgroup_tracked(BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id));
}

/* ---- ring buffer ---------------------------------------------------------- */

static __always_inline void fill_hdr(struct pm_hdr *h, __u16 type, __u32 size)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = current_pid_tgid();
	__u64 ug = bpf_get_current_uid_gid();

	h->type = type;
	h->size = size;
	h->ts_ns = bpf_ktime_get_ns();
	h->tgid = id >> 32;
	h->tid = (__u32)id;
	h->ppid = task_tgid_seen(BPF_CORE_READ(task, real_parent));
	h->uid = (__u32)ug;
	h->gid = ug >> 32;
	h->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

/* Zeroes to clear reserved records with: clang cannot expand a memset of a
 * kilobyte-sized record inline, and a helper copy is one call. */
static const char pm_zero[1152] = {};
_Static_assert(sizeof(struct pm_ev_exec) <= sizeof(pm_zero), "pm_zero too small");

/* Reserve a zeroed record of the given type, counting a failure as a loss.
 * Reserved memory is stale after the ring wraps, so every byte is cleared. */
#define PM_RESERVE(ptr, ev_type)                                             \
	({                                                                   \
		ptr = bpf_ringbuf_reserve(&events, sizeof(*ptr), 0);         \
		if (!ptr)                                                    \
			__sync_fetch_and_add(&pm_lost[ev_type], 1);          \
		else                                                         \
			bpf_probe_read_kernel(ptr, sizeof(*ptr), pm_zero);   \
		ptr;                                                         \
	})

/* Submit without a wakeup unless this record makes the backlog cross
 * cfg_wakeup_bytes: the reader polls with a short timeout anyway, so no event
 * waits long, a burst costs one wakeup per threshold's worth of records, and
 * a reader that is behind is not interrupted once per record. */
#define submit(ptr) submit_sized(ptr, sizeof(*(ptr)))
static __always_inline void submit_sized(void *ptr, __u64 size)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (avail >= cfg_wakeup_bytes && avail < cfg_wakeup_bytes + size + 8)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(ptr, flags);
}

/* ---- process lifecycle ---------------------------------------------------- */

SEC("tp_btf/sched_process_exec")
int BPF_PROG(tp_btf__sched__sched_process_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	__u32 tgid = task_tgid_seen(p);
	__u16 flags = 0;
	struct pm_ev_exec *e;

	if (!current_in_scope(tgid)) {
		char comm[PM_COMM_LEN];

		if (!cfg_adopt_comms || tgid == cfg_self_tgid)
			return 0;
		bpf_get_current_comm(comm, sizeof(comm));
		if (!bpf_map_lookup_elem(&adopt_comms, comm))
			return 0;
		track_tgid(tgid);
		flags = PM_F_ADOPTED;
	}
	if (!PM_RESERVE(e, PM_EV_EXEC))
		return 0;
	fill_hdr(&e->hdr, PM_EV_EXEC, sizeof(*e));
	e->hdr.flags = flags;
	/* old_pid is the kernel's (initial namespace's) number. */
	e->old_tid = cfg_pidns_inum ? e->hdr.tid : old_pid;
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
	if (BPF_CORE_READ(bprm, interp) != BPF_CORE_READ(bprm, filename))
		bpf_probe_read_kernel_str(e->interp, sizeof(e->interp), BPF_CORE_READ(bprm, interp));

	{
		unsigned long start = BPF_CORE_READ(p, mm, arg_start);
		unsigned long end = BPF_CORE_READ(p, mm, arg_end);
		__u64 len = end > start ? end - start : 0;

		if (len > PM_ARGS_LEN) {
			len = PM_ARGS_LEN;
			e->hdr.flags |= PM_F_TRUNCATED;
		}
		len &= (PM_ARGS_LEN - 1) | PM_ARGS_LEN; /* bounded for the verifier */
		if (len && bpf_probe_read_user(e->args, len, (void *)start) == 0)
			e->args_len = len;
	}
	submit(e);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(tp_btf__sched__sched_process_fork, struct task_struct *parent,
	     struct task_struct *child)
{
	struct pm_ev_fork *e;
	__u32 child_tgid;

	if (child->pid != child->tgid)
		return 0; /* a new thread, not a new process */
	if (!current_in_scope(task_tgid_seen(parent)))
		return 0;
	child_tgid = task_tgid_seen(child);
	track_tgid(child_tgid);
	if (!PM_RESERVE(e, PM_EV_FORK))
		return 0;
	fill_hdr(&e->hdr, PM_EV_FORK, sizeof(*e));
	e->child_tgid = child_tgid;
	submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(tp_btf__sched__sched_process_exit, struct task_struct *p)
{
	struct pm_ev_exit *e;
	__u32 tgid = task_tgid_seen(p);

	/* Only the last thread of a process reports: signal->live reached 0. */
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	if (!current_in_scope(tgid))
		return 0;
	if (PM_RESERVE(e, PM_EV_EXIT)) {
		fill_hdr(&e->hdr, PM_EV_EXIT, sizeof(*e));
		e->exit_code = BPF_CORE_READ(p, exit_code);
		e->start_ns = BPF_CORE_READ(p, start_time);
		submit(e);
	}
	bpf_map_delete_elem(&tracked_tgids, &tgid);
	{
		__u64 k = (__u64)tgid << 8 | PM_MS_HEARTBEAT;

		bpf_map_delete_elem(&milestones, &k);
		k = (__u64)tgid << 8 | PM_MS_ACCEPT;
		bpf_map_delete_elem(&milestones, &k);
	}
	return 0;
}

/* ---- signals -------------------------------------------------------------- */

/* SEND_SIG_NOINFO / SEND_SIG_PRIV are the pointer values 0 and 1. */
#define PM_SEND_SIG_PRIV ((struct kernel_siginfo *)1)

SEC("tp_btf/signal_generate")
int BPF_PROG(tp_btf__signal__signal_generate, int sig, struct kernel_siginfo *info,
	     struct task_struct *task, int group, int result)
{
	struct pm_ev_signal_generate *e;
	__u32 sender = current_tgid();
	int code;

	if (!current_in_scope(sender) && !task_in_scope(task))
		return 0;
	if (!PM_RESERVE(e, PM_EV_SIGNAL_GENERATE))
		return 0;
	fill_hdr(&e->hdr, PM_EV_SIGNAL_GENERATE, sizeof(*e));
	/* Same decoding as the tracepoint's TP_STORE_SIGINFO. */
	if (info == NULL) {
		code = 0; /* SI_USER */
	} else if (info == PM_SEND_SIG_PRIV) {
		code = 0x80; /* SI_KERNEL */
	} else {
		code = BPF_CORE_READ(info, si_code);
		e->err = BPF_CORE_READ(info, si_errno);
		if (code <= 0)
			e->sender_pid = BPF_CORE_READ(info, _sifields._kill._pid);
	}
	e->sig = sig;
	e->code = code;
	e->result = result;
	e->group = group;
	e->from_kernel = code > 0;
	e->target_tgid = task_tgid_seen(task);
	e->target_tid = task_tid_seen(task);
	bpf_probe_read_kernel_str(e->target_comm, sizeof(e->target_comm), task->comm);
	submit(e);
	return 0;
}

/* The system call the current task was in when a signal reached it: signal
 * delivery runs on the way back to user space, before a restart is decided,
 * so orig_ax still holds the call and ax its (interrupted) result. */
static __always_inline void blocked_in(struct pm_ev_signal_deliver *e)
{
	e->syscall_nr = -1;
	e->syscall_fd = -1;
#if defined(__TARGET_ARCH_x86)
	{
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
		long nr;

		if (!regs)
			return;
		nr = BPF_CORE_READ(regs, orig_ax);
		e->syscall_nr = nr;
		e->syscall_ret = BPF_CORE_READ(regs, ax);
		switch (pm_syscall_fd_kind(nr)) {
		case PM_SC_FD_ARG0:
			e->syscall_fd = (__s32)BPF_CORE_READ(regs, di);
			break;
		case PM_SC_FD_POLLFD: { /* the first descriptor waited on */
			struct pollfd pfd = {};

			if (bpf_probe_read_user(&pfd, sizeof(pfd), (void *)BPF_CORE_READ(regs, di)) == 0)
				e->syscall_fd = pfd.fd;
			break;
		}
		default:
			break;
		}
	}
#endif
}

SEC("tp_btf/signal_deliver")
int BPF_PROG(tp_btf__signal__signal_deliver, int sig, struct kernel_siginfo *info,
	     struct k_sigaction *ka)
{
	struct pm_ev_signal_deliver *e;

	if (!current_in_scope(current_tgid()))
		return 0;
	if (!PM_RESERVE(e, PM_EV_SIGNAL_DELIVER))
		return 0;
	fill_hdr(&e->hdr, PM_EV_SIGNAL_DELIVER, sizeof(*e));
	e->sig = sig;
	if (info && info != PM_SEND_SIG_PRIV) {
		e->code = BPF_CORE_READ(info, si_code);
		e->err = BPF_CORE_READ(info, si_errno);
		if (e->code <= 0) {
			e->sender_pid = BPF_CORE_READ(info, _sifields._kill._pid);
			e->sender_uid = BPF_CORE_READ(info, _sifields._kill._uid);
		}
	}
	if (ka)
		e->handler = (__u64)BPF_CORE_READ(ka, sa.sa_handler);
	blocked_in(e);
	submit(e);
	return 0;
}

SEC("tp_btf/mark_victim")
int BPF_PROG(tp_btf__oom__mark_victim, struct task_struct *task, uid_t uid)
{
	struct pm_ev_oom_victim *e;

	if (!task_in_scope(task) && !current_in_scope(current_tgid()))
		return 0;
	if (!PM_RESERVE(e, PM_EV_OOM_VICTIM))
		return 0;
	fill_hdr(&e->hdr, PM_EV_OOM_VICTIM, sizeof(*e));
	e->victim_tgid = task_tgid_seen(task);
	e->victim_uid = uid;
	e->total_vm_pages = BPF_CORE_READ(task, mm, total_vm);
	bpf_probe_read_kernel_str(e->victim_comm, sizeof(e->victim_comm), task->comm);
	submit(e);
	return 0;
}

/* ---- cgroups: a watched unit's cgroup created while we wait --------------- */

/* Whether a new cgroup's own name (its kernfs node's, the last component of
 * its path) is a watched one. */
static __always_inline bool cgroup_name_watched(const struct cgroup *cgrp)
{
	struct pm_cgpath_key name = {};
	const char *kname = BPF_CORE_READ(cgrp, kn, name);

	if (bpf_probe_read_kernel_str(name.path, sizeof(name.path), kname) < 0)
		return false;
	return bpf_map_lookup_elem(&watch_cgnames, &name) != NULL;
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(tp_btf__cgroup__cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
	struct pm_cgpath_key key = {};
	struct pm_ev_cgroup_adopt *e;
	__u64 id;
	__u8 one = 1;

	if (!cfg_watch_cgpaths && !cfg_watch_cgnames)
		return 0;
	/* Only the cgroup v2 (default) hierarchy: its hierarchy id is 0. In a
	 * hybrid setup the v1 name=systemd tree repeats the same paths. */
	if (BPF_CORE_READ(cgrp, root, hierarchy_id) != 0)
		return 0;
	if (bpf_probe_read_kernel_str(key.path, sizeof(key.path), path) < 0)
		return 0;
	if (!(cfg_watch_cgpaths && bpf_map_lookup_elem(&watch_cgpaths, &key)) &&
	    !(cfg_watch_cgnames && cgroup_name_watched(cgrp)))
		return 0;
	id = BPF_CORE_READ(cgrp, kn, id);
	bpf_map_update_elem(&tracked_cgrps, &id, &one, BPF_ANY);
	if (!PM_RESERVE(e, PM_EV_CGROUP_ADOPT))
		return 0;
	fill_hdr(&e->hdr, PM_EV_CGROUP_ADOPT, sizeof(*e));
	e->cgroup_id = id;
	e->level = BPF_CORE_READ(cgrp, level);
	__builtin_memcpy(e->path, key.path, sizeof(e->path));
	submit(e);
	return 0;
}

/* ---- TCP state: async connect results and listening sockets ---------------- */

static __always_inline void sock_peer(const struct sock *sk, struct pm_sockaddr *out, bool local)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	out->family = family;
	if (family == PM_AF_INET) {
		struct sockaddr_in *sin = (void *)out->raw;

		sin->sin_family = family;
		if (local) {
			sin->sin_port = bpf_htons(BPF_CORE_READ(sk, __sk_common.skc_num));
			sin->sin_addr.s_addr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		} else {
			sin->sin_port = BPF_CORE_READ(sk, __sk_common.skc_dport);
			sin->sin_addr.s_addr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		}
		out->len = sizeof(*sin);
	} else if (family == PM_AF_INET6) {
		struct sockaddr_in6 *sin6 = (void *)out->raw;

		sin6->sin6_family = family;
		if (local) {
			sin6->sin6_port = bpf_htons(BPF_CORE_READ(sk, __sk_common.skc_num));
			BPF_CORE_READ_INTO(&sin6->sin6_addr, sk, __sk_common.skc_v6_rcv_saddr);
		} else {
			sin6->sin6_port = BPF_CORE_READ(sk, __sk_common.skc_dport);
			BPF_CORE_READ_INTO(&sin6->sin6_addr, sk, __sk_common.skc_v6_daddr);
		}
		out->len = sizeof(*sin6);
	}
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tp_btf__sock__inet_sock_set_state, const struct sock *sk, const int oldstate,
	     const int newstate)
{
	__u64 key = (__u64)sk;

	if (BPF_CORE_READ(sk, sk_protocol) != PM_IPPROTO_TCP)
		return 0;

	if (newstate == PM_TCP_SYN_SENT) {
		/* Process context: connect() on the owner's thread. */
		struct tcp_pending pend = {};

		if (!current_in_scope(current_tgid()))
			return 0;
		fill_hdr(&pend.hdr, PM_EV_TCP_CONNECT, sizeof(struct pm_ev_tcp_connect));
		pend.start_ns = pend.hdr.ts_ns;
		bpf_map_update_elem(&tcp_pending, &key, &pend, BPF_ANY);
		return 0;
	}
	if (oldstate == PM_TCP_SYN_SENT) {
		struct tcp_pending *pend = bpf_map_lookup_elem(&tcp_pending, &key);
		struct pm_ev_tcp_connect *e;
		__u64 now = bpf_ktime_get_ns();

		if (!pend)
			return 0;
		if (PM_RESERVE(e, PM_EV_TCP_CONNECT)) {
			__builtin_memcpy(&e->hdr, &pend->hdr, sizeof(e->hdr));
			e->hdr.ts_ns = now;
			e->oldstate = oldstate;
			e->newstate = newstate;
			e->duration_ns = now - pend->start_ns;
			sock_peer(sk, &e->peer, false);
			submit(e);
		}
		bpf_map_delete_elem(&tcp_pending, &key);
		return 0;
	}
	if (newstate == PM_TCP_LISTEN) {
		struct pm_ev_listen *e;

		if (!current_in_scope(current_tgid()))
			return 0;
		if (!PM_RESERVE(e, PM_EV_LISTEN))
			return 0;
		fill_hdr(&e->hdr, PM_EV_LISTEN, sizeof(*e));
		sock_peer(sk, &e->addr, true);
		submit(e);
	}
	return 0;
}

/* ---- syscalls: stash at enter, emit at exit ------------------------------- */

/* nargs: how many arguments the syscall's tracepoint record holds. Reading
 * past the record makes the perf link fail with EACCES (max_ctx_offset). */
static __always_inline int stash(__u32 kind, struct trace_event_raw_sys_enter *ctx, int nargs)
{
	/* Stashed by the kernel's tid: enter and exit are the same thread. */
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct inflight f = {};

	if (!current_in_scope(current_tgid()))
		return 0;
	f.start_ns = bpf_ktime_get_ns();
	f.kind = kind;
	f.arg[0] = ctx->args[0];
	if (nargs > 1)
		f.arg[1] = ctx->args[1];
	if (nargs > 2)
		f.arg[2] = ctx->args[2];
	if (nargs > 3)
		f.arg[3] = ctx->args[3];
	bpf_map_update_elem(&inflight, &tid, &f, BPF_ANY);
	return 0;
}

/* Take the stashed arguments of this thread's syscall, if it is of `kind`. */
static __always_inline bool unstash(__u32 kind, struct inflight *out)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct inflight *f = bpf_map_lookup_elem(&inflight, &tid);

	if (!f)
		return false;
	if (f->kind != kind) {
		bpf_map_delete_elem(&inflight, &tid);
		return false;
	}
	__builtin_memcpy(out, f, sizeof(*out));
	bpf_map_delete_elem(&inflight, &tid);
	return true;
}

static __always_inline void read_sockaddr(struct pm_sockaddr *out, __u64 uaddr, __u64 ulen)
{
	__u32 len = ulen > PM_SOCKADDR_LEN ? PM_SOCKADDR_LEN : ulen;

	if (!uaddr || len < 2)
		return;
	len &= (PM_SOCKADDR_LEN - 1) | PM_SOCKADDR_LEN;
	if (len && bpf_probe_read_user(out->raw, len, (void *)uaddr) == 0) {
		out->len = len;
		out->family = *(__u16 *)out->raw;
	}
}

SEC("tp/syscalls/sys_enter_execve")
int tp__syscalls__sys_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	return stash(IF_EXECVE, ctx, 2);
}

SEC("tp/syscalls/sys_enter_execveat")
int tp__syscalls__sys_enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
	return stash(IF_EXECVEAT, ctx, 2);
}

static __always_inline int exec_exit(__u32 kind, struct trace_event_raw_sys_exit *ctx)
{
	struct pm_ev_exec_fail *e;
	struct inflight f = {};
	long ret = ctx->ret;

	if (!unstash(kind, &f) || ret >= 0)
		return 0;
	if (!PM_RESERVE(e, PM_EV_EXEC_FAIL))
		return 0;
	fill_hdr(&e->hdr, PM_EV_EXEC_FAIL, sizeof(*e));
	e->err = -ret;
	/* execve(path, ...) vs execveat(dfd, path, ...) */
	bpf_probe_read_user_str(e->filename, sizeof(e->filename),
				(void *)(kind == IF_EXECVE ? f.arg[0] : f.arg[1]));
	submit(e);
	return 0;
}

SEC("tp/syscalls/sys_exit_execve")
int tp__syscalls__sys_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit(IF_EXECVE, ctx);
}

SEC("tp/syscalls/sys_exit_execveat")
int tp__syscalls__sys_exit_execveat(struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit(IF_EXECVEAT, ctx);
}

SEC("tp/syscalls/sys_enter_openat")
int tp__syscalls__sys_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	return stash(IF_OPENAT, ctx, 4);
}

SEC("tp/syscalls/sys_enter_openat2")
int tp__syscalls__sys_enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	return stash(IF_OPENAT2, ctx, 3);
}

static __always_inline int open_exit(__u32 kind, struct trace_event_raw_sys_exit *ctx)
{
	struct pm_ev_open_fail *e;
	struct inflight f = {};
	long ret = ctx->ret;

	if (!unstash(kind, &f) || ret >= 0)
		return 0;
	if (cfg_count_enoent && (ret == -PM_ENOENT || ret == -PM_ENOTDIR) && kind == IF_OPENAT &&
	    !(f.arg[2] & (PM_O_WRONLY | PM_O_RDWR | PM_O_CREAT))) {
		__u32 tgid = current_tgid();
		__u64 one = 1, *n = bpf_map_lookup_elem(&enoent_counts, &tgid);

		if (n)
			__sync_fetch_and_add(n, 1);
		else
			bpf_map_update_elem(&enoent_counts, &tgid, &one, BPF_NOEXIST);
		__sync_fetch_and_add(&pm_enoent_counted, 1);
		return 0;
	}
	if (!PM_RESERVE(e, PM_EV_OPEN_FAIL))
		return 0;
	fill_hdr(&e->hdr, PM_EV_OPEN_FAIL, sizeof(*e));
	e->dfd = (__s32)f.arg[0];
	e->err = -ret;
	if (kind == IF_OPENAT) {
		e->flags = (__u32)f.arg[2];
		e->mode = (__u32)f.arg[3];
	} else {
		struct open_how how = {};

		bpf_probe_read_user(&how, sizeof(how), (void *)f.arg[2]);
		e->flags = how.flags;
		e->mode = how.mode;
		e->openat2 = 1;
	}
	if (bpf_probe_read_user_str(e->path, sizeof(e->path), (void *)f.arg[1]) == sizeof(e->path))
		e->hdr.flags |= PM_F_TRUNCATED;
	submit(e);
	return 0;
}

SEC("tp/syscalls/sys_exit_openat")
int tp__syscalls__sys_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit(IF_OPENAT, ctx);
}

SEC("tp/syscalls/sys_exit_openat2")
int tp__syscalls__sys_exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit(IF_OPENAT2, ctx);
}

SEC("tp/syscalls/sys_enter_connect")
int tp__syscalls__sys_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	return stash(IF_CONNECT, ctx, 3);
}

SEC("tp/syscalls/sys_exit_connect")
int tp__syscalls__sys_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	struct pm_ev_connect *e;
	struct inflight f = {};
	long ret = ctx->ret;

	if (!unstash(IF_CONNECT, &f))
		return 0;
	if (!PM_RESERVE(e, PM_EV_CONNECT))
		return 0;
	fill_hdr(&e->hdr, PM_EV_CONNECT, sizeof(*e));
	e->fd = (__s32)f.arg[0];
	e->err = ret < 0 ? -ret : 0;
	e->duration_ns = e->hdr.ts_ns - f.start_ns;
	read_sockaddr(&e->addr, f.arg[1], f.arg[2]);
	submit(e);
	return 0;
}

SEC("tp/syscalls/sys_enter_bind")
int tp__syscalls__sys_enter_bind(struct trace_event_raw_sys_enter *ctx)
{
	return stash(IF_BIND, ctx, 3);
}

SEC("tp/syscalls/sys_exit_bind")
int tp__syscalls__sys_exit_bind(struct trace_event_raw_sys_exit *ctx)
{
	struct pm_ev_bind *e;
	struct inflight f = {};
	long ret = ctx->ret;

	if (!unstash(IF_BIND, &f))
		return 0;
	if (!PM_RESERVE(e, PM_EV_BIND))
		return 0;
	fill_hdr(&e->hdr, PM_EV_BIND, sizeof(*e));
	e->fd = (__s32)f.arg[0];
	e->err = ret < 0 ? -ret : 0;
	read_sockaddr(&e->addr, f.arg[1], f.arg[2]);
	submit(e);
	return 0;
}

SEC("tp/syscalls/sys_enter_write")
int tp__syscalls__sys_enter_write(struct trace_event_raw_sys_enter *ctx)
{
	struct pm_ev_write *e;
	__u64 fd = ctx->args[0];
	const char *buf = (const char *)ctx->args[1];
	__u64 count = ctx->args[2];
	__u32 head, tail;

	if (fd != 1 && fd != 2)
		return 0;
	if (!current_in_scope(current_tgid()))
		return 0;
	if (!PM_RESERVE(e, PM_EV_WRITE))
		return 0;
	fill_hdr(&e->hdr, PM_EV_WRITE, sizeof(*e));
	e->fd = fd;
	e->count = count;
	head = count < PM_WRITE_HEAD ? count : PM_WRITE_HEAD;
	tail = count - head < PM_WRITE_TAIL ? count - head : PM_WRITE_TAIL;
	if (head && head <= PM_WRITE_HEAD && bpf_probe_read_user(e->data, head, buf) == 0)
		e->head_len = head;
	if (tail && tail <= PM_WRITE_TAIL &&
	    bpf_probe_read_user(e->data + PM_WRITE_HEAD, tail, buf + count - tail) == 0)
		e->tail_len = tail;
	if (count > PM_WRITE_HEAD + PM_WRITE_TAIL)
		e->hdr.flags |= PM_F_TRUNCATED;
	submit(e);
	return 0;
}

/* ---- working directory ---------------------------------------------------- */

SEC("tp/syscalls/sys_enter_chdir")
int tp__syscalls__sys_enter_chdir(struct trace_event_raw_sys_enter *ctx)
{
	return stash(IF_CHDIR, ctx, 1);
}

SEC("tp/syscalls/sys_exit_chdir")
int tp__syscalls__sys_exit_chdir(struct trace_event_raw_sys_exit *ctx)
{
	struct pm_ev_chdir_fail *e;
	struct inflight f = {};
	long ret = ctx->ret;

	if (!unstash(IF_CHDIR, &f) || ret >= 0)
		return 0;
	if (!PM_RESERVE(e, PM_EV_CHDIR_FAIL))
		return 0;
	fill_hdr(&e->hdr, PM_EV_CHDIR_FAIL, sizeof(*e));
	e->err = -ret;
	if (bpf_probe_read_user_str(e->path, sizeof(e->path), (void *)f.arg[0]) == sizeof(e->path))
		e->hdr.flags |= PM_F_TRUNCATED;
	submit(e);
	return 0;
}

/* ---- milestones: the first heartbeat and the first accepted connection ----- */

static __always_inline bool milestone_seen(__u32 tgid, __u32 kind)
{
	__u64 k = (__u64)tgid << 8 | kind;

	return bpf_map_lookup_elem(&milestones, &k) != NULL;
}

static __always_inline void milestone(__u32 kind, __s32 fd, const struct inflight *f)
{
	__u32 tgid = current_tgid();
	__u64 k = (__u64)tgid << 8 | kind;
	struct pm_ev_milestone *e;
	__u8 one = 1;

	if (bpf_map_update_elem(&milestones, &k, &one, BPF_NOEXIST))
		return; /* already emitted (or a racing thread did it) */
	if (!PM_RESERVE(e, PM_EV_MILESTONE))
		return;
	fill_hdr(&e->hdr, PM_EV_MILESTONE, sizeof(*e));
	e->kind = kind;
	e->fd = fd;
	if (f && f->arg[1] && f->arg[2]) {
		int len = 0;

		bpf_probe_read_user(&len, sizeof(len), (void *)f->arg[2]);
		if (len > 0)
			read_sockaddr(&e->addr, f->arg[1], len);
	}
	submit(e);
}

/* gunicorn workers signal they are alive by touching a temporary file: fchmod
 * up to gunicorn 21, utime(fd) = utimensat(fd, NULL, ...) from 22. Workers call
 * it only once booted (the app imported). */
SEC("tp/syscalls/sys_enter_fchmod")
int tp__syscalls__sys_enter_fchmod(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tgid = current_tgid();

	if (!current_in_scope(tgid) || milestone_seen(tgid, PM_MS_HEARTBEAT))
		return 0;
	milestone(PM_MS_HEARTBEAT, (__s32)ctx->args[0], NULL);
	return 0;
}

SEC("tp/syscalls/sys_enter_utimensat")
int tp__syscalls__sys_enter_utimensat(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tgid = current_tgid();

	if (ctx->args[1] != 0) /* a path: not futimens(fd) */
		return 0;
	if (!current_in_scope(tgid) || milestone_seen(tgid, PM_MS_HEARTBEAT))
		return 0;
	milestone(PM_MS_HEARTBEAT, (__s32)ctx->args[0], NULL);
	return 0;
}

static __always_inline int accept_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tgid = current_tgid();

	if (!current_in_scope(tgid) || milestone_seen(tgid, PM_MS_ACCEPT))
		return 0;
	return stash(IF_ACCEPT, ctx, 3);
}

static __always_inline int accept_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct inflight f = {};
	long ret = ctx->ret;

	if (!unstash(IF_ACCEPT, &f) || ret < 0)
		return 0;
	milestone(PM_MS_ACCEPT, (__s32)ret, &f);
	return 0;
}

SEC("tp/syscalls/sys_enter_accept4")
int tp__syscalls__sys_enter_accept4(struct trace_event_raw_sys_enter *ctx)
{
	return accept_enter(ctx);
}

SEC("tp/syscalls/sys_exit_accept4")
int tp__syscalls__sys_exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return accept_exit(ctx);
}

SEC("tp/syscalls/sys_enter_accept")
int tp__syscalls__sys_enter_accept(struct trace_event_raw_sys_enter *ctx)
{
	return accept_enter(ctx);
}

SEC("tp/syscalls/sys_exit_accept")
int tp__syscalls__sys_exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	return accept_exit(ctx);
}
