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
	return path, FileID{Dev: st.Dev, Ino: st.Ino, Socket: st.Mode&syscall.S_IFMT == syscall.S_IFSOCK}, nil
}

// StatSocketPath stats a unix socket's bound path.
func StatSocketPath(path string) (FileID, bool) {
	var st syscall.Stat_t
	if syscall.Stat(path, &st) != nil {
		return FileID{}, false
	}
	return FileID{Dev: st.Dev, Ino: st.Ino, Socket: st.Mode&syscall.S_IFMT == syscall.S_IFSOCK}, true
}

// FileProcs walks /proc for processes using a file through an fd, their
// cwd, root, executable or a mapping, as psmisc does for file names.
func FileProcs(self int) func(id FileID) ([]Proc, error) {
	return func(id FileID) ([]Proc, error) {
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
			same := func(p string) bool {
				var st syscall.Stat_t
				return syscall.Stat(p, &st) == nil && st.Dev == id.Dev && st.Ino == id.Ino
			}
			if same(base + "/exe") {
				acc |= AccessExe
			}
			if same(base + "/root") {
				acc |= AccessRoot
			}
			if same(base + "/cwd") {
				acc |= AccessCwd
			}
			fds, _ := fdNames(pid)
			for _, fd := range fds {
				p := base + "/fd/" + fd
				if !same(p) {
					continue
				}
				acc |= AccessFile
				var lst syscall.Stat_t
				if syscall.Lstat(p, &lst) == nil && lst.Mode&syscall.S_IWUSR != 0 {
					acc |= AccessFileWr
				}
			}
			if mapsHas(base+"/maps", id) {
				acc |= AccessMmap
			}
			if acc == 0 {
				continue
			}
			out = append(out, Proc{PID: int32(pid), UID: uid, Command: procComm(base), Access: acc})
		}
		return out, nil
	}
}

func mapsHas(path string, id FileID) bool {
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
		if ma*256+mi == id.Dev && ino == id.Ino {
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
