//go:build linux

package e2e

import (
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bpfstat/bpfstat/internal/testns"
)

// The differential test throws random netstat command lines at both tools
// on the zoo: the fixed flagSets of TestNetstatListingsMatch cover what
// the issue names, these cover what a user might type (abbreviated long
// options, clusters, -A lists, stray operands, bad combinations).
//
// BPFSTAT_DIFF_SEED and BPFSTAT_DIFF_N change the seed and the number of
// cases (default 1 and 400); the cases are deterministic for a seed.

// shortFlags are netstat's option letters with a weight each; -V is left
// out (bpfstat names itself there on purpose) and -c is handled apart.
var diffShorts = []struct {
	c string
	w int
}{
	{"a", 10}, {"l", 6}, {"n", 12}, {"t", 10}, {"u", 8}, {"U", 4}, {"w", 5}, {"x", 6},
	{"p", 8}, {"e", 8}, {"o", 5}, {"W", 4}, {"v", 3}, {"4", 4}, {"6", 4}, {"S", 2},
	{"d", 1}, {"N", 1}, {"2", 1}, {"f", 1}, {"C", 1}, {"F", 1}, {"Z", 1}, {"h", 1}, {"?", 1},
	// Modes: another engineer's, but the parser decides which runs.
	{"i", 1}, {"r", 1}, {"s", 1}, {"g", 1}, {"M", 1},
	// Not netstat options at all, one of them getopt's own ':' and one a
	// byte that is not ASCII.
	{"k", 1}, {"q", 1}, {":", 1}, {"\xe9", 1},
}

// diffLongs are netstat's long options (net-tools' table) with weights;
// "version" and "continuous" are left out as -V and -c are.
var diffLongs = []struct {
	name string
	w    int
}{
	{"ax25", 1}, {"x25", 1}, {"ip", 2}, {"ipx", 1}, {"appletalk", 1}, {"netrom", 1},
	{"inet", 5}, {"inet6", 5}, {"ddp", 1}, {"rose", 1}, {"unix", 5}, {"bluetooth", 1},
	{"tcpip", 2}, {"interfaces", 1}, {"help", 1}, {"route", 1}, {"masquerade", 1},
	{"protocol", 4}, {"tcp", 8}, {"sctp", 1}, {"udp", 6}, {"udplite", 3}, {"raw", 4},
	{"l2cap", 1}, {"rfcomm", 1}, {"listening", 5}, {"all", 8}, {"timers", 3},
	{"extend", 5}, {"programs", 6}, {"verbose", 2}, {"statistics", 1}, {"wide", 3},
	{"numeric", 8}, {"numeric-hosts", 4}, {"numeric-ports", 4}, {"numeric-users", 4},
	{"symbolic", 1}, {"cache", 1}, {"fib", 1}, {"groups", 1}, {"context", 1},
	// Unknown.
	{"bogus", 1}, {"numerical", 1},
}

// diffFamilies are -A arguments: net-tools' aliases, and some it lacks.
var diffFamilies = []string{
	"inet", "inet", "inet6", "inet6", "ip", "ip6", "tcpip", "unix", "unix", "ipx", "ax25",
	"netrom", "x25", "rose", "ddp", "appletalk", "bluetooth", "econet", "ash", "foo", "", "INET", "inet4",
	"=inet", "--json", // bpfstat's own option names are families here
}

func pickWeighted[T any](r *rand.Rand, items []T, weight func(T) int) T {
	total := 0
	for _, it := range items {
		total += weight(it)
	}
	n := r.Intn(total)
	for _, it := range items {
		n -= weight(it)
		if n < 0 {
			return it
		}
	}
	return items[len(items)-1]
}

func pickShort(r *rand.Rand) string {
	return pickWeighted(r, diffShorts, func(s struct {
		c string
		w int
	}) int {
		return s.w
	}).c
}

func familyList(r *rand.Rand) string {
	n := 1 + r.Intn(3)
	if r.Intn(3) > 0 {
		n = 1
	}
	var fs []string
	for i := 0; i < n; i++ {
		fs = append(fs, diffFamilies[r.Intn(len(diffFamilies))])
	}
	return strings.Join(fs, ",")
}

// abbreviate returns name or a prefix of it: mostly one long enough to be
// unique in netstat's table, sometimes an ambiguous one.
func abbreviate(r *rand.Rand, name string) string {
	if r.Intn(3) > 0 || len(name) < 2 {
		return name
	}
	return name[:1+r.Intn(len(name)-1)]
}

