// Package recordtest builds audit records and chains for tests.
package recordtest

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/record"
)

// T0 is the tests' epoch: a Monday, so weekly buckets start on it.
var T0 = time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)

// SHA is a fake commit SHA for n: 40 hex digits that differ from the
// first one on, as real ones do (so short forms are distinct).
func SHA(n int) string {
	s := sha1.Sum([]byte(strconv.Itoa(n)))
	return hex.EncodeToString(s[:])
}

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

// The seeded history: 200 deploys of billing to one environment, one
// every 4.8 hours from T0 (so deploy i starts at T0 + i×4.8 h), the
// pattern chosen so that every metric can be worked out by hand:
//
//   - duration of deploy i: 60 s + 10 s × (i mod 6)
//   - its commit was made 2^(i mod 5) h + 6 h × ⌊i/50⌋ before it ended
//   - i mod 10 = 3: failed health, rolled back automatically (exit 3);
//     the old release was down 30 s (stop 5, switch 1, start 4, health 15,
//     rollback 5); except i mod 100 = 63: the rollback failed too (exit 4)
//   - i mod 10 = 4 and i mod 50 = 26: a hotfix (--hotfix)
//   - i mod 20 = 7: healthy, then rolled back by hand 20 min after it
//     ended, the rollback taking 40 s
//   - i mod 25 = 21: a redeploy of deploy i-1's commit
//
// Between deploys, attempts that changed nothing in production: a
// refusal by a gate 1 h after every 7th deploy, a failed fetch (exit 1,
// flagged --hotfix) 2 h after every 11th, an exec 3 h after every 13th.
// Every attempt has a begin record before its end record.
func History(env string) []*record.Record {
	var out []*record.Record
	add := func(r *record.Record) {
		b := r.AsBegin()
		out = append(out, b)
		r.BeginSeq = int64(len(out))
		out = append(out, r)
	}
	for i := range 200 {
		start := T0.Add(time.Duration(i) * 288 * time.Minute)
		d := time.Duration(60+10*(i%6)) * time.Second
		lead := time.Duration(1<<(i%5))*time.Hour + time.Duration(i/50)*6*time.Hour
		r := Deploy(env, i, start, d, 0)
		r.Change.CommitTime = r.Ended.Add(-lead)
		if i%25 == 21 {
			r.Change.SHA = SHA(i - 1)
			prev := time.Duration(1<<((i-1)%5))*time.Hour + time.Duration((i-1)/50)*6*time.Hour
			prevEnd := T0.Add(time.Duration(i-1)*288*time.Minute + time.Duration(60+10*((i-1)%6))*time.Second)
			r.Change.CommitTime = prevEnd.Add(-prev)
		}
		r.Hotfix = i%10 == 4 || i%50 == 26
		r.Steps = []record.Step{{Name: "fetch", Status: "ok", DurationMS: d.Milliseconds()}}
		if i%10 == 3 {
			r.Steps = []record.Step{
				{Name: "fetch", Status: "ok", DurationMS: d.Milliseconds() - 30000},
				{Name: "stop", Status: "ok", DurationMS: 5000}, {Name: "switch", Status: "ok", DurationMS: 1000},
				{Name: "start", Status: "ok", DurationMS: 4000}, {Name: "health", Status: "failed", DurationMS: 15000},
				{Name: "rollback", Status: "ok", DurationMS: 5000},
			}
			r.Outcome, r.ExitCode, r.Error = record.OutcomeRolledBack, 3, "health check failed"
			if i%100 == 63 {
				r.Outcome, r.ExitCode = record.OutcomeRollbackFailed, 4
			}
		}
		add(r)
		if i%20 == 7 {
			rb := Deploy(env, i, r.Ended.Add(20*time.Minute), 40*time.Second, time.Hour)
			rb.ID += "-rollback"
			rb.Change.SHA = SHA(i - 1)
			rb.Op, rb.Change.CommitTime, rb.Gates = record.OpRollback, time.Time{}, nil
			add(rb)
		}
		if i%7 == 0 {
			n := Deploy(env, 1000+i, start.Add(time.Hour), 2*time.Second, time.Hour)
			n.Outcome, n.ExitCode = record.OutcomeRefused, 6
			n.Refusal = &record.Refusal{Policy: record.PolicyGate, Reason: "pytest failed"}
			add(n)
		}
		if i%11 == 0 {
			n := Deploy(env, 2000+i, start.Add(2*time.Hour), 5*time.Second, time.Hour)
			n.Outcome, n.ExitCode, n.Hotfix, n.Error = record.OutcomeFailed, 1, true, "fetch: connection refused"
			add(n)
		}
		if i%13 == 0 {
			n := Deploy(env, 3000+i, start.Add(3*time.Hour), time.Second, time.Hour)
			n.Op, n.Outcome = record.OpExec, record.OutcomeOK
			add(n)
		}
	}
	return out
}

// HistoryNow is the end of the seeded history's 30-day window: T0 + 40
// days, just after deploy 199.
var HistoryNow = T0.Add(960 * time.Hour)
