//go:build linux

package e2e

import "testing"

// The comparison itself must catch what it is meant to catch.
func TestSameOutput(t *testing.T) {
	h := "Active Internet connections (servers and established)\nProto Recv-Q Send-Q Local Address           Foreign Address         State       Timer\n"
	a := h + "tcp 0 0 a b LISTEN off (0.00/0/0)\ntcp 0 0 c d TIME_WAIT timewait (50.00/0/0)\n"
	for _, c := range []struct {
		before, got, after string
		ok                 bool
	}{
		{a, a, a, true},
		{a, h + "tcp 0 0 a b LISTEN off (0.00/0/0)\ntcp 0 0 c d TIME_WAIT timewait (49.50/0/0)\n", h + "tcp 0 0 a b LISTEN off (0.00/0/0)\ntcp 0 0 c d TIME_WAIT timewait (49.00/0/0)\n", true},
		{a, h + "tcp 0 0 a b LISTEN off (0.00/0/0)\n", h + "tcp 0 0 a b LISTEN off (0.00/0/0)\n", true}, // expired between runs
		{a, h + "tcp 0 0 a b LISTEN off (0.00/0/0)\n", a, false},
		{a, a + "tcp 0 0 e f LISTEN off (0.00/0/0)\n", a, false},
		{a, h + "tcp 0 0 a b LISTEN off (0.00/0/0)\ntcp 0 0 c d TIME_WAIT timewait (51.00/0/0)\n", a, false},
		{a, "Active Internet connections (w/o servers)\n" + a[len("Active Internet connections (servers and established)\n"):], a, false},
		{a, h + "tcp 1 0 a b LISTEN off (0.00/0/0)\ntcp 0 0 c d TIME_WAIT timewait (50.00/0/0)\n", a, false},
	} {
		err := sameOutput(c.before, c.got, c.after)
		if (err == nil) != c.ok {
			t.Errorf("sameOutput(%q) = %v, want ok=%v", c.got, err, c.ok)
		}
	}
}
