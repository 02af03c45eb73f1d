package fuser

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"

	"github.com/bpfstat/bpfstat/internal/sock"
)

// nameField is psmisc's NAME_FIELD: names are padded to this column.
const nameField = 20

// Access bits, as psmisc's ACCESS_*.
const (
	AccessFile uint8 = 1 << iota
	AccessRoot
	AccessCwd
	AccessExe
	AccessMmap
	AccessFileWr
)

// Proc is one process matched by a name, or one of psmisc's kernel
// entries (Special "mount", "swap" or "knfsd", Command the path).
type Proc struct {
	PID     int32
	UID     uint32
	Command string // comm, escaped as psmisc prints it
	Access  uint8
	Special string
}

// FileID identifies a file as stat(2) does.
type FileID struct {
	Dev, Ino uint64
	Rdev     uint64
	Socket   bool
	Block    bool
}

// FileQuery asks who uses a file (or, with Mount, its filesystem).
type FileQuery struct {
	Path  string // the expanded name, as printed
	ID    FileID
	Mount bool
}

// Env is everything fuser needs from outside.
type Env struct {
	Argv0   string // for messages: "fuser"
	Version string
	Stdout  io.Writer
	Stderr  io.Writer
	Stdin   io.Reader
	Self    int32 // never listed, never killed

	Resolver Resolver
	// Sockets returns the socket table with every holder in Owners; it
	// may leave out protocols not in protos.
	Sockets func(protos []sock.Proto) ([]sock.Socket, error)
	// ScanErrors returns the "Cannot stat file ..." lines psmisc prints
	// while walking /proc; called only when psmisc would walk it.
	ScanErrors func() []string
	// Stat resolves and stats a file name: the path psmisc prints (made
	// absolute, symlinks resolved) and its identity.
	Stat func(name string) (string, FileID, error)
	// StatSocketPath stats a unix socket's bound path from the table.
	StatSocketPath func(path string) (FileID, bool)
	// FileProcs lists processes using a file that is not a socket (fds,
	// cwd, root, exe, maps) and psmisc's kernel entries (mounts, swap,
	// NFS exports), kernel entries first; nil means files are not
	// supported.
	FileProcs func(q FileQuery) ([]Proc, error)
	// MountPoints lists /proc/mounts' mount points, for -M.
	MountPoints func() []string
	UserName    func(uid uint32) (string, bool)
	Kill        func(pid int32, sig int) error
}

// Run executes fuser with args (without the program name) and returns
// its exit status.
func Run(env *Env, args []string) int {
	cfg, st, done := parse(env, args)
	if done {
		return int(st)
	}
	if cfg.IsMountpoint {
		// psmisc drops names that are not mount points, with a message.
		var mps []string
		if env.MountPoints != nil {
			mps = env.MountPoints()
		}
		var keep []*Name
		for _, n := range cfg.Names {
			if n.Space == NSFile {
				p := n.Text
				for len(p) > 1 && strings.HasSuffix(p, "/") {
					p = p[:len(p)-1]
				}
				n.Text = p
				if p == "" || !slices.Contains(mps, p) {
					fmt.Fprintf(env.Stderr, "Specified filename %s is not a mountpoint.\n", n.Text)
					// Its inode was already on psmisc's list: /proc is
					// still walked.
					cfg.scan = cfg.scan || n.ID != nil
					continue
				}
			}
			keep = append(keep, n)
		}
		cfg.Names = keep
	}
	if cfg.Silent {
		cfg.Verbose, cfg.User = false, false
		if cfg.All {
			return int(usage(env.Stderr, "all option cannot be used with silent option."))
		}
	}
	if cfg.IPv4Only && cfg.IPv6Only {
		return int(usage(env.Stderr, "You cannot search for only IPv4 and only IPv6 sockets at the same time"))
	}
	matched, err := match(env, cfg)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", env.Argv0, err)
		return 1
	}
	return printMatches(env, cfg, matched)
}

