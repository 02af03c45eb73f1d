package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

// render runs the CLI in-process on the captured zoo fixture.
func render(t *testing.T, args ...string) string {
	t.Helper()
	old := fixtureRoot
	fixtureRoot = "testdata/zoo"
	defer func() { fixtureRoot = old }()
	var out, errb bytes.Buffer
	code := runWith(append([]string{"netstat"}, args...), &out, &errb)
	return out.String() + "--- stderr\n" + errb.String() + "--- exit " + strconv.Itoa(code) + "\n"
}

// TestZooFixtureMatchesNetstat replays a zoo captured by test/e2e's
// TestCaptureZoo: bpfstat on the captured /proc must print what net-tools
// netstat printed on the live zoo, line for line and in order.
func TestZooFixtureMatchesNetstat(t *testing.T) {
	files, err := filepath.Glob("testdata/zoo/netstat/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no captured netstat outputs: %v", err)
	}
	for _, f := range files {
		want, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		args := flagsOf(filepath.Base(f))
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if got := render(t, args...); got != string(want) {
				t.Errorf("bpfstat %v on the fixture:\n%s\nnetstat printed:\n%s", args, got, want)
			}
		})
	}
}

// flagsOf inverts test/e2e's goldenName.
func flagsOf(name string) []string {
	name = strings.TrimSuffix(name, ".txt")
	if name == "default" {
		return nil
	}
	return strings.Split(name, "_")
}

// goldenCases are rendered from the fixture and kept as golden files
// (timers, wide output and error paths included); -update rewrites them.
var goldenCases = []string{
	"-tano", "-uano", "-wano", "-xano", "-taneeopW", "-o", "-6 -o -a", "--timers --unix -a",
	"-S", "-Sa", "--ipx", "-A bluetooth", "-k", "--num", "-A foo", "-h", "-l -v", "-av",
	// A repeated mode flag counts twice, as net-tools adds its flags up.
	"-ii", "--route -r",
	// -A takes the next word even when it is one of bpfstat's own options.
	"-A --follow", "-tA --json",
}

func TestGolden(t *testing.T) {
	for _, c := range goldenCases {
		args := strings.Fields(c)
		t.Run(c, func(t *testing.T) {
			got := render(t, args...)
			path := filepath.Join("testdata/golden", strings.ReplaceAll(c, " ", "_")+".txt")
			checkGolden(t, path, got, "bpfstat "+c)
		})
	}
}

// checkGolden compares got, the output of what, with the golden file at
// path, or writes the file with -update.
func checkGolden(t *testing.T, path, got, what string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s:\n%s\nwant:\n%s", what, got, want)
	}
}
