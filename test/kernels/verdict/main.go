// Command verdict turns the console logs written by test/kernels/run.sh into
// the kernel × strategy matrix and the exit status of the run.
//
//	verdict -strategies tp_btf,fentry,raw_tp,tracepoint,kprobe \
//	    -log host=host.log -log 6.1=6.1.log -must 6.1=all \
//	    -unavailable 6.12='cannot be fetched through apt'
//
// A kernel fails when its log lacks the final marker; a strategy fails when
// its tests failed, or when it was ruled out on a kernel where it must attach.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// pairs is a repeatable label=value flag that keeps its order.
type pairs struct {
	keys []string
	vals map[string]string
}

func (p *pairs) String() string { return "" }

func (p *pairs) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want label=value, got %q", s)
	}
	if p.vals == nil {
		p.vals = map[string]string{}
	}
	if _, dup := p.vals[k]; !dup {
		p.keys = append(p.keys, k)
	}
	p.vals[k] = v
	return nil
}

func main() {
	var logs, must, unavailable pairs
	strategies := flag.String("strategies", "tp_btf,fentry,raw_tp,tracepoint,kprobe", "strategies, comma-separated, in fallback order")
	flag.Var(&logs, "log", "label=console log of one kernel (repeatable, in display order)")
	flag.Var(&must, "must", "label=strategies that must attach there: comma-separated, or all (repeatable)")
	flag.Var(&unavailable, "unavailable", "label=why that kernel could not be run (repeatable)")
	allowUnavailable := flag.Bool("allow-unavailable", false, "do not fail because a kernel could not be run")
	flag.Parse()

	m := Matrix{Strategies: strings.Split(*strategies, ","), AllowUnavailable: *allowUnavailable}
	for _, label := range logs.keys {
		k := Kernel{Label: label, Must: parseMust(must.vals[label], m.Strategies)}
		f, err := os.Open(logs.vals[label])
		if err != nil {
			k.Err = fmt.Errorf("opening console log: %w", err)
		} else {
			k.Run, k.Err = ParseRun(f)
			f.Close()
		}
		m.Kernels = append(m.Kernels, k)
	}
	for _, label := range unavailable.keys {
		m.Kernels = append(m.Kernels, Kernel{Label: label, Unavailable: unavailable.vals[label]})
	}
	if !m.Report(os.Stdout) {
		os.Exit(1)
	}
}

func parseMust(v string, all []string) map[string]bool {
	set := map[string]bool{}
	if v == "all" {
		v = strings.Join(all, ",")
	}
	for _, s := range strings.Split(v, ",") {
		if s != "" {
			set[s] = true
		}
	}
	return set
}

// Matrix is every kernel's run.
type Matrix struct {
	Strategies       []string
	Kernels          []Kernel
	AllowUnavailable bool
}

// Kernel is one row group: a kernel and what it printed.
type Kernel struct {
	Label       string
	Must        map[string]bool
	Run         *Run
	Err         error
	Unavailable string
}

func (k Kernel) name() string {
	if k.Run != nil && k.Run.Kernel != "" {
		return fmt.Sprintf("%s (%s)", k.Label, k.Run.Kernel)
	}
	return k.Label
}

// Report prints the doctor output, the matrix and every failure, and says
// whether the whole run passed.
func (m Matrix) Report(w io.Writer) bool {
	var failures []string
	fail := func(format string, args ...any) {
		failures = append(failures, fmt.Sprintf(format, args...))
	}
	for _, k := range m.Kernels {
		if k.Run == nil {
			continue
		}
		fmt.Fprintf(w, "==== bpfstat doctor on %s\n", k.name())
		for _, l := range k.Run.Doctor {
			fmt.Fprintf(w, "  %s\n", l)
		}
		switch {
		case !k.Run.DoctorDone:
			fmt.Fprintf(w, "  (doctor did not finish)\n")
		case k.Run.DoctorRC != 0:
			fmt.Fprintf(w, "  (doctor exited with status %d)\n", k.Run.DoctorRC)
		}
	}

	fmt.Fprintf(w, "==== kernel matrix\n")
	fmt.Fprintf(w, "%-34s %-11s %s\n", "KERNEL", "STRATEGY", "RESULT")
	for _, k := range m.Kernels {
		switch {
		case k.Unavailable != "":
			fmt.Fprintf(w, "%-34s %-11s %s\n", k.name(), "-", "NOT RUN: "+k.Unavailable)
			if !m.AllowUnavailable {
				fail("kernel %s: not run: %s", k.name(), k.Unavailable)
			}
			continue
		case k.Err != nil:
			fmt.Fprintf(w, "%-34s %-11s %s\n", k.name(), "-", "NO LOG: "+k.Err.Error())
			fail("kernel %s: %v", k.name(), k.Err)
			continue
		}
		if !k.Run.Began {
			why := "guest never started the suite (did it boot?)"
			fmt.Fprintf(w, "%-34s %-11s %s\n", k.name(), "-", "FAIL: "+why)
			fail("kernel %s: %s; last console lines:", k.name(), why)
			for _, l := range k.Run.Tail {
				failures = append(failures, "    | "+l)
			}
			continue
		}
		for _, s := range m.Strategies {
			sec := k.Run.Strategies[s]
			c := Classify(sec)
			result := c.Outcome.String()
			if c.Detail != "" {
				result += ": " + c.Detail
			}
			switch {
			case c.Outcome == Failed || c.Outcome == Missing:
				fail("kernel %s, strategy %s: %s", k.name(), s, c.Detail)
				for _, e := range c.Errors {
					failures = append(failures, "    "+e)
				}
			case c.Outcome == RuledOut && k.Must[s]:
				result = "FAIL: ruled out where it must attach: " + c.Detail
				fail("kernel %s, strategy %s: ruled out, but must attach on this kernel: %s", k.name(), s, c.Detail)
			}
			fmt.Fprintf(w, "%-34s %-11s %s\n", k.name(), s, result)
		}
		if !k.Run.Ended {
			why := "guest did not print its final marker (boot timeout, kernel panic or test binary hang)"
			fmt.Fprintf(w, "%-34s %-11s %s\n", k.name(), "-", "FAIL: "+why)
			fail("kernel %s: %s; last console lines:", k.name(), why)
			for _, l := range k.Run.Tail {
				failures = append(failures, "    | "+l)
			}
		}
	}
	if len(failures) == 0 {
		fmt.Fprintf(w, "==== kernel matrix: PASS\n")
		return true
	}
	fmt.Fprintf(w, "==== kernel matrix: FAIL\n")
	for _, f := range failures {
		fmt.Fprintf(w, "%s\n", f)
	}
	return false
}
