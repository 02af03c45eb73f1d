package tracer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unsafe"

	"github.com/cilium/ebpf/link"

	"github.com/bpfstat/bpfstat/bpf"
)

// SocketFDs lists every socket file descriptor of every process with one
// run of the iter/task_file iterator (bpf/iter.bpf.c): a single read(2)
// loop instead of a readlink(2) per descriptor. The program is loaded,
// run and released within the call; nothing stays attached. Needs
// CAP_BPF and CAP_PERFMON (root); callers fall back to /proc/*/fd.
//
// Pids are those of the initial pid namespace; callers in another pid
// namespace must not use this.
func SocketFDs() ([]SocketFD, error) {
	var out []SocketFD
	err := EachSocketFD(func(f SocketFD) { out = append(out, f) })
	return out, err
}

// EachSocketFD is SocketFDs without the slice: records are decoded as the
// iterator's output is read, 256 KiB at a time, and handed to yield in
// the iterator's order (tasks by pid, each table's descriptors in order).
func EachSocketFD(yield func(SocketFD)) error {
	var objs bpf.IterObjects
	if err := bpf.LoadIterObjects(&objs, nil); err != nil {
		return fmt.Errorf("loading socket fd iterator: %w", err)
	}
	defer objs.Close()
	it, err := link.AttachIter(link.IterOptions{Program: objs.SocketFds})
	if err != nil {
		return fmt.Errorf("attaching socket fd iterator: %w", err)
	}
	defer it.Close()
	rd, err := it.Open()
	if err != nil {
		return fmt.Errorf("opening socket fd iterator: %w", err)
	}
	defer rd.Close()
	// A read may end inside a record: the rest waits for the next one.
	buf := make([]byte, 256<<10)
	have := 0
	for {
		n, err := rd.Read(buf[have:])
		have += n
		whole := have - have%fdRecSize
		for b := buf[:whole]; len(b) >= fdRecSize; b = b[fdRecSize:] {
			yield(decodeFDRec(b))
		}
		have = copy(buf, buf[whole:have])
		if errors.Is(err, io.EOF) || (n == 0 && err == nil) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading socket fd iterator: %w", err)
		}
	}
	if have != 0 {
		return fmt.Errorf("reading socket fd iterator: %d bytes after the last whole record", have)
	}
	return nil
}

const fdRecSize = int(unsafe.Sizeof(bpf.IterFdRec{}))

// decodeFDRec decodes one struct fd_rec (bpf/iter.h).
func decodeFDRec(b []byte) SocketFD {
	ne := binary.NativeEndian
	return SocketFD{PID: int32(ne.Uint32(b[0:])), FD: int32(ne.Uint32(b[4:])), Inode: ne.Uint64(b[8:])}
}

// decodeFDRecs decodes a whole buffer of struct fd_rec records.
func decodeFDRecs(b []byte) ([]SocketFD, error) {
	if len(b)%fdRecSize != 0 {
		return nil, fmt.Errorf("decoding socket fd records: %d bytes is not a multiple of %d", len(b), fdRecSize)
	}
	out := make([]SocketFD, 0, len(b)/fdRecSize)
	for ; len(b) >= fdRecSize; b = b[fdRecSize:] {
		out = append(out, decodeFDRec(b))
	}
	return out, nil
}
