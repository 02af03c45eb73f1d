// Package daemon serves socket listings from the live table over a Unix
// socket (the daemonproto protocol) and is the client side of it.
//
// The server never lets a client hold it up: each connection has its own
// goroutine, bounded in number; the request must arrive within
// ReadTimeout and the reply be taken within WriteTimeout; the reply is a
// private copy encoded before the first byte is written, so no lock is
// held while a client reads slowly; a vanished client only fails its own
// write.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/bpfstat/bpfstat/internal/daemonproto"
	"github.com/bpfstat/bpfstat/internal/sock"
)

// Peer is the client's identity from SO_PEERCRED.
type Peer struct {
	PID      int32
	UID, GID uint32
	// Conn holds the inodes of both ends of the query's connection,
	// which the answer leaves out.
	Conn [2]uint64
}

// Answerer computes replies.
type Answerer interface {
	Answer(ctx context.Context, req daemonproto.Request, peer Peer) (daemonproto.Header, []sock.Socket)
}

// ListingAnswerer renders v2 listing requests (Request.Listing): the
// header has Rendered set and the frame holds daemonproto output
// segments.
type ListingAnswerer interface {
	Listing(ctx context.Context, req daemonproto.Request, peer Peer) (daemonproto.Header, []byte)
}

// Server accepts connections and answers one request on each.
type Server struct {
	Answerer Answerer
	// ReadTimeout bounds the wait for a request, WriteTimeout the time a
	// client may take to read the reply. Zero: 2s and 30s.
	ReadTimeout, WriteTimeout time.Duration
	// MaxConns bounds concurrent connections; more are refused with an
	// error reply. Zero: 64.
	MaxConns int
	// Logf reports per-connection failures; nil discards them.
	Logf func(format string, args ...any)

	wg sync.WaitGroup
}

// Serve answers connections on ln until ctx ends; it then closes ln and
// waits for the connections in flight.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.ReadTimeout == 0 {
		s.ReadTimeout = 2 * time.Second
	}
	if s.WriteTimeout == 0 {
		s.WriteTimeout = 30 * time.Second
	}
	if s.MaxConns == 0 {
		s.MaxConns = 64
	}
	sem := make(chan struct{}, s.MaxConns)
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	defer s.wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("accepting a client: %w", err)
		}
		select {
		case sem <- struct{}{}:
		default:
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				c.SetWriteDeadline(time.Now().Add(time.Second))
				writeError(c, "daemon busy: too many clients")
			}()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-sem }()
			defer c.Close()
			if err := s.handle(ctx, c); err != nil && s.Logf != nil {
				s.Logf("client: %v", err)
			}
		}()
	}
}

func writeError(c net.Conn, msg string) error {
	b, _ := encodeHeader(daemonproto.Header{Version: daemonproto.Version, Error: msg})
	return daemonproto.WriteFrame(c, b)
}

func (s *Server) handle(ctx context.Context, c net.Conn) (err error) {
	defer func() {
		// A bug in one answer must not take the daemon down.
		if r := recover(); r != nil {
			err = fmt.Errorf("answering: panic: %v", r)
			c.SetWriteDeadline(time.Now().Add(time.Second))
			writeError(c, "internal error")
		}
	}()
	peer, err := peerOf(c)
	if err != nil {
		return fmt.Errorf("reading peer credentials: %w", err)
	}
	c.SetReadDeadline(time.Now().Add(s.ReadTimeout))
	payload, err := daemonproto.ReadFrame(c, daemonproto.MaxRequest)
	if err != nil {
		c.SetWriteDeadline(time.Now().Add(time.Second))
		if errors.Is(err, daemonproto.ErrTooLarge) {
			writeError(c, "request too large")
		} else {
			writeError(c, "reading request: "+err.Error())
		}
		return err
	}
	req, err := daemonproto.DecodeRequest(payload)
	if err != nil {
		c.SetWriteDeadline(time.Now().Add(time.Second))
		writeError(c, err.Error())
		return err
	}
	peer.Conn = [2]uint64{connInode(c), req.ClientInode}
	var hdr daemonproto.Header
	var body []byte
	if la, ok := s.Answerer.(ListingAnswerer); ok && req.Listing != nil {
		// The body is the rendered output, possibly the cache's own
		// bytes: written as they are, never modified.
		hdr, body = la.Listing(ctx, req, peer)
		hdr.Rendered = hdr.Error == ""
	} else if req.Listing != nil {
		hdr.Error = "this daemon does not render listings"
	} else {
		var socks []sock.Socket
		hdr, socks = s.Answerer.Answer(ctx, req, peer)
		if hdr.Error == "" {
			hdr.Count = len(socks)
			body = daemonproto.AppendSockets(make([]byte, 0, 64*len(socks)), socks)
		}
	}
	// Answer in the client's version (a v1 client gets a v1 header).
	hdr.Version = req.Version
	hb, err := encodeHeader(hdr)
	if err != nil {
		return err
	}
	c.SetWriteDeadline(time.Now().Add(s.WriteTimeout))
	if err := daemonproto.WriteFrame(c, hb); err != nil {
		return err
	}
	if hdr.Error == "" {
		return daemonproto.WriteFrame(c, body)
	}
	return nil
}
