package snapshot

import (
	"encoding/binary"
	"errors"
	"testing"
)

func TestDecodeBSDUDPStat(t *testing.T) {
	b := make([]byte, 14*8)
	for i := 0; i < 14; i++ {
		binary.NativeEndian.PutUint64(b[8*i:], uint64(100+i))
	}
	s, err := DecodeBSDUDPStat(b)
	if err != nil {
		t.Fatal(err)
	}
	if s.IPackets != 100 || s.NoPort != 105 || s.FullSock != 107 || s.OPackets != 110 || s.FilterMcast != 113 {
		t.Errorf("%+v", s)
	}
	for _, n := range []int{0, 8, 13 * 8, 15 * 8} {
		if _, err := DecodeBSDUDPStat(make([]byte, n)); !errors.Is(err, ErrBSDLayout) {
			t.Errorf("%d bytes: %v", n, err)
		}
	}
}

func FuzzDecodeBSDUDPStat(f *testing.F) {
	f.Add(make([]byte, 112))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := DecodeBSDUDPStat(b); (err == nil) != (len(b) == 112) {
			t.Fatalf("%d bytes: %v", len(b), err)
		}
	})
}

func TestDecodeBSDIPICMPStat(t *testing.T) {
	b := make([]byte, 29*8)
	for i := 0; i < 29; i++ {
		binary.NativeEndian.PutUint64(b[8*i:], uint64(i+1))
	}
	ip, err := DecodeBSDIPStat(b)
	if err != nil || ip.Total != 1 || ip.Delivered != 15 || ip.BadAddr != 29 || ip.RawOut != 25 {
		t.Errorf("ipstat %+v %v", ip, err)
	}
	if _, err := DecodeBSDIPStat(b[:28*8]); !errors.Is(err, ErrBSDLayout) {
		t.Errorf("short ipstat: %v", err)
	}
	c := make([]byte, 94*8)
	for i := 0; i < 94; i++ {
		binary.NativeEndian.PutUint64(c[8*i:], uint64(i))
	}
	ic, err := DecodeBSDICMPStat(c)
	if err != nil || ic.Error != 0 || ic.OutHist[0] != 3 || ic.OutHist[40] != 43 || ic.BadCode != 44 || ic.Reflect != 48 ||
		ic.InHist[0] != 49 || ic.InHist[40] != 89 || ic.NoRoute != 93 {
		t.Errorf("icmpstat %+v %v", ic, err)
	}
	if _, err := DecodeBSDICMPStat(c[:93*8]); !errors.Is(err, ErrBSDLayout) {
		t.Errorf("short icmpstat: %v", err)
	}
}

func FuzzDecodeBSDIPStat(f *testing.F) {
	f.Add(make([]byte, 29*8))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := DecodeBSDIPStat(b); (err == nil) != (len(b) == 29*8) {
			t.Fatalf("%d bytes: %v", len(b), err)
		}
	})
}

func FuzzDecodeBSDICMPStat(f *testing.F) {
	f.Add(make([]byte, 94*8))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := DecodeBSDICMPStat(b); (err == nil) != (len(b) == 94*8) {
			t.Fatalf("%d bytes: %v", len(b), err)
		}
	})
}
