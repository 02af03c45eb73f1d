// Package daemonproto is the wire protocol between bpfstat and
// `bpfstat daemon` over a Unix stream socket.
//
// Every message is a frame: a 4-byte big-endian payload length, then the
// payload. A connection carries one exchange:
//
//	client -> daemon  frame: Request, JSON (at most MaxRequest bytes)
//	daemon -> client  frame: Header, JSON
//	daemon -> client  frame: the sockets, binary (see AppendSockets),
//	                  present only when Header.Error is empty; with
//	                  Header.Rendered, the listing's output instead (see
//	                  AppendOutput)
//
// Version 2 adds Request.Listing and Request.Fresh: the client sends its
// parsed netstat flags and the daemon renders the listing itself, so a
// query is one memcpy of cached bytes instead of 100k records encoded,
// decoded and formatted again. Version 1 requests are still answered
// (with sockets, never rendered).
//
// JSON keeps the request easy to evolve and to debug with socat; the socket
// list is binary because at 100k sockets JSON encoding alone would cost
// more than the whole query is allowed to take. Version is bumped on any
// incompatible change; the daemon answers an unknown version with an error
// header naming the versions it speaks.
package daemonproto

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/bpfstat/bpfstat/internal/sock"
)

// Version is the protocol version this package speaks; MinVersion the
// oldest one the daemon still answers.
const (
	Version    = 2
	MinVersion = 1
)

// Size limits. A request is a few hundred bytes; anything near MaxRequest
// is an abuse. MaxResponse bounds what a client will allocate for a reply.
const (
	MaxRequest  = 64 << 10
	MaxHeader   = 1 << 20
	MaxResponse = 1 << 30
)

// Query kinds.
const (
	KindSockets = "sockets" // socket listing, like netstat's default view
	KindPing    = "ping"    // liveness: an empty, successful answer
	KindStats   = "stats"   // table counters in Header.Stats
)

// ErrTooLarge is returned for a frame longer than the reader allows.
var ErrTooLarge = errors.New("frame too large")

// Request is a client's query.
type Request struct {
	Version int    `json:"v"`
	Kind    string `json:"kind"`
	// Protos are sock.Proto names ("tcp", "udp", "udpl", "raw", "unix");
	// empty means all.
	Protos []string `json:"protos,omitempty"`
	// Families are sock.Family names ("inet", "inet6", "unix"); empty
	// means all.
	Families []string `json:"families,omitempty"`
	// Owners asks for Socket.Owners (netstat -p / -e).
	Owners bool `json:"owners,omitempty"`
	// AllNetns lists every network namespace the daemon knows instead of
	// the client's own.
	AllNetns bool `json:"allNetns,omitempty"`
	// ClientInode is the inode of the client's end of this connection.
	// The daemon leaves both ends of the query's own connection out of
	// the listing: netstat, reading /proc, has no such socket.
	ClientInode uint64 `json:"clientInode,omitempty"`
	// Listing (v2) asks the daemon to render netstat's listing with these
	// flags and send its output (Header.Rendered) instead of sockets.
	Listing *Listing `json:"listing,omitempty"`
	// Fresh (v2) asks for a kernel dump at query time instead of the
	// daemon's cached one (at most about a second old; see the daemon
	// package).
	Fresh bool `json:"fresh,omitempty"`
}

