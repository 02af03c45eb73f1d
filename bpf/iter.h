/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/* The Go<->C contract of bpf/iter.bpf.c: records the iterators write. */
#ifndef BPFSTAT_ITER_H
#define BPFSTAT_ITER_H

/* One socket file descriptor, from iter/task_file. */
struct fd_rec {
	__u32 pid; /* thread-group id, in the initial pid namespace */
	__s32 fd;
	__u64 ino; /* the socket's inode, as /proc/PID/fd shows it */
};

#endif
