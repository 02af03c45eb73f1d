package nettools

import (
	"fmt"
	"io"

	"github.com/bpfstat/bpfstat/snapshot"
)

// McastRows prints netstat -g's membership lines (the title and column
// lines belong to the socket listing) and its bogus-line warnings.
// numeric is --numeric-hosts (-n).
func McastRows(w, ew io.Writer, n *RouteNamer, items []snapshot.McastItem, numeric bool) {
	num := 0
	if numeric {
		num = 4
	}
	for _, it := range items {
		if it.Bogus != "" {
			fmt.Fprintf(ew, "warning, got bogus %s line %d.\n", it.Bogus, it.Line)
			continue
		}
		var addr string
		if it.V6 {
			addr = n.inet6(it.Addr6, num)
		} else {
			addr = n.inetSprint(it.Addr4, num)
		}
		fmt.Fprintf(w, "%-15s %-6d %s\n", it.Device, it.RefCnt, addr)
	}
}
