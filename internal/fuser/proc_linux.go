package fuser

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ProcRoot is the procfs mount the Linux helpers read.
var ProcRoot = "/proc"

// pids lists /proc's processes in readdir order (ascending), as psmisc
// walks them.
func pids() []int {
	d, err := os.Open(ProcRoot)
	if err != nil {
		return nil
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	var out []int
	for _, n := range names {
		if n == "" || n[0] < '0' || n[0] > '9' {
			continue
		}
		if pid, err := strconv.Atoi(n); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

func fdNames(pid int) ([]string, error) {
	d, err := os.Open(fmt.Sprintf("%s/%d/fd", ProcRoot, pid))
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	var out []string
	for _, n := range names {
		if n != "" && n[0] >= '0' && n[0] <= '9' {
			out = append(out, n)
		}
	}
	return out, err
}

// ScanErrors returns the "Cannot stat file /proc/PID/fd/N: ..." lines
// psmisc prints for fds it may list but not follow (another user's
// process, a ptrace-protected one). Following an fd is checked per
// process, so one probe per process decides; only then is every fd
// stat'ed, in the order psmisc would.
func ScanErrors(self int) []string {
	var lines []string
	for _, pid := range pids() {
		if pid == self {
			continue
		}
		fds, err := fdNames(pid)
		if err != nil || len(fds) == 0 {
			continue
		}
		var st syscall.Stat_t
		probe := fmt.Sprintf("%s/%d/fd/%s", ProcRoot, pid, fds[0])
		if err := syscall.Stat(probe, &st); err == nil || !reportable(err) {
			continue
		}
		for _, fd := range fds {
			p := fmt.Sprintf("%s/%d/fd/%s", ProcRoot, pid, fd)
			if err := syscall.Stat(p, &st); err != nil && reportable(err) {
				lines = append(lines, fmt.Sprintf("Cannot stat file %s: %s\n", p, errText(err)))
			}
		}
	}
	return lines
}

func reportable(err error) bool {
	return !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ENOTDIR)
}

// Stat resolves a file name as psmisc's expandpath does (absolute,
// symlinks resolved; unchanged when that fails) and stats it.
func Stat(name string) (string, FileID, error) {
	path := name
	if abs, err := filepath.Abs(name); err == nil && name != "" {
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			path = real
		}
	}
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return path, FileID{}, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	return path, fileID(&st), nil
}

func fileID(st *syscall.Stat_t) FileID {
	return FileID{
		Dev: st.Dev, Ino: st.Ino, Rdev: st.Rdev,
		Socket: st.Mode&syscall.S_IFMT == syscall.S_IFSOCK,
		Block:  st.Mode&syscall.S_IFMT == syscall.S_IFBLK,
	}
}

// StatSocketPath stats a unix socket's bound path.
func StatSocketPath(path string) (FileID, bool) {
	var st syscall.Stat_t
	if syscall.Stat(path, &st) != nil {
		return FileID{}, false
	}
	return fileID(&st), true
}

// MountPoints lists /proc/mounts' mount points as psmisc reads them
// (octal escapes left as they are).
func MountPoints() []string {
	var out []string
	eachLineField(ProcRoot+"/mounts", 1, func(f string) { out = append(out, f) })
	return out
}

// eachLineField calls fn with the field-th space-separated field of each
// line of path.
func eachLineField(path string, field int, fn func(string)) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Split(sc.Text(), " ")
		if len(fl) > field {
			fn(fl[field])
		}
	}
}

