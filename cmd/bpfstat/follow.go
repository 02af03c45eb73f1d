package main

import (
	"context"
	"errors"
	"io"

	"github.com/bpfstat/bpfstat/internal/sock"
)

// followOptions are the --follow stream's filters, filled by the netstat
// flag parser from -t -u -w -x -4 -6 --port --pid --state --json.
type followOptions struct {
	JSON                bool
	TCP, UDP, Raw, Unix bool // none set: all
	Inet4, Inet6        bool // none set: both
	Ports               []uint16
	PIDs                []int32
	States              []sock.State
}

// runFollow streams socket events until ctx ends. Placeholder until the
// tracer lands.
func runFollow(ctx context.Context, stdout, stderr io.Writer, o followOptions) error {
	return errors.New("--follow: not implemented yet")
}
