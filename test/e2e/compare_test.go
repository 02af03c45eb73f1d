//go:build linux

package e2e

import (
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// result is one run of a tool.
type result struct {
	stdout, stderr string
	code           int
}

func runTool(t *testing.T, path string, uid int, args ...string) result {
	t.Helper()
	cmd := exec.Command(path, args...)
	// Both tools see the same argv[0], so getopt diagnostics match.
	cmd.Args = append([]string{"netstat"}, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if uid >= 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	}
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running %s %v: %v", path, args, err)
		}
		code = ee.ExitCode()
	}
	return result{out.String(), errb.String(), code}
}

// timerRE matches the seconds of a running timer in -o output; they move
// between two runs, so they are compared by bracketing instead.
var timerRE = regexp.MustCompile(`\((\d+\.\d\d)/`)

// section is a header plus its body lines.
type section struct {
	header []string
	body   []string
}

// sections splits netstat output at its "Active ..." and group headers.
func sections(s string) []section {
	var out []section
	lines := strings.SplitAfter(s, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if l == "" {
			continue
		}
		if strings.HasPrefix(l, "Active ") || strings.HasPrefix(l, "IPv6/IPv4 Group") {
			sec := section{header: []string{l}}
			if i+1 < len(lines) {
				sec.header = append(sec.header, lines[i+1])
				i++
			}
			out = append(out, sec)
			continue
		}
		if len(out) == 0 {
			out = append(out, section{})
		}
		out[len(out)-1].body = append(out[len(out)-1].body, l)
	}
	return out
}

// timerless masks timer seconds and returns them.
func timerless(l string) (string, float64, bool) {
	m := timerRE.FindStringSubmatchIndex(l)
	if m == nil {
		return l, 0, false
	}
	v, _ := strconv.ParseFloat(l[m[2]:m[3]], 64)
	return l[:m[2]] + "#" + l[m[3]:], v, true
}

// sameOutput compares bpfstat's output with two netstat runs taken
// before and after it: headers in order and exactly; body lines as
// multisets that must lie between the two reference runs (a socket may
// come or go between runs: a TIME_WAIT expires), with running timers
// between the two reference values.
func sameOutput(before, got, after string) error {
	bs, gs, as := sections(before), sections(got), sections(after)
	if len(bs) != len(gs) {
		return fmt.Errorf("%d sections, netstat printed %d", len(gs), len(bs))
	}
	for i := range gs {
		if !slices.Equal(bs[i].header, gs[i].header) {
			return fmt.Errorf("header %q, netstat printed %q", gs[i].header, bs[i].header)
		}
		var aBody []string
		if i < len(as) {
			aBody = as[i].body
		}
		count := func(lines []string) map[string][]float64 {
			m := map[string][]float64{}
			for _, l := range lines {
				k, v, _ := timerless(l)
				m[k] = append(m[k], v)
			}
			return m
		}
		b, g, a := count(bs[i].body), count(gs[i].body), count(aBody)
		keys := map[string]bool{}
		for _, m := range []map[string][]float64{b, g, a} {
			for k := range m {
				keys[k] = true
			}
		}
		var diffs []string
		for k := range keys {
			nb, ng, na := len(b[k]), len(g[k]), len(a[k])
			if ng < min(nb, na) || ng > max(nb, na) {
				diffs = append(diffs, fmt.Sprintf("%q: bpfstat %d, netstat %d then %d", k, ng, nb, na))
				continue
			}
			if ng == 0 || !timerRE.MatchString(strings.Replace(k, "#", "0.00", 1)) || !strings.Contains(k, "#") {
				continue
			}
			lo, hi := slices.Min(append(slices.Clone(b[k]), a[k]...)), slices.Max(append(slices.Clone(b[k]), a[k]...))
			for _, v := range g[k] {
				if v < lo-0.01 || v > hi+0.01 {
					diffs = append(diffs, fmt.Sprintf("%q: timer %.2f outside [%.2f, %.2f]", k, v, lo, hi))
				}
			}
		}
		if len(diffs) > 0 {
			sort.Strings(diffs)
			return fmt.Errorf("section %q differs:\n  %s", gs[i].header, strings.Join(diffs, "\n  "))
		}
	}
	return nil
}

