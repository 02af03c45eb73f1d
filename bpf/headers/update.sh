#!/bin/sh
# Regenerates the headers the BPF programs compile against.
#   vmlinux.h  from the running kernel's BTF (CO-RE relocations make the
#              programs load on other kernels, 6.1 and 6.12 included)
#   bpf_*.h    libbpf's BPF-side headers, copied from the libbpf-dev package
#              (/usr/include/bpf, libbpf 1.1 on Debian 12). They are dual
#              licensed LGPL-2.1 OR BSD-2-Clause, as their SPDX lines say.
set -eu
cd "$(dirname "$0")"
bpftool btf dump file "${BTF:-/sys/kernel/btf/vmlinux}" format c > vmlinux.h
for h in bpf_helpers.h bpf_helper_defs.h bpf_core_read.h bpf_tracing.h bpf_endian.h; do
	cp "/usr/include/bpf/$h" "$h"
done
