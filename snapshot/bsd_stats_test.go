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
