#!/usr/bin/env bash
# test/kernels/run.sh: the kernel matrix. Runs the tracer's integration tests
# once per attach strategy (BPFSTAT_STRATEGY) on the host and on Debian's 6.1
# and 6.12 kernels booted under qemu (software emulation: no /dev/kvm), prints
# bpfstat doctor and a kernel x strategy table, and exits non-zero when a
# strategy that attached failed its tests, a strategy was ruled out where it
# must attach, or a guest did not reach its final marker.
#
# Needs root (BPF on the host, device nodes in the initramfs), go, apt-get,
# dpkg-deb, cpio, qemu-system-x86_64 and busybox-static. See README-kernels.md
# for every KMATRIX_* knob; the defaults are what CI runs.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${KMATRIX_CACHE:-$here/.cache}
# label:meta-package. The label is the upstream series the meta-package must
# resolve to; a mismatch (e.g. linux-image-amd64 on trixie is 6.12) is an error.
kernels=${KMATRIX_KERNELS:-"6.1:linux-image-amd64 6.12:linux-image-6.12-amd64"}
# In the order tracer.StrategyNames() tries them.
strategies=${KMATRIX_STRATEGIES:-"tp_btf fentry raw_tp tracepoint kprobe"}
# Bounds: each strategy's test run, each guest, and the whole matrix. A hang
# costs at most its strategy's timeout; nothing runs past the budget.
test_timeout=${KMATRIX_TEST_TIMEOUT:-150s}
boot_timeout=${KMATRIX_BOOT_TIMEOUT:-480}
budget=${KMATRIX_BUDGET:-570}
# The host's kernel is whatever CI runs on; on ours (6.18, lockdown) kprobes
# and fentry are refused, so only these must attach there.
host_must=${KMATRIX_HOST_MUST:-"tp_btf,raw_tp,tracepoint"}
busybox=${KMATRIX_BUSYBOX:-/bin/busybox}
# Extra NAME=value words for the tests' environment, host and guests alike.
extra_env=${KMATRIX_ENV:-}

log() { printf 'kmatrix: %s\n' "$*" >&2; }
# present LABEL: echo a console to the CI log, prefixed with LABEL: only the
# markers, test verdicts and kernel messages unless KMATRIX_VERBOSE is set
# (a failing guest's -test.v output runs to tens of thousands of lines; the
# whole console stays in $work/LABEL.log).
present() {
	if [ -n "${KMATRIX_VERBOSE:-}" ]; then
		sed -u "s/^/[$1] /"
	else
		grep -a --line-buffered -E '^(@@kmatrix|\s*--- (PASS|FAIL|SKIP)|(PASS|FAIL)$|panic: |\[ *[0-9]+\.[0-9]+\] )' |
			sed -u "s/^/[$1] /"
	fi
}
die() { log "error: $*"; exit 2; }
loud() { printf '\nkmatrix: !!!!!!!! %s\n\n' "$*" >&2; }

[ "$(id -u)" = 0 ] || die "must run as root (loads BPF on the host; creates /dev/console in the initramfs)"
for tool in go apt-get apt-cache dpkg-deb cpio qemu-system-x86_64 timeout; do
	command -v "$tool" >/dev/null || die "$tool not found; install the packages in .ci/packages-kernels.txt"
done
[ -x "$busybox" ] && "$busybox" --list | grep -x poweroff >/dev/null ||
	die "$busybox is not a static busybox with poweroff; install busybox-static"

work=$(mktemp -d "${TMPDIR:-/tmp}/kmatrix.XXXXXX")
cleanup() {
	# Keep the console logs; drop the large build products.
	[ -n "${KMATRIX_KEEP:-}" ] || rm -rf "$work/initramfs" "$work/initramfs.cpio" "$work/bin"
}
trap cleanup EXIT
log "work directory $work (console logs are kept there)"
start=$SECONDS

# bounded WANT: WANT seconds, or what is left of the budget if that is less.
bounded() {
	local left=$((budget - (SECONDS - start)))
	[ "$left" -gt "$1" ] && echo "$1" || echo "$((left > 0 ? left : 0))"
}

# --- kernels -----------------------------------------------------------------

mkdir -p "$cache/dl"
declare -A vmlinuz=()
unavailable=()

