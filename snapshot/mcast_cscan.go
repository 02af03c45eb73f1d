package snapshot

// cscan reads a line the way glibc's sscanf reads it, for the few
// conversions net-tools uses on /proc files whose quirks (partial
// matches, values left over from an earlier line) show in its output.
type cscan struct {
	s string
	i int
}

func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func (c *cscan) skipSpace() {
	for c.i < len(c.s) && isCSpace(c.s[c.i]) {
		c.i++
	}
}

func (c *cscan) eof() bool { return c.i >= len(c.s) }

// int reads %d: optional sign and decimal digits after white space.
func (c *cscan) int() (int, bool) {
	c.skipSpace()
	j := c.i
	neg := false
	if j < len(c.s) && (c.s[j] == '+' || c.s[j] == '-') {
		neg = c.s[j] == '-'
		j++
	}
	start := j
	var v int64
	for j < len(c.s) && c.s[j] >= '0' && c.s[j] <= '9' {
		if v < 1<<40 {
			v = v*10 + int64(c.s[j]-'0')
		}
		j++
	}
	if j == start {
		return 0, false
	}
	c.i = j
	if neg {
		v = -v
	}
	return int(int32(v)), true
}

func hexVal(b byte) (uint64, bool) {
	switch {
	case b >= '0' && b <= '9':
		return uint64(b - '0'), true
	case b >= 'a' && b <= 'f':
		return uint64(b-'a') + 10, true
	case b >= 'A' && b <= 'F':
		return uint64(b-'A') + 10, true
	}
	return 0, false
}

// hex reads %X (width 0 means unlimited): optional 0x prefix and hex digits.
func (c *cscan) hex(width int) (uint32, bool) {
	c.skipSpace()
	j := c.i
	end := len(c.s)
	if width > 0 && j+width < end {
		end = j + width
	}
	if j+1 < end && c.s[j] == '0' && (c.s[j+1] == 'x' || c.s[j+1] == 'X') {
		if j+2 < end {
			if _, ok := hexVal(c.s[j+2]); ok {
				j += 2
			}
		}
	}
	start := j
	var v uint64
	for j < end {
		d, ok := hexVal(c.s[j])
		if !ok {
			break
		}
		v = v<<4 | d
		j++
	}
	if j == start {
		return 0, false
	}
	c.i = j
	return uint32(v), true
}

// str reads %Ns: up to width non-space bytes after white space.
func (c *cscan) str(width int) (string, bool) {
	c.skipSpace()
	j := c.i
	for j < len(c.s) && !isCSpace(c.s[j]) && (width <= 0 || j-c.i < width) {
		j++
	}
	if j == c.i {
		return "", false
	}
	s := c.s[c.i:j]
	c.i = j
	return s, true
}

// hexSet reads %N[0-9A-Fa-f] (no white space skipped).
func (c *cscan) hexSet(width int) (string, bool) {
	j := c.i
	for j < len(c.s) && (width <= 0 || j-c.i < width) {
		if _, ok := hexVal(c.s[j]); !ok {
			break
		}
		j++
	}
	if j == c.i {
		return "", false
	}
	s := c.s[c.i:j]
	c.i = j
	return s, true
}

// strtoull mimics C strtoull(s, &end, 10): leading white space, optional
// sign (a minus negates modulo 2^64), saturating at the maximum. It
// returns the value and the number of bytes consumed (0 when no digits).
func strtoull(s string) (uint64, int) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var v uint64
	over := false
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		d := uint64(s[i] - '0')
		if v > (^uint64(0)-d)/10 {
			over = true
		} else {
			v = v*10 + d
		}
		i++
	}
	if i == start {
		return 0, 0
	}
	if over {
		return ^uint64(0), i
	}
	if neg {
		v = -v
	}
	return v, i
}
