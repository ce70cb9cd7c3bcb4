// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The floor: a program that does nothing on every tracepoint pmtrace.bpf.c
 * attaches to. tools/bench/run.sh measures workloads with this attached, so
 * what the kernel charges for an attached tracepoint at all (every system
 * call of the machine takes the slow path once a syscall tracepoint has a
 * program) is told apart from what pmtrace's programs cost on top.
 *
 * Its SEC() list is pmtrace.bpf.c's, one empty program each; the unit test
 * "[floor]" (tests/unit/test_catalogue.cpp) fails when the two lists differ.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/sched_process_exec")
int floor__sched_process_exec(void *ctx)
{
	return 0;
}

SEC("tp_btf/sched_process_fork")
int floor__sched_process_fork(void *ctx)
{
	return 0;
}

SEC("tp_btf/sched_process_exit")
int floor__sched_process_exit(void *ctx)
{
	return 0;
}

SEC("tp_btf/signal_generate")
int floor__signal_generate(void *ctx)
{
	return 0;
}

SEC("tp_btf/signal_deliver")
int floor__signal_deliver(void *ctx)
{
	return 0;
}

SEC("tp_btf/mark_victim")
int floor__mark_victim(void *ctx)
{
	return 0;
}

SEC("tp_btf/cgroup_mkdir")
int floor__cgroup_mkdir(void *ctx)
{
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int floor__inet_sock_set_state(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_enter_execve")
int floor__syscalls_sys_enter_execve(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_enter_execveat")
int floor__syscalls_sys_enter_execveat(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_exit_execve")
int floor__syscalls_sys_exit_execve(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_exit_execveat")
int floor__syscalls_sys_exit_execveat(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_enter_openat")
int floor__syscalls_sys_enter_openat(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_enter_openat2")
int floor__syscalls_sys_enter_openat2(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_exit_openat")
int floor__syscalls_sys_exit_openat(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_exit_openat2")
int floor__syscalls_sys_exit_openat2(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_enter_connect")
int floor__syscalls_sys_enter_connect(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_exit_connect")
int floor__syscalls_sys_exit_connect(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_enter_bind")
int floor__syscalls_sys_enter_bind(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_exit_bind")
int floor__syscalls_sys_exit_bind(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_enter_write")
int floor__syscalls_sys_enter_write(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_enter_chdir")
int floor__syscalls_sys_enter_chdir(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_exit_chdir")
int floor__syscalls_sys_exit_chdir(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_enter_fchmod")
int floor__syscalls_sys_enter_fchmod(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_enter_utimensat")
int floor__syscalls_sys_enter_utimensat(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_enter_accept4")
int floor__syscalls_sys_enter_accept4(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_exit_accept4")
int floor__syscalls_sys_exit_accept4(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_enter_accept")
int floor__syscalls_sys_enter_accept(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_exit_accept")
int floor__syscalls_sys_exit_accept(void *ctx)
{
	return 0;
}
