package tracer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/bpfstat/bpfstat/bpf"
	"github.com/bpfstat/bpfstat/internal/sock"
)

// strategy is one way to attach the TCP state hook. The list below is
// tried in order; the first that loads and attaches wins.
type strategy struct {
	name string
	prog string // program in bpf/bpfstat.bpf.c
	// nested, if set, is a second program for the same hook that takes
	// the events arriving while prog runs on the CPU (which the kernel
	// would not trace: it never nests a tracing program).
	nested string
	target string
	// btf: the hook gets a BTF socket pointer, so it can use the cookie
	// helper (the reader joins owners by cookie); otherwise owners are
	// tracked by address in the kernel.
	btf    bool
	attach func(*ebpf.Program) (link.Link, error)
}

var strategies = []strategy{
	{"tp_btf", "state_tp_btf", "state_tp_btf_nested", "inet_sock_set_state", true, func(p *ebpf.Program) (link.Link, error) {
		return link.AttachTracing(link.TracingOptions{Program: p})
	}},
	// fentry: tcp_set_state misses inet_sk_set_state's transitions (listen,
	// child creation), so it only follows tp_btf.
	{"fentry", "state_fentry", "", "tcp_set_state", true, func(p *ebpf.Program) (link.Link, error) {
		return link.AttachTracing(link.TracingOptions{Program: p})
	}},
	{"raw_tp", "state_raw_tp", "", "inet_sock_set_state", false, func(p *ebpf.Program) (link.Link, error) {
		return link.AttachRawTracepoint(link.RawTracepointOptions{Name: "inet_sock_set_state", Program: p})
	}},
	{"tracepoint", "state_tracepoint", "", "sock/inet_sock_set_state", false, func(p *ebpf.Program) (link.Link, error) {
		return link.Tracepoint("sock", "inet_sock_set_state", p, nil)
	}},
	// kprobe: only for kernels without the inet_sock_set_state tracepoint
	// (before 4.16); misses inet_sk_set_state's transitions like fentry.
	{"kprobe", "state_kprobe", "", "tcp_set_state", false, func(p *ebpf.Program) (link.Link, error) {
		return link.Kprobe("tcp_set_state", p, nil)
	}},
}

// StrategyNames lists the TCP state hook strategies in the order tried.
func StrategyNames() []string {
	n := make([]string, len(strategies))
	for i, s := range strategies {
		n[i] = s.name
	}
	return n
}

// otherHook is a hook attached whatever the strategy.
type otherHook struct {
	name, strategy, target, prog string
	attach                       func(p *ebpf.Program, cgroup string) (link.Link, error)
}

func cgroupHook(name, prog string, at ebpf.AttachType) otherHook {
	return otherHook{name, "cgroup", at.String(), prog, func(p *ebpf.Program, cg string) (link.Link, error) {
		if cg == "" {
			return nil, errors.New("no cgroup2 hierarchy")
		}
		return link.AttachCgroup(link.CgroupOptions{Path: cg, Attach: at, Program: p})
	}}
}

func syscallHook(name, call, prog string) otherHook {
	return otherHook{name, "tracepoint", "syscalls/" + call, prog, func(p *ebpf.Program, _ string) (link.Link, error) {
		return link.Tracepoint("syscalls", call, p, nil)
	}}
}

func rawHook(name, tp, prog string) otherHook {
	return otherHook{name, "raw_tp", tp, prog, func(p *ebpf.Program, _ string) (link.Link, error) {
		return link.AttachRawTracepoint(link.RawTracepointOptions{Name: tp, Program: p})
	}}
}

var otherHooks = []otherHook{
	cgroupHook("socket owner", "cg_sock_create", ebpf.AttachCGroupInetSockCreate),
	cgroupHook("socket close", "cg_sock_release", ebpf.AttachCgroupInetSockRelease),
	cgroupHook("bind", "cg_post_bind4", ebpf.AttachCGroupInet4PostBind),
	cgroupHook("bind", "cg_post_bind6", ebpf.AttachCGroupInet6PostBind),
	cgroupHook("MPTCP connect", "cg_connect4", ebpf.AttachCGroupInet4Connect),
	cgroupHook("MPTCP connect", "cg_connect6", ebpf.AttachCGroupInet6Connect),
	syscallHook("socket", "sys_exit_socket", "sys_exit_socket"),
	syscallHook("socketpair", "sys_enter_socketpair", "sys_enter_socketpair"),
	syscallHook("socketpair", "sys_exit_socketpair", "sys_exit_socketpair"),
	syscallHook("listen", "sys_enter_listen", "sys_enter_listen"),
	syscallHook("listen", "sys_exit_listen", "sys_exit_listen"),
	syscallHook("accept", "sys_exit_accept", "sys_exit_accept"),
	syscallHook("accept", "sys_exit_accept4", "sys_exit_accept4"),
	syscallHook("unix bind", "sys_exit_bind", "sys_exit_bind"),
	syscallHook("unix, UDP, RAW connect", "sys_exit_connect", "sys_exit_connect"),
	syscallHook("unix close, hand-off", "sys_enter_close", "sys_enter_close"),
	rawHook("exec comm", "sched_process_exec", "sched_exec"),
	rawHook("owner exit", "sched_process_exit", "sched_exit"),
	rawHook("owner fork", "sched_process_fork", "sched_fork"),
}

