// Package golden compares test output with files under testdata/ and
// rewrites them when the test runs with -update, so that a reviewer reads
// an intended change to an output as a diff of its golden file.
package golden

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with what the tests produce")

// Assert fails t when got differs from testdata/NAME, showing the first
// line that differs; with -update it writes got there instead.
func Assert(t testing.TB, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", filepath.FromSlash(name))
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
		t.Fatalf("read golden file (run the test with -update to create it): %v", err)
	}
	if got == string(want) {
		return
	}
	t.Errorf("output differs from %s (run with -update if the change is intended)\n%s", path, firstDiff(string(want), got))
}

// firstDiff names the first differing line, which is where a reader of
// a long report wants to look.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl || i >= len(w) || i >= len(g) {
			return fmt.Sprintf("line %d", i+1) + ":\n  want: " + quote(wl, i < len(w)) + "\n  got:  " + quote(gl, i < len(g)) + "\n--- got in full ---\n" + got
		}
	}
	return got
}

func quote(s string, present bool) string {
	if !present {
		return "(no line)"
	}
	return "\"" + s + "\""
}
