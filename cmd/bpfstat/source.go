package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/bpfstat/bpfstat/internal/daemon"
	"github.com/bpfstat/bpfstat/internal/daemonproto"
	"github.com/bpfstat/bpfstat/internal/sock"
	"github.com/bpfstat/bpfstat/snapshot"
	"github.com/bpfstat/bpfstat/tracer"
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

func init() {
	// One-shot -p as root: one BPF iterator pass instead of a readlink per
	// descriptor (falls back to /proc/*/fd by itself).
	snapshot.SocketFDIter = func(yield func(pid, fd int32, inode uint64)) error {
		fds, err := tracer.SocketFDs()
		for _, f := range fds {
			yield(f.PID, f.FD, f.Inode)
		}
		return err
	}
}

// daemonTimeout bounds a whole exchange with the daemon. With --source
// auto a daemon that does not answer in time is skipped silently.
const daemonTimeout = 10 * time.Second

// loadSockets returns the sockets of the caller's network namespace from
// the daemon or a snapshot, with netstat's warnings and owner visibility
// in the Result.
//
//	--source auto      the daemon if one answers, else a snapshot, silently
//	--source daemon    the daemon, or an error saying why none answered
//	--source snapshot  never asks a daemon
var loadSockets = func(q socketQuery) (snapshot.Result, error) {
	switch q.Source {
	case "snapshot":
		return snapshotSockets(q)
	case "daemon":
		return daemonSockets(q)
	case "", "auto":
		// No socket file: no daemon, and no connect(2) to pay for.
		if _, err := os.Stat(daemon.SocketPath(q.Socket)); err != nil {
			return snapshotSockets(q)
		}
		res, err := daemonSockets(q)
		if err != nil {
			return snapshotSockets(q)
		}
		return res, nil
	}
	return snapshot.Result{}, fmt.Errorf("unknown --source %q (want auto, daemon or snapshot)", q.Source)
}

// daemonSockets asks the daemon.
func daemonSockets(q socketQuery) (snapshot.Result, error) {
	req := daemonproto.Request{Kind: daemonproto.KindSockets, Owners: q.Owners, AllNetns: q.AllNetns}
	for _, p := range q.Protos {
		req.Protos = append(req.Protos, p.String())
	}
	for _, f := range q.Families {
		req.Families = append(req.Families, f.String())
	}
	path := daemon.SocketPath(q.Socket)
	hdr, socks, err := daemon.Query(path, req, daemonTimeout)
	if err != nil {
		var de daemon.DaemonError
		if errors.As(err, &de) {
			return snapshot.Result{}, err
		}
		return snapshot.Result{}, fmt.Errorf("asking the daemon: %w", err)
	}
	res := snapshot.Result{
		Sockets:      socks,
		Missing:      hdr.Missing,
		OwnersDenied: hdr.OwnersIncomplete,
		OwnersFound:  hdr.OwnersFound,
		OwnersSeen:   hdr.OwnersSeen,
	}
	for _, w := range hdr.Warnings {
		res.Warnings = append(res.Warnings, snapshot.Warning{Table: w.Table, Text: w.Text})
	}
	return res, nil
}
