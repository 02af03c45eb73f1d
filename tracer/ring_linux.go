package tracer

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ring reads a BPF_MAP_TYPE_RINGBUF map in place, in batches.
//
// The kernel maps the ring as: one page holding consumer_pos (ours to
// write), one page holding producer_pos, then the data pages twice in a
// row, so a record that wraps around the end is still contiguous. Each
// record is an 8-byte header (length with BUSY and DISCARD bits, page
// offset) and its data, padded to 8 bytes.
//
// Unlike a record-at-a-time reader, ring publishes consumer_pos once per
// batch: the producers read it on every reserve, so each store from the
// consumer is a cache line the producing CPUs must fetch again.
type ring struct {
	fd int
	// wake is a duplicate of the map's descriptor in Go's network poller:
	// a reader waiting for the kernel's wakeup parks its goroutine instead
	// of blocking a thread in epoll_wait, which made the runtime hand the
	// thread's work to another one on every wait (a third of the reader's
	// CPU went to those context switches).
	wake    *os.File
	wakeRC  syscall.RawConn
	cons    []byte // consumer page (read-write)
	prod    []byte // producer page and the data pages twice (read-only)
	mask    uint64
	page    int
	consPos *uint64
	prodPos *uint64
	// pos is how far this reader has handed records out; consPos is
	// advanced to it by release.
	pos uint64
	// prodSeen is producer_pos as last read: reloaded only once pos reaches
	// it, since every load of the live one pulls the cache line that
	// each bpf_ringbuf_reserve on the producing CPUs then has to take
	// back.
	prodSeen uint64
}

const (
	ringBusy    = 1 << 31
	ringDiscard = 1 << 30
	ringHdrLen  = 8
)

func newRing(mapFD, size int) (*ring, error) {
	page := os.Getpagesize()
	if size <= 0 || size%page != 0 || size&(size-1) != 0 {
		return nil, fmt.Errorf("ring buffer size %d is not a power-of-two multiple of the page size", size)
	}
	r := &ring{fd: mapFD, mask: uint64(size - 1), page: page}
	var err error
	r.cons, err = unix.Mmap(mapFD, 0, page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mapping the ring buffer's consumer page: %w", err)
	}
	r.prod, err = unix.Mmap(mapFD, int64(page), page+2*size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		r.close()
		return nil, fmt.Errorf("mapping the ring buffer's data: %w", err)
	}
	r.consPos = (*uint64)(unsafe.Pointer(&r.cons[0]))
	r.prodPos = (*uint64)(unsafe.Pointer(&r.prod[0]))
	r.pos = atomic.LoadUint64(r.consPos)
	dup, err := unix.FcntlInt(uintptr(mapFD), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		r.close()
		return nil, fmt.Errorf("duplicating the ring buffer's descriptor: %w", err)
	}
	if err := unix.SetNonblock(dup, true); err != nil {
		unix.Close(dup)
		r.close()
		return nil, fmt.Errorf("polling the ring buffer: %w", err)
	}
	r.wake = os.NewFile(uintptr(dup), "bpf ringbuf")
	if r.wakeRC, err = r.wake.SyscallConn(); err != nil {
		r.close()
		return nil, fmt.Errorf("polling the ring buffer: %w", err)
	}
	return r, nil
}

// next returns the next committed record's data, or nil if none is
// ready. The slice points into the ring: it is valid until release.
func (r *ring) next() []byte {
	for {
		if r.pos >= r.prodSeen {
			if r.prodSeen = atomic.LoadUint64(r.prodPos); r.pos >= r.prodSeen {
				return nil
			}
		}
		off := r.page + int(r.pos&r.mask)
		hdr := atomic.LoadUint32((*uint32)(unsafe.Pointer(&r.prod[off])))
		if hdr&ringBusy != 0 {
			return nil // reserved, not yet submitted: records stay in order
		}
		n := int(hdr &^ (ringBusy | ringDiscard))
		r.pos += uint64((ringHdrLen + n + 7) &^ 7)
		if hdr&ringDiscard != 0 {
			continue
		}
		return r.prod[off+ringHdrLen : off+ringHdrLen+n : off+ringHdrLen+n]
	}
}

// release hands the records read so far back to the kernel.
func (r *ring) release() {
	atomic.StoreUint64(r.consPos, r.pos)
}

// wait returns once the kernel signals data, or after timeout.
func (r *ring) wait(timeout time.Duration) error {
	if err := r.wake.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return fmt.Errorf("waiting for the ring buffer: %w", err)
	}
	first := true
	err := r.wakeRC.Read(func(uintptr) bool {
		// The first call returns at once, as a read would: park until
		// the poller reports the descriptor readable (a wakeup).
		done := !first
		first = false
		return done
	})
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("waiting for the ring buffer: %w", err)
	}
	return nil
}

func (r *ring) close() {
	if r.wake != nil {
		r.wake.Close()
		r.wake = nil
	}
	if r.prod != nil {
		unix.Munmap(r.prod)
		r.prod = nil
	}
	if r.cons != nil {
		unix.Munmap(r.cons)
		r.cons = nil
	}
}
