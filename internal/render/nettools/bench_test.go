package nettools

import (
	"io"
	"net/netip"
	"testing"

	"github.com/bpfstat/bpfstat/internal/sock"
	"github.com/bpfstat/bpfstat/snapshot"
)

type numericNamer struct{}

func (numericNamer) Service(uint16, string) string { return "" }
func (numericNamer) Host(netip.Addr) string        { return "" }
func (numericNamer) User(uint32) string            { return "" }

func BenchmarkListing10k(b *testing.B) {
	res := &snapshot.Result{}
	for i := 0; i < 10000; i++ {
		res.Sockets = append(res.Sockets, sock.Socket{
			Family: sock.FamilyInet, Proto: sock.ProtoTCP, State: sock.StateEstablished,
			Local:  netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(20000+i%2)),
			Remote: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(30000+i)),
			Inode:  uint64(100000 + i), Owners: []sock.Owner{{PID: 1234, Program: "sockets-0"}},
		})
	}
	f := &Flags{All: true, TCP: true, NumHosts: true, NumPorts: true, NumUsers: true, Extend: 1, Programs: true}
	f.Normalize(false)
	b.ReportAllocs()
	for b.Loop() {
		Listing(io.Discard, io.Discard, f, res, numericNamer{}, nil)
	}
}
