package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bpfstat/bpfstat/internal/sock"
	"github.com/bpfstat/bpfstat/tracer"
)

// followOptions are the --follow stream's filters, filled by the netstat
// flag parser from -t -u -w -x -4 -6 --port --pid --state --json.
type followOptions struct {
	JSON                bool
	TCP, UDP, Raw, Unix bool // none set: all
	Inet4, Inet6        bool // none set: both
	Ports               []uint16
	PIDs                []int32
	States              []sock.State
	// Strategy pins the TCP state hook (see `bpfstat doctor`); empty: the
	// first that works, or $BPFSTAT_STRATEGY.
	Strategy string
	// includeSelf keeps events of bpfstat's own sockets (tests).
	includeSelf bool
}

// lostCheckEvery is how often, at most, the kernel's lost-event counter is
// read while events flow.
const lostCheckEvery = time.Second

// runFollow streams socket events until ctx ends: one line per event, as
// text or (--json) one JSON object per line. Losses are reported on stderr.
func runFollow(ctx context.Context, stdout, stderr io.Writer, o followOptions) error {
	if o.Strategy == "" {
		o.Strategy = os.Getenv("BPFSTAT_STRATEGY")
	}
	topts := tracer.Options{Strategy: o.Strategy, IgnorePID: os.Getpid()}
	if o.includeSelf {
		topts.IgnorePID = 0
	}
	tr, err := tracer.New(topts)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("--follow needs root to load its eBPF programs: %w", err)
		}
		return fmt.Errorf("--follow: %w", err)
	}
	defer tr.Close()

	var lost uint64
	checkLost := func() {
		if n := tr.Lost(); n > lost {
			fmt.Fprintf(stderr, "bpfstat: %d events lost (ring buffer full), %d in total\n", n-lost, n)
			lost = n
		}
	}
	defer checkLost()

	// The moment the stream is told to stop (SIGINT/SIGTERM): events up
	// to then are still written, even if the output was blocked then.
	var stopAt atomic.Uint64
	context.AfterFunc(ctx, func() { stopAt.Store(tracer.MonotonicNow()) })
	// Lines are buffered per batch of events and flushed before the
	// reader waits for more: a write per batch, not per event.
	out := bufio.NewWriterSize(stdout, 64<<10)
	p := newFollowPrinter(out, o.JSON)
	p.header()
	var batch []tracer.Event
	lastCheck := time.Now()
	for {
		if err := out.Flush(); err != nil {
			return fmt.Errorf("--follow: writing: %w", err)
		}
		batch, err = tr.ReadBatch(ctx, batch[:0])
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, tracer.ErrClosed) {
				// SIGINT/SIGTERM: a clean end, once the events that
				// happened before it are out.
				return drain(tr, p, out, &o, batch[:0], stopAt.Load())
			}
			return fmt.Errorf("--follow: %w", err)
		}
		if _, err := p.printBatch(batch, &o, math.MaxUint64); err != nil {
			return fmt.Errorf("--follow: writing: %w", err)
		}
		if time.Since(lastCheck) >= lostCheckEvery {
			checkLost()
			lastCheck = time.Now()
		}
	}
}

// drain prints the events still queued that happened by stop, the moment
// --follow was told to stop (CLOCK_MONOTONIC ns); it ends at the first
// batch made only of later ones (the stream may go on while it drains).
func drain(tr *tracer.Tracer, p *followPrinter, out *bufio.Writer, o *followOptions, batch []tracer.Event, stop uint64) error {
	if stop == 0 {
		stop = tracer.MonotonicNow()
	}
	for {
		var err error
		batch, err = tr.ReadQueued(batch[:0])
		if err != nil || len(batch) == 0 {
			break
		}
		earlier, err := p.printBatch(batch, o, stop)
		if err != nil {
			return fmt.Errorf("--follow: writing: %w", err)
		}
		if !earlier {
			break
		}
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("--follow: writing: %w", err)
	}
	return nil
}

// printBatch prints the events of batch that o selects and that happened
// by until (CLOCK_MONOTONIC ns); it says whether any happened by then.
func (p *followPrinter) printBatch(batch []tracer.Event, o *followOptions, until uint64) (bool, error) {
	p.clock()
	earlier := false
	for i := range batch {
		ev := &batch[i]
		if ev.Time > until {
			continue
		}
		earlier = true
		if o.match(ev) {
			if err := p.print(ev); err != nil {
				return earlier, err
			}
		}
	}
	return earlier, nil
}

// match applies netstat's selection flags to one event.
func (o *followOptions) match(ev *tracer.Event) bool {
	if ev.Kind == tracer.KindDisown {
		return false // a change of owner for tables; the stream's kinds are the socket's own
	}
	anyProto := o.TCP || o.UDP || o.Raw || o.Unix
	switch ev.Proto {
	case sock.ProtoTCP:
		if anyProto && !o.TCP {
			return false
		}
	case sock.ProtoUDP, sock.ProtoUDPLite:
		if anyProto && !o.UDP {
			return false
		}
	case sock.ProtoRaw:
		if anyProto && !o.Raw {
			return false
		}
	case sock.ProtoUnix:
		// -4/-6 alone select inet sockets only, as in netstat.
		if anyProto && !o.Unix || !anyProto && (o.Inet4 || o.Inet6) {
			return false
		}
	default:
		if anyProto {
			return false
		}
	}
	if (o.Inet4 || o.Inet6) && ev.Proto != sock.ProtoUnix {
		if ev.Family == sock.FamilyInet && !o.Inet4 || ev.Family == sock.FamilyInet6 && !o.Inet6 {
			return false
		}
	}
	if len(o.Ports) > 0 && !slices.Contains(o.Ports, ev.Local.Port()) && !slices.Contains(o.Ports, ev.Remote.Port()) {
		return false
	}
	if len(o.PIDs) > 0 && !slices.Contains(o.PIDs, ev.PID) {
		return false
	}
	if len(o.States) > 0 && !slices.Contains(o.States, ev.NewState) {
		return false
	}
	return true
}