// diffArgs makes one random command line.
func diffArgs(r *rand.Rand) []string {
	var args []string
	n := 1 + r.Intn(4)
	for i := 0; i < n; i++ {
		switch k := r.Intn(100); {
		case k < 35: // one short option
			args = append(args, "-"+pickShort(r))
		case k < 55: // a cluster
			c := "-"
			for j := 1 + r.Intn(5); j >= 0; j-- {
				c += pickShort(r)
			}
			if r.Intn(6) == 0 { // ending in -A with or without a glued argument
				c += "A"
				if r.Intn(2) == 0 {
					c += familyList(r)
				} else {
					args = append(args, c)
					c = familyList(r)
				}
			}
			args = append(args, c)
		case k < 80: // a long option, maybe abbreviated
			l := pickWeighted(r, diffLongs, func(l struct {
				name string
				w    int
			}) int {
				return l.w
			}).name
			a := "--" + abbreviate(r, l)
			switch {
			case l == "protocol" && r.Intn(2) == 0:
				args = append(args, a+"="+familyList(r))
			case l == "protocol":
				args = append(args, a)
				if r.Intn(8) > 0 {
					args = append(args, familyList(r))
				}
			case r.Intn(25) == 0:
				args = append(args, a+"=1") // an argument it does not take
			default:
				args = append(args, a)
			}
		case k < 90: // -A
			if r.Intn(2) == 0 {
				args = append(args, "-A", familyList(r))
			} else {
				args = append(args, "-A"+familyList(r))
			}
		case k < 94: // operands
			args = append(args, []string{"foo", "-", "5", "tcp", "inet"}[r.Intn(5)])
		case k < 97:
			args = append(args, "--")
		case k < 99: // a dangling -A or --protocol
			args = append(args, []string{"-A", "--protocol", "--proto"}[r.Intn(3)])
		default: // more families than net-tools' 256-byte afname holds
			args = append(args, "-A", strings.Repeat("inet6,unix,", 12+r.Intn(20))+"inet")
		}
	}
	return args
}

// diffCases returns the deterministic case list.
func diffCases(seed int64, n int) [][]string {
	r := rand.New(rand.NewSource(seed))
	seen := map[string]bool{}
	var out [][]string
	for tries := 0; len(out) < n && tries < 20*n; tries++ {
		a := diffArgs(r)
		k := strings.Join(a, "\x00")
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, a)
	}
	return out
}

// modeCase tells whether a command line may select a view that is not a
// socket listing (-i, -r, -s, -g, -M), so a mismatch is reported apart.
func modeCase(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if strings.HasPrefix(a, "--") {
			for _, m := range []string{"interfaces", "route", "statistics", "groups", "masquerade"} {
				if len(a) > 2 && strings.HasPrefix(m, strings.SplitN(a[2:], "=", 2)[0]) {
					return true
				}
			}
			continue
		}
		if strings.HasPrefix(a, "-") && strings.ContainsAny(strings.SplitN(a, "A", 2)[0], "irsgM") {
			return true
		}
	}
	return false
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func TestNetstatDifferential(t *testing.T) {
	env := setup(t)
	startZoo(t, env)
	startMoreZoo(t, env)
	moreServices(t)
	morePasswd(t)
	cases := diffCases(int64(envInt("BPFSTAT_DIFF_SEED", 1)), envInt("BPFSTAT_DIFF_N", 400))
	r := rand.New(rand.NewSource(int64(envInt("BPFSTAT_DIFF_SEED", 1))))
	for i, args := range cases {
		// root, nobody (owns some zoo processes) and 4243 (owns none).
		uid := -1
		switch r.Intn(10) {
		case 0, 1:
			uid = 65534
		case 2:
			uid = 4243
		}
		name := fmt.Sprintf("%03d %s", i, strings.Join(args, " "))
		if uid >= 0 {
			name += " (uid " + strconv.Itoa(uid) + ")"
		}
		if modeCase(args) {
			name = "modes/" + name
		}
		t.Run(name, func(t *testing.T) { compareOnce(t, uid, args) })
	}
	// -c loops forever: a few cases, both tools run side by side until
	// each printed a second round (10 s at most), the first rounds
	// compared, three tries as above.
	for _, fs := range []string{"-c", "-tanc", "-xc -a", "--continuous -uan", "-cp -t", "-ct -A inet6"} {
		args := strings.Fields(fs)
		t.Run("continuous/"+fs, func(t *testing.T) {
			var errs []string
			for try := 0; try < 3; try++ {
				if errs = diffContinuous(t, args); len(errs) == 0 {
					return
				}
			}
			for _, e := range errs {
				t.Error(e)
			}
		})
	}
}

