// Package snapshot enumerates sockets once: on Linux from /proc/net and
// /proc/*/fd, on FreeBSD from the pcblist and kern.file sysctls. Parsers
// are pure functions over readers so fixtures can stand in for the kernel.
package snapshot

import (
	"errors"

	"github.com/bpfstat/bpfstat/internal/sock"
)

// ErrNotSupported is returned on operating systems without a snapshot
// source.
var ErrNotSupported = errors.New("not supported on this operating system")

// Options selects what a snapshot reads.
type Options struct {
	// Root is prepended to every path read (like ss's PROC_ROOT), so
	// tests can point a snapshot at a fixture tree. Empty means "/".
	Root string
	// Protos limits the protocols read; nil reads all, an empty non-nil
	// slice none (the listing prints no socket table).
	Protos []sock.Proto
	// Families limits the address families read; nil reads all.
	Families []sock.Family
	// Owners walks the process table to fill Socket.Owners.
	Owners bool
	// Collect, when set, receives Fast's sockets instead of
	// Result.Sockets (not with Owners).
	Collect Collector
}

// Collector receives a snapshot's sockets one at a time, in order, so a
// caller can keep them in a form of its own (the daemon packs them) with
// no slice of sock.Sockets in between. Truncate drops all but the first
// n: a table that must be read again from another source.
type Collector interface {
	Add(s *sock.Socket)
	Len() int
	Truncate(n int)
}

// sliceCollector is the default Collector: Result.Sockets.
type sliceCollector struct{ res *Result }

func (c sliceCollector) Add(s *sock.Socket) { c.res.Sockets = append(c.res.Sockets, *s) }
func (c sliceCollector) Len() int           { return len(c.res.Sockets) }
func (c sliceCollector) Truncate(n int)     { c.res.Sockets = c.res.Sockets[:n] }

// Result is one snapshot.
type Result struct {
	Sockets []sock.Socket
	// Warnings are netstat's stderr lines for input it skipped, e.g.
	// "warning, got bogus tcp line.", in the order met.
	Warnings []Warning
	// Missing lists the tables the kernel does not have (e.g. "udplite",
	// "sctp", "ipx"), so renderers can say what netstat says.
	Missing []string
	// OwnersDenied is set when some process's fds could not be read
	// (EACCES): netstat then warns that not all processes were identified.
	OwnersDenied bool
	// OwnersFound counts sockets with at least one owner.
	OwnersFound int
	// OwnersSeen counts every socket inode met in a readable fd table,
	// whether or not it is in Sockets.
	OwnersSeen int
}

// Warning is one skipped input line and the table it came from ("tcp",
// "tcp6", "unix", ...).
type Warning struct {
	Table string
	Text  string
}

// attachOwners gives every socket its holders from an inode -> owners map,
// as an fd walk found them.
func (r *Result) attachOwners(owners map[uint64][]sock.Owner, denied bool) {
	r.OwnersDenied = denied
	r.OwnersSeen = len(owners)
	for i := range r.Sockets {
		s := &r.Sockets[i]
		if o := owners[s.Inode]; len(o) > 0 && s.Inode != 0 {
			s.Owners = o
			r.OwnersFound++
		}
	}
}

// Has reports whether table t was read (not missing).
func (r *Result) Has(t string) bool {
	for _, m := range r.Missing {
		if m == t {
			return false
		}
	}
	return true
}

func (o Options) wants(p sock.Proto, f sock.Family) bool {
	ok := o.Protos == nil
	for _, q := range o.Protos {
		if q == p {
			ok = true
		}
	}
	if !ok {
		return false
	}
	if len(o.Families) == 0 {
		return true
	}
	for _, g := range o.Families {
		if g == f {
			return true
		}
	}
	return false
}
