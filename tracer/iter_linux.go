package tracer

import (
	"encoding/binary"
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
	var objs bpf.IterObjects
	if err := bpf.LoadIterObjects(&objs, nil); err != nil {
		return nil, fmt.Errorf("loading socket fd iterator: %w", err)
	}
	defer objs.Close()
	it, err := link.AttachIter(link.IterOptions{Program: objs.SocketFds})
	if err != nil {
		return nil, fmt.Errorf("attaching socket fd iterator: %w", err)
	}
	defer it.Close()
	rd, err := it.Open()
	if err != nil {
		return nil, fmt.Errorf("opening socket fd iterator: %w", err)
	}
	defer rd.Close()
	b, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("reading socket fd iterator: %w", err)
	}
	return decodeFDRecs(b)
}

// decodeFDRecs decodes struct fd_rec records (bpf/iter.h).
func decodeFDRecs(b []byte) ([]SocketFD, error) {
	const size = int(unsafe.Sizeof(bpf.IterFdRec{}))
	if len(b)%size != 0 {
		return nil, fmt.Errorf("decoding socket fd records: %d bytes is not a multiple of %d", len(b), size)
	}
	out := make([]SocketFD, 0, len(b)/size)
	ne := binary.NativeEndian
	for ; len(b) >= size; b = b[size:] {
		out = append(out, SocketFD{
			PID:   int32(ne.Uint32(b[0:])),
			FD:    int32(ne.Uint32(b[4:])),
			Inode: ne.Uint64(b[8:]),
		})
	}
	return out, nil
}