// Tracer is a loaded and attached set of eBPF programs.
type Tracer struct {
	coll  *ebpf.Collection
	links []link.Link
	ring  *ring
	hooks []Hook
	lost  *ebpf.Map
	mu    sync.Mutex // serialises Read
	// batch holds events decoded from the ring and not yet returned by
	// Read (from bpos on); readErr is a decoding error to report after
	// them.
	batch   []Event
	bpos    int
	readErr error
	closing atomic.Bool
	poll    time.Duration // the current poll interval
	closed  chan struct{}
	once    sync.Once
	// state is the strategy's state program; nested its second one, if
	// any (whose recursion misses are not losses: the first program ran).
	state, nested string
	// owners joins owners, identities and addresses the kernel sends
	// once into the events it sends without them.
	owners *owners
	// comms interns process names: events repeat a few, and a string
	// per event is most of a decode's garbage.
	comms map[[16]byte]string
}

// maxComms bounds comms.
const maxComms = 4096

// decode decodes a record with interned comms.
func (t *Tracer) decode(b []byte, ev *Event) error {
	return decode(b, ev, t.comm)
}

func (t *Tracer) comm(raw []byte) string {
	var k [16]byte
	copy(k[:], raw)
	if s, ok := t.comms[k]; ok {
		return s
	}
	if t.comms == nil || len(t.comms) >= maxComms {
		t.comms = make(map[[16]byte]string)
	}
	s := cString(raw)
	t.comms[k] = s
	return s
}

// New loads the programs and attaches them: the TCP state hook by the first
// strategy that works (or opts.Strategy only), then the socket, syscall and
// process hooks. Hooks other than the state hook may fail; Strategies says
// which did and why.
func New(opts Options) (*Tracer, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("starting tracer: loading eBPF programs needs root (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN): %w", os.ErrPermission)
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("starting tracer: removing memlock limit: %w", err)
	}
	spec, err := bpf.LoadBpfstat()
	if err != nil {
		return nil, fmt.Errorf("starting tracer: reading BPF object: %w", err)
	}
	cands := strategies
	if opts.Strategy != "" {
		cands = nil
		for _, s := range strategies {
			if s.name == opts.Strategy {
				cands = []strategy{s}
			}
		}
		if cands == nil {
			return nil, fmt.Errorf("starting tracer: unknown strategy %q (want one of %v)", opts.Strategy, StrategyNames())
		}
	}
	tracefsErr := ensureTracefs()

	t := &Tracer{closed: make(chan struct{}), owners: newOwners(int32(opts.IgnorePID)), poll: pollInterval}
	var stateLinks []link.Link
	for _, s := range cands {
		h := Hook{Name: "tcp state", Strategy: s.name, Target: s.target}
		coll, l, err := loadWith(spec, s, opts)
		if err != nil {
			if s.name == "tracepoint" && tracefsErr != nil {
				err = fmt.Errorf("%w (%v)", err, tracefsErr)
			}
			h.Err = err
			t.hooks = append(t.hooks, h)
			continue
		}
		h.Attached = true
		t.hooks = append(t.hooks, h)
		t.coll, stateLinks, t.state, t.nested = coll, l, s.prog, s.nested
		break
	}
	if t.coll == nil {
		var errs []error
		for _, h := range t.hooks {
			errs = append(errs, fmt.Errorf("%s: %w", h.Strategy, h.Err))
		}
		return nil, fmt.Errorf("starting tracer: no way to attach the TCP state hook: %w", errors.Join(errs...))
	}
	t.links = append(t.links, stateLinks...)

	cg, cgErr := cgroup2Root()
	for _, o := range otherHooks {
		h := Hook{Name: o.name, Strategy: o.strategy, Target: o.target}
		l, err := o.attach(t.coll.Programs[o.prog], cg)
		switch {
		case err != nil && o.strategy == "cgroup" && cgErr != nil:
			h.Err = fmt.Errorf("attaching %s: %w", o.target, cgErr)
		case err != nil && o.strategy == "tracepoint" && tracefsErr != nil:
			h.Err = fmt.Errorf("attaching %s: %w (%v)", o.target, err, tracefsErr)
		case err != nil:
			h.Err = fmt.Errorf("attaching %s: %w", o.target, err)
		default:
			h.Attached = true
			t.links = append(t.links, l)
		}
		if o.strategy == "cgroup" && cg != "" {
			h.Target += " at " + cg
		}
		t.hooks = append(t.hooks, h)
	}

	t.lost = t.coll.Maps["lost"]
	ev := t.coll.Maps["events"]
	t.ring, err = newRing(ev.FD(), int(ev.MaxEntries()))
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("starting tracer: opening ring buffer: %w", err)
	}
	return t, nil
}

