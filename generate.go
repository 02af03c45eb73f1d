// Package bpfstat is netstat, driven by an eBPF-maintained socket table.
//
// This file only holds the generator: `go generate` compiles bpf/*.bpf.c
// with clang-14 into bpf/*_bpfel.{go,o}, which are committed. CI runs it
// again and fails on any difference, so keep the toolchain pinned.
package bpfstat

//go:generate go tool bpf2go -cc clang-14 -strip llvm-strip-14 -target bpfel -go-package bpf -output-dir bpf -type event -type unix_event -type state_event Bpfstat bpf/bpfstat.bpf.c -- -I./bpf -I./bpf/headers -Wall -Werror
