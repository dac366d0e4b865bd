package fail_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
)

func TestCodeSurvivesWrapping(t *testing.T) {
	base := fail.New(exitcode.Locked, errors.New("lock held by ada"), "wait for it")
	wrapped := fmt.Errorf("deploy production: %w", base)
	if got := fail.Code(wrapped); got != exitcode.Locked {
		t.Fatalf("Code = %d, want %d", got, exitcode.Locked)
	}
	if got := fail.Code(nil); got != exitcode.OK {
		t.Fatalf("Code(nil) = %d", got)
	}
	if got := fail.Code(errors.New("plain")); got != exitcode.Failed {
		t.Fatalf("Code(plain) = %d", got)
	}
	if got := fail.Code(&fail.Error{Err: errors.New("no code")}); got != exitcode.Failed {
		t.Fatalf("a zero code must read as failed, got %d", got)
	}
	if fail.New(exitcode.Usage, nil, "x") != nil {
		t.Fatal("New(nil) must be nil")
	}
}

func TestHintsCollectOuterFirstOnce(t *testing.T) {
	inner := fail.New(exitcode.Failed, errors.New("disk full"), "free space on the server", "")
	outer := fail.Hint(fmt.Errorf("install: %w", inner), "then deploy again", "free space on the server")
	got := fail.Hints(outer)
	want := []string{"then deploy again", "free space on the server"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("Hints = %q, want %q", got, want)
	}
	if fail.Code(outer) != exitcode.Failed {
		t.Fatalf("Hint must keep the code")
	}
}

func TestFormatPrintsEachProblemWithItsHints(t *testing.T) {
	ps := errors.Join(
		fail.New(exitcode.Usage, errors.New("ferry.yml:3:1: unknown key \"strat\""), `did you mean "start"?`),
		fail.New(exitcode.Usage, errors.New("ferry.yml:9:5: health.url is required")),
	)
	err := fail.New(exitcode.Usage, ps, "see docs/config.md")
	var b strings.Builder
	fail.Format(&b, err)
	want := "error: ferry.yml:3:1: unknown key \"strat\"\n" +
		"hint: did you mean \"start\"?\n" +
		"error: ferry.yml:9:5: health.url is required\n" +
		"hint: see docs/config.md\n"
	if b.String() != want {
		t.Fatalf("Format:\n%s\nwant:\n%s", b.String(), want)
	}
	j, _ := json.Marshal(fail.ToJSON(err))
	if !strings.Contains(string(j), `"problems":[{"message":"ferry.yml:3:1: unknown key \"strat\"","hints":["did you mean \"start\"?"]}`) {
		t.Fatalf("JSON: %s", j)
	}
}

func TestFormatIndentsMultilineMessages(t *testing.T) {
	var b strings.Builder
	fail.Format(&b, fail.New(exitcode.Failed, errors.New("pip failed:\nERROR: no matching distribution"), "read pip's log"))
	want := "error: pip failed:\n       ERROR: no matching distribution\nhint: read pip's log\n"
	if b.String() != want {
		t.Fatalf("got %q", b.String())
	}
}

func TestWithHintsCopies(t *testing.T) {
	e := fail.Errorf(exitcode.Usage, "unknown environment %q", "prod")
	h := e.WithHints("name one of: production")
	if len(e.Hints) != 0 || len(h.Hints) != 1 || h.Code != exitcode.Usage {
		t.Fatalf("WithHints changed the original or lost the code: %+v %+v", e, h)
	}
}