func diffContinuous(t *testing.T, args []string) []string {
	t.Helper()
	// netstat's stdout is a pipe here: line-buffer it, or a killed
	// netstat loses what stdio held.
	want, got := startFor(t, []string{"stdbuf", "-oL", "/usr/bin/netstat"}, args), startFor(t, []string{bpfstatBin}, args)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && (firstRound(want.out()) == "" || firstRound(got.out()) == "") {
		time.Sleep(50 * time.Millisecond)
	}
	wr, gr := want.stop(), got.stop()
	w, g := firstRound(wr.stdout), firstRound(gr.stdout)
	if w == "" || g == "" {
		return []string{fmt.Sprintf("no complete round in 10 s: netstat %q, bpfstat %q", wr.stdout, gr.stdout)}
	}
	var errs []string
	if err := sameOutput(w, g, w); err != nil {
		errs = append(errs, fmt.Sprintf("%v\n--- bpfstat:\n%s--- netstat:\n%s", err, g, w))
	}
	if gr.stderr != wr.stderr {
		errs = append(errs, fmt.Sprintf("stderr differs:\nbpfstat: %q\nnetstat: %q", gr.stderr, wr.stderr))
	}
	return errs
}

type running struct {
	cmd         *exec.Cmd
	stdout, err *testns.Buffer
}

func (r *running) out() string { return r.stdout.String() }

// stop interrupts the command, as a user's Ctrl-C would, and waits.
func (r *running) stop() result {
	r.cmd.Process.Signal(syscall.SIGINT)
	err := r.cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return result{r.stdout.String(), r.err.String(), code}
}

// startFor starts argv+args with argv[0] "netstat" for a lone binary.
func startFor(t *testing.T, argv, args []string) *running {
	t.Helper()
	cmd := exec.Command(argv[0], append(argv[1:], args...)...)
	if len(argv) == 1 {
		cmd.Args[0] = "netstat"
	}
	r := &running{cmd: cmd, stdout: &testns.Buffer{}, err: &testns.Buffer{}}
	cmd.Stdout, cmd.Stderr = r.stdout, r.err
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return r
}

// compareOnce runs netstat, bpfstat, netstat with args as uid (-1: root)
// and reports how bpfstat differs. A timer that fires between the runs
// (zero-window probes, SYN retries) can make a line differ once: a
// difference counts only if it is there three times in a row.
func compareOnce(t *testing.T, uid int, args []string) {
	t.Helper()
	var errs []string
	for try := 0; try < 3; try++ {
		errs = diffOnce(t, uid, args)
		if len(errs) == 0 {
			return
		}
	}
	for _, e := range errs {
		t.Error(e)
	}
}

func diffOnce(t *testing.T, uid int, args []string) []string {
	t.Helper()
	var errs []string
	before := runTool(t, "/usr/bin/netstat", uid, args...)
	got := runTool(t, bpfstatBin, uid, args...)
	after := runTool(t, "/usr/bin/netstat", uid, args...)
	if got.code != before.code {
		errs = append(errs, fmt.Sprintf("exit status %d, netstat %d", got.code, before.code))
	}
	if got.stderr != before.stderr && got.stderr != after.stderr {
		errs = append(errs, fmt.Sprintf("stderr differs:\nbpfstat: %q\nnetstat: %q", got.stderr, before.stderr))
	}
	if err := sameOutput(before.stdout, got.stdout, after.stdout); err != nil {
		errs = append(errs, fmt.Sprintf("%v\n--- bpfstat:\n%s--- netstat:\n%s", err, got.stdout, before.stdout))
	}
	return errs
}

// firstRound is the output up to the second time its first line appears.
func firstRound(s string) string {
	first, _, ok := strings.Cut(s, "\n")
	if !ok {
		return ""
	}
	i := strings.Index(s[len(first)+1:], first+"\n")
	if i < 0 {
		return ""
	}
	return s[:len(first)+1+i]
}
