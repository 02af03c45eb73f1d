//go:build linux

package placeholder

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// strategy is one way to run a program on every TCP state change, in the
// order the tracer's fallback chain tries them.
type strategy struct {
	name   string
	prog   ebpf.ProgramSpec
	attach func(*ebpf.Program) (link.Link, error)
}

var strategies = []strategy{
	{
		name: "fentry",
		prog: ebpf.ProgramSpec{Type: ebpf.Tracing, AttachType: ebpf.AttachTraceFEntry, AttachTo: "tcp_set_state"},
		attach: func(p *ebpf.Program) (link.Link, error) {
			return link.AttachTracing(link.TracingOptions{Program: p})
		},
	},
	{
		name: "tp_btf",
		prog: ebpf.ProgramSpec{Type: ebpf.Tracing, AttachType: ebpf.AttachTraceRawTp, AttachTo: "inet_sock_set_state"},
		attach: func(p *ebpf.Program) (link.Link, error) {
			return link.AttachTracing(link.TracingOptions{Program: p})
		},
	},
	{
		name: "raw_tp",
		prog: ebpf.ProgramSpec{Type: ebpf.RawTracepoint},
		attach: func(p *ebpf.Program) (link.Link, error) {
			return link.AttachRawTracepoint(link.RawTracepointOptions{Name: "inet_sock_set_state", Program: p})
		},
	},
	{
		name: "tracepoint",
		prog: ebpf.ProgramSpec{Type: ebpf.TracePoint},
		attach: func(p *ebpf.Program) (link.Link, error) {
			if err := mountTracefs(); err != nil {
				return nil, err
			}
			return link.Tracepoint("sock", "inet_sock_set_state", p, nil)
		},
	},
	{
		name: "kprobe",
		prog: ebpf.ProgramSpec{Type: ebpf.Kprobe},
		attach: func(p *ebpf.Program) (link.Link, error) {
			return link.Kprobe("tcp_set_state", p, nil)
		},
	},
}

func TestIntegrationStateChanges(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs Linux: loads BPF programs")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: loads BPF programs")
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		t.Fatalf("removing memlock limit: %v", err)
	}
	pinned := os.Getenv("BPFSTAT_STRATEGY")
	found := false
	for _, s := range strategies {
		if pinned != "" && s.name != pinned {
			continue
		}
		found = true
		t.Run(s.name, func(t *testing.T) { testStrategy(t, s) })
	}
	if !found {
		t.Fatalf("BPFSTAT_STRATEGY=%q names no strategy", pinned)
	}
}

func testStrategy(t *testing.T, s strategy) {
	counter, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		t.Fatalf("creating counter map: %v", err)
	}
	defer counter.Close()

	spec := s.prog
	spec.Name = "kmatrix_" + s.name
	spec.License = "GPL"
	spec.Instructions = countInstructions(counter.FD())
	prog, err := ebpf.NewProgram(&spec)
	if err != nil {
		t.Skipf("strategy %s ruled out: loading program: %v", s.name, err)
	}
	defer prog.Close()
	l, err := s.attach(prog)
	if err != nil {
		t.Skipf("strategy %s ruled out: attaching: %v", s.name, err)
	}
	defer l.Close()
	t.Logf("strategy %s attached", s.name)

	before := count(t, counter)
	const conns = 4
	for _, network := range []string{"tcp4", "tcp6"} {
		if err := inPrivateNetns(func() error { return connect(network, conns) }); err != nil {
			t.Fatalf("making %s connections: %v", network, err)
		}
	}
	got := count(t, counter) - before
	// Each connection moves both ends through several states; two per
	// connection is a floor every strategy must reach.
	if want := uint64(2 * 2 * conns); got < want {
		t.Errorf("strategy %s: program ran %d times for %d connections, want at least %d", s.name, got, 2*conns, want)
	}
}

// countInstructions increments the single slot of the array map fd.
func countInstructions(fd int) asm.Instructions {
	return asm.Instructions{
		asm.StoreImm(asm.RFP, -4, 0, asm.Word),
		asm.LoadMapPtr(asm.R1, fd),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -4),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		asm.Mov.Imm(asm.R1, 1),
		asm.StoreXAdd(asm.R0, asm.R1, asm.DWord),
		asm.Mov.Imm(asm.R0, 0).WithSymbol("out"),
		asm.Return(),
	}
}

func count(t *testing.T, m *ebpf.Map) uint64 {
	t.Helper()
	var v uint64
	if err := m.Lookup(uint32(0), &v); err != nil {
		t.Fatalf("reading counter: %v", err)
	}
	return v
}

// connect opens n loopback connections, sends a byte over each and closes
// both ends.
func connect(network string, n int) error {
	addr := "127.0.0.1:0"
	if network == "tcp6" {
		addr = "[::1]:0"
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	for range n {
		c, err := net.Dial(network, ln.Addr().String())
		if err != nil {
			return err
		}
		s, err := ln.Accept()
		if err != nil {
			c.Close()
			return err
		}
		_, err = c.Write([]byte{1})
		if err == nil {
			_, err = io.ReadFull(s, make([]byte, 1))
		}
		c.Close()
		s.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// inPrivateNetns runs f on a thread moved into a new network namespace with
// lo up, so the test's traffic never mixes with the host's. The thread is
// never unlocked, so the runtime discards it afterwards.
func inPrivateNetns(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("creating network namespace: %w", err)
			return
		}
		if err := loUp(); err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	return <-errc
}

func loUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bringing up lo: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("bringing up lo: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing up lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing up lo: %w", err)
	}
	return nil
}

// mountTracefs mounts tracefs where cilium/ebpf looks for it, as the tracer
// does for its classic-tracepoint strategy.
func mountTracefs() error {
	if _, err := os.Stat("/sys/kernel/tracing/events"); err == nil {
		return nil
	}
	if err := unix.Mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, ""); err != nil && !errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("mounting tracefs: %w", err)
	}
	return nil
}
