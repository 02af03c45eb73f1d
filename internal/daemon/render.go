package daemon

import (
	"net/netip"

	"github.com/bpfstat/bpfstat/internal/daemonproto"
	"github.com/bpfstat/bpfstat/internal/render/nettools"
	"github.com/bpfstat/bpfstat/snapshot"
)

// ListingOf turns netstat's parsed flags into a v2 request's Listing; ok
// is false for a listing the daemon does not render: one that needs name
// look-ups (they must use the client's /etc and resolver, not the
// daemon's), or -g (the client reads its multicast table).
func ListingOf(f *nettools.Flags) (daemonproto.Listing, bool) {
	l := daemonproto.Listing{
		All: f.All, Listening: f.Listening, NumHosts: f.NumHosts, NumPorts: f.NumPorts,
		NumUsers: f.NumUsers, Wide: f.Wide, Extend: f.Extend, Programs: f.Programs,
		Timers: f.Timers, Verbose: f.Verbose, TCP: f.TCP, SCTP: f.SCTP, UDP: f.UDP,
		UDPLite: f.UDPLite, Raw: f.Raw, Inet: f.Inet, Inet6: f.Inet6, Unix: f.Unix,
		IPX: f.IPX, AX25: f.AX25, X25: f.X25, NetROM: f.NetROM, Rose: f.Rose,
		L2CAP: f.L2CAP, RFCOMM: f.RFCOMM, NoProt: f.NoProt, Arg: f.Arg, EUID: f.EUID,
		ClockTicks: f.ClockTicks,
	}
	if f.Groups || f.Bluetooth && !(f.L2CAP || f.RFCOMM) {
		return l, false
	}
	return l, l.Validate() == nil
}

// flagsOf is ListingOf's inverse, on the daemon's side.
func flagsOf(l *daemonproto.Listing) nettools.Flags {
	return nettools.Flags{
		All: l.All, Listening: l.Listening, NumHosts: l.NumHosts, NumPorts: l.NumPorts,
		NumUsers: l.NumUsers, Wide: l.Wide, Extend: l.Extend, Programs: l.Programs,
		Timers: l.Timers, Verbose: l.Verbose, TCP: l.TCP, SCTP: l.SCTP, UDP: l.UDP,
		UDPLite: l.UDPLite, Raw: l.Raw, Inet: l.Inet, Inet6: l.Inet6, Unix: l.Unix,
		IPX: l.IPX, AX25: l.AX25, X25: l.X25, NetROM: l.NetROM, Rose: l.Rose,
		L2CAP: l.L2CAP, RFCOMM: l.RFCOMM, NoProt: l.NoProt, Arg: l.Arg, EUID: l.EUID,
		ClockTicks: l.ClockTicks,
	}
}

// noNames is the Namer of a numeric listing: the renderer asks it
// nothing (Validate requires -n's flags where they matter), and if it
// did, an empty answer makes it print the number.
type noNames struct{}

func (noNames) Service(uint16, string) string { return "" }
func (noNames) User(uint32) string            { return "" }
func (noNames) Host(netip.Addr) string        { return "" }

// renderListing renders a listing of res with flags l into an output
// frame (daemonproto.AppendOutput segments) and returns it with
// netstat's exit status.
func renderListing(l *daemonproto.Listing, res *snapshot.Result, sizeHint int) ([]byte, int) {
	f := flagsOf(l)
	frame := make([]byte, 0, sizeHint)
	rc := nettools.Listing(daemonproto.OutputWriter{Frame: &frame, Stream: daemonproto.Stdout},
		daemonproto.OutputWriter{Frame: &frame, Stream: daemonproto.Stderr}, &f, res, noNames{}, nil)
	return frame, rc
}
