//go:build linux

package e2e

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// daemonProc is a running `bpfstat daemon`, in a network namespace of its
// own so every query is answered for a client in another namespace.
type daemonProc struct {
	cmd    *exec.Cmd
	socket string
	stderr *bytes.Buffer
	done   chan struct{}
}

func startDaemon(t *testing.T, dir string, extra ...string) *daemonProc {
	t.Helper()
	d := &daemonProc{socket: filepath.Join(dir, "run", "bpfstat", "bpfstat.sock"), stderr: new(bytes.Buffer), done: make(chan struct{})}
	if err := os.MkdirAll(filepath.Join(dir, "run"), 0o755); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"daemon", "--socket", d.socket, "--group", "65534"}, extra...)
	d.cmd = exec.Command(bpfstatBin, args...)
	d.cmd.Env = append(os.Environ(), "BPFSTAT_DAEMON_READY_FD=3")
	d.cmd.ExtraFiles = []*os.File{w}
	d.cmd.Stderr = d.stderr
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("starting daemon: %v", err)
	}
	w.Close()
	go func() { d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() { d.stop(syscall.SIGKILL) })
	ready := make(chan bool, 1)
	go func() {
		b := make([]byte, 1)
		n, _ := r.Read(b)
		ready <- n == 1
		r.Close()
	}()
	select {
	case ok := <-ready:
		if !ok {
			<-d.done
			t.Fatalf("daemon exited before listening (%v):\n%s", d.cmd.ProcessState, d.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("daemon not listening after 30s:\n%s", d.stderr)
	}
	return d
}

func (d *daemonProc) stop(sig syscall.Signal) {
	select {
	case <-d.done:
		return
	default:
	}
	d.cmd.Process.Signal(sig)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
	}
}

// waitOwners asks the daemon until the zoo's sockets have owners in its
// table (its first seed runs in the background).
func waitSeeded(t *testing.T, d *daemonProc) {
	for i := 0; i < 100; i++ {
		r := runTool(t, bpfstatBin, -1, "--source=daemon", "--socket="+d.socket, "-tlnp")
		if r.code == 0 && strings.Contains(r.stdout, "zoo-") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("daemon never listed the zoo's owners:\n%s", d.stderr)
}

// listingFlagSets are the flag sets that print socket listings.
func listingFlagSets(t *testing.T) []string {
	var out []string
	for _, fs := range flagSets {
		args := strings.Fields(fs)
		if r := runTool(t, "/usr/bin/netstat", -1, args...); r.code != 0 || !strings.HasPrefix(r.stdout, "Active") {
			continue
		}
		if strings.Contains(" "+fs+" ", " -- ") {
			continue
		}
		out = append(out, fs)
	}
	return out
}

// TestDaemonListingsMatch: with the daemon answering (from another
// network namespace), every listing equals netstat's, for root and for a
// non-root client (owners of other users hidden, netstat's warning).
func TestDaemonListingsMatch(t *testing.T) {
	env := setup(t)
	dir := env.Dir
	startZoo(t, env)
	d := startDaemon(t, dir)
	waitSeeded(t, d)
	for _, uid := range []int{-1, 65534} {
		for _, fs := range listingFlagSets(t) {
			args := strings.Fields(fs)
			name := fs
			if uid >= 0 {
				name = "uid" + strconv.Itoa(uid) + " " + fs
			}
			t.Run(name, func(t *testing.T) {
				before := runTool(t, "/usr/bin/netstat", uid, args...)
				got := runTool(t, bpfstatBin, uid, append([]string{"--source=daemon", "--socket=" + d.socket}, args...)...)
				after := runTool(t, "/usr/bin/netstat", uid, args...)
				if got.code != before.code {
					t.Errorf("exit status %d, netstat %d (stderr %q)", got.code, before.code, got.stderr)
				}
				if got.stderr != before.stderr {
					t.Errorf("stderr differs:\nbpfstat: %q\nnetstat: %q", got.stderr, before.stderr)
				}
				if err := sameOutput(before.stdout, got.stdout, after.stdout); err != nil {
					t.Errorf("%v\n--- bpfstat:\n%s--- netstat:\n%s", err, got.stdout, before.stdout)
				}
			})
		}
	}
	// The comparison must have gone through both of the daemon's ways
	// to answer: the cached dump (numeric listings) and a dump at query
	// time (-o, unix sockets).
	st := daemonStats(t, d)
	if st["listingCacheHits"]+st["listingRenders"] == 0 || st["listingFresh"] == 0 {
		t.Errorf("listings did not use both the cache and fresh dumps: %v", st)
	}
	if t.Failed() {
		t.Logf("daemon log:\n%s", d.stderr)
	}
}

func daemonStats(t *testing.T, d *daemonProc) map[string]uint64 {
	t.Helper()
	r := runTool(t, bpfstatBin, -1, "daemon", "--stats", "--socket="+d.socket)
	st := map[string]uint64{}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("daemon --stats: %v (%q, %q)", err, r.stdout, r.stderr)
	}
	return st
}