// FileProcs walks /proc as psmisc does for a file name: processes using
// the file (or, with Mount, any file on its filesystem) through an fd,
// their cwd, root, executable or a mapping; then the kernel's users:
// NFS exports, mount points and swap files, one entry of each kind, the
// last found first.
func FileProcs(self int) func(q FileQuery) ([]Proc, error) {
	return func(q FileQuery) ([]Proc, error) {
		id := q.ID
		device := id.Dev
		if id.Block {
			device = id.Rdev
		}
		sameIno := func(st *syscall.Stat_t) bool { return st.Dev == id.Dev && st.Ino == id.Ino }
		sameDev := func(st *syscall.Stat_t) bool { return q.Mount && st.Dev == device }
		var out []Proc
		for _, pid := range pids() {
			if pid == self {
				continue
			}
			base := fmt.Sprintf("%s/%d", ProcRoot, pid)
			var pst syscall.Stat_t
			uid := uint32(0)
			if syscall.Stat(base, &pst) == nil {
				uid = pst.Uid
			}
			var acc uint8
			for _, l := range []struct {
				name string
				bit  uint8
			}{{"exe", AccessExe}, {"root", AccessRoot}, {"cwd", AccessCwd}} {
				var st syscall.Stat_t
				if syscall.Stat(base+"/"+l.name, &st) == nil && (sameDev(&st) || sameIno(&st)) {
					acc |= l.bit
				}
			}
			fds, _ := fdNames(pid)
			for _, fd := range fds {
				p := base + "/fd/" + fd
				var st syscall.Stat_t
				if syscall.Stat(p, &st) != nil {
					continue
				}
				hit := sameIno(&st)
				if !hit && sameDev(&st) {
					hit = true
					// Except for block devices and sockets, the fd's
					// path must start with the name.
					if !id.Block && st.Mode&syscall.S_IFMT != syscall.S_IFSOCK {
						buf := make([]byte, 4096)
						if n, err := syscall.Readlink(p, buf); err == nil {
							hit = strings.HasPrefix(string(buf[:n]), q.Path)
						} else {
							hit = strings.HasPrefix(p, q.Path)
						}
					}
				}
				if !hit {
					continue
				}
				acc |= AccessFile
				var lst syscall.Stat_t
				if syscall.Lstat(p, &lst) == nil && lst.Mode&syscall.S_IWUSR != 0 {
					acc |= AccessFileWr
				}
			}
			if mapsHas(base+"/maps", id, q.Mount, device) {
				acc |= AccessMmap
			}
			if acc == 0 {
				continue
			}
			out = append(out, Proc{PID: int32(pid), UID: uid, Command: procComm(base), Access: acc})
		}
		var specials []Proc
		special := func(kind, path string) {
			for _, p := range specials {
				if p.Special == kind {
					return
				}
			}
			specials = append([]Proc{{Special: kind, Command: path}}, specials...)
		}
		check := func(kind string) func(string) {
			return func(path string) {
				var st syscall.Stat_t
				if syscall.Stat(path, &st) == nil && (sameDev(&st) || sameIno(&st)) {
					special(kind, path)
				}
			}
		}
		eachExport(check("knfsd"))
		eachLineField(ProcRoot+"/mounts", 1, check("mount"))
		eachLineField(ProcRoot+"/swaps", 0, check("swap"))
		return append(specials, out...), nil
	}
}

// eachExport calls fn with each exported path of the kernel NFS server.
func eachExport(fn func(string)) {
	f, err := os.Open(ProcRoot + "/fs/nfsd/exports")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "#") {
			continue
		}
		if i := strings.IndexAny(l, " \t"); i >= 0 {
			fn(l[:i])
		}
	}
}

func mapsHas(path string, id FileID, mount bool, device uint64) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) < 5 {
			continue
		}
		maj, min, ok := strings.Cut(fl[3], ":")
		if !ok {
			continue
		}
		ma, err1 := strconv.ParseUint(maj, 16, 32)
		mi, err2 := strconv.ParseUint(min, 16, 32)
		ino, err3 := strconv.ParseUint(fl[4], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		// psmisc's device number for a maps line is major*256+minor.
		dev := ma*256 + mi
		if mount && dev == device || dev == id.Dev && ino == id.Ino {
			return true
		}
	}
	return false
}

// procComm reads the command name from /proc/PID/stat, escaped.
func procComm(base string) string {
	b, err := os.ReadFile(base + "/stat")
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.IndexByte(s, '(')
	if i < 0 {
		return ""
	}
	return escapeComm(s[i+1:])
}

// Kill sends sig to pid.
func Kill(pid int32, sig int) error { return syscall.Kill(int(pid), syscall.Signal(sig)) }