// match finds every name's processes. Names that matched no socket (and
// no file) leave /proc unscanned, as in psmisc.
func match(env *Env, cfg *Config) ([][]Proc, error) {
	var socks []sock.Socket
	var protos []sock.Proto
	for _, n := range cfg.Names {
		p := sock.ProtoUnknown
		switch {
		case n.Space == NSTCP:
			p = sock.ProtoTCP
		case n.Space == NSUDP:
			p = sock.ProtoUDP
		case n.ID != nil && n.ID.Socket && !cfg.Mounts:
			p = sock.ProtoUnix
		}
		if p != sock.ProtoUnknown && !slices.Contains(protos, p) {
			protos = append(protos, p)
		}
	}
	if len(protos) > 0 && env.Sockets != nil {
		var err error
		if socks, err = env.Sockets(protos); err != nil {
			return nil, err
		}
	}
	scanned := cfg.scan
	perName := make([]map[int32]*Proc, len(cfg.Names))
	specials := make([][]Proc, len(cfg.Names))
	for i, n := range cfg.Names {
		procs := map[int32]*Proc{}
		perName[i] = procs
		add := func(s *sock.Socket) {
			for _, o := range s.Owners {
				if o.PID == env.Self {
					continue
				}
				p := procs[o.PID]
				if p == nil {
					p = &Proc{PID: o.PID, UID: o.UID, Command: escapeComm(o.Comm)}
					procs[o.PID] = p
				}
				// Socket fds are always open read-write: "F".
				p.Access |= AccessFile | AccessFileWr
			}
		}
		switch n.Space {
		case NSTCP, NSUDP:
			want := sock.ProtoTCP
			if n.Space == NSUDP {
				want = sock.ProtoUDP
			}
			for k := range socks {
				s := &socks[k]
				if s.Proto != want {
					continue
				}
				var conns []Conn
				switch {
				case s.Family == sock.FamilyInet && !cfg.IPv6Only:
					conns = n.Conns4
				case s.Family == sock.FamilyInet6 && !cfg.IPv4Only:
					conns = n.Conns6
				}
				for _, c := range conns {
					if c.matches(s) {
						scanned = true
						add(s)
						break
					}
				}
			}
		case NSFile:
			id := n.ID
			if id == nil {
				continue
			}
			scanned = true
			if id.Socket && !cfg.Mounts {
				// psmisc maps the path to the socket through /proc/net/unix.
				for k := range socks {
					s := &socks[k]
					if s.Proto != sock.ProtoUnix || s.Path == "" || s.Path[0] == '@' || env.StatSocketPath == nil {
						continue
					}
					if sid, ok := env.StatSocketPath(s.Path); ok && sid.Dev == id.Dev && sid.Ino == id.Ino {
						add(s)
					}
				}
			}
			if (!id.Socket || cfg.Mounts) && env.FileProcs != nil {
				fp, err := env.FileProcs(FileQuery{Path: n.Text, ID: *id, Mount: cfg.Mounts})
				if err != nil {
					return nil, err
				}
				for _, p := range fp {
					if p.Special != "" {
						specials[i] = append(specials[i], p)
						continue
					}
					if p.PID == env.Self {
						continue
					}
					if q := procs[p.PID]; q != nil {
						q.Access |= p.Access
					} else {
						p := p
						procs[p.PID] = &p
					}
				}
			} else if !id.Socket {
				return nil, fmt.Errorf("%s: only sockets are supported", n.Text)
			}
		}
	}
	if scanned && env.ScanErrors != nil {
		for _, l := range env.ScanErrors() {
			io.WriteString(env.Stderr, l)
		}
	}
	out := make([][]Proc, len(cfg.Names))
	for i, m := range perName {
		for _, p := range m {
			out[i] = append(out[i], *p)
		}
		slices.SortFunc(out[i], func(a, b Proc) int { return int(a.PID) - int(b.PID) })
		out[i] = append(specials[i], out[i]...)
	}
	return out, nil
}

func (c Conn) matches(s *sock.Socket) bool {
	if c.LPort != 0 && c.LPort != s.Local.Port() {
		return false
	}
	if c.RPort != 0 && c.RPort != s.Remote.Port() {
		return false
	}
	if !c.RAddr.IsValid() || c.RAddr.IsUnspecified() {
		return true
	}
	r := s.Remote.Addr()
	if c.RAddr.Is4() {
		return r == c.RAddr
	}
	return r.Is6() && r.As16() == c.RAddr.As16()
}

// commLen is psmisc's COMM_LEN: the command is cut at 64 bytes of
// output, and an escape is only started below 60.
const commLen = 64

// escapeComm renders a comm as psmisc reads it from /proc/PID/stat: up
// to the first ')', printable bytes as they are, others as \ooo of the
// (signed) char, within COMM_LEN.
func escapeComm(comm string) string {
	if i := strings.IndexByte(comm, ')'); i >= 0 {
		comm = comm[:i]
	}
	var b strings.Builder
	for i := 0; i < len(comm) && b.Len() < commLen; i++ {
		c := comm[i]
		if c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
		} else if b.Len() < commLen-4 {
			fmt.Fprintf(&b, "\\%03o", uint32(int32(int8(c))))
		}
	}
	return b.String()
}

func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	s := err.Error()
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}

