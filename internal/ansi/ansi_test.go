package ansi

import "testing"

func TestPaint(t *testing.T) {
	if got := (Painter{On: true}).Paint(Red, "x"); got != "\x1b[31mx\x1b[0m" {
		t.Fatalf("on: %q", got)
	}
	if got := (Painter{}).Paint(Red, "x"); got != "x" {
		t.Fatalf("off: %q", got)
	}
}
