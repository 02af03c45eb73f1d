package nettools

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/bpfstat/bpfstat/snapshot"
)

type noNames struct{}

func (noNames) Service(uint16, string) string { return "" }
func (noNames) Host(netip.Addr) string        { return "" }
func (noNames) User(uint32) string            { return "" }

// netstat warns about unreadable processes only when it loads its program
// cache, on its way into the Internet or unix listing: `-p -A ipx` (or
// `-p --x25`) just says the family is missing.
func TestProgramWarningOnlyWithListings(t *testing.T) {
	const notAll = "(Not all processes could be identified"
	res := snapshot.Result{OwnersDenied: true, OwnersSeen: 3, Missing: []string{"ipx", "x25"}}
	for _, c := range []struct {
		name string
		f    Flags
		warn bool
	}{
		{"-p -A ipx", Flags{Programs: true, IPX: true}, false},
		{"-p -A x25", Flags{Programs: true, X25: true}, false},
		{"-p -A ipx,unix", Flags{Programs: true, IPX: true, Unix: true}, true},
		{"-p -t", Flags{Programs: true, TCP: true}, true},
		{"-p", Flags{Programs: true}, true},
	} {
		f := c.f
		f.Extend = 1
		f.Normalize(false)
		var out, errb bytes.Buffer
		Listing(&out, &errb, &f, &res, noNames{}, nil)
		if got := strings.Contains(errb.String(), notAll); got != c.warn {
			t.Errorf("%s: warning printed %v, want %v; stderr:\n%s", c.name, got, c.warn, errb.String())
		}
	}
}
