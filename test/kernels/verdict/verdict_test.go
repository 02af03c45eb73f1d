package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var all = []string{"fentry", "tp_btf", "raw_tp", "tracepoint", "kprobe"}

func parseFile(t *testing.T, name string) *Run {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	run, err := ParseRun(f)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func TestParseRunHost(t *testing.T) {
	run := parseFile(t, "host-placeholder.log")
	if !run.Began || !run.Ended || run.Kernel != "6.18.44-fc-v595" {
		t.Errorf("began %v ended %v kernel %q, want true true 6.18.44-fc-v595", run.Began, run.Ended, run.Kernel)
	}
	if !run.DoctorDone || run.DoctorRC != 1 || len(run.Doctor) != 1 {
		t.Errorf("doctor done %v rc %d lines %q", run.DoctorDone, run.DoctorRC, run.Doctor)
	}
	want := map[string]Outcome{"fentry": RuledOut, "tp_btf": Attached, "raw_tp": Attached, "tracepoint": Attached, "kprobe": RuledOut}
	for s, o := range want {
		c := Classify(run.Strategies[s])
		if c.Outcome != o {
			t.Errorf("%s: %v (%s), want %v", s, c.Outcome, c.Detail, o)
		}
	}
	if c := Classify(run.Strategies["fentry"]); !strings.HasPrefix(c.Detail, "loading program: ") {
		t.Errorf("fentry reason %q, want the skip message without its prefix", c.Detail)
	}
}

func TestParseRunGuest(t *testing.T) {
	run := parseFile(t, "guest-placeholder.log")
	if !run.Ended || run.Kernel != "6.12.117+deb12-amd64" {
		t.Errorf("ended %v kernel %q", run.Ended, run.Kernel)
	}
	for _, s := range all {
		if c := Classify(run.Strategies[s]); c.Outcome != Attached || c.Passed != 1 {
			t.Errorf("%s: %v (%s), want attached with 1 passed", s, c.Outcome, c.Detail)
		}
	}
}

func TestClassifyFailures(t *testing.T) {
	run := parseFile(t, "guest-failures.log")
	if run.Ended {
		t.Error("ended, want not: the log has no final marker")
	}
	tests := []struct {
		strategy string
		outcome  Outcome
		detail   string
	}{
		{"fentry", Failed, "failed: TestIntegrationTCP/v6"},
		{"tp_btf", RuledOut, "loading tp_btf/inet_sock_set_state: invalid argument"},
		{"raw_tp", Failed, "no Integration tests ran"},
		{"tracepoint", Failed, "failed: TestIntegrationTCP (did not finish)"},
		{"kprobe", Failed, "failed: TestIntegrationTCP (did not finish)"},
	}
	for _, tt := range tests {
		c := Classify(run.Strategies[tt.strategy])
		if c.Outcome != tt.outcome || c.Detail != tt.detail {
			t.Errorf("%s: %v %q, want %v %q", tt.strategy, c.Outcome, c.Detail, tt.outcome, tt.detail)
		}
	}
	c := Classify(run.Strategies["fentry"])
	if len(c.Errors) != 2 || !strings.Contains(c.Errors[1], "owner pid 0") {
		t.Errorf("fentry errors %q, want both log lines of the failed subtest", c.Errors)
	}
	if c := Classify(nil); c.Outcome != Missing {
		t.Errorf("no section: %v, want missing", c.Outcome)
	}
}

func TestReport(t *testing.T) {
	host := parseFile(t, "host-placeholder.log")
	guest := parseFile(t, "guest-placeholder.log")
	broken := parseFile(t, "guest-failures.log")
	hostMust := parseMust("tp_btf,raw_tp,tracepoint", all)
	tests := []struct {
		name    string
		kernels []Kernel
		allow   bool
		pass    bool
		says    []string
	}{
		{"all pass", []Kernel{{Label: "host", Run: host, Must: hostMust}, {Label: "6.12", Run: guest, Must: parseMust("all", all)}}, false, true,
			[]string{"host (6.18.44-fc-v595)             kprobe      ruled out: attaching:", "kernel matrix: PASS"}},
		{"ruled out where it must attach", []Kernel{{Label: "host", Run: host, Must: parseMust("all", all)}}, false, false,
			[]string{"kernel host (6.18.44-fc-v595), strategy fentry: ruled out, but must attach on this kernel"}},
		{"broken guest", []Kernel{{Label: "6.1", Run: broken, Must: parseMust("all", all)}}, false, false,
			[]string{
				"kernel 6.1 (6.1.0-56-amd64), strategy fentry: failed: TestIntegrationTCP/v6",
				"TestIntegrationTCP/v6: owner pid 0, want 123",
				"kernel 6.1 (6.1.0-56-amd64), strategy tp_btf: ruled out, but must attach",
				"kernel 6.1 (6.1.0-56-amd64): guest did not print its final marker",
				"| [   42.000000] Kernel panic",
			}},
		{"unavailable fails", []Kernel{{Label: "6.12", Unavailable: "apt cannot resolve it"}}, false, false,
			[]string{"kernel 6.12: not run: apt cannot resolve it"}},
		{"unavailable allowed", []Kernel{{Label: "6.12", Unavailable: "apt cannot resolve it"}}, true, true,
			[]string{"NOT RUN: apt cannot resolve it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			m := Matrix{Strategies: all, Kernels: tt.kernels, AllowUnavailable: tt.allow}
			if got := m.Report(&out); got != tt.pass {
				t.Errorf("passed %v, want %v", got, tt.pass)
			}
			for _, s := range tt.says {
				if !strings.Contains(out.String(), s) {
					t.Errorf("report lacks %q:\n%s", s, out.String())
				}
			}
		})
	}
}

func TestReportNeverBooted(t *testing.T) {
	run, err := ParseRun(strings.NewReader("SeaBIOS\r\nBooting from ROM...\r\nqemu-system-x86_64: terminating on signal 15\n"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	m := Matrix{Strategies: all, Kernels: []Kernel{{Label: "6.12", Run: run, Must: parseMust("all", all)}}}
	if m.Report(&out) {
		t.Error("passed, want failed")
	}
	for _, s := range []string{"kernel 6.12: guest never started the suite", "    | qemu-system-x86_64: terminating on signal 15"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("report lacks %q:\n%s", s, out.String())
		}
	}
	if strings.Contains(out.String(), "MISSING") {
		t.Errorf("report lists strategies of a guest that never booted:\n%s", out.String())
	}
}

func TestClassifyPinnedCannotAttach(t *testing.T) {
	run := parseFile(t, "host-tracer-pinned.log")
	tests := []struct {
		strategy string
		outcome  Outcome
		detail   string
	}{
		{"fentry", RuledOut, "starting tracer: no way to attach the TCP state hook: fentry: this kernel refuses fentry programs (lockdown, or no BPF trampoline): loading programs: program state_fentry: load program: operation not permitted"},
		{"tp_btf", Failed, "failed: TestIntegrationLost"},
		{"raw_tp", RuledOut, "made up for the test"},
	}
	for _, tt := range tests {
		c := Classify(run.Strategies[tt.strategy])
		if c.Outcome != tt.outcome || c.Detail != tt.detail {
			t.Errorf("%s: %v %q, want %v %q", tt.strategy, c.Outcome, c.Detail, tt.outcome, tt.detail)
		}
	}
}

func TestClassifyCapsErrors(t *testing.T) {
	sec := &Section{Done: true, RC: 1, Lines: []string{"=== RUN   TestIntegrationTCP"}}
	for i := range 12 {
		sec.Lines = append(sec.Lines, fmt.Sprintf("    tcp_test.go:%d: wrong event %d", 10+i, i))
	}
	sec.Lines = append(sec.Lines, "--- FAIL: TestIntegrationTCP (1.00s)", "FAIL")
	c := Classify(sec)
	if c.Outcome != Failed || len(c.Errors) != maxErrorsPerTest+1 {
		t.Fatalf("%v with %d error lines %q, want failed with %d", c.Outcome, len(c.Errors), c.Errors, maxErrorsPerTest+1)
	}
	if last := c.Errors[maxErrorsPerTest]; last != "TestIntegrationTCP: ... 7 more lines in the console log" {
		t.Errorf("last error line %q", last)
	}
}
