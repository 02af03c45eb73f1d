#!/usr/bin/env bash
# Benchmarks the eBPF tracer with bench/loadgen on loopback in a private
# network namespace (client and server in one process, server closes first):
#   1. slowdown: connections/s of one load process at full speed while
#      the tracer is switched every 2 s between off, attached but unread
#      (kernel side only; a 128 MiB ring, so that no reserve fails in a
#      window) and attached and read by a separate consumer process (as
#      the daemon or --follow would); each on window is compared with the
#      off windows either side of it (loadgen -toggle);
#   2. the highest rate with no lost event: a ladder of target rates,
#      consumer in its own process;
#   3. event latency (kernel hook to Read returning in the consumer)
#      p50/p99 per rate.
# Needs root. Usage: [TOGGLE_SECS=150] bench/tracer.sh [SECONDS] [REPS]
# (SECONDS per run and REPS for the rate ladder and the fixed rate).
# Prints a markdown report; bench/RESULTS-tracer.md records one run.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
reps=${2:-3}
out=bench/out
mkdir -p "$out"
if [ "${BENCH_IN_NETNS:-}" != 1 ]; then
	go build -o "$out/loadgen" ./bench/loadgen
	exec unshare -n env BENCH_IN_NETNS=1 "$0" "$@"
fi
ip link set lo up
sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1
lg="$out/loadgen -d ${secs}s"
field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

others=$(bpftool prog show 2>/dev/null | grep -c 'name state_tp_btf\|name state_raw_tp\|name state_tracepoi' || true)

# consumed RATE: load at RATE with a separate consumer process; prints the
# load's line with the consumer's fields appended.
consumed() {
	${NICE:-} "$out/loadgen" -load=false -trace -d "$((secs + 2))s" > "$out/consumer.txt" &
	local c=$!
	sleep 1
	local l
	l=$($lg -rate "$1")
	wait "$c"
	echo "$l $(cut -d' ' -f6- "$out/consumer.txt" | sed 's/^/consumer_/; s/ / consumer_/g')" | sed 's/^tracer=off/tracer=reading/'
}

# Slowdown: one load process at full speed for TOGGLE_SECS while the
# tracer is switched on and off every 2 s (off, attached in the load
# process and not read, off, read by a consumer process, ...); each on
# window against the mean of the off windows either side of it. The
# host's speed drifts by tens of percent over minutes, little over 2 s.
"$out/loadgen" -toggle 2s -d "${TOGGLE_SECS:-150}s" -ring $((128 << 20)) > "$out/tracer-toggle.txt" 2> "$out/tracer-toggle-windows.txt"
tog() { field "$1" < "$out/tracer-toggle.txt"; }

: > "$out/tracer-ladder.txt"
for rate in ${RATES:-5000 10000 15000 20000 25000 30000 0}; do
	consumed "$rate" | tee -a "$out/tracer-ladder.txt" >&2
done
# Kernel-side cost per program (kernel.bpf_stats_enabled) at 10k/s: our
# consumer's programs are found through its descriptors' fdinfo.
sysctl -qw kernel.bpf_stats_enabled=1
"$out/loadgen" -load=false -trace -d "$((secs + 2))s" > /dev/null &
cons=$!
sleep 1
$lg -rate 10000 > "$out/tracer-stats-load.txt"
ids=$(grep -h '^prog_id:' /proc/$cons/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un)
: > "$out/tracer-stats.txt"
for id in $ids; do
	bpftool prog show id "$id" | tr '\n' ' ' | awk '{for (i=1;i<=NF;i++) {if ($i=="name") n=$(i+1); if ($i=="run_time_ns") t=$(i+1); if ($i=="run_cnt") c=$(i+1)}; if (c>0) printf "%s %d %d\n", n, c, t}' >> "$out/tracer-stats.txt"
done
wait "$cons"
sysctl -qw kernel.bpf_stats_enabled=0

# What a service at a steady load pays: CPU per connection and connection
# latency at a fixed rate the machine sustains either way, interleaved.
fixed=${FIXED_RATE:-10000}
: > "$out/tracer-fixed.txt"
for i in $(seq "$reps"); do
	$lg -rate "$fixed" | tee -a "$out/tracer-fixed.txt" >&2
	consumed "$fixed" | tee -a "$out/tracer-fixed.txt" >&2
done

