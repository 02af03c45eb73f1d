package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// marker starts every line that suite.sh prints to frame a run. It may be
// preceded on the same console line by kernel output, so it is searched for,
// not anchored.
const marker = "@@kmatrix "

// Run is what one kernel printed: the framed output of bpfstat doctor and
// of the test binary once per pinned strategy.
type Run struct {
	Kernel     string // uname -r, from the begin marker
	Began      bool
	Ended      bool // the final marker: the guest got to the end of the suite
	Doctor     []string
	DoctorRC   int
	DoctorDone bool
	Strategies map[string]*Section
	Tail       []string // the last lines, to show when the run broke off
}

// Section is the test binary's output for one strategy.
type Section struct {
	Lines []string
	RC    int
	Done  bool // the end marker with the exit status was seen
}

const tailLines = 40

// ParseRun splits a console log into its framed sections. Lines outside any
// section (boot messages) are ignored except for the tail kept for
// diagnosis.
func ParseRun(r io.Reader) (*Run, error) {
	run := &Run{Strategies: map[string]*Section{}, DoctorRC: -1}
	var cur *[]string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		line = strings.ReplaceAll(line, "\r", "")
		run.Tail = append(run.Tail, line)
		if len(run.Tail) > tailLines {
			run.Tail = run.Tail[1:]
		}
		i := strings.Index(line, marker)
		if i < 0 {
			if cur != nil {
				*cur = append(*cur, line)
			}
			continue
		}
		f := strings.Fields(line[i+len(marker):])
		switch {
		case len(f) >= 1 && f[0] == "begin":
			run.Began = true
			for _, kv := range f[1:] {
				if v, ok := strings.CutPrefix(kv, "kernel="); ok {
					run.Kernel = v
				}
			}
		case len(f) == 1 && f[0] == "end":
			run.Ended = true
			cur = nil
		case len(f) == 2 && f[0] == "doctor" && f[1] == "begin":
			cur = &run.Doctor
		case len(f) == 3 && f[0] == "doctor" && f[1] == "end":
			run.DoctorRC = atoiRC(f[2])
			run.DoctorDone = true
			cur = nil
		case len(f) == 3 && f[0] == "strategy" && f[1] == "begin":
			s := &Section{RC: -1}
			run.Strategies[f[2]] = s
			cur = &s.Lines
		case len(f) == 4 && f[0] == "strategy" && f[1] == "end":
			if s := run.Strategies[f[2]]; s != nil {
				s.RC = atoiRC(f[3])
				s.Done = true
			}
			cur = nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading console log: %w", err)
	}
	return run, nil
}

func atoiRC(s string) int {
	v, ok := strings.CutPrefix(s, "rc=")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return n
}

// Outcome of one strategy on one kernel.
type Outcome int

const (
	Attached Outcome = iota // attached and every test passed
	RuledOut                // every test skipped: the kernel refused the strategy
	Failed                  // a test failed, the binary exited non-zero, or nothing ran
	Missing                 // no output for this strategy at all
)

func (o Outcome) String() string {
	return [...]string{"attached", "ruled out", "FAIL", "MISSING"}[o]
}

// Cell is the verdict of the test binary's output for one strategy.
type Cell struct {
	Outcome Outcome
	Detail  string   // reason ruled out, or what failed
	Passed  int      // leaf tests
	Skipped int      // leaf tests
	Failed  []string // names of failed tests
	Errors  []string // their log lines, for the failure report
}

var (
	resultRE = regexp.MustCompile(`^(\s*)--- (PASS|FAIL|SKIP): (\S+) \(`)
	eventRE  = regexp.MustCompile(`^=== (RUN|CONT|NAME|PAUSE)\s+(\S+)`)
	logRE    = regexp.MustCompile(`^\s+[\w.-]+\.go:\d+: (.*)$`)
)

// How many log lines of failed tests the report quotes: per test, and in
// all for one strategy on one kernel.
const (
	maxErrorsPerTest = 5
	maxErrors        = 20
)

// The two ways a test says the kernel refused its pinned strategy: a skip
// whose message contains "ruled out: <why>", or (tracer/'s convention: a
// pinned strategy that cannot attach is an error) a failure whose message
// contains "cannot attach: <why>". Either reads as <why> in the matrix, and
// run.sh's must-attach list decides whether it fails the kernel.
var refusals = []string{"ruled out: ", "cannot attach: "}

func refusal(msg string) (why string, ok bool) {
	for _, r := range refusals {
		if i := strings.Index(msg, r); i >= 0 {
			return msg[i+len(r):], true
		}
	}
	return "", false
}

