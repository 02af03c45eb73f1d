package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
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
// exchange. A request without v2 fields goes out as version 1, so an older
// daemon still answers it.
func Query(path string, req daemonproto.Request, timeout time.Duration) (daemonproto.Header, []sock.Socket, error) {
	req.Listing = nil
	req.Version = 1
	if req.Fresh {
		req.Version = daemonproto.Version
	}
	hdr, body, err := exchange(path, req, timeout)
	if err != nil || req.Kind != daemonproto.KindSockets {
		return hdr, nil, err
	}
	socks, err := daemonproto.DecodeSockets(body, hdr.Count)
	if err != nil {
		return hdr, nil, err
	}
	return hdr, socks, nil
}

// QueryListing asks the daemon to render a listing (req.Listing set) and
// returns the header and the output frame (daemonproto.WriteOutput).
func QueryListing(path string, req daemonproto.Request, timeout time.Duration) (daemonproto.Header, []byte, error) {
	req.Version = daemonproto.Version
	req.Kind = daemonproto.KindSockets
	hdr, body, err := exchange(path, req, timeout)
	if err != nil {
		return hdr, nil, err
	}
	if !hdr.Rendered {
		return hdr, nil, fmt.Errorf("asking %s for a listing: the reply is not rendered", path)
	}
	return hdr, body, nil
}

// IsVersionError says whether err is a daemon refusing the protocol
// version (an older daemon).
func IsVersionError(err error) bool {
	var de DaemonError
	return errors.As(err, &de) && strings.HasPrefix(string(de), "unsupported protocol version")
}

func exchange(path string, req daemonproto.Request, timeout time.Duration) (daemonproto.Header, []byte, error) {
	var hdr daemonproto.Header
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
		return hdr, nil, fmt.Errorf("reading the reply from %s: %w", path, err)
	}
	return hdr, body, nil
}
