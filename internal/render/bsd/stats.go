package bsd

import (
	"bufio"
	"fmt"
	"io"
)

// UDPStat are struct udpstat's counters netstat -s prints.
type UDPStat struct {
	IPackets, HdrOps, BadSum, NoSum, BadLen, NoPort, NoPortBcast, FullSock uint64
	PCBHashMiss, OPackets, FilterMcast                                     uint64
}

func plural(n uint64) string {
	if n != 1 {
		return "s"
	}
	return ""
}

// UDPStats prints inet.c's udp_stats(): every counter with -s (sflag 1),
// only non-zero ones with -ss (sflag 2).
func UDPStats(out io.Writer, s UDPStat, sflag int) error {
	w := bufio.NewWriter(out)
	p := func(v uint64, format string) { // p(): value and plural
		if v != 0 || sflag <= 1 {
			fmt.Fprintf(w, "\t"+format+"\n", v, plural(v))
		}
	}
	p1a := func(v uint64, format string) {
		if v != 0 || sflag <= 1 {
			fmt.Fprintf(w, "\t"+format+"\n", v)
		}
	}
	w.WriteString("udp:\n")
	p(s.IPackets, "%d datagram%s received")
	p1a(s.HdrOps, "%d with incomplete header")
	p1a(s.BadLen, "%d with bad data length field")
	p1a(s.BadSum, "%d with bad checksum")
	p1a(s.NoSum, "%d with no checksum")
	p1a(s.NoPort, "%d dropped due to no socket")
	p(s.NoPortBcast, "%d broadcast/multicast datagram%s undelivered")
	p1a(s.FullSock, "%d dropped due to full socket buffers")
	p1a(s.PCBHashMiss, "%d not for hashed pcb")
	delivered := s.IPackets - s.HdrOps - s.BadLen - s.BadSum - s.NoPort - s.NoPortBcast - s.FullSock
	if delivered != 0 || sflag <= 1 {
		fmt.Fprintf(w, "\t%d delivered\n", delivered)
	}
	p(s.OPackets, "%d datagram%s output")
	p(s.FilterMcast, "%d time%s multicast source filter matched")
	return w.Flush()
}