// printMatches prints as psmisc's print_matches and kills with -k.
func printMatches(env *Env, cfg *Config, matched [][]Proc) int {
	haveMatch, haveKill := false, false
	head := false
	var stdin *bufio.Reader
	for i, n := range cfg.Names {
		procs := matched[i]
		normal := 0
		for _, p := range procs {
			if p.Special == "" {
				normal++
			}
		}
		if cfg.Silent {
			if normal > 0 {
				haveMatch = true
			}
		} else {
			length := 0
			hasProcs := normal > 0
			if cfg.Verbose {
				hasProcs = len(procs) > 0
			}
			if hasProcs || cfg.All {
				if !head && cfg.Verbose {
					fmt.Fprintf(env.Stderr, "%*s USER        PID ACCESS COMMAND\n", nameField, "")
					head = true
				}
				fmt.Fprintf(env.Stderr, "%s:", n.Text)
				length = len(n.Text) + 1
			}
			first := true
			for _, p := range procs {
				if !cfg.Verbose && p.Special != "" {
					continue
				}
				haveMatch = true
				user, known := "", false
				if cfg.Verbose || cfg.User {
					if env.UserName != nil {
						user, known = env.UserName(p.UID)
					}
				}
				if length > nameField && cfg.Verbose {
					io.WriteString(env.Stderr, "\n")
					length = 0
				}
				if cfg.Verbose || first {
					if length < nameField {
						io.WriteString(env.Stderr, strings.Repeat(" ", nameField-length))
					}
				}
				if cfg.Verbose {
					if !known {
						user = "(unknown)"
					}
					fmt.Fprintf(env.Stderr, " %-8s ", user)
				}
				if p.Special != "" {
					io.WriteString(env.Stdout, "kernel")
				} else {
					fmt.Fprintf(env.Stdout, " %5d", p.PID)
				}
				if cfg.Verbose && p.Special != "" {
					fmt.Fprintf(env.Stderr, " %-5s ", p.Special)
				} else if cfg.Verbose {
					fmt.Fprintf(env.Stderr, " %c%c%c%c%c ",
						pick(p.Access&AccessFile != 0, pick(p.Access&AccessFileWr != 0, 'F', 'f'), '.'),
						pick(p.Access&AccessRoot != 0, 'r', '.'),
						pick(p.Access&AccessCwd != 0, 'c', '.'),
						pick(p.Access&AccessExe != 0, 'e', '.'),
						pick(p.Access&AccessMmap != 0 && p.Access&AccessExe == 0, 'm', '.'))
				} else {
					if p.Access&AccessRoot != 0 {
						io.WriteString(env.Stderr, "r")
					}
					if p.Access&AccessCwd != 0 {
						io.WriteString(env.Stderr, "c")
					}
					if p.Access&AccessExe != 0 {
						io.WriteString(env.Stderr, "e")
					} else if p.Access&AccessMmap != 0 {
						io.WriteString(env.Stderr, "m")
					}
				}
				if cfg.User {
					if !known {
						fmt.Fprintf(env.Stderr, " %-8s ", "(unknown)")
					} else {
						fmt.Fprintf(env.Stderr, "(%s)", user)
					}
				}
				if cfg.Verbose {
					if p.Command == "" {
						io.WriteString(env.Stderr, "???\n")
					} else {
						fmt.Fprintf(env.Stderr, "%s\n", p.Command)
					}
				}
				length = 0
				first = false
			}
			if cfg.Verbose {
				if len(procs) == 0 && cfg.All {
					io.WriteString(env.Stderr, "\n")
				}
			} else if hasProcs || cfg.All {
				io.WriteString(env.Stderr, "\n")
			}
		}
		if cfg.Kill {
			for _, p := range procs {
				if p.PID == env.Self || p.Special != "" {
					continue
				}
				if cfg.WriteOnly && p.Access&AccessFileWr == 0 {
					continue
				}
				if cfg.Interactive {
					if stdin == nil {
						stdin = bufio.NewReader(orEmpty(env.Stdin))
					}
					if !ask(env.Stderr, stdin, p.PID) {
						continue
					}
				}
				if err := env.Kill(p.PID, cfg.Signal); err != nil {
					fmt.Fprintf(env.Stderr, "Could not kill process %d: %s\n", p.PID, errText(err))
					continue
				}
				haveKill = true
			}
		}
	}
	if cfg.Kill {
		return exitStatus(haveKill)
	}
	return exitStatus(haveMatch)
}

func exitStatus(ok bool) int {
	if ok {
		return 0
	}
	return 1
}

func pick[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}

func orEmpty(r io.Reader) io.Reader {
	if r == nil {
		return strings.NewReader("")
	}
	return r
}

// ask is psmisc's y/N prompt: an empty line or end of input is no, an
// answer neither yes nor no asks again.
func ask(w io.Writer, r *bufio.Reader, pid int32) bool {
	for {
		fmt.Fprintf(w, "Kill process %d ? (y/N) ", pid)
		line, err := r.ReadString('\n')
		if line == "" && err != nil {
			return false
		}
		if line[0] == '\n' {
			return false
		}
		switch line[0] {
		case 'y', 'Y':
			return true
		case 'n', 'N':
			return false
		}
		if err != nil {
			return false
		}
	}
}
