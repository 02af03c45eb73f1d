package bpf

// The iterators (iter.bpf.c) are generated apart from the tracer's
// programs so each side can change alone; `go generate ./...` runs both.
//go:generate go tool bpf2go -cc clang-14 -strip llvm-strip-14 -target bpfel -go-package bpf -type fd_rec Iter iter.bpf.c -- -I. -I./headers -Wall -Werror