type followPrinter struct {
	w    io.Writer
	json bool
	enc  *json.Encoder
	buf  []byte
	// wall and mono are the wall clock and CLOCK_MONOTONIC read together,
	// once per batch, to put wall-clock times on events (text output).
	wall time.Time
	mono uint64
}

// clock reads the clocks for the next batch's times.
func (p *followPrinter) clock() {
	if !p.json {
		p.mono, p.wall = tracer.MonotonicNow(), time.Now()
	}
}

func newFollowPrinter(w io.Writer, asJSON bool) *followPrinter {
	p := &followPrinter{w: w, json: asJSON}
	if asJSON {
		p.enc = json.NewEncoder(w)
	}
	return p
}

const followFormat = "%-15s %-7s %-5s %-30s %-30s %-23s %-22s %5s %s\n"

func (p *followPrinter) header() {
	if !p.json {
		fmt.Fprintf(p.w, followFormat, "TIME", "EVENT", "PROTO", "LOCAL ADDRESS", "REMOTE ADDRESS", "STATE", "PID/COMM", "UID", "DETAILS")
	}
}

// followJSON is one --json line; keys are stable, for scripts.
type followJSON struct {
	TS            uint64 `json:"ts"`
	Event         string `json:"event"`
	Proto         string `json:"proto"`
	Family        string `json:"family"`
	Saddr         string `json:"saddr"`
	Sport         uint16 `json:"sport"`
	Daddr         string `json:"daddr"`
	Dport         uint16 `json:"dport"`
	OldState      string `json:"oldstate"`
	NewState      string `json:"newstate"`
	PID           int32  `json:"pid"`
	Comm          string `json:"comm"`
	UID           uint32 `json:"uid"`
	FD            int32  `json:"fd"`
	Inode         uint64 `json:"inode"`
	Cookie        uint64 `json:"cookie"`
	NetNS         uint64 `json:"netns"`
	Path          string `json:"path,omitempty"`
	MPTCP         bool   `json:"mptcp,omitempty"`
	LifetimeNS    int64  `json:"lifetime_ns,omitempty"`
	BytesSent     uint64 `json:"bytes_sent,omitempty"`
	BytesReceived uint64 `json:"bytes_received,omitempty"`
}

// stateName is netstat's name for a state, "" where the event has none.
func stateName(s sock.State) string {
	if s == 0 {
		return ""
	}
	return s.String()
}

func (p *followPrinter) print(ev *tracer.Event) error {
	if p.json {
		j := followJSON{
			TS: ev.Time, Event: ev.Kind.String(), Proto: protoName(ev), Family: ev.Family.String(),
			OldState: stateName(ev.OldState), NewState: stateName(ev.NewState),
			PID: ev.PID, Comm: ev.Comm, UID: ev.UID, FD: ev.FD,
			Inode: ev.Inode, Cookie: ev.Cookie, NetNS: ev.NetNS, MPTCP: ev.MPTCP, Path: ev.Path,
		}
		if ev.Local.IsValid() {
			j.Saddr, j.Sport = ev.Local.Addr().String(), ev.Local.Port()
			j.Daddr, j.Dport = ev.Remote.Addr().String(), ev.Remote.Port()
		}
		if ev.Kind == tracer.KindClose && ev.Proto == sock.ProtoTCP {
			j.LifetimeNS, j.BytesSent, j.BytesReceived = int64(ev.Lifetime), ev.BytesSent, ev.BytesReceived
		}
		return p.enc.Encode(&j)
	}

	if p.mono == 0 {
		p.clock()
	}
	ts := p.wall.Add(-time.Duration(int64(p.mono) - int64(ev.Time))).Format("15:04:05.000000")
	local, remote := "-", "-"
	if ev.Local.IsValid() {
		local, remote = ev.Local.String(), ev.Remote.String()
	} else if ev.Path != "" {
		local = ev.Path
	}
	state := ""
	switch {
	case ev.OldState != 0 && ev.Proto == sock.ProtoTCP:
		state = ev.OldState.String() + "->" + ev.NewState.String()
	case ev.NewState != 0 && ev.Proto == sock.ProtoTCP:
		state = ev.NewState.String()
	}
	owner := "-"
	if ev.PID != 0 {
		owner = fmt.Sprintf("%d/%s", ev.PID, ev.Comm)
	}
	uid := "-"
	if ev.PID != 0 {
		uid = fmt.Sprint(ev.UID)
	}
	var details []string
	if ev.Kind == tracer.KindClose && ev.Proto == sock.ProtoTCP && ev.OldState != sock.StateListen {
		details = append(details, "lifetime="+ev.Lifetime.Round(time.Microsecond).String(),
			fmt.Sprintf("tx=%d rx=%d", ev.BytesSent, ev.BytesReceived))
	}
	if ev.Inode != 0 {
		details = append(details, fmt.Sprintf("inode=%d", ev.Inode))
	}
	if ev.MPTCP {
		details = append(details, "mptcp")
	}
	_, err := fmt.Fprintf(p.w, followFormat, ts, ev.Kind, protoName(ev), local, remote, state, owner, uid, strings.Join(details, " "))
	return err
}

func protoName(ev *tracer.Event) string {
	if ev.Proto == sock.ProtoUDPLite {
		return "udp"
	}
	return ev.Proto.String()
}
