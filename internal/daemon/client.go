package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/bpfstat/bpfstat/internal/daemonproto"
	"github.com/bpfstat/bpfstat/internal/sock"
)

// DefaultSocket is where the daemon listens unless told otherwise.
const DefaultSocket = "/run/bpfstat/bpfstat.sock"

// SocketPath resolves the socket path: an explicit one, else
// $BPFSTAT_SOCKET, else DefaultSocket.
func SocketPath(explicit string) string {
	if explicit != "" {
		return explicit
	}
	if p := os.Getenv("BPFSTAT_SOCKET"); p != "" {
		return p
	}
	return DefaultSocket
}

// ErrNoDaemon wraps failures to reach a daemon (nothing listening, no
// permission), as opposed to a daemon that answered with an error.
var ErrNoDaemon = errors.New("no daemon answers")

// DaemonError is an error the daemon replied with.
type DaemonError string

func (e DaemonError) Error() string { return "daemon: " + string(e) }

// Query sends one request and returns the reply. timeout bounds the whole
// exchange.
func Query(path string, req daemonproto.Request, timeout time.Duration) (daemonproto.Header, []sock.Socket, error) {
	var hdr daemonproto.Header
	req.Version = daemonproto.Version
	c, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return hdr, nil, fmt.Errorf("connecting to %s: %w: %w", path, ErrNoDaemon, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	req.ClientInode = connInode(c)
	b, err := json.Marshal(req)
	if err != nil {
		return hdr, nil, fmt.Errorf("encoding request: %w", err)
	}
	werr := daemonproto.WriteFrame(c, b)
	// Even if the write failed, the daemon may have answered before
	// reading (e.g. "busy"): read what it said.
	hb, err := daemonproto.ReadFrame(c, daemonproto.MaxHeader)
	if err != nil {
		if werr != nil {
			err = werr
		}
		return hdr, nil, fmt.Errorf("asking %s: %w: %w", path, ErrNoDaemon, err)
	}
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return hdr, nil, fmt.Errorf("decoding reply header: %w", err)
	}
	if hdr.Error != "" {
		return hdr, nil, DaemonError(hdr.Error)
	}
	if req.Kind != daemonproto.KindSockets {
		return hdr, nil, nil
	}
	body, err := daemonproto.ReadFrame(c, daemonproto.MaxResponse)
	if err != nil {
		return hdr, nil, fmt.Errorf("reading sockets from %s: %w", path, err)
	}
	socks, err := daemonproto.DecodeSockets(body, hdr.Count)
	if err != nil {
		return hdr, nil, err
	}
	return hdr, socks, nil
}
