package tracer

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/bpfstat/bpfstat/internal/sock"
)

// Kind says what happened to a socket.
type Kind uint8

// Event kinds, numbered as enum event_kind in bpf/bpfstat.h.
const (
	KindSocket  Kind = 1 // socket(2)/socketpair(2) returned a descriptor
	KindBind    Kind = 2 // bind(2) succeeded (TCP/UDP/RAW over IPv4/IPv6)
	KindListen  Kind = 3 // listen(2) succeeded
	KindConnect Kind = 4 // connect(2) was called (Remote is the destination); TCP's sent its SYN
	KindAccept  Kind = 5 // accept(2)/accept4(2) returned a descriptor
	KindState   Kind = 6 // a TCP state transition (OldState -> NewState)
	KindClose   Kind = 7 // the socket is gone: TCP reached CLOSE, or the last descriptor was released
	// KindDisown: the process From closed its descriptor of a socket that
	// something else still holds, and the holder is taken to be the child
	// From forked last, after it got the socket (a forking server's parent
	// closing its copy of a connection, a daemon handing its listener to
	// a worker): the child has it in /proc/PID/fd, or has run no other
	// program since the fork and may have closed it since. That child, in
	// PID, TID, Comm, UID (From's) and FD, owns it from now on. Not a
	// change of the socket itself: for tables of owners, not event
	// streams.
	KindDisown Kind = 11
)

var kindNames = [...]string{"", "socket", "bind", "listen", "connect", "accept", "state", "close", KindDisown: "disown"}

// String returns the kind's lowercase name, as --follow prints it.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Event is one socket event, decoded from the kernel's record into
// OS-neutral types. Fields the hook could not know are zero (FD is -1).
type Event struct {
	Kind Kind
	// Time is CLOCK_MONOTONIC in nanoseconds (bpf_ktime_get_ns).
	Time uint64

	Family sock.Family
	Proto  sock.Proto
	// Type is the socket type (sock.TypeStream, sock.TypeDgram, ...).
	Type uint8
	// RawProto is the IP protocol number of a RAW socket.
	RawProto uint16
	// MPTCP is set for a Multipath TCP socket (IPPROTO_MPTCP, as Go
	// 1.24+ listeners use), which is reported as TCP.
	MPTCP bool

	// Local and Remote are the addresses (zero for unix sockets and
	// where not yet known).
	Local, Remote netip.AddrPort
	// Path is a unix socket's own address as /proc/net/unix prints it
	// (abstract names start with '@'), on events raised by system calls
	// (socket, bind, listen, connect, accept, close); "" if unbound.
	Path string

	// OldState and NewState are TCP states (netstat's names via
	// sock.State.String), set on KindState and KindClose events, and
	// CLOSE->LISTEN on a TCP KindListen; zero elsewhere (unix sockets
	// included). UDP and RAW closes carry the socket's last state in
	// OldState.
	OldState, NewState sock.State

	// Cookie is the kernel's socket cookie, stable for the socket's life
	// (0 when the kernel had not assigned one). NetNS is the network
	// namespace's inode number; Inode the socket's inode (as /proc/net and
	// /proc/PID/fd show them).
	Cookie uint64
	NetNS  uint64
	Inode  uint64

	// The owning process: the one that created, accepted or last used the
	// socket from a system call, also on events the kernel raised in
	// softirq context. PID is the thread-group id; PID 0 means unknown.
	PID  int32
	TID  int32
	Comm string
	UID  uint32
	FD   int32
	// From is, on KindDisown, the process that let the socket go.
	From int32

	// For TCP KindClose: time since the socket was created (or, for a
	// passive open, since the SYN arrived) and the bytes acknowledged by the
	// peer / received from it (tcp_sock bytes_acked / bytes_received, as
	// tcp_info has them: sequence space, so the SYN and FIN count as one
	// byte each when sent, the FIN when received).
	Lifetime      time.Duration
	BytesSent     uint64
	BytesReceived uint64
}

// Owner returns the owning process as the socket model has it.
func (e *Event) Owner() sock.Owner {
	return sock.Owner{PID: e.PID, Comm: e.Comm, Program: e.Comm, UID: e.UID, FD: e.FD}
}

// Socket returns the socket as far as this event describes it: identity,
// addresses, the state after the event, and the owner when known.
func (e *Event) Socket() sock.Socket {
	s := sock.Socket{
		Family:   e.Family,
		Proto:    e.Proto,
		Local:    e.Local,
		Remote:   e.Remote,
		State:    e.NewState,
		UID:      e.UID,
		Inode:    e.Inode,
		RawProto: e.RawProto,
		Cookie:   e.Cookie,
		NetNS:    e.NetNS,
	}
	if e.Proto == sock.ProtoUnix {
		s.UnixType = e.Type
		s.Path = e.Path
	}
	if e.PID != 0 {
		s.Owners = []sock.Owner{e.Owner()}
	}
	return s
}
