package main

import (
	"github.com/bpfstat/bpfstat/internal/sock"
	"github.com/bpfstat/bpfstat/snapshot"
)

// socketQuery says which sockets a listing needs.
type socketQuery struct {
	Source   string // auto, daemon or snapshot
	Socket   string // daemon socket path ("" = default / $BPFSTAT_SOCKET)
	AllNetns bool
	Protos   []sock.Proto
	Families []sock.Family
	Owners   bool // -p / -e need the owning processes
}

// loadSockets returns the sockets of the caller's network namespace from
// the daemon or a snapshot, with netstat's warnings and owner visibility
// in the Result.
var loadSockets = func(q socketQuery) (snapshot.Result, error) {
	return snapshotSockets(q)
}
