package golden

import (
	"strings"
	"testing"
)

func TestAssertMatches(t *testing.T) { Assert(t, "sample.golden", "one\ntwo\n") }

func TestFirstDiffNamesTheLine(t *testing.T) {
	d := firstDiff("one\ntwo\n", "one\nthree\n")
	if !strings.HasPrefix(d, "line 2:\n  want: \"two\"\n  got:  \"three\"") {
		t.Fatalf("diff: %q", d)
	}
	if d := firstDiff("a\n", "a\nb\n"); !strings.Contains(d, "want: \"\"") || !strings.Contains(d, "got:  \"b\"") {
		t.Fatalf("extra line: %q", d)
	}
}
