package daemon

import (
	"bytes"
	"context"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bpfstat/bpfstat/internal/daemonproto"
	"github.com/bpfstat/bpfstat/internal/render/nettools"
	"github.com/bpfstat/bpfstat/internal/sock"
	"github.com/bpfstat/bpfstat/snapshot"
)

// TestListingOfCarriesEveryFlag: every Listing field is a nettools.Flags
// field of the same name and type, and a round trip keeps them all, so a
// flag added to one side cannot be silently dropped on the wire.
func TestListingOfCarriesEveryFlag(t *testing.T) {
	lt := reflect.TypeOf(daemonproto.Listing{})
	ft := reflect.TypeOf(nettools.Flags{})
	var f nettools.Flags
	fv := reflect.ValueOf(&f).Elem()
	for i := 0; i < lt.NumField(); i++ {
		lf := lt.Field(i)
		ff, ok := ft.FieldByName(lf.Name)
		if !ok || ff.Type != lf.Type {
			t.Fatalf("Listing.%s has no nettools.Flags counterpart of type %v", lf.Name, lf.Type)
		}
		switch v := fv.FieldByName(lf.Name); v.Kind() {
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Int, reflect.Int64:
			v.SetInt(int64(i + 1))
		}
	}
	f.Extend = 2
	f.ClockTicks = 100
	l, ok := ListingOf(&f)
	if !ok {
		t.Fatalf("ListingOf(%+v) not renderable", f)
	}
	if back := flagsOf(&l); back != f {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, f)
	}
	// The flags a Listing leaves out are the ones the daemon cannot honour.
	for _, name := range []string{"Continuous", "Groups", "Bluetooth"} {
		if _, ok := lt.FieldByName(name); ok {
			t.Errorf("Listing carries %s", name)
		}
	}
}

func TestListingOfRefusesNames(t *testing.T) {
	for _, f := range []nettools.Flags{
		{Extend: 1},
		{NumHosts: true, Extend: 1},
		{NumHosts: true, NumPorts: true, Extend: 2},
		{NumHosts: true, NumPorts: true, NumUsers: true, Extend: 1, Groups: true},
	} {
		if _, ok := ListingOf(&f); ok {
			t.Errorf("ListingOf(%+v) renderable", f)
		}
	}
	if _, ok := ListingOf(&nettools.Flags{NumHosts: true, NumPorts: true, Extend: 1}); !ok {
		t.Error("-n without -e not renderable")
	}
}

// TestRenderListingMatchesClient: the daemon's rendering, written out by
// the client, is what the client would have printed itself.
func TestRenderListingMatchesClient(t *testing.T) {
	res := snapshot.Result{Sockets: []sock.Socket{
		{Family: sock.FamilyInet, Proto: sock.ProtoTCP, State: sock.StateListen, Local: netip.MustParseAddrPort("127.0.0.1:80"),
			Remote: netip.MustParseAddrPort("0.0.0.0:0"), RecvQ: 3, Inode: 7, Owners: []sock.Owner{{PID: 42, Program: "web"}}},
	}, Missing: []string{"udplite", "udplite6"}, OwnersDenied: true, OwnersSeen: 1}
	f := nettools.Flags{All: true, NumHosts: true, NumPorts: true, NumUsers: true, Extend: 1, Programs: true, EUID: 1000}
	f.Normalize(false)
	var wantOut, wantErr bytes.Buffer
	fc := f
	wantRC := nettools.Listing(&wantOut, &wantErr, &fc, &res, noNames{}, nil)
	l, ok := ListingOf(&f)
	if !ok {
		t.Fatal("not renderable")
	}
	frame, rc := renderListing(&l, &res, 0)
	var out, errb bytes.Buffer
	if err := daemonproto.WriteOutput(frame, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if rc != wantRC || out.String() != wantOut.String() || errb.String() != wantErr.String() {
		t.Errorf("rc %d/%d\nstdout %q\nwant   %q\nstderr %q\nwant   %q", rc, wantRC, out.String(), wantOut.String(), errb.String(), wantErr.String())
	}
	if !strings.Contains(out.String(), "42/web") || !strings.Contains(errb.String(), "Not all processes") {
		t.Errorf("fixture does not exercise owners and the warning:\n%s%s", out.String(), errb.String())
	}
}

type fakeLister struct {
	fakeAnswerer
	got chan daemonproto.Request
}

func (f *fakeLister) Listing(ctx context.Context, req daemonproto.Request, peer Peer) (daemonproto.Header, []byte) {
	f.got <- req
	var frame []byte
	frame = daemonproto.AppendOutput(frame, daemonproto.Stdout, []byte("out\n"))
	frame = daemonproto.AppendOutput(frame, daemonproto.Stderr, []byte("err\n"))
	return daemonproto.Header{Status: 3}, frame
}

func TestQueryListing(t *testing.T) {
	fl := &fakeLister{got: make(chan daemonproto.Request, 4)}
	path, stop := startServer(t, fl)
	defer stop()
	l := daemonproto.Listing{NumHosts: true, NumPorts: true, TCP: true, Arg: 1}
	hdr, frame, err := QueryListing(path, daemonproto.Request{Listing: &l, Fresh: true}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := daemonproto.WriteOutput(frame, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !hdr.Rendered || hdr.Status != 3 || hdr.Version != 2 || out.String() != "out\n" || errb.String() != "err\n" {
		t.Errorf("reply %+v, %q, %q", hdr, out.String(), errb.String())
	}
	if req := <-fl.got; req.Listing == nil || *req.Listing != l || !req.Fresh {
		t.Errorf("daemon got %+v", req)
	}
	// Socket queries still go out as v1 and get a v1 header back.
	hdr, _, err = Query(path, daemonproto.Request{Kind: daemonproto.KindSockets}, time.Second)
	if err != nil || hdr.Version != 1 {
		t.Errorf("v1 query: %+v, %v", hdr, err)
	}
}

func TestListingWithoutRenderer(t *testing.T) {
	path, stop := startServer(t, &fakeAnswerer{})
	defer stop()
	l := daemonproto.Listing{NumHosts: true, NumPorts: true}
	_, _, err := QueryListing(path, daemonproto.Request{Listing: &l}, time.Second)
	if err == nil || !strings.Contains(err.Error(), "does not render") {
		t.Errorf("err = %v", err)
	}
	if IsVersionError(err) {
		t.Errorf("%v taken for a version error", err)
	}
	if !IsVersionError(DaemonError("unsupported protocol version 2 (daemon speaks 1)")) {
		t.Error("a v1 daemon's refusal is not a version error")
	}
}
