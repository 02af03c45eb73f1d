package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// modesNetnsSetup builds the namespace the end-to-end tests compare in:
// veths with aliases, a 15-byte name, tun/tap, a bridge, IPv4 and IPv6
// routes of every kind and multicast joins. Addresses are documentation
// ranges; DNS points at 127.0.0.1 so look-ups fail at once, locally.
const modesNetnsSetup = `
mount --bind "$RESOLV" /etc/resolv.conf
ip link set lo up
ip link add vethA type veth peer name vethB
ip link add abcdefghijklmno type veth peer name p1
for l in vethA vethB abcdefghijklmno p1; do ip link set $l up; done
ip addr add 192.0.2.10/24 dev vethA
ip addr add 192.0.2.11/24 dev vethA label vethA:1
ip addr add 198.51.100.1/32 peer 198.51.100.2 dev vethB
ip addr add 203.0.113.5/28 dev abcdefghijklmno
ip addr add 2001:db8::10/64 dev vethA nodad
ip addr add 2001:db8:1::1/48 dev vethB nodad
ip tuntap add tap0 mode tap || true
ip tuntap add tun0 mode tun && ip link set tun0 up || true
ip link add br0 type bridge && ip link set br0 mtu 1400 || true
ip route add 10.0.0.0/8 via 192.0.2.1
ip route add 10.1.2.3 via 192.0.2.1 metric 5
ip route add blackhole 10.9.0.0/16
ip route add unreachable 10.10.0.0/16
ip route add prohibit 10.11.0.0/16
ip route add 127.0.0.0/8 via 192.0.2.1 dev vethA metric 7 || true
ip route add 169.254.0.0/16 dev vethA
ip route add default via 192.0.2.1 mtu 1300 window 1000 rtt 30
ip -6 route add 2001:db8:2::/48 via 2001:db8::1
ip -6 route add ::ffff:0:0/96 dev vethA || true
ip -6 route add unreachable 2001:db8:3::/48
ip -6 route add default via 2001:db8::1 metric 2048
ip maddr add 01:00:5e:00:00:fb dev vethA
ip addr add 224.0.0.251/32 dev vethA autojoin 2>/dev/null || true
`

type modesNetns struct {
	pid string
}

func newModesNetns(t *testing.T) *modesNetns {
	t.Helper()
	dir := t.TempDir()
	resolv := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(resolv, []byte("nameserver 127.0.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("unshare", "-n", "-m", "--propagation", "private", "sh", "-ec",
		modesNetnsSetup+"\necho ready\nexec sleep 900\n")
	cmd.Env = append(os.Environ(), "RESOLV="+resolv)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot create a network namespace: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Skipf("setting up the test namespace failed: %v %s", err, stderr.String())
	}
	// Let IPv6 and IGMP chatter on the fresh links settle.
	time.Sleep(2 * time.Second)
	return &modesNetns{pid: strconv.Itoa(cmd.Process.Pid)}
}

type modesResult struct {
	stdout, stderr string
	rc             int
}

func (n *modesNetns) run(t *testing.T, timeout time.Duration, argv ...string) modesResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", n.pid, "-n", "-m", "--"}, argv...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var timer *time.Timer
	if timeout > 0 {
		// -c runs until interrupted, as a user's Ctrl-C would.
		timer = time.AfterFunc(timeout, func() { cmd.Process.Signal(syscall.SIGINT) })
		defer timer.Stop()
	}
	err := cmd.Wait()
	rc := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		rc = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return modesResult{o.String(), e.String(), rc}
}

func modesBuildBpfstat(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bpfstat")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building bpfstat: %v\n%s", err, out)
	}
	return bin
}

func modesNeedNetstat(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("net-tools netstat comparison is Linux-only")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for a private network namespace")
	}
	p, err := exec.LookPath("netstat")
	if err != nil {
		t.Skip("net-tools netstat is not installed")
	}
	out, _ := exec.Command(p, "-V").Output()
	if !strings.Contains(string(out), "net-tools 2.10") {
		t.Skipf("netstat is not net-tools 2.10: %q", out)
	}
	return p
}

// TestModesAgainstNetstat compares bpfstat with net-tools netstat 2.10 in a
// private network namespace, flag set by flag set: stdout, stderr and
// exit status. Interface and protocol counters can move between two runs
// (IPv6 neighbour discovery, MLD), so bpfstat is bracketed by two netstat
// runs and must equal one of them; a few attempts absorb bursts.
func TestModesAgainstNetstat(t *testing.T) {
	netstat := modesNeedNetstat(t)
	bin := modesBuildBpfstat(t)
	ns := newModesNetns(t)
	t.Run("once", func(t *testing.T) { modesCompareOnce(t, ns, netstat, bin) })
	t.Run("continuous", func(t *testing.T) { modesCompareContinuous(t, ns, netstat, bin) })
}

