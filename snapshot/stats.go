package snapshot

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// StatsCounter is one named value of /proc/net/snmp, netstat, snmp6 or
// sctp/snmp.
type StatsCounter struct {
	Name  string
	Value uint64
}

// StatsSection is one pair of lines of /proc/net/snmp or /proc/net/netstat:
// "Tcp: RtoAlgorithm RtoMin ..." over "Tcp: 1 200 ...".
type StatsSection struct {
	Title    string
	Counters []StatsCounter
}

// ErrStatsFormat marks a /proc/net/snmp-style pair of lines without the
// colon after the section title; net-tools stops reading the file there.
var ErrStatsFormat = errors.New("section line without a colon")

// readCLines splits r into lines as fgets/getline return them (keeping
// the newline); max > 0 splits longer lines as fgets(buf, max+1) would.
func readCLines(r io.Reader, max int) ([]string, error) {
	br := bufio.NewReader(r)
	var out []string
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			for max > 0 && len(line) > max {
				out = append(out, line[:max])
				line = line[max:]
			}
			out = append(out, line)
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// cstr cuts s at its first NUL, as C string functions see it.
func cstr(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// ParseSNMP reads /proc/net/snmp or /proc/net/netstat the way net-tools
// does: a title line, then a value line; names and values are paired by
// position, a value missing or unparsable reads as 0 (and stops the
// values after it from advancing, as strtoull does). An empty line where a
// title is expected is skipped. At a pair without its colon it returns the
// sections read so far and an error wrapping ErrStatsFormat.
func ParseSNMP(r io.Reader) ([]StatsSection, error) {
	lines, err := readCLines(r, 0)
	var out []StatsSection
	for i := 0; i < len(lines); i++ {
		l1 := lines[i]
		if l1 != "" && l1[0] == '\n' {
			continue
		}
		if i+1 >= len(lines) {
			break
		}
		i++
		h, v := cstr(l1), cstr(lines[i])
		sp, np := strings.IndexByte(h, ':'), strings.IndexByte(v, ':')
		if sp < 0 || np < 0 {
			return out, fmt.Errorf("parsing line %d: %w", i, ErrStatsFormat)
		}
		sec := StatsSection{Title: h[:sp]}
		names, vals := h[sp+1:], v[np+1:]
		for {
			names = strings.TrimLeft(names, " \t\n")
			vals = strings.TrimLeft(vals, " \t\n")
			end := strings.IndexAny(names, " \t\n")
			last := end < 0
			if last {
				end = len(names)
			}
			if tok := names[:end]; tok != "" {
				val, n := strtoull(vals)
				vals = vals[n:]
				sec.Counters = append(sec.Counters, StatsCounter{Name: tok, Value: val})
			}
			if last {
				break
			}
			names = names[end+1:]
		}
		out = append(out, sec)
	}
	if err != nil {
		return out, fmt.Errorf("reading snmp: %w", err)
	}
	return out, nil
}

// ParseSNMP6 reads /proc/net/snmp6 ("Ip6InReceives  123" lines) the way
// net-tools' sscanf("%s %llu") does: a line whose value does not parse
// repeats the previous value, a blank line repeats the previous counter.
func ParseSNMP6(r io.Reader) ([]StatsCounter, error) {
	lines, err := readCLines(r, 1023)
	var out []StatsCounter
	var name string
	var val uint64
	for _, l := range lines {
		c := cscan{s: cstr(l)}
		if s, ok := c.str(0); ok {
			name = s
			if v, n := strtoull(c.s[c.i:]); n > 0 {
				val = v
			}
		}
		out = append(out, StatsCounter{Name: name, Value: val})
	}
	if err != nil {
		return out, fmt.Errorf("reading snmp6: %w", err)
	}
	return out, nil
}

// ParseSCTPSNMP reads /proc/net/sctp/snmp ("SctpCurrEstab  0" lines).
// Lines without a value are skipped, as net-tools skips them.
func ParseSCTPSNMP(r io.Reader) ([]StatsCounter, error) {
	lines, err := readCLines(r, 1023)
	var out []StatsCounter
	for _, l := range lines {
		l = cstr(l)
		n := strings.IndexAny(l, " \t\n")
		if n < 0 {
			continue
		}
		rest := strings.TrimLeft(l[n+1:], " \t\n")
		if rest == "" {
			continue
		}
		v, _ := strtoull(rest)
		out = append(out, StatsCounter{Name: l[:n], Value: v})
	}
	if err != nil {
		return out, fmt.Errorf("reading sctp snmp: %w", err)
	}
	return out, nil
}