// loadWith loads the collection with only strategy s's state program, sets
// the runtime knobs, and attaches the state hook.
func loadWith(base *ebpf.CollectionSpec, s strategy, opts Options) (*ebpf.Collection, []link.Link, error) {
	spec := base.Copy()
	for _, o := range strategies {
		if o.name != s.name {
			delete(spec.Programs, o.prog)
			if o.nested != "" {
				delete(spec.Programs, o.nested)
			}
		}
	}
	if err := spec.Variables["track_by_ptr"].Set(!s.btf); err != nil {
		return nil, nil, fmt.Errorf("setting track_by_ptr: %w", err)
	}
	if err := spec.Variables["ignore_tgid"].Set(uint32(opts.IgnorePID)); err != nil {
		return nil, nil, fmt.Errorf("setting ignore_tgid: %w", err)
	}
	if opts.RingSize > 0 {
		spec.Maps["events"].MaxEntries = uint32(opts.RingSize)
	}
	wake := min(wakeupBytes, spec.Maps["events"].MaxEntries/4)
	if err := spec.Variables["wakeup_bytes"].Set(wake); err != nil {
		return nil, nil, fmt.Errorf("setting wakeup_bytes: %w", err)
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		return nil, nil, explain(s.name, fmt.Errorf("loading programs: %w", err))
	}
	var links []link.Link
	for _, p := range []string{s.prog, s.nested} {
		if p == "" {
			continue
		}
		l, err := s.attach(coll.Programs[p])
		if err != nil {
			for _, l := range links {
				l.Close()
			}
			coll.Close()
			return nil, nil, explain(s.name, fmt.Errorf("attaching %s %s: %w", s.name, s.target, err))
		}
		links = append(links, l)
	}
	return coll, links, nil
}

// explain says in words why a strategy is ruled out, where the kernel's
// errno alone would puzzle.
func explain(strategy string, err error) error {
	switch {
	case strategy == "fentry" && errors.Is(err, unix.EPERM):
		return fmt.Errorf("this kernel refuses fentry programs (lockdown, or no BPF trampoline): %w", err)
	case strategy == "kprobe" && (errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOTSUP)):
		return fmt.Errorf("this kernel has no kprobes (no perf_kprobe PMU, no kprobe_events): %w", err)
	}
	return err
}

// ensureTracefs mounts tracefs if no tracefs is reachable where cilium/ebpf
// looks for it, for the classic tracepoints.
func ensureTracefs() error {
	for _, d := range []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"} {
		if _, err := os.Stat(filepath.Join(d, "events")); err == nil {
			return nil
		}
	}
	if err := unix.Mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, ""); err != nil {
		return fmt.Errorf("mounting tracefs at /sys/kernel/tracing: %w", err)
	}
	return nil
}

// cgroup2Root finds the cgroup v2 hierarchy's root, mounting one under /run
// if there is none.
func cgroup2Root() (string, error) {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return "", fmt.Errorf("finding cgroup2 mount: %w", err)
	}
	p, ok := findMount(f, "cgroup2")
	f.Close()
	if ok {
		return p, nil
	}
	p = "/run/bpfstat/cgroup2"
	if err := os.MkdirAll(p, 0o755); err != nil {
		return "", fmt.Errorf("mounting cgroup2: %w", err)
	}
	if err := unix.Mount("cgroup2", p, "cgroup2", 0, ""); err != nil {
		return "", fmt.Errorf("mounting cgroup2 at %s: %w", p, err)
	}
	return p, nil
}

