package main

import (
	"bytes"
	"os"
	"runtime"
	"strings"
	"testing"
)

// TestIntegrationDoctor checks that doctor names the strategy in use and
// accounts for every other one, each ruled out with a reason.
func TestIntegrationDoctor(t *testing.T) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("doctor loads eBPF programs: needs root on Linux")
	}
	var b bytes.Buffer
	if err := runDoctor(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, " attached") {
		t.Errorf("no hook attached:\n%s", out)
	}
	if os.Getenv("BPFSTAT_STRATEGY") == "" {
		for _, s := range []string{"tp_btf", "fentry", "raw_tp", "tracepoint", "kprobe"} {
			if !strings.Contains(out, "  "+s+" ") {
				t.Errorf("strategy %s not reported:\n%s", s, out)
			}
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if i := strings.Index(l, "ruled out:"); i >= 0 && strings.TrimSpace(l[i+len("ruled out:"):]) == "" {
			t.Errorf("ruled out without a reason: %q", l)
		}
	}
}
