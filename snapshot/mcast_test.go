package snapshot_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/bpfstat/bpfstat/internal/render/nettools"
	"github.com/bpfstat/bpfstat/snapshot"
)

const igmp = "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n1\tlo        :     1      V3\n\t\t\t\t010000E0     1 0:00000000\t\t0\n"
const igmp6 = "1    lo              ff020000000000000000000000000001     1 0000000C 0\n"

func TestMcastParser(t *testing.T) {
	var p snapshot.McastParser
	v4, _ := p.Parse(strings.NewReader(igmp))
	v6, _ := p.Parse(strings.NewReader(igmp6))
	if len(v4) != 1 || strings.TrimRight(v4[0].Device, " ") != "lo" || v4[0].Addr4 != [4]byte{224, 0, 0, 1} || v4[0].RefCnt != 1 {
		t.Errorf("igmp = %+v", v4)
	}
	if len(v6) != 1 || !v6[0].V6 || v6[0].Addr6[0] != 0xff || v6[0].Addr6[15] != 1 {
		t.Errorf("igmp6 = %+v", v6)
	}
	// The next -c round reads igmp with the igmp6 layout, as net-tools'
	// static igmp6_flag makes it do.
	again, _ := p.Parse(strings.NewReader(igmp))
	if len(again) != 2 || again[0].Bogus != "igmp6" || again[0].Line != 1 || again[1].Device != "E0" {
		t.Errorf("second round = %+v", again)
	}
}

func FuzzMcastParse(f *testing.F) {
	f.Add([]byte(igmp), []byte(igmp6))
	f.Add([]byte("Device\nx\n\t\n\tZZ 1\n"), []byte("1 a ff 2\n\n"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var p snapshot.McastParser
		n := nettools.NewRouteNamer(nil)
		for i := 0; i < 2; i++ {
			for _, in := range [][]byte{a, b} {
				items, _ := p.Parse(bytes.NewReader(in))
				nettools.McastRows(io.Discard, io.Discard, n, items, i == 0)
			}
		}
	})
}
