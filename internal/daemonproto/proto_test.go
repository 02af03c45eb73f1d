package daemonproto

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/bpfstat/bpfstat/internal/sock"
)

func sampleSockets() []sock.Socket {
	return []sock.Socket{
		{
			Family: sock.FamilyInet, Proto: sock.ProtoTCP, State: sock.StateListen,
			Local: netip.MustParseAddrPort("127.0.0.1:8080"), Remote: netip.MustParseAddrPort("0.0.0.0:0"),
			SendQ: 4096, UID: 1000, Inode: 123456, Cookie: 42, NetNS: 4026531840,
			Timer:  sock.Timer{Kind: 2, Ticks: 7000, Retrans: 1, Timeout: -1},
			Owners: []sock.Owner{{PID: 10, Comm: "srv", Program: "srv", UID: 1000, FD: 3}, {PID: 11, Comm: "srv", Program: "srv", FD: -1}},
		},
		{
			Family: sock.FamilyInet6, Proto: sock.ProtoRaw, State: 7,
			Local: netip.MustParseAddrPort("[::1]:58"), Remote: netip.MustParseAddrPort("[::]:0"), RawProto: 58,
		},
		{
			Family: sock.FamilyUnix, Proto: sock.ProtoUnix, State: sock.UnixConnected, UnixType: sock.TypeStream,
			UnixFlags: sock.UnixFlagAcceptCon, RefCnt: 2, Path: "@/tmp/.X11-unix/X0", Inode: 99,
		},
		{Family: sock.FamilyUnix, Proto: sock.ProtoUnix, NoInode: true},
	}
}

func TestSocketsRoundTrip(t *testing.T) {
	in := sampleSockets()
	b := AppendSockets(nil, in)
	out, err := DecodeSockets(b, len(in))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip changed sockets:\n got %+v\nwant %+v", out, in)
	}
	// Every strict prefix must fail cleanly.
	for i := 0; i < len(b); i++ {
		if _, err := DecodeSockets(b[:i], len(in)); err == nil {
			t.Fatalf("prefix of %d/%d bytes decoded without error", i, len(b))
		}
	}
	if _, err := DecodeSockets(append(b, 0), len(in)); err == nil {
		t.Fatal("trailing byte accepted")
	}
}

func TestFrames(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteFrame(&buf, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFrame(&buf, 5)
	if err != nil || string(got) != "hello" {
		t.Fatalf("ReadFrame = %q, %v", got, err)
	}
	WriteFrame(&buf, []byte("toolong"))
	if _, err := ReadFrame(&buf, 5); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized frame: err = %v, want ErrTooLarge", err)
	}
}

