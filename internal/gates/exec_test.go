package gates

import (
	"strings"
	"testing"
)

func TestTail(t *testing.T) {
	if got := tail("one\r\ntwo\r\nthree \t\r\n\n", 2); got != "two\nthree" {
		t.Errorf("tail = %q, want the last two lines without the trailing blanks", got)
	}
	if got := tail("", 40); got != "" {
		t.Errorf("tail of nothing = %q", got)
	}
	// Past resultOutputCap bytes, whole lines are dropped from the front.
	line := strings.Repeat("x", 99)
	got := tail(strings.Repeat(line+"\n", 200)+"end", 1000)
	if len(got) > resultOutputCap || len(got) < resultOutputCap-100 {
		t.Fatalf("tail kept %d bytes, want at most %d and no line more dropped than needed", len(got), resultOutputCap)
	}
	lines := strings.Split(got, "\n")
	for _, l := range lines[:len(lines)-1] {
		if l != line {
			t.Fatalf("tail cut a line: %q", l)
		}
	}
	if lines[len(lines)-1] != "end" {
		t.Errorf("last line %q, want end", lines[len(lines)-1])
	}
}
