package snapshot_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/bpfstat/bpfstat/internal/render/nettools"
	"github.com/bpfstat/bpfstat/snapshot"
)

const routeHeader = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"

func TestParseRoute(t *testing.T) {
	in := routeHeader +
		"eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n" +
		"eth0\t000200C0\t00000000\t0000\t0\t0\t0\t00FFFFFF\t0\t0\t0\n" + // down: skipped
		"short\n"
	rs, err := snapshot.ParseRoute(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Gateway != [4]byte{192, 0, 2, 1} || rs[0].Flags != 3 {
		t.Fatalf("routes = %+v", rs)
	}
	_, err = snapshot.ParseRoute(strings.NewReader("Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\n"))
	var fe *snapshot.RouteFieldError
	if !errors.As(err, &fe) || fe.Field != "Mask" {
		t.Errorf("err = %v, want missing Mask", err)
	}
	if _, err := snapshot.ParseRoute(strings.NewReader("")); !errors.Is(err, snapshot.ErrNoHeader) {
		t.Errorf("empty file: err = %v", err)
	}
}

func TestParseNetworks(t *testing.T) {
	n := snapshot.ParseNetworks(strings.NewReader("# c\nloopback 127\nlink-local\t169.254.0.0\nbad 1.2.3.4.5\ndup 127.0.0.0\n"))
	if n[0x7f000000] != "loopback" || n[0xa9fe0000] != "link-local" || len(n) != 2 {
		t.Errorf("networks = %v", n)
	}
}

func routeRenderAll(r4 []snapshot.Route4, r6 []snapshot.Route6, rc []snapshot.RouteCache4) {
	n := nettools.NewRouteNamer(nil)
	for ext := 0; ext < 4; ext++ {
		for _, num := range []bool{false, true} {
			o := nettools.RouteOptions{Ext: ext, Numeric: num}
			nettools.Routes4(io.Discard, n, r4, o)
			nettools.Routes6(io.Discard, n, r6, o, false)
			nettools.Routes6(io.Discard, n, r6, o, true)
			nettools.RouteCache4(io.Discard, n, 63, rc, o)
		}
	}
}

func FuzzParseRoute(f *testing.F) {
	f.Add([]byte(routeHeader + "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n*\t0000090A\t00000000\t0201\t0\t7\t0\t0000FFFF\t0\t0\t0\n"))
	f.Add([]byte("Iface|Destination Foo Gateway Flags RefCnt Use Metric Mask MTU Window IRTT\nx 1 2 3 4 5 6 7 8 9 10 11\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, _ := snapshot.ParseRoute(bytes.NewReader(b))
		routeRenderAll(rs, nil, nil)
	})
}

func FuzzParseRouteCache(f *testing.F) {
	f.Add([]byte("Iface\tDestination\tGateway \tFlags\t\tRefCnt\tUse\tMetric\tSource\t\tMTU\tWindow\tIRTT\tTOS\tHHRef\tHHUptod\tSpecDst\neth0\t0100000A\t010200C0\t80000002\t1\t2\t0\t0A0200C0\t1500\t0\t0\t0\t-1\t1\t0A0200C0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, rc, _ := snapshot.ParseRouteCache(bytes.NewReader(b))
		routeRenderAll(nil, nil, rc)
	})
}

func FuzzParseRoute6(f *testing.F) {
	f.Add([]byte("fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001     eth0\n\nxyz\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, _ := snapshot.ParseRoute6(bytes.NewReader(b))
		routeRenderAll(nil, rs, nil)
	})
}

func FuzzParseNetworks(f *testing.F) {
	f.Add([]byte("loopback 127\nx 0x7f.1\ny 010.1.2\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		snapshot.ParseNetworks(bytes.NewReader(b))
	})
}
