package snapshot

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"strings"
)

// McastItem is one outcome of a /proc/net/igmp or igmp6 line as netstat
// -g sees it: a group membership to print, or a bogus-line warning.
type McastItem struct {
	Device string
	RefCnt int
	V6     bool
	Addr4  [4]byte
	Addr6  [16]byte
	// Bogus, when not empty, is the kind netstat names in its warning
	// ("igmp" or "igmp6") and Line the line number; nothing is printed.
	Bogus string
	Line  int
}

// McastParser reads igmp and igmp6 as net-tools' igmp_do_one does,
// including its static state: once an igmp6 file was seen, later igmp
// files (the next -c round) are read with the igmp6 layout, and the
// device name and IPv6 words carry over between lines. Use one parser for
// the whole netstat run.
type McastParser struct {
	idxFlag   bool
	igmp6Flag bool
	device    [16]byte
	in6       [4]uint32
}

func (p *McastParser) deviceString() string {
	b := p.device[:]
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func (p *McastParser) setDeviceString(s string) {
	copy(p.device[:], s)
	if len(s) < len(p.device) {
		p.device[len(s)] = 0
	}
}

// Parse reads one file (igmp or igmp6) and returns its items in order.
func (p *McastParser) Parse(r io.Reader) ([]McastItem, error) {
	br := bufio.NewReaderSize(r, 8192)
	var out []McastItem
	lnr := 0
	for {
		line, err := br.ReadString('\n')
		for len(line) > 8191 {
			if it, ok := p.line(lnr, line[:8191]); ok {
				out = append(out, it)
			}
			lnr++
			line = line[8191:]
		}
		if line != "" {
			if it, ok := p.line(lnr, line); ok {
				out = append(out, it)
			}
			lnr++
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("reading multicast groups: %w", err)
		}
	}
}

func (p *McastParser) line(lnr int, raw string) (McastItem, bool) {
	line := cstr(raw)
	if lnr == 0 {
		if !strings.Contains(line, "Device") {
			p.igmp6Flag = true
		} else {
			p.idxFlag = strings.HasPrefix(line, "Idx")
			return McastItem{}, false
		}
	}
	if p.igmp6Flag {
		c := cscan{s: line}
		bogus := McastItem{Bogus: "igmp6", Line: lnr}
		if _, ok := c.int(); !ok {
			return bogus, true
		}
		dev, ok := c.str(15)
		if !ok {
			return bogus, true
		}
		p.setDeviceString(dev)
		c.skipSpace()
		hex, ok := c.hexSet(64)
		if !ok {
			return bogus, true
		}
		ref, ok := c.int()
		if !ok {
			return bogus, true
		}
		h := cscan{s: hex}
		for i := 0; i < 4; i++ {
			v, ok := h.hex(8)
			if !ok {
				break
			}
			p.in6[i] = v
		}
		var a [16]byte
		for i := range p.in6 {
			p.in6[i] = bits.ReverseBytes32(p.in6[i]) // htonl
			binary.LittleEndian.PutUint32(a[4*i:], p.in6[i])
		}
		return McastItem{Device: p.deviceString(), RefCnt: ref, V6: true, Addr6: a}, true
	}
	bogus := McastItem{Bogus: "igmp", Line: lnr}
	if line == "" || line[0] != '\t' {
		c := cscan{s: line}
		if p.idxFlag {
			if _, ok := c.int(); !ok {
				return bogus, true
			}
			c.skipSpace()
		}
		rest := c.s[c.i:]
		if rest == "" {
			return bogus, true
		}
		if len(rest) > 15 {
			rest = rest[:15]
		}
		copy(p.device[:], rest) // %15c: no terminating NUL
		dev := p.deviceString()
		if i := strings.LastIndexByte(dev, ':'); i >= 0 {
			p.device[i] = 0
		}
		return McastItem{}, false
	}
	c := cscan{s: line}
	c.skipSpace()
	hex, ok := c.hexSet(8)
	if !ok {
		return bogus, true
	}
	ref, ok := c.int()
	if !ok {
		return bogus, true
	}
	h := cscan{s: hex}
	v, _ := h.hex(0)
	var a [4]byte
	binary.LittleEndian.PutUint32(a[:], v)
	return McastItem{Device: p.deviceString(), RefCnt: ref, Addr4: a}, true
}
