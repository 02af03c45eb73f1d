//go:build !linux

package daemon

import (
	"fmt"
	"net"
	"runtime"

	"github.com/bpfstat/bpfstat/snapshot"
)

func peerOf(net.Conn) (Peer, error) {
	return Peer{}, fmt.Errorf("reading peer credentials on %s: %w", runtime.GOOS, snapshot.ErrNotSupported)
}

func connInode(net.Conn) uint64 { return 0 }
