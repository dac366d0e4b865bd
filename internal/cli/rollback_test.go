package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/transport"
)

// keeps is one server's answer to the releases op: releases written
// "sha@hour:status" (pruned with a trailing !), the first one current.
func keeps(target string, releases ...string) transport.TargetResult {
	res := agent.Result{Op: agent.OpReleases, Outcome: agent.OutcomeOK}
	for i, r := range releases {
		pruned := strings.HasSuffix(r, "!")
		r = strings.TrimSuffix(r, "!")
		sha, rest, _ := strings.Cut(r, "@")
		hour, status, _ := strings.Cut(rest, ":")
		h, _ := time.ParseDuration(hour + "h")
		full := strings.Repeat(sha, 40/len(sha)+1)[:40]
		rel := agent.Release{ID: "r-" + sha + "-" + hour, SHA: full, Created: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(h), Status: status, Pruned: pruned}
		if i == 0 {
			res.Release = rel.ID
		}
		res.Releases = append(res.Releases, rel)
	}
	return transport.TargetResult{Target: target, Result: res}
}

// The one release a fleet rollback brings every server to.
func TestFleetTarget(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		fleet   []transport.TargetResult
		want    string // a SHA's first character; "" for no release
		wantErr string
	}{
		{"every server on b, keeping a", []transport.TargetResult{
			keeps("i-1", "b@2:healthy", "a@1:healthy"), keeps("i-2", "b@2:healthy", "a@1:healthy")}, "a", ""},
		{"a mixed fleet: the one that rolled itself back is already there", []transport.TargetResult{
			keeps("i-1", "c@3:healthy", "b@2:healthy", "a@1:healthy"),
			keeps("i-2", "b@2:healthy", "c@3:bad", "a@1:healthy"),
			keeps("i-3", "c@3:healthy", "b@2:healthy")}, "b", ""},
		{"a release pruned on one server is not common", []transport.TargetResult{
			keeps("i-1", "c@3:healthy", "b@2:healthy", "a@1:healthy"),
			keeps("i-2", "c@3:healthy", "b@2:healthy!", "a@1:healthy")}, "a", ""},
		{"a bad release is no way back", []transport.TargetResult{
			keeps("i-1", "c@3:healthy", "b@2:bad", "a@1:healthy"),
			keeps("i-2", "c@3:healthy", "b@2:healthy", "a@1:healthy")}, "a", ""},
		{"newer than the release left is not back", []transport.TargetResult{
			keeps("i-1", "a@1:healthy", "b@2:healthy", "z@0:healthy"),
			keeps("i-2", "a@1:healthy", "b@2:healthy", "z@0:healthy")}, "z", ""},
		{"the newest copy of a commit deployed twice counts", []transport.TargetResult{
			keeps("i-1", "c@5:healthy", "a@4:healthy", "b@2:healthy", "a@1:healthy"),
			keeps("i-2", "c@5:healthy", "a@4:healthy", "b@2:healthy")}, "a", ""},
		{"nothing common", []transport.TargetResult{
			keeps("i-1", "b@2:healthy", "a@1:healthy"), keeps("i-2", "b@2:healthy")}, "", "no release older than bbbbbbbbbbbb (serving) is kept healthy on every server (i-2 keeps none)"},
		{"a server with nothing deployed", []transport.TargetResult{
			keeps("i-1", "b@2:healthy", "a@1:healthy"), keeps("i-2")}, "", "(i-2 keeps none)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, _, err := fleetTarget("prod", c.fleet)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || fail.Code(err) != exitcode.Failed || len(fail.Hints(err)) < 2 {
					t.Fatalf("want a refusal with %q and hints, got %q, %v (hints %q)", c.wantErr, got, err, fail.Hints(err))
				}
				if !strings.Contains(strings.Join(fail.Hints(err), "\n"), "ferry rollback prod --to SHA") {
					t.Errorf("the hints do not say how to choose one: %q", fail.Hints(err))
				}
				return
			}
			if err != nil || got == "" || got[:1] != c.want {
				t.Fatalf("chose %q, %v; want %s…", got, err, c.want)
			}
		})
	}
}
