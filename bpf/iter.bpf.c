//go:build ignore

// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * bpfstat's BPF iterators. They run only while user space reads the
 * iterator's fd (package tracer, iter_linux.go): nothing stays attached.
 *
 *   socket_fds  iter/task_file: every (process, fd, inode) of a socket,
 *               the whole of what netstat -p learns by reading
 *               /proc/PID/fd link by link, in one read(2).
 */
#include "vmlinux.h"
#include "bpf_helpers.h"
#include "iter.h"

/* Keeps struct fd_rec in the BTF so bpf2go can emit its Go type. */
const struct fd_rec *unused_fd_rec __attribute__((unused));

#define S_IFMT 00170000
#define S_IFSOCK 0140000

SEC("iter/task_file")
int socket_fds(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct fd_rec rec = {};
	struct inode *inode;

	if (!task || !file)
		return 0;
	inode = file->f_inode;
	if (!inode || (inode->i_mode & S_IFMT) != S_IFSOCK)
		return 0;
	rec.pid = task->tgid;
	rec.fd = ctx->fd;
	rec.ino = inode->i_ino;
	bpf_seq_write(seq, &rec, sizeof(rec));
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
