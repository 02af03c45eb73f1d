package tracer

import (
	"encoding/binary"
	"testing"
	"unsafe"
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
