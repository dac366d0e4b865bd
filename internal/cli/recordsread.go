package cli

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/ansi"
	"github.com/ferryhq/ferry/internal/dora"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/gitrepo"
	"github.com/ferryhq/ferry/internal/index"
	"github.com/ferryhq/ferry/internal/policy"
	"github.com/ferryhq/ferry/internal/recordstore"
	"github.com/ferryhq/ferry/internal/text"
)

// What ferry history, metrics, audit verify, dashboard and report share:
// the environments of ferry.yml (or the one named), each with its record
// chain synced into the local index, and the clock "now" is read on
// (FERRY_NOW fixes it, as it fixes the policy's).

// envChain is one environment with its record chain.
type envChain struct {
	t     *target
	store *recordstore.Store
	// sync is what the index added; err why the chain could not be read
	// (the index then answers with what it held before).
	sync index.SyncResult
	err  error
}

// chains resolves env ("" for every environment of ferry.yml) and opens
// each one's chain; the caller closes nothing but the index.
func (c Common) chains(ctx context.Context, env string) ([]*envChain, error) {
	p, err := c.loadProject("")
	if err != nil {
		return nil, err
	}
	names := p.cfg.EnvironmentNames()
	if env != "" {
		if _, ok := p.cfg.Environments[env]; !ok {
			return nil, resolveErr(p, env)
		}
		names = []string{env}
	}
	var out []*envChain
	for _, name := range names {
		t, err := c.resolveTarget(p, name, false)
		if err != nil {
			return nil, err
		}
		ec := &envChain{t: t}
		ec.store, ec.err = c.store(ctx, t)
		out = append(out, ec)
	}
	return out, nil
}

// resolveErr is resolveEnv's refusal of an unknown environment.
func resolveErr(p *project, env string) error {
	_, err := resolveEnv(p.cfg, env, nil, gitrepo.CI{})
	return err
}

// syncChains opens the index and brings it up to date with each chain.
// With one environment named, a chain that cannot be read is the
// command's failure; with all of them, a warning (the index answers with
// what it held), so that one unreachable bucket does not hide the rest.
func (c Common) syncChains(ctx context.Context, env string) (*index.Index, []*envChain, error) {
	chains, err := c.chains(ctx, env)
	if err != nil {
		return nil, nil, err
	}
	idx, err := c.openIndex()
	if err != nil {
		return nil, nil, err
	}
	for _, ec := range chains {
		if ec.err == nil {
			ec.sync, ec.err = idx.Sync(ctx, ec.store)
		}
		switch {
		case ec.err != nil && env != "":
			idx.Close()
			return nil, nil, ec.err
		case ec.err != nil:
			fmt.Fprintf(c.Err, "%s %s: %v (showing what the index held)\n", c.painter().Paint(ansi.Yellow, "warning:"), ec.t.name, text.FirstLine(ec.err.Error()))
		}
		for _, w := range ec.sync.Warnings {
			fmt.Fprintf(c.Err, "%s %s: %s\n", c.painter().Paint(ansi.Yellow, "warning:"), ec.t.name, w)
		}
	}
	return idx, chains, nil
}

// location is the chain's index key, also when it could not be opened
// (then nothing matches).
func (ec *envChain) location() string {
	if ec.store == nil {
		return "(unavailable) " + ec.t.name
	}
	return ec.store.Location()
}

// now is the clock history and metrics windows end at: FERRY_NOW, else
// the real one.
func (c Common) now() (time.Time, error) {
	clock, err := policy.EnvClock(c.Getenv)
	if err != nil {
		return time.Time{}, err
	}
	return clock(), nil
}

var sinceRe = regexp.MustCompile(`^([0-9]+)([dw])$`)

// parseSince reads --since: a number of days or weeks (30d, 2w), a Go
// duration (36h), a date (2026-01-31, local midnight UTC) or an RFC 3339
// time; it returns the instant, before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if m := sinceRe.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		days := n
		if m[2] == "w" {
			days = 7 * n
		}
		return now.AddDate(0, 0, -days), nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fail.Usage(fmt.Errorf("--since %q is not a duration or a date", s), "give days or weeks (30d, 2w), hours (36h), a date (2026-01-31) or an RFC 3339 time")
}

// checkSince refuses a --since that parseSince would, before anything runs.
func checkSince(s string) error {
	if s == "" {
		return nil
	}
	_, err := parseSince(s, time.Now())
	return err
}

// metricsOf computes ec's metrics from the index over [since, now).
func metricsOf(ctx context.Context, idx *index.Index, ec *envChain, since, now time.Time) (dora.Report, []dora.Event, error) {
	events, err := idx.Events(ctx, ec.location())
	if err != nil {
		return dora.Report{}, nil, err
	}
	return dora.Compute(events, dora.Options{Now: now, Window: now.Sub(since)}), events, nil
}
