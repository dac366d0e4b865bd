// Package recordtest builds audit records and chains for tests.
package recordtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/record"
)

// T0 is the tests' epoch: a Monday, so weekly buckets start on it.
var T0 = time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)

// SHA is a fake, valid-looking commit SHA for n.
func SHA(n int) string { return fmt.Sprintf("%040x", n+1) }

// Deploy is a finished, healthy deploy of app/env started at start and
// lasting d, of a commit made lead before start.
func Deploy(env string, n int, start time.Time, d, lead time.Duration) *record.Record {
	r := &record.Record{
		ID: fmt.Sprintf("attempt-%s-%d", env, n), Op: record.OpDeploy, App: "billing", Environment: env,
		Actor:        record.Actor{Name: "octocat", Source: "github", OSUser: "runner"},
		Change:       record.Change{SHA: SHA(n), CommitTime: start.Add(-lead), Branch: "main", Release: fmt.Sprintf("r%d", n)},
		Gates:        &record.Gates{Results: []record.GateResult{{Name: "pytest", Status: "pass", Blocking: true, DurationMS: 1200}}},
		FerryVersion: "test", RunURL: "https://github.example/ferryhq/ferry/actions/runs/1",
		Started: start,
		Target:  record.Target{Kind: "ssm", Instances: []record.Instance{{ID: "i-0fe77a00000000001", Outcome: "deployed", Release: fmt.Sprintf("r%d", n)}}},
	}
	r.Finish(record.OutcomeDeployed, 0, start.Add(d))
	return r
}

// Chain encodes recs as one environment's chain, in order, as a store
// would hold them.
func Chain(t testing.TB, recs ...*record.Record) []record.Stored {
	t.Helper()
	var out []record.Stored
	prev := ""
	for i, r := range recs {
		raw, err := record.Encode(r, int64(i+1), prev)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, record.NewStored(fmt.Sprintf("%010d.json", i+1), int64(i+1), raw))
		prev = record.Hash(raw)
	}
	return out
}
