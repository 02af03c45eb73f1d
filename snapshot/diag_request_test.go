package snapshot

import (
	"testing"

	"github.com/bpfstat/bpfstat/internal/sock"
)

// A TCP dump with a request socket (SYN_RECV, inode 0) goes back to /proc,
// whose retry count netstat -o prints; a full SYN_RECV socket does not.
func TestIsRequest(t *testing.T) {
	hasRequests := func(socks []sock.Socket) bool {
		for i := range socks {
			if isRequest(&socks[i]) {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		socks []sock.Socket
		want  bool
	}{
		{nil, false},
		{[]sock.Socket{{State: sock.StateListen, Inode: 7}, {State: sock.StateEstablished, Inode: 8}}, false},
		{[]sock.Socket{{State: sock.StateSynRecv, Inode: 9}}, false},
		{[]sock.Socket{{State: sock.StateListen, Inode: 7}, {State: sock.StateSynRecv}}, true},
	} {
		if got := hasRequests(c.socks); got != c.want {
			t.Errorf("hasRequests(%v) = %v, want %v", c.socks, got, c.want)
		}
	}
}
