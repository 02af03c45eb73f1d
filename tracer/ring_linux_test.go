package tracer

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"github.com/bpfstat/bpfstat/bpf"
	"github.com/bpfstat/bpfstat/internal/sock"
)

// fakeRing lays out a ring buffer as the kernel maps it (consumer page,
// producer page, data twice) in ordinary memory, for ring's reader logic.
type fakeRing struct {
	r    *ring
	size int
	prod uint64
}

func newFakeRing(page, size int) *fakeRing {
	cons := make([]byte, page)
	prod := make([]byte, page+2*size)
	r := &ring{cons: cons, prod: prod, mask: uint64(size - 1), page: page}
	r.consPos = (*uint64)(unsafe.Pointer(&cons[0]))
	r.prodPos = (*uint64)(unsafe.Pointer(&prod[0]))
	return &fakeRing{r: r, size: size}
}

// put writes a record at the producer position (into both copies of the
// data, as the double mapping shows it) and advances the position.
func (f *fakeRing) put(data []byte, flags uint32) {
	rec := make([]byte, (ringHdrLen+len(data)+7)&^7)
	binary.NativeEndian.PutUint32(rec, uint32(len(data))|flags)
	copy(rec[ringHdrLen:], data)
	for i, b := range rec {
		off := int((f.prod + uint64(i)) % uint64(f.size))
		f.r.prod[f.r.page+off] = b
		f.r.prod[f.r.page+f.size+off] = b
	}
	f.prod += uint64(len(rec))
	binary.NativeEndian.PutUint64(f.r.prod, f.prod)
}

func TestRingReader(t *testing.T) {
	f := newFakeRing(64, 64) // tiny: records wrap around the end
	r := f.r
	if b := r.next(); b != nil {
		t.Fatalf("empty ring gave %q", b)
	}
	f.put([]byte("first"), 0)
	f.put([]byte("gone"), ringDiscard)
	f.put([]byte("second"), 0)
	for _, want := range []string{"first", "second"} {
		if b := r.next(); string(b) != want {
			t.Fatalf("next = %q, want %q", b, want)
		}
	}
	if r.next() != nil || *r.consPos != 0 {
		t.Fatalf("consumer position moved before release: %d", *r.consPos)
	}
	r.release()
	if *r.consPos != f.prod {
		t.Fatalf("released to %d, want %d", *r.consPos, f.prod)
	}
	// A record the producer has reserved but not submitted stops the
	// reader, and the ones after it wait with it.
	f.put([]byte("busy-record"), ringBusy)
	f.put([]byte("after"), 0)
	if b := r.next(); b != nil {
		t.Fatalf("read past a busy record: %q", b)
	}
	// Submitted: the record's header loses its busy bit.
	at := r.page + int(*r.consPos&r.mask)
	hdr := binary.NativeEndian.Uint32(r.prod[at:]) &^ ringBusy
	binary.NativeEndian.PutUint32(r.prod[at:], hdr)
	binary.NativeEndian.PutUint32(r.prod[at+f.size:], hdr)
	// "busy-record" now straddles the end of the data area: read whole through
	// the second mapping.
	for _, want := range []string{"busy-record", "after"} {
		if b := r.next(); string(b) != want {
			t.Fatalf("next = %q, want %q", b, want)
		}
	}
	r.release()
	if *r.consPos != f.prod {
		t.Fatalf("released to %d, want %d", *r.consPos, f.prod)
	}
}

// record encodes an event as the kernel queues it.
func record(ev Event, flags uint8) []byte {
	b := make([]byte, eventSize)
	ne := binary.NativeEndian
	ne.PutUint64(b[offTs:], ev.Time)
	ne.PutUint64(b[offCookie:], ev.Cookie)
	ne.PutUint32(b[offNetns:], uint32(ev.NetNS))
	ne.PutUint16(b[offFamily:], uint16(ev.Family))
	ne.PutUint16(b[offProtocol:], ipprotoTCP)
	if ev.Local.IsValid() {
		a := ev.Local.Addr().As4()
		copy(b[offSaddr:], a[:])
		ne.PutUint16(b[offSport:], ev.Local.Port())
	}
	if ev.Remote.IsValid() {
		a := ev.Remote.Addr().As4()
		copy(b[offDaddr:], a[:])
		ne.PutUint16(b[offDport:], ev.Remote.Port())
	}
	ne.PutUint32(b[offPid:], uint32(ev.PID))
	ne.PutUint32(b[offTid:], uint32(ev.TID))
	ne.PutUint32(b[offFd:], uint32(ev.FD))
	b[offKind] = byte(ev.Kind)
	b[offOld] = byte(ev.OldState)
	b[offNew] = byte(ev.NewState)
	b[offType] = 1
	b[offFlags] = flags
	copy(b[offComm:], ev.Comm)
	return b
}

// TestFillJoins: what Read returns for a client's records: owners joined
// in, process records consumed, and TCP's connect event made from its
// CLOSE->SYN_SENT transition.
func TestFillJoins(t *testing.T) {
	f := newFakeRing(4096, 4096)
	tr := &Tracer{ring: f.r, owners: newOwners(0)}
	owned := uint8(bpf.BpfstatEventFlagEVENT_F_OWNER)
	f.put(record(Event{Kind: kindExec, PID: 7, TID: 0, Comm: "curl"}, owned), 0)
	f.put(record(Event{Kind: KindSocket, Time: 10, Cookie: 5, Family: sock.FamilyInet, NetNS: ns, PID: 7, TID: 7, FD: 3, Comm: "curl"}, owned), 0)
	f.put(record(tcpEv(KindState, 20, 5, cliAddr, srvAddr, sock.StateClose, sock.StateSynSent), 0), 0)
	tr.fill()
	var got []string
	for _, ev := range tr.batch {
		got = append(got, fmt.Sprintf("%s %v->%v %v %d/%s fd %d", ev.Kind, ev.OldState, ev.NewState, ev.Remote, ev.PID, ev.Comm, ev.FD))
	}
	want := []string{
		"socket UNKNOWN->UNKNOWN 0.0.0.0:0 7/curl fd 3",
		"connect UNKNOWN->UNKNOWN 127.0.0.1:80 7/curl fd 3",
		"state CLOSE->SYN_SENT 127.0.0.1:80 7/curl fd 3",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("fill gave\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestReadBatch: a batch is every event queued, appended to the caller's
// slice, and the next call starts after it.
func TestReadBatch(t *testing.T) {
	f := newFakeRing(4096, 4096)
	tr := &Tracer{ring: f.r, owners: newOwners(0)}
	for i := range 3 {
		f.put(record(tcpEv(KindState, uint64(10+i), uint64(5+i), cliAddr, srvAddr, sock.StateEstablished, sock.StateFinWait1), 0), 0)
	}
	got, err := tr.ReadBatch(context.Background(), []Event{{Kind: KindSocket}})
	if err != nil || len(got) != 4 || got[0].Kind != KindSocket || got[3].Time != 12 {
		t.Fatalf("ReadBatch = %d events (%v), want the 1 given and 3 queued", len(got), err)
	}
	f.put(record(tcpEv(KindClose, 20, 5, cliAddr, srvAddr, sock.StateFinWait2, sock.StateClose), 0), 0)
	got, err = tr.ReadBatch(context.Background(), got[:0])
	if err != nil || len(got) != 1 || got[0].Time != 20 {
		t.Fatalf("second ReadBatch = %+v (%v), want the close alone", got, err)
	}
}