func modesCompareOnce(t *testing.T, ns *modesNetns, netstat, bin string) {
	sets := []string{
		"-i", "-ia", "-ie", "-iea", "-ieea", "-in", "-iW", "-iv", "-ian", "--interfaces --all",
		"-s", "-st", "-su", "-sw", "-sx", "-s4", "-s6", "-s -A inet6", "-s6t", "-s6u", "-s6w", "-sn",
		"-sS", "-sU", "-stu", "-s46", "-s --inet6 --tcp", "-sc",
		"-r", "-rn", "-re", "-ree", "-reee", "-reeee", "-ren", "-reen", "-r6", "-rn6", "-r -A inet6",
		"-rC", "-rCF", "-rnC", "-rn6C", "-rn6CF", "-rv", "-rnN", "-rN", "-r -A inet,inet6", "-r -A unix",
		"-r -A ax25", "-r -A ddp", "-r --numeric-hosts", "-r4",
		"-g", "-gn", "-g6", "-gn6", "-g4", "-gn4", "-g -A inet6", "--groups --numeric",
		"-M", "-Mn", "-Mc", "-Z", "-iZ", "-ir", "-rs",
	}
	for _, set := range sets {
		args := strings.Fields(set)
		t.Run(set, func(t *testing.T) {
			var got, ref1, ref2 modesResult
			for attempt := 0; attempt < 4; attempt++ {
				ref1 = ns.run(t, 0, append([]string{netstat}, args...)...)
				got = ns.run(t, 0, append([]string{bin}, args...)...)
				if got == ref1 {
					return
				}
				ref2 = ns.run(t, 0, append([]string{netstat}, args...)...)
				if got == ref2 {
					return
				}
			}
			t.Errorf("netstat %s: exit %d/%d\n--- bpfstat stdout\n%s--- netstat stdout\n%s--- bpfstat stderr\n%s--- netstat stderr\n%s",
				set, got.rc, ref2.rc, got.stdout, ref2.stdout, got.stderr, ref2.stderr)
		})
	}
}

// modesRounds cuts output into the complete rounds of -c: everything
// before the last occurrence of the round's first line.
func modesRounds(out, first string) (string, int) {
	n := strings.Count(out, first)
	if n < 2 {
		return "", n
	}
	i := strings.LastIndex(out, first)
	return out[:i], n - 1
}

// modesCompareContinuous runs -c views for about 2.5 s and compares the
// complete rounds both printed, then checks that SIGINT ends bpfstat with
// status 0.
func modesCompareContinuous(t *testing.T, ns *modesNetns, netstat, bin string) {
	for _, c := range []struct{ flags, first string }{
		{"-rnc", "Kernel IP routing table\n"},
		{"-r6c", "Kernel IPv6 routing table\n"},
		{"-gnc", "IPv6/IPv4 Group Memberships\n"},
		{"-gc", "IPv6/IPv4 Group Memberships\n"},
		{"-ic", "Iface             MTU"},
		{"-iec", "lo: flags="},
	} {
		t.Run(c.flags, func(t *testing.T) {
			want := ns.run(t, 2500*time.Millisecond, netstat, c.flags)
			got := ns.run(t, 2500*time.Millisecond, bin, c.flags)
			if got.rc != 0 {
				t.Errorf("bpfstat %s after SIGINT: exit status %d, want 0", c.flags, got.rc)
			}
			w, wn := modesRounds(want.stdout, c.first)
			g, gn := modesRounds(got.stdout, c.first)
			n := min(wn, gn)
			if n < 1 {
				t.Fatalf("too few rounds: netstat %d, bpfstat %d", wn, gn)
			}
			// Compare the first n complete rounds.
			cut := func(s string, n int) string {
				idx := 0
				for i := 0; i <= n; i++ {
					j := strings.Index(s[idx+1:], c.first)
					if j < 0 {
						return s
					}
					idx += j + 1
				}
				return s[:idx]
			}
			if !strings.HasPrefix(c.flags, "-i") {
				if cut(w, n-1) != cut(g, n-1) {
					t.Errorf("rounds differ\n--- bpfstat\n%s--- netstat\n%s", g, w)
				}
			} else if strings.Count(g, "\n") == 0 || (n >= 1 && len(strings.Split(cut(w, n-1), "\n")) != len(strings.Split(cut(g, n-1), "\n"))) {
				// Counters move: compare the shape (line count) only.
				t.Errorf("rounds differ in shape\n--- bpfstat\n%s--- netstat\n%s", g, w)
			}
			wl, gl := strings.Split(want.stderr, "\n"), strings.Split(got.stderr, "\n")
			m := min(len(wl), len(gl)) - 1
			if m > 0 && strings.Join(wl[:m], "\n") != strings.Join(gl[:m], "\n") {
				t.Errorf("stderr differs\n--- bpfstat\n%s--- netstat\n%s", got.stderr, want.stderr)
			}
		})
	}
}
