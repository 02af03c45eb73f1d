// Package ntop formats addresses the way C libraries' inet_ntop does,
// which is not quite how net/netip does: the tools bpfstat mimics print
// v4-compatible addresses with an embedded dotted quad.
package ntop

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// IPv6 formats a as glibc's and FreeBSD's inet_ntop do (both descend
// from the same BIND code): RFC 5952 zero
// compression, and an embedded dotted quad for v4-mapped and
// v4-compatible addresses.
func IPv6(a netip.Addr) string {
	b := a.As16()
	var w [8]uint16
	for i := range w {
		w[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	best, bestLen, cur, curLen := -1, 0, -1, 0
	for i := 0; i < 8; i++ {
		if w[i] == 0 {
			if cur < 0 {
				cur, curLen = i, 1
			} else {
				curLen++
			}
			if curLen > bestLen {
				best, bestLen = cur, curLen
			}
		} else {
			cur, curLen = -1, 0
		}
	}
	if bestLen < 2 {
		best = -1
	}
	var sb strings.Builder
	for i := 0; i < 8; i++ {
		if best >= 0 && i >= best && i < best+bestLen {
			if i == best {
				sb.WriteByte(':')
			}
			continue
		}
		if i != 0 {
			sb.WriteByte(':')
		}
		if i == 6 && best == 0 && (bestLen == 6 || (bestLen == 5 && w[5] == 0xffff)) {
			fmt.Fprintf(&sb, "%d.%d.%d.%d", b[12], b[13], b[14], b[15])
			return sb.String()
		}
		sb.WriteString(strconv.FormatUint(uint64(w[i]), 16))
	}
	if best >= 0 && best+bestLen == 8 {
		sb.WriteByte(':')
	}
	// A scoped address keeps its zone, as getnameinfo prints it.
	if z := a.Zone(); z != "" {
		sb.WriteString("%" + z)
	}
	return sb.String()
}
