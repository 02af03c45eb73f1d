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

func TestParseSNMPPairs(t *testing.T) {
	in := "Tcp: RtoMin ActiveOpens\nTcp: 200 x\n\nUdp: InDatagrams\nUdp: -1\nbad\nbad\nIp: A\nIp: 1\n"
	secs, err := snapshot.ParseSNMP(strings.NewReader(in))
	if !errors.Is(err, snapshot.ErrStatsFormat) {
		t.Fatalf("err = %v, want ErrStatsFormat", err)
	}
	if len(secs) != 2 || secs[0].Title != "Tcp" || secs[1].Title != "Udp" {
		t.Fatalf("sections = %+v", secs)
	}
	if c := secs[0].Counters; len(c) != 2 || c[0].Value != 200 || c[1].Value != 0 {
		t.Errorf("Tcp counters = %+v", c)
	}
	if c := secs[1].Counters; c[0].Value != ^uint64(0) {
		t.Errorf("-1 reads as %d, want 2^64-1 (strtoull)", c[0].Value)
	}
}

func TestParseSNMP6CarriesValues(t *testing.T) {
	cs, err := snapshot.ParseSNMP6(strings.NewReader("Ip6InReceives 10\nIp6OutRequests x\n\nIcmp6InMsgs 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []snapshot.StatsCounter{{"Ip6InReceives", 10}, {"Ip6OutRequests", 10}, {"Ip6OutRequests", 10}, {"Icmp6InMsgs", 3}}
	if len(cs) != len(want) {
		t.Fatalf("got %+v", cs)
	}
	for i := range want {
		if cs[i] != want[i] {
			t.Errorf("counter %d = %+v, want %+v", i, cs[i], want[i])
		}
	}
}

func statsRenderAll(secs []snapshot.StatsSection, cs []snapshot.StatsCounter) {
	for _, f := range []nettools.StatsProtocols{{Raw: true, TCP: true, UDP: true, SCTP: true}, {}, {TCP: true}} {
		p := nettools.NewStatsPrinter(io.Discard)
		p.SNMP(secs, f, "")
		p.SCTP(cs, f)
		p.SNMP6(cs, f)
		p.SNMP(secs, f, "Tcp")
	}
}

func FuzzParseSNMP(f *testing.F) {
	f.Add([]byte("Ip: Forwarding DefaultTTL\nIp: 1 64\nIcmp: InMsgs InDestUnreachs OutEchos\nIcmp: 1 2 3\n"))
	f.Add([]byte("\nTcpExt: TW TWKilled\nTcpExt: -1 99999999999999999999999\nX\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		secs, _ := snapshot.ParseSNMP(bytes.NewReader(b))
		statsRenderAll(secs, nil)
	})
}

func FuzzParseSNMP6(f *testing.F) {
	f.Add([]byte("Ip6InReceives 1\nIcmp6InEchos 2\nUdpLite6InErrors 3\n\n   \nx y\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, _ := snapshot.ParseSNMP6(bytes.NewReader(b))
		statsRenderAll(nil, cs)
	})
}

func FuzzParseSCTPSNMP(f *testing.F) {
	f.Add([]byte("SctpCurrEstab 1\nSctpX\nSctpY \n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, _ := snapshot.ParseSCTPSNMP(bytes.NewReader(b))
		statsRenderAll(nil, cs)
	})
}