// flagSets are the socket-listing command lines compared on the zoo.
var flagSets = []string{
	"", "-a", "-l", "-n", "-an", "-ln", "-t", "-ta", "-tan", "-tln", "-tlnp", "-tunap", "-tunlp",
	"-u", "-ua", "-uan", "-U", "-Ua", "-w", "-wa", "-wan", "-x", "-xa", "-xan", "-xl", "-xap",
	"-ap", "-anp", "-e", "-ae", "-aee", "-anee", "-ane", "-tane", "-taneep", "-xae", "-o", "-ao", "-tano",
	"-uano", "-wano", "-W", "-aW", "-anW", "-v", "-av", "-4", "-4a", "-6", "-6an", "-A inet -a",
	"-A inet6 -an", "-A unix -a", "-A inet,unix -an", "--inet -a", "--inet6 -a", "--unix -a",
	"--numeric-hosts -a", "--numeric-ports -a", "--numeric-users -ae", "--numeric-hosts --numeric-ports -ae",
	"--tcp --all --numeric --programs", "--udp --listening --numeric", "--raw --all --extend --extend",
	"--unix --all --programs", "--timers --tcp --all -n", "--wide --all --tcp", "-tunwxa", "-tunwxapeeoW",
	"-S", "-Sa", "-U -6 -a", "-a -A ipx", "--ax25", "-A bluetooth", "-t -x -v -a", "-lpn -W", "-ap --unix -x",
	"-tA", "-k", "--num", "-tanZ", "-i -r", "-a -- -t",
}

func TestNetstatListingsMatch(t *testing.T) {
	env := setup(t)
	startZoo(t, env)

	// 4243 owns no process at all: netstat -p then says it could read
	// nothing, instead of "not all processes".
	for _, uid := range []int{-1, 65534, 4243} {
		for _, fs := range flagSets {
			if uid == 4243 && !strings.Contains(fs, "p") {
				continue
			}
			args := strings.Fields(fs)
			name := fs
			if uid >= 0 {
				name = "uid" + strconv.Itoa(uid) + " " + fs
			}
			t.Run(name, func(t *testing.T) {
				// Up to three rounds: a timer restarting between two runs
				// (a zero-window probe) can leave the bracket; a real
				// difference fails every round.
				var problems []string
				for round := 0; round < 3; round++ {
					before := runTool(t, "/usr/bin/netstat", uid, args...)
					got := runTool(t, bpfstatBin, uid, args...)
					after := runTool(t, "/usr/bin/netstat", uid, args...)
					problems = problems[:0]
					if got.code != before.code {
						problems = append(problems, fmt.Sprintf("exit status %d, netstat %d", got.code, before.code))
					}
					if got.stderr != before.stderr {
						problems = append(problems, fmt.Sprintf("stderr differs:\nbpfstat: %q\nnetstat: %q", got.stderr, before.stderr))
					}
					if err := sameOutput(before.stdout, got.stdout, after.stdout); err != nil {
						problems = append(problems, fmt.Sprintf("%v\n--- bpfstat:\n%s--- netstat:\n%s", err, got.stdout, before.stdout))
					}
					if len(problems) == 0 {
						return
					}
				}
				t.Error(strings.Join(problems, "\n"))
			})
		}
	}
}

// TestZooCoverage guards the zoo itself: the states and kinds the
// comparison is meant to cover must really be there.
func TestZooCoverage(t *testing.T) {
	env := setup(t)
	startZoo(t, env)
	out := runTool(t, "/usr/bin/netstat", -1, "-tuwxaeep").stdout + runTool(t, "/usr/bin/netstat", -1, "-tunwxaeep").stdout
	for _, want := range []string{
		"LISTEN", "ESTABLISHED", "CLOSE_WAIT", "FIN_WAIT2", "TIME_WAIT", "udp6", "raw6", "tcp6",
		"DGRAM", "SEQPACKET", "@zoo-web-abstract", "nobody", "zoo-web", "zoo-db",
		"zoo-cache", "zoo", "LISTENING", "a-remarkably-l", "4242", "ip6-localhost",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("zoo lacks %q:\n%s", want, out)
		}
	}
	// Non-zero queues on both ends of the filled connection.
	if !regexp.MustCompile(`(?m)^tcp +[1-9]\d* +0 +127\.0\.0\.1:80 `).MatchString(runTool(t, "/usr/bin/netstat", -1, "-tn").stdout) {
		t.Errorf("no Recv-Q on the filled connection")
	}
	if !regexp.MustCompile(`(?m)^tcp +0 +[1-9]\d* +127\.0\.0\.1:\d+ +127\.0\.0\.1:80 `).MatchString(runTool(t, "/usr/bin/netstat", -1, "-tn").stdout) {
		t.Errorf("no Send-Q on the filled connection")
	}
	if !regexp.MustCompile(`(?m)^udp +[1-9]\d* `).MatchString(runTool(t, "/usr/bin/netstat", -1, "-uan").stdout) {
		t.Errorf("no queued UDP datagrams")
	}
}
