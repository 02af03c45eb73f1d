package snapshot_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/bpfstat/bpfstat/internal/render/nettools"
	"github.com/bpfstat/bpfstat/snapshot"
)

const netDev = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop colls carrier compressed
    lo:    3193      29    0    0    0     0          0         0     3193      29    0    0    0     0       0          0
  eth0: 388960341    7751    1    2    3     4          0         5   282050    3208    6    7    8     9      10          0
abcdefghijklmno: 10 20 0 0 0 0 0 0 30 40 0 0 0 0 0 0
`

func TestParseNetDev(t *testing.T) {
	devs, err := snapshot.ParseNetDev(strings.NewReader(netDev))
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 3 || devs[1].Name != "eth0" || devs[1].Stats.RxPackets != 7751 || devs[1].Stats.TxCarrier != 10 {
		t.Fatalf("devs = %+v", devs)
	}
	// net-tools' get_name stops at 15 bytes and leaves the colon, so
	// sscanf reads no counters for a 15-byte name.
	if devs[2].Name != "abcdefghijklmno" || devs[2].Stats != (snapshot.IfaceStats{}) {
		t.Errorf("15-byte name: %+v", devs[2])
	}
}

func TestIfaceListOrder(t *testing.T) {
	var l snapshot.IfaceList
	for _, n := range []string{"eth10", "lo", "eth2", "eth2:1", "eth2", "br0", "eth2:10", "eth2:2", "a"} {
		l.Add(n)
	}
	want := "a br0 eth2 eth2:1 eth2:2 eth2:10 eth10 lo"
	if got := strings.Join(l.Names, " "); got != want {
		t.Errorf("order %q, want %q", got, want)
	}
}

func TestIfaceCompare(t *testing.T) {
	// net-tools' own nstrcmp self-test cases.
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"eth1", "eth1", 0}, {"eth0:1", "eth0:1", 0}, {"a", "aa", -1}, {"eth1", "eth20", -1},
		{"eth20", "eth100", -1}, {"eth", "eth2", -1}, {"eth0:1", "eth0:2", -1}, {"eth1:10", "eth13:10", -1},
		{"a", "a:", -1}, {"eth2:10", "eth2:1", 1}, {"eth13:1", "eth1:0", 1}, {"a1b12", "a1b2", 1},
		{"eth1", "eth01", 1}, {"eth01", "eth1", -1}, {"eth1:01", "eth01:1", 1},
	} {
		if got := snapshot.IfaceCompare(c.a, c.b); got != c.want {
			t.Errorf("IfaceCompare(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func FuzzParseNetDev(f *testing.F) {
	f.Add([]byte(netDev))
	f.Add([]byte("h\nh bytes\n eth0:1: 1 2\n:::\n  x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		devs, _ := snapshot.ParseNetDev(bytes.NewReader(b))
		var l snapshot.IfaceList
		for _, d := range devs {
			l.Add(d.Name)
			it := snapshot.Interface{Name: d.Name, Stats: d.Stats, StatsValid: true, Flags: -1, TxQLen: -1}
			nettools.IfaceShort(io.Discard, &it)
			nettools.IfaceLong(io.Discard, &it, nil)
		}
	})
}

func FuzzParseIfInet6(f *testing.F) {
	f.Add([]byte("00000000000000000000000000000001 01 80 10 80       lo\nfe80000000000000 02 40 20 80 eth0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		as, _ := snapshot.ParseIfInet6(bytes.NewReader(b))
		for _, a := range as {
			it := snapshot.Interface{Name: a.Dev, Type: 1}
			nettools.IfaceLong(io.Discard, &it, as)
		}
	})
}