func TestDecodeRequest(t *testing.T) {
	for _, tc := range []struct {
		in, err string
	}{
		{`{"v":1,"kind":"sockets","protos":["tcp","unix"],"owners":true}`, ""},
		{`{"v":1,"kind":"ping"}`, ""},
		{`{"v":2,"kind":"sockets"}`, ""},
		{`{"v":3,"kind":"sockets"}`, "unsupported protocol version"},
		{`{"v":0,"kind":"sockets"}`, "unsupported protocol version"},
		{`{"v":2,"kind":"sockets","fresh":true,"listing":{"tcp":true,"numHosts":true,"numPorts":true,"numUsers":true,"extend":1,"arg":1}}`, ""},
		{`{"v":1,"kind":"sockets","listing":{"numHosts":true,"numPorts":true}}`, "need protocol version 2"},
		{`{"v":1,"kind":"sockets","fresh":true}`, "need protocol version 2"},
		{`{"v":2,"kind":"ping","listing":{"numHosts":true,"numPorts":true}}`, "listing given with query kind"},
		{`{"v":2,"kind":"sockets","listing":{"tcp":true}}`, "only numeric listings"},
		{`{"v":2,"kind":"sockets","listing":{"numHosts":true,"numPorts":true,"extend":2}}`, "only numeric listings"},
		{`{"v":2,"kind":"sockets","listing":{"numHosts":true,"numPorts":true,"extend":-1}}`, "extend"},
		{`{"v":2,"kind":"sockets","listing":{"numHosts":true,"numPorts":true,"arg":1000}}`, "arg"},
		{`{"v":2,"kind":"sockets","listing":{"numHosts":true,"numPorts":true,"euid":-7}}`, "euid"},
		{`{"v":2,"kind":"sockets","listing":{"numHosts":true,"numPorts":true,"clockTicks":-1}}`, "clock ticks"},
		{`{"v":1,"kind":"rm -rf"}`, "unknown query kind"},
		{`{"v":1,"kind":"sockets","protos":["sctp"]}`, "unknown protocol"},
		{`{"v":1,"kind":"sockets","families":["inet6","unix"]}`, ""},
		{`{"v":1,"kind":"sockets","families":["ax25"]}`, "unknown family"},
		{`{"v":1`, "decoding request"},
		{``, "decoding request"},
	} {
		req, err := DecodeRequest([]byte(tc.in))
		if tc.err == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.in, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: err = %v, want %q (req %+v)", tc.in, err, tc.err, req)
		}
	}
	req, _ := DecodeRequest([]byte(`{"v":1,"kind":"sockets","protos":["tcp","udpl"]}`))
	if got := req.WantProtos(); !reflect.DeepEqual(got, []sock.Proto{sock.ProtoTCP, sock.ProtoUDPLite}) {
		t.Errorf("WantProtos = %v", got)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"v":1,"kind":"sockets","protos":["tcp"],"owners":true,"allNetns":true}`))
	f.Add([]byte(`{"v":1,"kind":"stats"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"v":2,"kind":"sockets","fresh":true,"listing":{"tcp":true,"all":true,"numHosts":true,"numPorts":true,"numUsers":true,"extend":3,"programs":true,"arg":1,"euid":65534,"clockTicks":100}}`))
	f.Add([]byte(`{"v":2,"kind":"sockets","listing":{"numHosts":true,"numPorts":true,"extend":2}}`))
	f.Add([]byte(`{"v":1,"kind":"sockets","listing":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := DecodeRequest(b)
		if err == nil {
			if req.Version < MinVersion || req.Version > Version || len(req.WantProtos()) != len(req.Protos) || len(req.WantFamilies()) != len(req.Families) {
				t.Fatalf("accepted invalid request %+v", req)
			}
			if l := req.Listing; l != nil {
				if req.Version < 2 || req.Kind != KindSockets || !l.NumHosts || !l.NumPorts || l.Extend < 0 || l.Extend > 64 || l.Arg < 0 || l.Arg > 32 || l.ClockTicks < 0 {
					t.Fatalf("accepted invalid listing %+v", *l)
				}
			}
		}
	})
}

func TestOutputRoundTrip(t *testing.T) {
	var frame []byte
	out, errw := OutputWriter{&frame, Stdout}, OutputWriter{&frame, Stderr}
	out.Write([]byte("Active Internet connections\n"))
	errw.Write([]byte("warning\n"))
	out.Write(nil)
	out.Write([]byte("tcp 0 0\n"))
	var o, e bytes.Buffer
	if err := WriteOutput(frame, &o, &e); err != nil {
		t.Fatal(err)
	}
	if o.String() != "Active Internet connections\ntcp 0 0\n" || e.String() != "warning\n" {
		t.Errorf("stdout %q, stderr %q", o.String(), e.String())
	}
	for _, bad := range [][]byte{{3, 0}, {1}, {1, 5, 'a'}, {2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}} {
		var o bytes.Buffer
		if err := WriteOutput(append(frame[:len(frame):len(frame)], bad...), &o, &o); err == nil || o.Len() != 0 {
			t.Errorf("%v: err %v, wrote %d bytes", bad, err, o.Len())
		}
	}
}

func FuzzWriteOutput(f *testing.F) {
	var frame []byte
	OutputWriter{&frame, Stdout}.Write([]byte("hello\n"))
	OutputWriter{&frame, Stderr}.Write([]byte("oops\n"))
	f.Add(frame)
	f.Add([]byte{1, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		var o, e bytes.Buffer
		if err := WriteOutput(b, &o, &e); err != nil {
			if o.Len()+e.Len() != 0 {
				t.Fatalf("wrote output from a malformed frame")
			}
			return
		}
		if o.Len()+e.Len() > len(b) {
			t.Fatalf("wrote %d bytes from a %d-byte frame", o.Len()+e.Len(), len(b))
		}
	})
}

func FuzzDecodeSockets(f *testing.F) {
	s := sampleSockets()
	f.Add(AppendSockets(nil, s), len(s))
	f.Add([]byte{1, 2, 3}, 1)
	f.Fuzz(func(t *testing.T, b []byte, count int) {
		out, err := DecodeSockets(b, count)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode to the same bytes.
		if re := AppendSockets(nil, out); !bytes.Equal(re, b) && len(out) == count {
			out2, err := DecodeSockets(re, count)
			if err != nil || !reflect.DeepEqual(out, out2) {
				t.Fatalf("re-encoding is not stable: %v", err)
			}
		}
	})
}