# The same with the consumer at nice -10, as a daemon might run: on a busy
# host the tail latency is the consumer waiting for a CPU.
: > "$out/tracer-nice.txt"
for rate in 10000 20000; do
	NICE="nice -n -10" consumed "$rate" | tee -a "$out/tracer-nice.txt" >&2
done

echo "# eBPF tracer"
echo
echo "\`TOGGLE_SECS=${TOGGLE_SECS:-150} bench/tracer.sh $secs $reps\` on $(date -u +%Y-%m-%d), $(nproc) cores, Linux $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end;"
echo "loopback TCP in a private netns, ${secs}s per run, server closes first; 13 events per connection."
[ "$others" -gt 0 ] && echo "Note: $others other tracer instance(s) were attached machine-wide during the run (their hooks fire too)."
echo
echo "## Slowdown at full speed (${TOGGLE_SECS:-150} s of load, tracer switched every 2 s)"
echo
echo "| tracer | change in connections/s (median over windows) | CPU per connection added (load process) | windows |"
echo "|---|---:|---:|---:|"
echo "| off | $(tog off_rate) | | |"
echo "| attached, not read (kernel side) | $(tog attached_change) | $(tog attached_cpu_per_conn) | $(tog attached_pairs) |"
echo "| attached and read by a consumer process | $(tog reading_change) | $(tog reading_cpu_per_conn) | $(tog reading_pairs) |"
echo
echo "Per window, attached not read: $(tog attached_changes | tr ',' ' ') %; read: $(tog reading_changes | tr ',' ' ') %."
echo
echo "Consumer process per 2 s window: $(grep ' reading ' "$out/tracer-toggle-windows.txt" | field cpu | tr '\n' ' ')"
echo
echo "## At a fixed $fixed connections/s (median of $reps interleaved rounds)"
echo
echo "| tracer | achieved/s | CPU per connection (load process) | connection p50 | connection p99 | consumer CPU per second |"
echo "|---|---:|---:|---:|---:|---:|"
for m in off reading; do
	sel() { grep "^tracer=$m target=$fixed " "$out/tracer-fixed.txt" | field "$1" | median; }
	cc=""
	[ "$m" = reading ] && cc=$(grep "^tracer=$m target=$fixed " "$out/tracer-fixed.txt" | field consumer_cpu | sed 's/ms$/e-3/; s/s$//' | median | awk -v d="$((secs + 2))" '{printf "%.1f ms", $1*1000/d}')
	echo "| $m | $(sel rate) | $(sel cpu_per_conn) | $(sel conn_p50) | $(sel conn_p99) | $cc |"
done
echo
echo "## Rate ladder, events read by a consumer process"
echo
echo "| target/s | achieved/s | events | lost | event p50 | event p99 | connection p50 | connection p99 |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
while read -r l; do
	t=$(echo "$l" | field target); [ "$t" = 0 ] && t=max
	echo "| $t | $(echo "$l" | field rate) | $(echo "$l" | field consumer_events) | $(echo "$l" | field consumer_lost) | $(echo "$l" | field consumer_ev_p50) | $(echo "$l" | field consumer_ev_p99) | $(echo "$l" | field conn_p50) | $(echo "$l" | field conn_p99) |"
done < "$out/tracer-ladder.txt"
echo
conns=$(field conns < "$out/tracer-stats-load.txt")
echo "## Kernel-side cost per program at 10000 connections/s ($conns connections)"
echo
echo "| program | runs | avg ns | ns per connection |"
echo "|---|---:|---:|---:|"
sort -k3 -nr "$out/tracer-stats.txt" | awk -v n="$conns" '{printf "| %s | %d | %.0f | %.0f |\n", $1, $2, $3/$2, $3/n; t+=$3} END {printf "| total | | | %.0f |\n", t/n}'
echo
echo "Consumer at nice -10:"
echo
echo "| target/s | achieved/s | events | lost | event p50 | event p99 |"
echo "|---:|---:|---:|---:|---:|---:|"
while read -r l; do
	echo "| $(echo "$l" | field target) | $(echo "$l" | field rate) | $(echo "$l" | field consumer_events) | $(echo "$l" | field consumer_lost) | $(echo "$l" | field consumer_ev_p50) | $(echo "$l" | field consumer_ev_p99) |"
done < "$out/tracer-nice.txt"
