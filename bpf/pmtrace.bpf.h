/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* BPF-only constants: vmlinux.h carries types, not the kernel's #defines. */
#ifndef PMTRACE_BPF_H
#define PMTRACE_BPF_H

#define PM_AF_UNIX 1
#define PM_AF_INET 2
#define PM_AF_INET6 10

#define PM_IPPROTO_TCP 6

/* include/net/tcp_states.h */
#define PM_TCP_ESTABLISHED 1
#define PM_TCP_SYN_SENT 2
#define PM_TCP_CLOSE 7
#define PM_TCP_LISTEN 10

/* include/uapi/asm-generic/errno-base.h, fcntl.h */
#define PM_ENOENT 2
#define PM_ENOTDIR 20
#define PM_O_WRONLY 01
#define PM_O_RDWR 02
#define PM_O_CREAT 0100

#endif /* PMTRACE_BPF_H */