// The kernel wakes the reader once wakeupBytes are queued (a wakeup per
// record would cost an irq_work each); below that the reader finds records
// by polling every pollInterval, stretched to maxPollInterval while polls
// find nothing, which bounds both the added latency (p99 ~1-5 ms under
// load, at most maxPollInterval for a first event after a quiet spell)
// and how late Read notices that ctx ended.
const (
	wakeupBytes     = 128 << 10
	pollInterval    = 2 * time.Millisecond
	maxPollInterval = 8 * time.Millisecond
)

// Read returns the next event, blocking until one arrives, ctx ends, or
// the tracer is closed. It is not meant for concurrent use.
//
// Records are decoded in batches straight from the ring's memory, and the
// ring is handed back to the kernel once per batch; while records are
// queued Read makes no system call.
func (t *Tracer) Read(ctx context.Context) (Event, error) {
	t.mu.Lock()
	if t.bpos < len(t.batch) { // the common case, kept short
		t.bpos++
		ev := t.batch[t.bpos-1]
		t.mu.Unlock()
		return ev, nil
	}
	defer t.mu.Unlock()
	if err := t.await(ctx); err != nil {
		return Event{}, err
	}
	t.bpos++
	return t.batch[t.bpos-1], nil
}

// ReadBatch appends every event decoded so far to dst and returns it,
// blocking as Read does until there is one. A busy reader saves a call, a
// lock and a copy per event over Read.
func (t *Tracer) ReadBatch(ctx context.Context, dst []Event) ([]Event, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.await(ctx); err != nil {
		return dst, err
	}
	return t.take(dst), nil
}

// ReadQueued appends the events already queued to dst without waiting
// (none, if the ring is empty): what a reader that was told to stop
// still owes its output.
func (t *Tracer) ReadQueued(dst []Event) ([]Event, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.bpos >= len(t.batch) {
		if err := t.readable(); err != nil {
			return dst, err
		}
		t.fill()
	}
	return t.take(dst), nil
}

// take appends the batch's events not yet returned to dst. t.mu is held.
func (t *Tracer) take(dst []Event) []Event {
	dst = append(dst, t.batch[t.bpos:]...)
	t.bpos = len(t.batch)
	return dst
}

// readable says why nothing more can be read, if so: a decoding error
// (reported once), or ErrClosed. t.mu is held.
func (t *Tracer) readable() error {
	if err := t.readErr; err != nil {
		t.readErr = nil
		return err
	}
	if t.closing.Load() || t.ring == nil {
		return ErrClosed
	}
	return nil
}

// await returns once the batch holds an event not yet returned, or with
// why there will be none. t.mu is held.
func (t *Tracer) await(ctx context.Context) error {
	for t.bpos >= len(t.batch) {
		if err := t.readable(); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		t.fill()
		if len(t.batch) > 0 || t.readErr != nil {
			t.poll = pollInterval
			continue
		}
		// Nothing queued: wait for a wakeup, or poll again, less often
		// while nothing comes (an idle reader wakes maxPollInterval apart).
		if err := t.ring.wait(t.poll); err != nil {
			return err
		}
		t.poll = min(2*t.poll, maxPollInterval)
	}
	return nil
}

// batchMax bounds a batch: records are released to the kernel per batch.
const batchMax = 256

// fill decodes up to batchMax queued records into t.batch.
func (t *Tracer) fill() {
	if t.batch == nil {
		t.batch = make([]Event, 0, batchMax)
	}
	t.batch, t.bpos = t.batch[:0], 0
	for len(t.batch) < batchMax {
		b := t.ring.next()
		if b == nil {
			break
		}
		i := len(t.batch)
		t.batch = append(t.batch, Event{})
		ev := &t.batch[i]
		if err := t.decode(b, ev); err != nil {
			t.batch = t.batch[:i]
			t.readErr = err
			break
		}
		if t.owners.passiveEntry(ev) {
			// The child's LISTEN->SYN_RECV, from its next record (the
			// kernel sends none of its own): same socket, same time.
			t.batch = append(t.batch, *ev)
			st := &t.batch[i]
			st.Kind, st.OldState, st.NewState = KindState, sock.StateListen, sock.StateSynRecv
			st.Lifetime, st.BytesSent, st.BytesReceived = 0, 0, 0
			if !t.owners.join(st, orphan(b)) {
				t.batch[i] = t.batch[i+1]
				t.batch = t.batch[:i+1]
			}
			ev = &t.batch[len(t.batch)-1]
		}
		if !t.owners.join(ev, orphan(b)) {
			t.batch = t.batch[:len(t.batch)-1]
			continue
		}
		if tcpConnect(ev) {
			st := *ev
			ev.Kind, ev.OldState, ev.NewState = KindConnect, 0, 0
			t.batch = append(t.batch, st)
		}
	}
	t.ring.release()
}