// Listing is net-tools netstat's option state after its own
// normalisation (internal/render/nettools.Flags), as far as a socket
// listing uses it. Name look-ups stay in the client: the daemon renders
// only fully numeric listings (NumHosts, NumPorts, and NumUsers when
// Extend > 1), and not -g, whose table the client reads.
type Listing struct {
	All        bool  `json:"all,omitempty"`
	Listening  bool  `json:"listening,omitempty"`
	NumHosts   bool  `json:"numHosts,omitempty"`
	NumPorts   bool  `json:"numPorts,omitempty"`
	NumUsers   bool  `json:"numUsers,omitempty"`
	Wide       bool  `json:"wide,omitempty"`
	Extend     int   `json:"extend,omitempty"`
	Programs   bool  `json:"programs,omitempty"`
	Timers     bool  `json:"timers,omitempty"`
	Verbose    bool  `json:"verbose,omitempty"`
	TCP        bool  `json:"tcp,omitempty"`
	SCTP       bool  `json:"sctp,omitempty"`
	UDP        bool  `json:"udp,omitempty"`
	UDPLite    bool  `json:"udplite,omitempty"`
	Raw        bool  `json:"raw,omitempty"`
	Inet       bool  `json:"inet,omitempty"`
	Inet6      bool  `json:"inet6,omitempty"`
	Unix       bool  `json:"unix,omitempty"`
	IPX        bool  `json:"ipx,omitempty"`
	AX25       bool  `json:"ax25,omitempty"`
	X25        bool  `json:"x25,omitempty"`
	NetROM     bool  `json:"netrom,omitempty"`
	Rose       bool  `json:"rose,omitempty"`
	L2CAP      bool  `json:"l2cap,omitempty"`
	RFCOMM     bool  `json:"rfcomm,omitempty"`
	NoProt     bool  `json:"noprot,omitempty"`
	Arg        int   `json:"arg,omitempty"`
	EUID       int   `json:"euid,omitempty"`
	ClockTicks int64 `json:"clockTicks,omitempty"`
}

// Validate checks a Listing's numbers are in range and that it is one
// the daemon renders (numeric, no -g).
func (l *Listing) Validate() error {
	switch {
	case l.Extend < 0 || l.Extend > 64:
		return fmt.Errorf("listing: extend %d out of range", l.Extend)
	case l.Arg < 0 || l.Arg > 32:
		return fmt.Errorf("listing: arg %d out of range", l.Arg)
	case l.EUID < -1 || int64(l.EUID) > 1<<32-1:
		return fmt.Errorf("listing: euid %d out of range", l.EUID)
	case l.ClockTicks < 0 || l.ClockTicks > 1<<20:
		return fmt.Errorf("listing: clock ticks %d out of range", l.ClockTicks)
	case !l.NumHosts || !l.NumPorts || (l.Extend > 1 && !l.NumUsers):
		return errors.New("listing: only numeric listings are rendered by the daemon")
	}
	return nil
}

// Header opens every reply.
type Header struct {
	Version int    `json:"v"`
	Error   string `json:"error,omitempty"`
	// Count is the number of sockets in the following binary frame.
	Count int `json:"count"`
	// Warnings are netstat's stderr lines for input skipped, per table.
	Warnings []Warning `json:"warnings,omitempty"`
	// Missing lists protocol tables the kernel lacks (e.g. "udplite6").
	Missing []string `json:"missing,omitempty"`
	// OwnersIncomplete: owners were withheld from this (non-root) client
	// or could not be read; the client prints netstat's "Not all
	// processes could be identified" warning.
	OwnersIncomplete bool `json:"ownersIncomplete,omitempty"`
	// OwnersFound counts sockets with at least one owner in the reply;
	// OwnersSeen counts socket inodes met in readable fd tables.
	OwnersFound int `json:"ownersFound,omitempty"`
	OwnersSeen  int `json:"ownersSeen,omitempty"`
	// NetNS is the namespace inode answered for (0 with AllNetns).
	NetNS uint64            `json:"netns,omitempty"`
	Stats map[string]uint64 `json:"stats,omitempty"`
	// Rendered (v2): the frame after the header is the listing's output
	// (AppendOutput segments), and Status netstat's exit status.
	Rendered bool `json:"rendered,omitempty"`
	Status   int  `json:"status,omitempty"`
	// Age (v2) is how old, in milliseconds, the kernel dump a rendered
	// listing came from is (0: dumped for this query).
	Age int64 `json:"age,omitempty"`
}

