package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/bpfstat/bpfstat/internal/daemon"
	"github.com/bpfstat/bpfstat/internal/daemonproto"
	"github.com/bpfstat/bpfstat/internal/render/nettools"
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
	// Fresh (--fresh) asks the daemon for a kernel dump at query time
	// instead of its cached one (at most about a second old).
	Fresh bool
}

func init() {
	// One-shot -p as root: one BPF iterator pass instead of a readlink per
	// descriptor (falls back to /proc/*/fd by itself).
	snapshot.SocketFDIter = func(yield func(pid, fd int32, inode uint64)) error {
		return tracer.EachSocketFD(func(f tracer.SocketFD) { yield(f.PID, f.FD, f.Inode) })
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
	req := daemonproto.Request{Kind: daemonproto.KindSockets, Owners: q.Owners, AllNetns: q.AllNetns, Fresh: q.Fresh}
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

// daemonListing has the daemon render a numeric listing (protocol v2) and
// writes its output verbatim: the daemon answers from its cached dump and
// rendered bytes, so the client neither decodes nor formats 100k sockets.
// ok is false when the listing is not one for the daemon (names to look
// up, -g, --source snapshot, fixtures) or, with --source auto, when no
// daemon renders it; the caller then lists sockets the usual way. An
// older daemon (protocol v1) gets the usual way too.
func daemonListing(w, ew io.Writer, f *nettools.Flags, q socketQuery) (rc int, ok bool, err error) {
	if q.Source == "snapshot" || fixtureRoot != "" {
		return 0, false, nil
	}
	l, renderable := daemon.ListingOf(f)
	if !renderable {
		return 0, false, nil
	}
	path := daemon.SocketPath(q.Socket)
	if q.Source != "daemon" {
		if _, err := os.Stat(path); err != nil {
			return 0, false, nil
		}
	}
	req := daemonproto.Request{Listing: &l, AllNetns: q.AllNetns, Fresh: q.Fresh}
	hdr, frame, err := daemon.QueryListing(path, req, daemonTimeout)
	if err != nil {
		if q.Source == "daemon" && !daemon.IsVersionError(err) {
			var de daemon.DaemonError
			if errors.As(err, &de) {
				return 0, false, err
			}
			return 0, false, fmt.Errorf("asking the daemon: %w", err)
		}
		return 0, false, nil
	}
	if err := daemonproto.WriteOutput(frame, w, ew); err != nil {
		return 0, false, fmt.Errorf("asking the daemon: %w", err)
	}
	return hdr.Status, true, nil
}