# fetch_kernel LABEL META: resolve META to its versioned image package, get its
# vmlinuz into the cache (apt-get download: old versions leave the mirror, so
# never pin one), and record it in vmlinuz[LABEL].
fetch_kernel() {
	local label=$1 meta=$2 pkg ver deb file
	pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '$1 ~ /Depends:$/ && $2 ~ /^linux-image-/ {print $2; exit}') || true
	if [ -z "$pkg" ]; then
		fallback_kernel "$label" "apt cannot resolve $meta (apt-cache policy $meta; is the suite that carries it in the apt sources, and apt-get update run?)"
		return
	fi
	case $pkg in
	linux-image-"$label".*) ;;
	*)
		fallback_kernel "$label" "$meta resolves to $pkg, which is not Linux $label"
		return
		;;
	esac
	ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | awk '/^Version:/ {print $2; exit}')
	if [ -z "$ver" ]; then
		fallback_kernel "$label" "$meta depends on $pkg, which apt has no version of"
		return
	fi
	file=$cache/vmlinuz-${pkg#linux-image-}_$ver
	if [ ! -s "$file" ]; then
		log "$label: downloading $pkg $ver (via $meta)"
		rm -f "$cache"/dl/*.deb
		if ! (cd "$cache/dl" && apt-get -q download -o APT::Sandbox::User=root "$pkg=$ver" >&2); then
			fallback_kernel "$label" "apt-get download $pkg=$ver failed"
			return
		fi
		deb=$(ls "$cache"/dl/*.deb)
		dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards './boot/vmlinuz-*' >"$file.tmp"
		dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards './boot/config-*' >"$file.config" || true
		mv "$file.tmp" "$file"
		rm -f "$deb"
	else
		log "$label: $pkg $ver (via $meta) cached"
	fi
	ln -sfn "$(basename "$file")" "$cache/$label.vmlinuz"
	vmlinuz[$label]=$file
}

# fallback_kernel LABEL WHY: apt failed; boot the last kernel cached for
# LABEL if there is one, else mark the kernel unavailable. Either way, loudly.
fallback_kernel() {
	local label=$1 why=$2
	if [ -s "$cache/$label.vmlinuz" ]; then
		loud "$label: $why; using the cached $(readlink "$cache/$label.vmlinuz")"
		vmlinuz[$label]=$cache/$label.vmlinuz
	else
		loud "$label: $why; Linux $label is NOT TESTED"
		unavailable+=("$label=$why")
	fi
}

for spec in $kernels; do
	fetch_kernel "${spec%%:*}" "${spec#*:}"
done
log "kernels ready after $((SECONDS - start))s"

# --- binaries ----------------------------------------------------------------

testpkg=${KMATRIX_TESTPKG:-}
if [ -z "$testpkg" ]; then
	if grep -qs '^func TestIntegration' "$repo"/tracer/*_test.go; then
		testpkg=./tracer
	else
		testpkg=./test/kernels/placeholder
		loud "tracer/ has no TestIntegration tests yet: running the placeholder tests ($testpkg) instead"
	fi
fi
mkdir -p "$work/bin"
log "building $testpkg tests and ./cmd/bpfstat (static)"
(
	cd "$repo"
	CGO_ENABLED=0 go test -c -o "$work/bin/test.bin" "$testpkg"
	CGO_ENABLED=0 go build -o "$work/bin/bpfstat" ./cmd/bpfstat
	go build -o "$work/bin/verdict" ./test/kernels/verdict
)
pkgdir=$repo/${testpkg#./}

# --- host row ----------------------------------------------------------------

logs=()
must=()
log "host: $(uname -r), strategies: $strategies"
set +e
timeout -k 10 "$(bounded "$boot_timeout")" \
	env KMATRIX_STRATEGIES="$strategies" KMATRIX_TEST_TIMEOUT="$test_timeout" $extra_env \
	sh "$here/suite.sh" "$work/bin/test.bin" "$work/bin/bpfstat" "$pkgdir" 2>&1 |
	tee "$work/host.log" | present host
set -e
logs+=(-log "host=$work/host.log")
must+=(-must "host=$host_must")

# --- guests ------------------------------------------------------------------

if [ ${#vmlinuz[@]} -gt 0 ]; then
	# The initramfs: busybox, the two static binaries, the package's testdata.
	root=$work/initramfs
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,root,run,kmatrix/pkg}
	cp "$busybox" "$root/bin/busybox"
	for applet in $("$busybox" --list); do
		[ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
	done
	ln -s bin "$root/sbin"
	# The kernel opens /dev/console for init before anything is mounted.
	mknod -m 600 "$root/dev/console" c 5 1
	mknod -m 666 "$root/dev/null" c 1 3
	mkdir -p "$root/etc"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
	printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
	for f in /etc/services /etc/protocols; do [ ! -f "$f" ] || cp "$f" "$root/etc/"; done
	cp "$here/init.sh" "$root/init"
	cp "$here/suite.sh" "$root/kmatrix/suite.sh"
	cp "$work/bin/test.bin" "$work/bin/bpfstat" "$root/kmatrix/"
	[ ! -d "$pkgdir/testdata" ] || cp -r "$pkgdir/testdata" "$root/kmatrix/pkg/"
	{
		printf 'export KMATRIX_STRATEGIES="%s" KMATRIX_TEST_TIMEOUT="%s"\n' "$strategies" "$test_timeout"
		for kv in $extra_env; do printf 'export %s\n' "$kv"; done
	} >"$root/kmatrix/env"
	# Uncompressed: unpacking gzip under emulation costs more than it saves.
	(cd "$root" && find . | cpio -o -H newc --quiet) >"$work/initramfs.cpio"
	log "initramfs $(du -h "$work/initramfs.cpio" | cut -f1)"
fi

# boot LABEL IMAGE LIMIT: run one guest; its console goes to $work/LABEL.log
# (and to stdout, prefixed, when STREAM is set), qemu's status and the
# seconds it took to LABEL.rc.
# Strip \r and SeaBIOS's terminal escapes; the parser needs clean lines.
# thread=single: multi-threaded TCG panicked 6.12 at boot in 3 of 15 runs.
# qemu exits 0 even after a guest panic: the verdict comes from the markers
# the guest prints, never from this exit status.
boot() {
	local label=$1 image=$2 limit=$3 t=$SECONDS rc
	set +e
	if [ -n "${STREAM:-}" ]; then
		qemu "$image" "$limit" | tee "$work/$label.log" | present "$label"
		rc=${PIPESTATUS[0]}
	else
		qemu "$image" "$limit" >"$work/$label.log"
		rc=$?
	fi
	set -e
	echo "$rc $((SECONDS - t))" >"$work/$label.rc"
}

# qemu IMAGE LIMIT: boot IMAGE with the initramfs; clean console on stdout,
# qemu's (or timeout's) exit status as the status.
qemu() {
	timeout -k 10 "$2" qemu-system-x86_64 \
		-accel tcg,thread=single -m 1G -nic none -nographic -no-reboot \
		-kernel "$1" -initrd "$work/initramfs.cpio" \
		-append "console=ttyS0 panic=-1 quiet" </dev/null 2>&1 |
		sed -u 's/\r//g; s/\x1b\(c\|\[[0-9;?]*[a-zA-Z]\)//g'
	return "${PIPESTATUS[0]}"
}

# Guests run $parallel at a time (each is one single-threaded qemu); with more
# than one, each console log is printed whole when its guest is done.
parallel=${KMATRIX_JOBS:-2}
booted=()
for spec in $kernels; do
	label=${spec%%:*}
	[ -n "${vmlinuz[$label]:-}" ] || continue
	image=$(readlink -f "${vmlinuz[$label]}")
	limit=$(bounded "$boot_timeout")
	if [ "$limit" -lt 30 ]; then
		loud "$label: not booted: the matrix's ${budget}s budget is spent"
		unavailable+=("$label=not booted: the matrix's ${budget}s budget was spent by earlier hangs")
		continue
	fi
	log "$label: booting $(basename "$image") (timeout ${limit}s)"
	[ ! -s "$image.config" ] || log "$label: $(grep -E '^CONFIG_(DEBUG_INFO_BTF|KPROBES|KPROBE_EVENTS|FPROBE|BPF_LSM|CGROUP_BPF|MPTCP)=' "$image.config" | tr '\n' ' ')"
	booted+=("$label")
	if [ "$parallel" -le 1 ]; then
		STREAM=1 boot "$label" "$image" "$limit"
	else
		boot "$label" "$image" "$limit" &
		while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || true; done
	fi
done
wait
for label in "${booted[@]}"; do
	[ "$parallel" -le 1 ] || present "$label" <"$work/$label.log" || true
	read -r rc secs <"$work/$label.rc"
	[ "$rc" != 124 ] || loud "$label: qemu killed at its time limit"
	log "$label: guest finished after ${secs}s (qemu status $rc)"
	logs+=(-log "$label=$work/$label.log")
	must+=(-must "$label=all")
done

# --- verdict -----------------------------------------------------------------

args=(-strategies "$(echo $strategies | tr ' ' ,)" "${logs[@]}" "${must[@]}")
for u in "${unavailable[@]}"; do
	args+=(-unavailable "$u")
done
[ -z "${KMATRIX_ALLOW_UNAVAILABLE:-}" ] || args+=(-allow-unavailable)
log "matrix done after $((SECONDS - start))s; test binary built from $testpkg; whole consoles in $work/*.log"
rc=0
"$work/bin/verdict" "${args[@]}" || rc=$?
exit $rc
