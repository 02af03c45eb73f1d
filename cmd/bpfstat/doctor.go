package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/bpfstat/bpfstat/tracer"
)

func init() { registerCommand(newDoctorCmd) }

func newDoctorCmd() *cobra.Command {
	return &cobra.Command{
		Use:          "doctor",
		Short:        "show which eBPF hooks attach on this kernel, and why others were ruled out",
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDoctor(cmd.OutOrStdout())
		},
	}
}

func runDoctor(w io.Writer) error {
	var uts unix.Utsname
	kernel := "unknown"
	if unix.Uname(&uts) == nil {
		kernel = unix.ByteSliceToString(uts.Release[:])
	}
	btf := "present"
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		btf = "missing (CO-RE needs it)"
	}
	fmt.Fprintf(w, "kernel %s, BTF /sys/kernel/btf/vmlinux %s\n", kernel, btf)

	pinned := os.Getenv("BPFSTAT_STRATEGY")
	t, err := tracer.New(tracer.Options{Strategy: pinned})
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("doctor needs root to load eBPF programs: %w", err)
		}
		fmt.Fprintf(w, "\nthe tracer cannot start: %v\n", err)
	}
	var hooks []tracer.Hook
	if t != nil {
		hooks = t.Strategies()
		t.Close()
	}

	fmt.Fprintln(w, "\nTCP state hook, strategies in the order tried:")
	tried := map[string]bool{}
	for _, h := range hooks {
		if h.Name == "tcp state" {
			tried[h.Strategy] = true
			printHook(w, h, "")
		}
	}
	// Probe the strategies New did not need, one at a time, so the report
	// also says which fallbacks would work here.
	for _, s := range tracer.StrategyNames() {
		if tried[s] || pinned != "" {
			continue
		}
		h := tracer.Probe(s)
		printHook(w, h, "fallback")
	}

	fmt.Fprintln(w, "\nother hooks:")
	for _, h := range hooks {
		if h.Name != "tcp state" {
			printHook(w, h, h.Name)
		}
	}
	return nil
}

func printHook(w io.Writer, h tracer.Hook, note string) {
	status := "attached"
	switch {
	case h.Err != nil:
		status = "ruled out: " + strings.ReplaceAll(h.Err.Error(), "\n", " ")
	case note == "fallback":
		status = "would attach (fallback, not in use)"
		note = ""
	}
	target := h.Target
	if note != "" {
		target += " (" + note + ")"
	}
	fmt.Fprintf(w, "  %-10s %-55s %s\n", h.Strategy, target, status)
}