// Lost is the number of events the kernel dropped since New: records the
// ring buffer had no room for, and hook runs the kernel skipped. A tracing
// program does not nest on a CPU: a state change in softirq context that
// interrupts the state hook already running there for another socket is
// not traced at all (the program's recursion_misses; seen under load:
// about one in 10^5 runs). Either way the events are gone, and a live
// table must resync.
func (t *Tracer) Lost() uint64 {
	c := t.Counters()
	n := c.RingFull + c.Skipped
	// Misses of the state program that the nested one took, less those it
	// took twice (which Read dropped).
	if c.Taken > c.Repeats {
		n -= min(n, c.Taken-c.Repeats)
	}
	return n
}

// Counters returns the tracer's loss counters.
func (t *Tracer) Counters() Counters {
	c := Counters{RingFull: sumPerCPU(t.lost), Repeats: t.owners.dups.Load(), Ignored: t.owners.ignored.Load()}
	if t.coll == nil {
		return c
	}
	for name, p := range t.coll.Programs {
		if name == t.nested {
			continue
		}
		st, err := p.Stats()
		if err != nil {
			continue
		}
		c.Skipped += st.RecursionMisses
		if name == t.state {
			c.StateRuns = st.RunCount
		}
	}
	c.Taken = sumPerCPU(t.coll.Maps["nested_taken"])
	c.Quiet = sumPerCPU(t.coll.Maps["state_quiet"])
	return c
}

// sumPerCPU is the sum over CPUs of a one-element per-CPU counter map; 0
// without the map.
func sumPerCPU(m *ebpf.Map) uint64 {
	var per []uint64
	if m == nil || m.Lookup(uint32(0), &per) != nil {
		return 0
	}
	var n uint64
	for _, v := range per {
		n += v
	}
	return n
}

// Strategies reports every hook tried, in order: attached or why not.
func (t *Tracer) Strategies() []Hook { return append([]Hook(nil), t.hooks...) }

// Close detaches every hook and frees the programs and maps.
func (t *Tracer) Close() error {
	var errs []error
	t.once.Do(func() {
		if t.ring != nil {
			// Read notices within one poll interval and lets go of mu.
			t.closing.Store(true)
			t.mu.Lock()
			t.ring.close()
			t.ring = nil
			t.mu.Unlock()
		}
		for i := len(t.links) - 1; i >= 0; i-- {
			errs = append(errs, t.links[i].Close())
		}
		if t.coll != nil {
			t.coll.Close()
		}
		close(t.closed)
	})
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("closing tracer: %w", err)
	}
	return nil
}

// MonotonicNow is CLOCK_MONOTONIC in ns, the clock of an Event's Time
// (bpf_ktime_get_ns); 0 if it cannot be read.
func MonotonicNow() uint64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return uint64(ts.Nano())
}

// Probe tries strategy name's TCP state hook alone, detaches it, and
// reports whether it attached and, if not, why.
func Probe(name string) Hook {
	h := Hook{Name: "tcp state", Strategy: name}
	var s *strategy
	for i := range strategies {
		if strategies[i].name == name {
			s = &strategies[i]
		}
	}
	if s == nil {
		h.Err = fmt.Errorf("unknown strategy %q", name)
		return h
	}
	h.Target = s.target
	if err := rlimit.RemoveMemlock(); err != nil {
		h.Err = fmt.Errorf("removing memlock limit: %w", err)
		return h
	}
	spec, err := bpf.LoadBpfstat()
	if err != nil {
		h.Err = fmt.Errorf("reading BPF object: %w", err)
		return h
	}
	if s.name == "tracepoint" {
		if err := ensureTracefs(); err != nil {
			h.Err = err
			return h
		}
	}
	coll, links, err := loadWith(spec, *s, Options{})
	if err != nil {
		h.Err = err
		return h
	}
	for _, l := range links {
		l.Close()
	}
	coll.Close()
	h.Attached = true
	return h
}
