// Package getopt parses command lines the way glibc's getopt_long does:
// argument permutation, clustered short options, unique-prefix and
// ambiguous long options, and glibc's exact diagnostics, so tools that
// mimic net-tools or psmisc reject bad input with the same words.
package getopt

import (
	"fmt"
	"io"
	"strings"
)

// Argument kinds of a long option.
const (
	NoArgument       = 0
	RequiredArgument = 1
	OptionalArgument = 2
)

// Long describes one long option. Val is what Next returns for it.
type Long struct {
	Name   string
	HasArg int
	Val    rune
}

// Parser walks argv. Prog is argv[0] as glibc prints it in diagnostics.
type Parser struct {
	Prog  string
	Short string // getopt's optstring, e.g. "A:ac"
	Long  []Long
	Err   io.Writer // where diagnostics go

	args     []string
	ind      int
	next     string // rest of a short-option cluster
	operands []string
}

// Result of one Next call.
type Opt struct {
	Val     rune   // option value, '?' on error, 0 at the end
	LongIdx int    // index into Long, -1 for a short option
	Arg     string // option argument
	HasArg  bool
}

// New returns a parser over args (without argv[0]).
func New(prog, short string, long []Long, args []string, errw io.Writer) *Parser {
	return &Parser{Prog: prog, Short: short, Long: long, Err: errw, args: args}
}

// Operands returns the non-option arguments met so far, in order; after
// Next returned the end, it is all of them.
func (p *Parser) Operands() []string { return p.operands }

// Next returns the next option, or Opt{Val: 0} when none is left.
func (p *Parser) Next() Opt {
	if p.next == "" {
		for {
			if p.ind >= len(p.args) {
				return Opt{LongIdx: -1}
			}
			a := p.args[p.ind]
			if a == "--" {
				p.operands = append(p.operands, p.args[p.ind+1:]...)
				p.ind = len(p.args)
				return Opt{LongIdx: -1}
			}
			if len(a) < 2 || a[0] != '-' {
				p.operands = append(p.operands, a)
				p.ind++
				continue
			}
			p.ind++
			if strings.HasPrefix(a, "--") {
				return p.long(a[2:])
			}
			p.next = a[1:]
			break
		}
	}
	// Options are bytes, as in C: a byte of a UTF-8 sequence is an option
	// of its own, and diagnostics print it raw (not as a rune).
	b := p.next[0]
	c := rune(b)
	p.next = p.next[1:]
	i := strings.IndexByte(p.Short, b)
	if i < 0 || c == ':' {
		fmt.Fprintf(p.Err, "%s: invalid option -- '%s'\n", p.Prog, []byte{b})
		return Opt{Val: '?', LongIdx: -1}
	}
	if i+1 < len(p.Short) && p.Short[i+1] == ':' {
		optional := i+2 < len(p.Short) && p.Short[i+2] == ':'
		if p.next != "" {
			arg := p.next
			p.next = ""
			return Opt{Val: c, LongIdx: -1, Arg: arg, HasArg: true}
		}
		if optional {
			return Opt{Val: c, LongIdx: -1}
		}
		if p.ind >= len(p.args) {
			fmt.Fprintf(p.Err, "%s: option requires an argument -- '%s'\n", p.Prog, []byte{b})
			return Opt{Val: '?', LongIdx: -1}
		}
		arg := p.args[p.ind]
		p.ind++
		return Opt{Val: c, LongIdx: -1, Arg: arg, HasArg: true}
	}
	return Opt{Val: c, LongIdx: -1}
}

func (p *Parser) long(text string) Opt {
	name, arg, hasArg := strings.Cut(text, "=")
	found := -1
	for i, l := range p.Long {
		if l.Name == name {
			found = i
			break
		}
	}
	if found < 0 {
		var ambig []int
		for i, l := range p.Long {
			if !strings.HasPrefix(l.Name, name) {
				continue
			}
			if found < 0 {
				found = i
				continue
			}
			f := p.Long[found]
			if f.HasArg != l.HasArg || f.Val != l.Val {
				if len(ambig) == 0 {
					ambig = append(ambig, found)
				}
				ambig = append(ambig, i)
			}
		}
		if len(ambig) > 0 {
			fmt.Fprintf(p.Err, "%s: option '--%s' is ambiguous; possibilities:", p.Prog, text)
			for _, i := range ambig {
				fmt.Fprintf(p.Err, " '--%s'", p.Long[i].Name)
			}
			fmt.Fprintln(p.Err)
			return Opt{Val: '?', LongIdx: -1}
		}
	}
	if found < 0 {
		fmt.Fprintf(p.Err, "%s: unrecognized option '--%s'\n", p.Prog, text)
		return Opt{Val: '?', LongIdx: -1}
	}
	l := p.Long[found]
	switch {
	case hasArg && l.HasArg == NoArgument:
		fmt.Fprintf(p.Err, "%s: option '--%s' doesn't allow an argument\n", p.Prog, l.Name)
		return Opt{Val: '?', LongIdx: -1}
	case !hasArg && l.HasArg == RequiredArgument:
		if p.ind >= len(p.args) {
			fmt.Fprintf(p.Err, "%s: option '--%s' requires an argument\n", p.Prog, l.Name)
			return Opt{Val: '?', LongIdx: -1}
		}
		arg, hasArg = p.args[p.ind], true
		p.ind++
	}
	return Opt{Val: l.Val, LongIdx: found, Arg: arg, HasArg: hasArg}
}
