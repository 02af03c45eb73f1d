#!/bin/sh
# suite.sh TESTBIN BPFSTAT PKGDIR: what every kernel of the matrix runs, the
# host directly and each qemu guest as its /init. It prints bpfstat doctor,
# then runs the integration tests once per pinned strategy, each framed by
# "@@kmatrix" marker lines that test/kernels/verdict reads back.
# POSIX sh: it runs under busybox sh in the guests.
testbin=$1
bpfstat=$2
pkgdir=$3
strategies=${KMATRIX_STRATEGIES:-tp_btf fentry raw_tp tracepoint kprobe}
test_timeout=${KMATRIX_TEST_TIMEOUT:-150s}

echo "@@kmatrix begin kernel=$(uname -r)"
echo "@@kmatrix doctor begin"
timeout 60 "$bpfstat" doctor 2>&1
echo "@@kmatrix doctor end rc=$?"
# go test runs a package's tests in its directory; do the same so testdata/
# resolves.
cd "$pkgdir" || exit 1
for s in $strategies; do
	echo "@@kmatrix strategy begin $s"
	# -test.short: the tests scale their connection counts down, since the
	# guests run under software emulation. -test.timeout turns a hang into a
	# failure with a goroutine dump instead of a silent boot timeout.
	BPFSTAT_STRATEGY=$s "$testbin" -test.run Integration -test.v -test.short \
		-test.count 1 -test.timeout "$test_timeout" 2>&1
	echo "@@kmatrix strategy end $s rc=$?"
done
echo "@@kmatrix end"
