package tracer

import (
	"net"
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/bpfstat/bpfstat/bpf"
)

func TestFDRecSize(t *testing.T) {
	if s := unsafe.Sizeof(bpf.IterFdRec{}); s != 16 {
		t.Fatalf("struct fd_rec is %d bytes, want 16", s)
	}
	recs, err := decodeFDRecs([]byte{1, 0, 0, 0, 3, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0})
	if err != nil || len(recs) != 1 || recs[0] != (SocketFD{PID: 1, FD: 3, Inode: 9}) {
		t.Fatalf("decode = %+v, %v", recs, err)
	}
	if _, err := decodeFDRecs(make([]byte, 17)); err == nil {
		t.Fatal("ragged input accepted")
	}
}

// TestIntegrationSocketFDs runs the iterator and finds a socket this
// process holds.
func TestIntegrationSocketFDs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to load a BPF iterator")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	fds, err := SocketFDs()
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, r := range fds {
		if r.PID == int32(os.Getpid()) && r.Inode == st.Ino {
			found++
		}
	}
	// The listener and its dup from File().
	if found < 2 {
		t.Fatalf("iterator found our socket %d times in %d records", found, len(fds))
	}
}
