package nettools

import (
	"io"
	"net/netip"
	"strings"
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

// TestParallelLinesSameOutput: a table rendered in two halves at once
// prints exactly what one pass prints, owners and queues included.
func TestParallelLinesSameOutput(t *testing.T) {
	res := &snapshot.Result{}
	for i := 0; i < 5001; i++ {
		s := sock.Socket{
			Family: sock.FamilyInet, Proto: sock.ProtoTCP, State: sock.State(1 + i%11),
			Local:  netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, byte(i >> 8), byte(i)}), uint16(20000+i%7)),
			Remote: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(i)),
			RecvQ:  uint64(i * 3), SendQ: uint64(i % 5), UID: uint32(i % 3), Inode: uint64(100000 + i),
		}
		if i%4 != 0 {
			s.Owners = []sock.Owner{{PID: int32(1000 + i%9), Program: "prog-with-a-long-name"}}
		}
		res.Sockets = append(res.Sockets, s)
	}
	for _, ext := range []int{0, 2} {
		render := func(from int) string {
			defer func(old int) { parallelFrom = old }(parallelFrom)
			parallelFrom = from
			var out strings.Builder
			f := &Flags{All: true, TCP: true, NumHosts: true, NumPorts: true, NumUsers: true, Extend: ext, Programs: true}
			f.Normalize(false)
			Listing(&out, io.Discard, f, res, numericNamer{}, nil)
			return out.String()
		}
		one, two := render(1<<30), render(100)
		if one != two {
			t.Fatalf("-e x%d: parallel rendering differs from one pass (%d vs %d bytes)", ext, len(two), len(one))
		}
	}
}
