/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Kernel-version differences, and nothing else. Each flavour (type___x) is
 * matched against the running kernel's BTF by CO-RE at load time.
 */
#ifndef BPFSTAT_CORE_FIXES_H
#define BPFSTAT_CORE_FIXES_H

#include "vmlinux.h"
#include "bpf_core_read.h"

/*
 * Linux 6.13 replaced struct file's atomic_long_t f_count with file_ref_t
 * f_ref, whose counter holds references minus one ("fs: port files to
 * file_ref", v6.13, include/linux/file_ref.h).
 */
struct file___old {
	atomic_long_t f_count;
} __attribute__((preserve_access_index));

struct file___new {
	file_ref_t f_ref;
} __attribute__((preserve_access_index));

static __always_inline long file_refs(struct file *f)
{
	if (bpf_core_field_exists(((struct file___new *)f)->f_ref))
		return BPF_CORE_READ((struct file___new *)f, f_ref.refcnt.counter) + 1;
	return BPF_CORE_READ((struct file___old *)f, f_count.counter);
}

#endif /* BPFSTAT_CORE_FIXES_H */
