package text

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestShort(t *testing.T) {
	if got := Short("0123456789abcdef0123"); got != "0123456789ab" {
		t.Fatalf("Short = %q", got)
	}
	if got := Short("abc"); got != "abc" {
		t.Fatalf("Short of a short string = %q", got)
	}
}

func TestFirstLine(t *testing.T) {
	for in, want := range map[string]string{
		"one\ntwo":       "one",
		"\n  \n two \n3": "two",
		"":               "",
	} {
		if got := FirstLine(in); got != want {
			t.Errorf("FirstLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLastLinesAndTailFile(t *testing.T) {
	// Trailing newlines are trimmed: the last two lines are b and c.
	if got := strings.Join(LastLines("a\r\nb\nc\n\n", 2), "|"); got != "b|c" {
		t.Fatalf("LastLines = %q", got)
	}
	if got := strings.Join(LastLines("a\r\nb\nc\n", 2), "|"); got != "b|c" {
		t.Fatalf("LastLines = %q", got)
	}
	if LastLines("", 3) != nil || LastLines("x", 0) != nil {
		t.Fatal("empty text or n=0 gives nil")
	}
	p := filepath.Join(t.TempDir(), "log")
	os.WriteFile(p, []byte("1\n2\n3\n"), 0o644)
	if got := strings.Join(TailFile(p, 2), "|"); got != "2|3" {
		t.Fatalf("TailFile = %q", got)
	}
	if TailFile(filepath.Join(t.TempDir(), "missing"), 2) != nil {
		t.Fatal("a missing file gives nil")
	}
}
