package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// bsdCases render the captured Linux zoo the FreeBSD way (--style bsd),
// plus FreeBSD netstat's error paths; -update rewrites testdata/bsd.
var bsdCases = []string{
	"--style bsd -a -n -f inet",
	"--style bsd -an",
	"--style=bsd -an -f unix",
	"--style bsd -anW -6",
	"--style bsd -a -f inet",
	"--style bsd -f inet",
	"--style bsd -anL",
	"--style bsd -an -p udp",
	"--style bsd -an -p tcp -4",
	"--style bsd -p arp",
	"--style bsd -f link",
	"--style bsd -ia",
	"--style bsd -z",
	"--style bsd -y",
	"--style bsd -f",
	"--style bsd -f foo",
	"--style bsd -p xyz",
	"--style bsd -s -i",
	"--style bsd -an 5",
	"--style bsd -an /boot/kernel/kernel",
	"--style bsd -an -- -x",
}

func TestBSDGolden(t *testing.T) {
	for _, c := range bsdCases {
		args := strings.Fields(c)
		t.Run(c, func(t *testing.T) {
			got := render(t, args...)
			name := strings.NewReplacer(" ", "_", "/", "%", "=", "_").Replace(c)
			path := filepath.Join("testdata/bsd", name+".txt")
			checkGolden(t, path, got, "bpfstat "+c)
		})
	}
}

func TestStripStyle(t *testing.T) {
	for in, want := range map[string]string{
		"--style bsd -an":          "-an",
		"-a --style=bsd -n":        "-a -n",
		"-an -- --style bsd":       "-an -- --style bsd",
		"--style":                  "",
		"-f inet --style linux -a": "-f inet -a",
	} {
		if got := strings.Join(stripStyle(strings.Fields(in)), " "); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

// TestStyleErrors: a --style that names no dialect is an error (exit 2),
// not the host's dialect.
func TestStyleErrors(t *testing.T) {
	for args, want := range map[string]string{
		"--style xyz -an": `invalid --style "xyz": want bsd or linux`,
		"--style=":        `invalid --style "": want bsd or linux`,
		"-an --style":     "option '--style' requires an argument",
	} {
		var out, errb strings.Builder
		code := runWith(append([]string{"netstat"}, strings.Fields(args)...), &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), want) || out.Len() != 0 {
			t.Errorf("%s: exit %d, stderr %q, %d bytes out; want exit 2 and %q", args, code, errb.String(), out.Len(), want)
		}
	}
	for _, s := range []string{"bsd", "linux"} {
		if got, err := style([]string{"-an", "--style=" + s}); got != s || err != nil {
			t.Errorf("--style=%s: got %q, %v", s, got, err)
		}
	}
}

// TestBSDStats renders -s (alone or with -p tcp|udp|ip|icmp) from
// /proc/net/snmp, /proc/net/netstat and /proc/net/tcp{,6} fixtures.
func TestBSDStats(t *testing.T) {
	for _, c := range []string{"-s -p udp", "-ss -p udp", "-s -p ip", "-ss -p ip", "-s -p icmp", "-ss -p icmp", "-s -p tcp", "-ss -p tcp",
		"-s", "-ss", "-s -f inet6", "-s -f unix", "-s -p igmp", "-is -p udp"} {
		old := fixtureRoot
		fixtureRoot = "testdata/bsdroot"
		var out, errb bytes.Buffer
		code := runWith(append([]string{"netstat", "--style", "bsd"}, strings.Fields(c)...), &out, &errb)
		fixtureRoot = old
		got := out.String() + "--- stderr\n" + errb.String() + "--- exit " + strconv.Itoa(code) + "\n"
		path := filepath.Join("testdata/bsd", "stats_"+strings.ReplaceAll(c, " ", "_")+".txt")
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("reading golden file (run with -update to create it): %v", err)
		}
		if got != string(want) {
			t.Errorf("%s:\n%s\nwant:\n%s", c, got, want)
		}
	}
}

func TestParseBSDFlags(t *testing.T) {
	var ew bytes.Buffer
	f, err := parseBSDFlags("netstat", []string{"-anfinet6", "-W", "-p", "tcp"}, &ew)
	if err != nil || !f.sock.All || !f.sock.NumericAddr || !f.sock.NumericPort || f.sock.Family != 2 || !f.sock.Wide || f.proto != "tcp" {
		t.Fatalf("clustered: %+v %v", f, err)
	}
	// BSD getopt stops at the first operand: "-a" after it is an operand
	// (a kernel image to FreeBSD's netstat).
	if _, err := parseBSDFlags("netstat", []string{"-n", "kernel", "-a"}, &ew); err == nil || !strings.Contains(err.Error(), "kernel core") {
		t.Errorf("operand: %v", err)
	}
	ew.Reset()
	if _, err := parseBSDFlags("netstat", []string{"-n", "-:"}, &ew); err != errUsage || ew.String() != "netstat: illegal option -- :\n" {
		t.Errorf("colon: %v %q", err, ew.String())
	}
	ew.Reset()
	if _, err := parseBSDFlags("netstat", []string{"-np"}, &ew); err != errUsage || ew.String() != "netstat: option requires an argument -- p\n" {
		t.Errorf("missing argument: %v %q", err, ew.String())
	}
	if f, err := parseBSDFlags("netstat", []string{"-ss", "-p", "udp", "-I", "em0"}, &ew); err != nil || f.stats != 2 || !f.interfaces || f.ifo.Interface != "em0" {
		t.Errorf("-ss -I: %+v %v", f, err)
	}
	if _, err := parseBSDFlags("netstat", []string{"-an", "0"}, &ew); err != errUsage {
		t.Errorf("interval 0: %v", err)
	}
}

// TestBSDStatsMissing: without /proc/net/snmp every -s section fails on
// its own; the others would still print, and the exit status is 1.
func TestBSDStatsMissing(t *testing.T) {
	old := fixtureRoot
	fixtureRoot = t.TempDir()
	defer func() { fixtureRoot = old }()
	var out, errb bytes.Buffer
	code := runWith([]string{"netstat", "--style", "bsd", "-s"}, &out, &errb)
	if code != 1 || out.Len() != 0 || strings.Count(errb.String(), "netstat: reading protocol statistics") != 4 {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}