// rawListen opens a TCP listener with plain system calls (Go's net
// would make it MPTCP) and returns its fd.
func rawListen(t *testing.T, port int) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		t.Fatal(err)
	}
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 8); err != nil {
		t.Fatal(err)
	}
	return fd
}

// TestDaemonCacheFollowsChanges: a numeric listing comes from the
// daemon's cached dump, which follows sockets opened and closed in the
// client's namespace within a refresh (polled, bounded); --fresh shows
// them at once; and every answer equals netstat's.
func TestDaemonCacheFollowsChanges(t *testing.T) {
	env := setup(t)
	startZoo(t, env)
	d := startDaemon(t, env.Dir)
	waitSeeded(t, d)
	args := []string{"--source=daemon", "--socket=" + d.socket, "-tln"}
	const addr = "127.0.0.1:47123"
	waitFor := func(present bool) {
		t.Helper()
		for i := 0; i < 100; i++ {
			r := runTool(t, bpfstatBin, -1, args...)
			if r.code == 0 && strings.Contains(r.stdout, addr) == present {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("the daemon's cached listing never showed %s present=%v:\n%s", addr, present, d.stderr)
	}
	compare := func(extra ...string) {
		t.Helper()
		before := runTool(t, "/usr/bin/netstat", -1, "-tln")
		got := runTool(t, bpfstatBin, -1, append(args, extra...)...)
		after := runTool(t, "/usr/bin/netstat", -1, "-tln")
		if got.code != 0 || got.stderr != before.stderr {
			t.Errorf("%v: exit %d, stderr %q", extra, got.code, got.stderr)
		}
		if err := sameOutput(before.stdout, got.stdout, after.stdout); err != nil {
			t.Errorf("%v: %v\n--- bpfstat:\n%s--- netstat:\n%s", extra, err, got.stdout, before.stdout)
		}
	}
	compare()
	fd := rawListen(t, 47123)
	waitFor(true)
	compare()
	unix.Close(fd)
	waitFor(false)
	compare()
	// --fresh dumps at query time: no wait.
	fd = rawListen(t, 47123)
	defer unix.Close(fd)
	if r := runTool(t, bpfstatBin, -1, append(args, "--fresh")...); !strings.Contains(r.stdout, addr) {
		t.Errorf("--fresh listing lacks the new listener %s:\n%s%s", addr, r.stdout, r.stderr)
	}
	compare("--fresh")
	// The listener's opening and its closing each replaced the cached
	// dump (whether the cache's first fill counts too depends on whether
	// a background refresh ran before the first query).
	if st := daemonStats(t, d); st["cacheDumpsChanged"] < 2 || st["listingFresh"] == 0 {
		t.Errorf("cache counters %v: want the dump replaced at least twice and a fresh listing", st)
	}
	// The background refresh reaches the client's namespace after the
	// client has exited: some refresh finds nothing changed (bounded
	// wait, refreshes run at least once a second).
	var st map[string]uint64
	for i := 0; i < 100; i++ {
		if st = daemonStats(t, d); st["cacheDumps"] > st["cacheDumpsChanged"] {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st["cacheDumps"] <= st["cacheDumpsChanged"] {
		t.Errorf("no background refresh of the client's namespace: %v\n%s", st, d.stderr)
	}
	if strings.Contains(d.stderr.String(), "refreshing the listing cache") {
		t.Errorf("daemon failed to refresh a cache:\n%s", d.stderr)
	}
}

// daemonProgIDs lists the BPF program ids the daemon holds open.
func daemonProgIDs(pid int) []string {
	dir := "/proc/" + strconv.Itoa(pid) + "/fdinfo"
	ents, _ := os.ReadDir(dir)
	var ids []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "prog_id:"); ok {
				ids = append(ids, strings.TrimSpace(v))
			}
		}
	}
	return ids
}

// TestDaemonLeavesNoBPF: after SIGTERM, SIGINT or SIGKILL none of the
// daemon's programs remain loaded (bpftool prog show id N fails).
func TestDaemonLeavesNoBPF(t *testing.T) {
	env := setup(t)
	dir := env.Dir
	bpftool, err := exec.LookPath("bpftool")
	if err != nil {
		t.Skip("needs bpftool")
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			d := startDaemon(t, dir)
			var ids []string
			for i := 0; i < 100 && len(ids) == 0; i++ {
				ids = daemonProgIDs(d.cmd.Process.Pid)
				time.Sleep(20 * time.Millisecond)
			}
			if len(ids) == 0 {
				t.Skipf("the daemon loaded no BPF programs (tracer not available):\n%s", d.stderr)
			}
			for _, id := range ids {
				if err := exec.Command(bpftool, "prog", "show", "id", id).Run(); err != nil {
					t.Fatalf("bpftool cannot see the daemon's program %s: %v", id, err)
				}
			}
			d.stop(sig)
			if sig != syscall.SIGKILL {
				if _, err := os.Stat(d.socket); err == nil {
					t.Errorf("socket %s left behind after %v", d.socket, sig)
				}
			}
			var left []string
			for i := 0; i < 100; i++ {
				left = left[:0]
				for _, id := range ids {
					if exec.Command(bpftool, "prog", "show", "id", id).Run() == nil {
						left = append(left, id)
					}
				}
				if len(left) == 0 {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
			t.Errorf("after %v, programs %v of the daemon's %v are still loaded", sig, left, ids)
		})
	}
}

// TestDaemonKilledMidQuery: clients in flight when the daemon is killed
// fail cleanly or finish; afterwards --source daemon says no daemon
// answers and --source auto falls back to a snapshot silently.
func TestDaemonKilledMidQuery(t *testing.T) {
	env := setup(t)
	dir := env.Dir
	startZoo(t, env)
	d := startDaemon(t, dir)
	waitSeeded(t, d)
	var wg sync.WaitGroup
	results := make(chan result, 64)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				results <- runTool(t, bpfstatBin, -1, "--source=daemon", "--socket="+d.socket, "-tanp")
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	d.stop(syscall.SIGKILL)
	wg.Wait()
	close(results)
	for r := range results {
		if r.code != 0 && !strings.Contains(r.stderr, "daemon") {
			t.Errorf("client failed without naming the daemon: %d %q", r.code, r.stderr)
		}
	}
	r := runTool(t, bpfstatBin, -1, "--source=daemon", "--socket="+d.socket, "-tan")
	if r.code == 0 || !strings.Contains(r.stderr, "no daemon answers") {
		t.Errorf("--source daemon with the daemon dead: exit %d, stderr %q", r.code, r.stderr)
	}
	before := runTool(t, "/usr/bin/netstat", -1, "-tanp")
	got := runTool(t, bpfstatBin, -1, "--source=auto", "--socket="+d.socket, "-tanp")
	after := runTool(t, "/usr/bin/netstat", -1, "-tanp")
	if got.code != 0 || got.stderr != before.stderr {
		t.Errorf("--source auto fallback: exit %d, stderr %q", got.code, got.stderr)
	}
	if err := sameOutput(before.stdout, got.stdout, after.stdout); err != nil {
		t.Errorf("--source auto fallback: %v", err)
	}
}

// TestDaemonMalformedRequests: garbage, a wrong version and an oversized
// length prefix sent to the real daemon get error replies, and the
// daemon keeps answering.
func TestDaemonMalformedRequests(t *testing.T) {
	env := setup(t)
	d := startDaemon(t, env.Dir)
	for _, payload := range [][]byte{
		[]byte("\x00\x00\x00\x05hello"),
		[]byte("\x00\x00\x00\x19{\"v\":7,\"kind\":\"sockets\"}"),
		[]byte("\xff\xff\xff\xff"),
		[]byte("\x00\x00\x00\x01"), // then silence
	} {
		c, err := net.Dial("unix", d.socket)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write(payload)
		var l [4]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			t.Errorf("%q: no reply: %v", payload, err)
			c.Close()
			continue
		}
		b := make([]byte, binary.BigEndian.Uint32(l[:]))
		io.ReadFull(c, b)
		c.Close()
		if !strings.Contains(string(b), `"error"`) {
			t.Errorf("%q: reply %s, want an error", payload, b)
		}
	}
	r := runTool(t, bpfstatBin, -1, "--source=daemon", "--socket="+d.socket, "-tan")
	if r.code != 0 {
		t.Fatalf("daemon stopped answering after malformed requests: %q\n%s", r.stderr, d.stderr)
	}
}
