// Package tracer loads bpfstat's eBPF programs, attaches them with an
// explicit list of fallback strategies, and turns the kernel's ring buffer
// records into Events.
//
// Where events come from: TCP state changes from inet_sock_set_state (by
// the first strategy that attaches: tp_btf, fentry, raw_tp, tracepoint,
// kprobe); inet socket owners, binds, connects and releases from cgroup v2
// hooks at the root of the cgroup2 hierarchy; descriptors, accept, listen
// and everything about unix sockets from syscall tracepoints.
//
// Owners are recorded in process context and reported on every event,
// softirq-driven ones included (SYN_RECV->ESTABLISHED, FIN from the peer,
// TIME_WAIT): the creator, then whoever accept(2)s a connection (until
// then, a passive connection belongs to whoever listen(2)ed on its port);
// a socket whose owner exited belongs to the child it forked. The kernel
// reports the caller on events raised by system calls; the reader joins
// that owner into the socket's other events by socket cookie (owners.go),
// which costs far less than keeping it in the kernel (sk_storage for every
// socket and map lookups on every event).
//
// MPTCP (Go 1.24+ listens with IPPROTO_MPTCP): reported as TCP with
// Event.MPTCP set. The MPTCP socket itself appears in socket, bind, listen,
// connect and close events; the kernel traces no state changes for it, so
// state events come from its TCP subflows (kernel sockets, with their own
// cookie and inode, as /proc/net/tcp lists them), attributed to the MPTCP
// socket's owner.
//
// Losses are counted in the kernel (Lost) and never hidden. Events arrive
// in batches: the kernel wakes the reader once 128 KiB are queued, and the
// reader polls every 2 ms (8 ms when idle) for the rest, decoding records
// in place and handing the ring back once per batch.
//
//	t, err := tracer.New(tracer.Options{})
//	defer t.Close()
//	for {
//		ev, err := t.Read(ctx)
//		...
//	}
package tracer

import "errors"

// ErrNotSupported is returned by New where the tracer cannot run (not
// Linux).
var ErrNotSupported = errors.New("not supported on this platform")

// ErrClosed is returned by Read after Close.
var ErrClosed = errors.New("tracer closed")

// Options configure New.
type Options struct {
	// Strategy pins the TCP state hook to one strategy ("tp_btf",
	// "fentry", "raw_tp", "tracepoint", "kprobe"); empty tries them in
	// order. The BPFSTAT_STRATEGY environment variable is read by the
	// integration tests and by cmd/bpfstat, not here.
	Strategy string
	// RingSize is the ring buffer's size in bytes (a power of two and a
	// multiple of the page size); 0 means 16 MiB.
	RingSize int
	// IgnorePID drops events raised by this process's own system calls
	// (the owner is still tracked); 0 disables it.
	IgnorePID int
}

// Hook records one attach attempt, for `bpfstat doctor`.
type Hook struct {
	// Name is the hook's role, e.g. "tcp state", "socket create".
	Name string
	// Strategy is how it was tried: "tp_btf", "raw_tp", "tracepoint",
	// "kprobe", "fentry", "cgroup".
	Strategy string
	// Target is what it attached to, e.g. "inet_sock_set_state".
	Target string
	// Err is why it was ruled out; nil when attached.
	Err error
	// Attached is true when the hook is live.
	Attached bool
}

// Counters are the figures Tracer.Lost is made of, for diagnostics.
type Counters struct {
	RingFull uint64 // records the ring buffer had no room for
	Skipped  uint64 // hook runs the kernel skipped (recursion_misses), but the nested state program's
	Taken    uint64 // state changes the nested state program took (skipped by the first)
	Repeats  uint64 // state changes Read dropped as reported twice
	Ignored  uint64 // events Read dropped as Options.IgnorePID's
	// StateRuns counts the runs of the TCP state program (not the nested
	// one): each run that is not one of Quiet is one event. 0 unless the
	// kernel's BPF run statistics are on (ebpf.EnableStats).
	StateRuns uint64
	// Quiet counts the state programs' runs that sent nothing: a change
	// of a socket that is not TCP (an MPTCP connection socket's) or to
	// the same state.
	Quiet uint64
}
