#!/usr/bin/env bash
# Times one-shot socket listings: net-tools netstat, iproute2 ss and
# bpfstat (--source snapshot: no daemon) on a private network namespace
# holding PAIRS loopback connections (2*PAIRS TCP sockets), all in one run
# so the ratios hold on a noisy machine. Needs root, hyperfine, netstat, ss.
# Usage: bench/listings.sh [PAIRS] [PROCS]  -> bench/RESULTS-listings.md
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-5000}
procs=${2:-2}
out=bench/out
mkdir -p "$out"
go build -o "$out/bpfstat" ./cmd/bpfstat
go build -o "$out/sockets" ./bench/sockets
if [ "${BENCH_IN_NETNS:-}" != 1 ]; then
	exec unshare -n env BENCH_IN_NETNS=1 "$0" "$@"
fi
ip link set lo up
coproc GEN { "$out/sockets" -pairs "$pairs" -procs "$procs"; }
read -r line <&"${GEN[0]}"
[ "$line" = ready ] || { echo "generator failed"; exit 1; }
n=$(($(wc -l < /proc/net/tcp) - 1))
echo "TCP sockets in the namespace: $n"
hyperfine -N --warmup 2 --runs 10 --export-markdown "$out/listings.md" \
	"netstat -tan" "ss -tan" "$out/bpfstat -tan --source snapshot" \
	"netstat -tanp" "ss -tanp" "$out/bpfstat -tanp --source snapshot" >&2
{
	echo "# One-shot listings at $n TCP sockets"
	echo
	echo "\`bench/listings.sh $pairs $procs\` on $(date -u +%Y-%m-%d), $(nproc) cores, Linux $(uname -r)."
	echo
	sed "s|$out/||" "$out/listings.md"
} > bench/RESULTS-listings.md
exec {GEN[1]}>&-
wait "$GEN_PID" || true
cat bench/RESULTS-listings.md
