#!/bin/sh
# /init of the matrix's guests: no disk, no modules, loopback only. Mount
# what the tracer and its tests expect, run the suite, power off. If this
# script dies, the kernel panics and panic=-1 with -no-reboot ends qemu.
export PATH=/bin HOME=/root TMPDIR=/tmp
mount -t devtmpfs devtmpfs /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
ip link set lo up
# As on the host (and the hard limit the tests must live within).
ulimit -n 20000
. /kmatrix/env
/kmatrix/suite.sh /kmatrix/test.bin /kmatrix/bpfstat /kmatrix/pkg
sync
poweroff -f
