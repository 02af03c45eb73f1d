package main

import (
	"github.com/bpfstat/bpfstat/internal/sock"
)

// socketQuery says which sockets a listing needs.
type socketQuery struct {
	Source string // auto, daemon or snapshot
	Protos []sock.Proto
	Owners bool // -p / -e need the owning processes
}

// loadSockets returns the sockets of the caller's network namespace from
// the daemon or a snapshot, plus warnings for stderr and whether process
// information was incomplete (non-root).
var loadSockets = func(q socketQuery) (socks []sock.Socket, warnings []string, ownersIncomplete bool, err error) {
	return snapshotSockets(q)
}