// Warning is one stderr line and the table it concerns.
type Warning struct {
	Table string `json:"table,omitempty"`
	Text  string `json:"text"`
}

// ParseProto maps a protocol name from a Request to sock.Proto.
func ParseProto(name string) (sock.Proto, bool) {
	for p := sock.ProtoTCP; p <= sock.ProtoUnix; p++ {
		if p.String() == name {
			return p, true
		}
	}
	return sock.ProtoUnknown, false
}

// WriteFrame writes one length-prefixed frame.
func WriteFrame(w io.Writer, payload []byte) error {
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(payload)))
	if _, err := w.Write(l[:]); err != nil {
		return fmt.Errorf("writing frame length: %w", err)
	}
	if _, err := w.Write(payload); err != nil {
		return fmt.Errorf("writing frame: %w", err)
	}
	return nil
}

// ReadFrame reads one frame of at most max bytes.
func ReadFrame(r io.Reader, max int) ([]byte, error) {
	var l [4]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, fmt.Errorf("reading frame length: %w", err)
	}
	n := binary.BigEndian.Uint32(l[:])
	if uint64(n) > uint64(max) {
		return nil, fmt.Errorf("reading frame of %d bytes (limit %d): %w", n, max, ErrTooLarge)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("reading frame: %w", err)
	}
	return buf, nil
}

// DecodeRequest parses and validates a request payload. Every error is
// meant to be sent back to the client verbatim.
func DecodeRequest(b []byte) (Request, error) {
	var req Request
	if len(b) > MaxRequest {
		return req, fmt.Errorf("decoding request: %w", ErrTooLarge)
	}
	if err := json.Unmarshal(b, &req); err != nil {
		return req, fmt.Errorf("decoding request: %w", err)
	}
	if req.Version < MinVersion || req.Version > Version {
		return req, fmt.Errorf("unsupported protocol version %d (daemon speaks %d to %d)", req.Version, MinVersion, Version)
	}
	if req.Version < 2 && (req.Listing != nil || req.Fresh) {
		return req, fmt.Errorf("listing and fresh need protocol version 2")
	}
	if req.Listing != nil {
		if req.Kind != KindSockets {
			return req, fmt.Errorf("listing given with query kind %q", req.Kind)
		}
		if err := req.Listing.Validate(); err != nil {
			return req, err
		}
	}
	switch req.Kind {
	case KindSockets, KindPing, KindStats:
	default:
		return req, fmt.Errorf("unknown query kind %q", req.Kind)
	}
	if len(req.Protos) > 16 {
		return req, fmt.Errorf("too many protocols (%d)", len(req.Protos))
	}
	for _, p := range req.Protos {
		if _, ok := ParseProto(p); !ok {
			return req, fmt.Errorf("unknown protocol %q", p)
		}
	}
	if len(req.Families) > 8 {
		return req, fmt.Errorf("too many families (%d)", len(req.Families))
	}
	for _, f := range req.Families {
		if _, ok := ParseFamily(f); !ok {
			return req, fmt.Errorf("unknown family %q", f)
		}
	}
	return req, nil
}

// ParseFamily maps a family name from a Request to sock.Family.
func ParseFamily(name string) (sock.Family, bool) {
	for _, f := range []sock.Family{sock.FamilyUnix, sock.FamilyInet, sock.FamilyInet6} {
		if f.String() == name {
			return f, true
		}
	}
	return 0, false
}

// WantFamilies returns the request's families (nil: all).
func (r Request) WantFamilies() []sock.Family {
	var fs []sock.Family
	for _, n := range r.Families {
		if f, ok := ParseFamily(n); ok {
			fs = append(fs, f)
		}
	}
	return fs
}

// WantProtos returns the request's protocols as sock.Proto (nil: all).
func (r Request) WantProtos() []sock.Proto {
	var ps []sock.Proto
	for _, n := range r.Protos {
		if p, ok := ParseProto(n); ok {
			ps = append(ps, p)
		}
	}
	return ps
}