// Classify reads the `-test.v` output of one strategy's run. Subtests count
// as leaves; a parent only counts when it has no subtests.
func Classify(sec *Section) Cell {
	if sec == nil {
		return Cell{Outcome: Missing, Detail: "no output: the run stopped before this strategy"}
	}
	type test struct {
		result string
		logs   []string
	}
	tests := map[string]*test{}
	var order []string
	get := func(name string) *test {
		t := tests[name]
		if t == nil {
			t = &test{}
			tests[name] = t
			order = append(order, name)
		}
		return t
	}
	var current string
	var panicked []string
	for _, line := range sec.Lines {
		if m := eventRE.FindStringSubmatch(line); m != nil {
			current = m[2]
			get(current)
			continue
		}
		if m := resultRE.FindStringSubmatch(line); m != nil {
			get(m[3]).result = m[2]
			continue
		}
		if m := logRE.FindStringSubmatch(line); m != nil && current != "" {
			get(current).logs = append(get(current).logs, m[1])
			continue
		}
		if strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") {
			panicked = append(panicked, line)
		}
	}
	isParent := func(name string) bool {
		for _, other := range order {
			if strings.HasPrefix(other, name+"/") {
				return true
			}
		}
		return false
	}
	var c Cell
	var ruledOut, firstSkip string
	refused := 0 // leaves whose last message says the strategy was refused
	for _, name := range order {
		t := tests[name]
		if t.result == "FAIL" && !isParent(name) && len(t.logs) > 0 {
			if why, ok := refusal(t.logs[len(t.logs)-1]); ok {
				refused++
				if ruledOut == "" {
					ruledOut = why
				}
				continue
			}
		}
		if t.result == "FAIL" {
			// A parent fails with its subtest; name only the subtest.
			if !isParent(name) || len(t.logs) > 0 {
				c.Failed = append(c.Failed, name)
				for i, l := range t.logs {
					if i == maxErrorsPerTest || len(c.Errors) >= maxErrors {
						c.Errors = append(c.Errors, fmt.Sprintf("%s: ... %d more lines in the console log", name, len(t.logs)-i))
						break
					}
					c.Errors = append(c.Errors, clip(name+": "+l))
				}
			}
			continue
		}
		if isParent(name) {
			continue
		}
		switch t.result {
		case "PASS":
			c.Passed++
		case "SKIP":
			c.Skipped++
			reason := ""
			if len(t.logs) > 0 {
				reason = t.logs[len(t.logs)-1]
			}
			if firstSkip == "" {
				firstSkip = reason
			}
			if why, ok := refusal(reason); ok {
				refused++
				if ruledOut == "" {
					ruledOut = why
				}
			}
		case "":
			// Started but never finished: the binary died in it.
			c.Failed = append(c.Failed, name+" (did not finish)")
		}
	}
	switch {
	case len(c.Failed) > 0 || len(panicked) > 0:
		c.Outcome = Failed
		c.Errors = append(c.Errors, panicked...)
		c.Detail = fmt.Sprintf("failed: %s", strings.Join(c.Failed, ", "))
		if len(c.Failed) == 0 {
			c.Detail = "test binary panicked"
		}
	case !sec.Done:
		c.Outcome = Failed
		c.Detail = "output broke off before the test binary exited (guest timeout or panic?)"
	case sec.RC != 0 && refused == 0:
		c.Outcome = Failed
		c.Detail = fmt.Sprintf("test binary exited with status %d", sec.RC)
		c.Errors = append(c.Errors, lastLines(sec.Lines, 10)...)
	case c.Passed == 0 && c.Skipped == 0 && refused == 0:
		c.Outcome = Failed
		c.Detail = "no Integration tests ran"
	case c.Passed == 0 || refused > 0:
		// Tests that do not use the pinned strategy may still pass; the
		// strategy is ruled out all the same.
		c.Outcome = RuledOut
		c.Detail = firstSkip
		if ruledOut != "" {
			c.Detail = ruledOut
		}
	default:
		c.Outcome = Attached
		c.Detail = fmt.Sprintf("PASS (%d tests", c.Passed)
		if c.Skipped > 0 {
			c.Detail += fmt.Sprintf(", %d skipped", c.Skipped)
		}
		c.Detail += ")"
	}
	return c
}

// clip shortens a line for the failure report; the console log has it whole.
func clip(s string) string {
	const max = 300
	if len(s) <= max {
		return s
	}
	return s[:max] + " …"
}

func lastLines(lines []string, n int) []string {
	if len(lines) > n {
		return lines[len(lines)-n:]
	}
	return lines
}
