//go:build !linux

package snapshot

import (
	"fmt"

	"github.com/bpfstat/bpfstat/internal/sock"
)

// UnixDiag is what sock_diag tells about one unix socket.
type UnixDiag struct {
	Peer   uint64
	UID    uint32
	HasUID bool
}

// UnixPeers needs Linux's sock_diag.
func UnixPeers() (map[uint64]UnixDiag, error) {
	return nil, fmt.Errorf("dumping unix sockets: %w", ErrNotSupported)
}

// InetV6Only needs Linux's sock_diag.
func InetV6Only(proto uint8) (map[uint64]bool, error) {
	return nil, fmt.Errorf("dumping inet6 sockets: %w", ErrNotSupported)
}

// FillSockDiag needs Linux's sock_diag; FreeBSD sources carry the same
// facts in Socket.BSD.
func FillSockDiag(socks []sock.Socket) error {
	return fmt.Errorf("reading sock_diag: %w", ErrNotSupported)
}
