package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/dora"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/record"
	"github.com/ferryhq/ferry/internal/recordstore"
	"github.com/ferryhq/ferry/internal/testing/faketransport"
	"github.com/ferryhq/ferry/internal/testing/recordtest"
	"github.com/ferryhq/ferry/internal/transport"
)

// seed writes recs as the chain of the local environment whose root is
// root, as ferry would have: <root>/records/0000000001.json, ….
func seed(t *testing.T, root string, recs ...*record.Record) []record.Stored {
	t.Helper()
	dir := recordstore.LocalDir(root)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	chain := recordtest.Chain(t, recs...)
	for _, o := range chain {
		if err := os.WriteFile(filepath.Join(dir, recordstore.Name(o.Seq)), o.Raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return chain
}

// records reads the chain of the local environment whose root is root.
func records(t *testing.T, root string) []*record.Record {
	t.Helper()
	objs, err := recordstore.NewDir(recordstore.LocalDir(root)).List(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []*record.Record
	for _, o := range objs {
		if o.Record == nil {
			t.Fatalf("record %d does not parse: %v", o.Seq, o.Err)
		}
		out = append(out, o.Record)
	}
	return out
}

// lastEnd is the newest end record, with its begin checked: every
// attempt the runner makes is a begin and then an end.
func lastEnd(t *testing.T, root string) *record.Record {
	t.Helper()
	recs := records(t, root)
	if len(recs) < 2 {
		t.Fatalf("%d records, want a begin and an end", len(recs))
	}
	b, e := recs[len(recs)-2], recs[len(recs)-1]
	if b.Phase != record.PhaseBegin || e.Phase != record.PhaseEnd || b.ID != e.ID || e.BeginSeq != b.Seq {
		t.Fatalf("the last two records are not one attempt's begin and end: %+v %+v", b, e)
	}
	return e
}

const seededConfig = `app: billing
environments:
  production: {target: local, root: prod}
  staging: {target: local, root: stage}
`

// History, metrics and audit verify through the CLI against seeded
// stores: the 200-deploy history of recordtest in production, two deploys
// in staging; the metrics equal the values worked out by hand in
// internal/dora's tests, now fixed by FERRY_NOW.
func TestHistoryMetricsAndAuditOfASeededStore(t *testing.T) {
	t.Parallel()
	dir, _ := fakeProject(t, seededConfig)
	prod := seed(t, filepath.Join(dir, "prod"), recordtest.History("production")...)
	week3 := recordtest.T0.AddDate(0, 0, 21)
	seed(t, filepath.Join(dir, "stage"),
		recordtest.Deploy("staging", 1, week3.Add(10*time.Hour), time.Minute, 2*time.Hour),
		recordtest.Deploy("staging", 2, week3.Add(30*time.Hour), time.Minute, 4*time.Hour))
	env := map[string]string{"FERRY_NOW": recordtest.HistoryNow.Format(time.RFC3339), "FERRY_INDEX": filepath.Join(t.TempDir(), "index.db")}

	r := ferryIn(t, dir, env, "metrics", "production", "--json")
	if r.code != 0 {
		t.Fatalf("metrics: %s", r)
	}
	type durations struct {
		Count    int
		MedianMS int64 `json:"median_ms"`
		P90MS    int64 `json:"p90_ms"`
		Band     dora.Band
	}
	var m struct {
		Environments []struct {
			Frequency dora.Frequency `json:"deployment_frequency"`
			Lead      durations      `json:"change_lead_time"`
			FailRate  dora.Rate      `json:"change_fail_rate"`
			Recovery  durations      `json:"failed_deployment_recovery_time"`
			Rework    dora.Rate      `json:"deployment_rework_rate"`
			Duration  durations      `json:"deployment_duration"`
		}
	}
	if err := json.Unmarshal(checkEnvelope(t, "metrics", r), &m); err != nil || len(m.Environments) != 1 {
		t.Fatalf("metrics result: %v\n%s", err, r.out)
	}
	e := m.Environments[0]
	const h, s = int64(time.Hour / time.Millisecond), int64(time.Second / time.Millisecond)
	if f := e.Frequency; f.Deployments != 150 || f.Band != dora.Elite {
		t.Errorf("deployment frequency %+v, want 150, elite", f)
	}
	if l := e.Lead; l.Count != 129 || l.MedianMS != 19*h || l.P90MS != 28*h || l.Band != dora.Elite {
		t.Errorf("lead time %+v, want 129, median 19h, p90 28h, elite", l)
	}
	if c := e.FailRate; c.Count != 25 || c.Total != 150 || c.Band != dora.High {
		t.Errorf("change fail rate %+v, want 25 of 150, high", c)
	}
	if rc := e.Recovery; rc.Count != 25 || rc.MedianMS != 30*s || rc.P90MS != 17290*s || rc.Band != dora.Elite {
		t.Errorf("recovery %+v, want 25, median 30s, p90 17290s, elite", rc)
	}
	if rw := e.Rework; rw.Count != 25 || rw.Total != 157 {
		t.Errorf("rework %+v, want 25 of 157", rw)
	}
	if d := e.Duration; d.Count != 150 || d.MedianMS != 85*s || d.P90MS != 110*s {
		t.Errorf("duration %+v, want 150, median 85s, p90 110s", d)
	}
	r = ferryIn(t, dir, env, "metrics")
	for _, want := range []string{"billing · production · ", "billing · staging · ", "deployment frequency", "150 (5.0 a day, 35.0 a week)", "elite", "median 19h0m, p90 28h0m (129 changes)"} {
		mustContain(t, r, "stdout", want)
	}

	// history: each filter, against the seeded records themselves.
	want := map[string]int{}
	for _, o := range prod {
		if rec := o.Record; rec.Phase == record.PhaseEnd {
			want[string(rec.Outcome)]++
		}
	}
	type row struct {
		Seq         int64
		Environment string
		Outcome     string
		SHA         string
		Actor       string
		Started     time.Time
	}
	history := func(args ...string) []row {
		t.Helper()
		r := ferryIn(t, dir, env, append(append([]string{"history"}, args...), "--json")...)
		if r.code != 0 {
			t.Fatalf("history %v: %s", args, r)
		}
		var res struct{ Attempts []row }
		if err := json.Unmarshal(checkEnvelope(t, "history", r), &res); err != nil {
			t.Fatal(err)
		}
		return res.Attempts
	}
	if got := history("production", "--outcome", "rolled_back"); len(got) != want["rolled_back"] || len(got) == 0 {
		t.Errorf("%d rolled back attempts, want %d", len(got), want["rolled_back"])
	}
	if got := history("production", "--sha", recordtest.SHA(199)[:8]); len(got) != 1 || got[0].SHA != recordtest.SHA(199) {
		t.Errorf("--sha: %+v", got)
	}
	if got := history("--actor", "OCTOCAT"); len(got) != len(prod)/2+2 {
		t.Errorf("--actor octocat (any case) gives %d attempts, want all %d", len(got), len(prod)/2+2)
	}
	if got := history("--actor", "nobody"); len(got) != 0 {
		t.Errorf("--actor nobody: %d attempts", len(got))
	}
	all := history()
	if len(all) != len(prod)/2+2 || all[0].SHA != recordtest.SHA(199) {
		t.Errorf("history of both environments: %d attempts, newest %+v", len(all), all[0])
	}
	for i := 1; i < len(all); i++ {
		if all[i].Started.After(all[i-1].Started) {
			t.Fatalf("history is not newest first at %d", i)
		}
	}
	for _, a := range history("--since", "2d") {
		if a.Started.Before(recordtest.HistoryNow.Add(-48 * time.Hour)) {
			t.Errorf("--since 2d gave an attempt of %s", a.Started)
		}
	}
	r = ferryIn(t, dir, env, "history", "staging", "--csv")
	if lines := strings.Split(strings.TrimSpace(r.out), "\n"); r.code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "seq,app,environment,op,outcome,exit_code,actor,sha") {
		t.Errorf("history --csv: %s", r)
	}
	r = ferryIn(t, dir, env, "history", "staging")
	mustContain(t, r, "stdout", "STARTED           ENV      OP      OUTCOME   SHA")

	// audit verify: intact; then the newest record deleted behind
	// ferry's back is found through the index's anchor.
	r = ferryIn(t, dir, env, "audit", "verify", "--json")
	if r.code != 0 {
		t.Fatalf("audit verify: %s", r)
	}
	checkEnvelope(t, "audit verify", r)
	last := filepath.Join(dir, "prod", "records", recordstore.Name(int64(len(prod))))
	if err := os.Remove(last); err != nil {
		t.Fatal(err)
	}
	r = ferryIn(t, dir, env, "audit", "verify", "production")
	if r.code != 1 || !strings.Contains(r.out, "TAMPERED") || !strings.Contains(r.out, "removed") {
		t.Errorf("the newest record removed: %s", r)
	}
}

// fakeWindowConfig is fakeConfig with the SOP's schedule on test.
const fakeWindowConfig = fakeConfig + `    windows:
      timezone: Europe/Berlin
      allow: ["Tue-Thu 10:00-14:00"]
    freezes:
      - {from: 2026-12-20, to: 2027-01-02, reason: year-end}
`

const friday = "2026-11-27T11:00:00+01:00"

// Every refusal is recorded, before anything reaches a server: a
// blocking gate, a window, a freeze, a lock the agent reports, and a
// preflight that found a server unable to take the command. Each is a
// begin and an end record naming the refusing policy, with the exit code
// the process returned.
func TestRefusalsAreRecorded(t *testing.T) {
	t.Parallel()
	preflight := &faketransport.Transport{Err: transport.Preflight(fail.New(exitcode.Failed, errors.New("i-0123456789abcdef0 is ConnectionLost"), "start it"))}
	for _, c := range []struct {
		name    string
		config  string
		now     string
		tr      *faketransport.Transport
		code    int
		outcome record.Outcome
		policy  record.Policy
		sent    bool
	}{
		{"gate", strings.Replace(fakeConfig, "required: [PORT]", "required: [PORT, DATABASE_URL]", 1), "", answering(agent.OutcomeDeployed), 6, record.OutcomeRefused, record.PolicyGate, false},
		{"window", fakeWindowConfig, friday, answering(agent.OutcomeDeployed), 6, record.OutcomeRefused, record.PolicyWindow, false},
		{"freeze", fakeWindowConfig, "2026-12-22T11:00:00+01:00", answering(agent.OutcomeDeployed), 6, record.OutcomeRefused, record.PolicyFreeze, false},
		{"lock", fakeConfig, "", answering(agent.OutcomeLocked), 5, record.OutcomeLocked, record.PolicyLock, true},
		{"preflight", fakeConfig, "", preflight, 1, record.OutcomeFailed, record.PolicyPreflight, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir, sha := fakeProject(t, c.config)
			env := map[string]string{}
			if c.now != "" {
				env["FERRY_NOW"] = c.now
			}
			r := ferryWith(t, dir, env, withFake(c.tr), "deploy", "test")
			if r.code != c.code {
				t.Fatalf("want exit %d: %s", c.code, r)
			}
			if sent := len(c.tr.Specs()) > 0; sent != c.sent {
				t.Errorf("something sent: %v, want %v", sent, c.sent)
			}
			e := lastEnd(t, filepath.Join(dir, "srv"))
			if e.Outcome != c.outcome || e.ExitCode != c.code || e.Refusal == nil || e.Refusal.Policy != c.policy || e.Refusal.Reason == "" {
				t.Errorf("end record: outcome %s, exit %d, refusal %+v; want %s, %d, %s", e.Outcome, e.ExitCode, e.Refusal, c.outcome, c.code, c.policy)
			}
			if e.Change.SHA != sha || e.App != "testapp" || e.Environment != "test" || e.Actor.Name != "Ada Tester" || e.Actor.Source != "git" || e.FerryVersion == "" || e.Target.Kind != "local" {
				t.Errorf("end record's who, what, where: %+v", e)
			}
			if e.Error == "" || len(e.Steps) == 0 || e.Started.IsZero() || e.Ended.Before(e.Started) {
				t.Errorf("end record's error, steps and times: %+v", e)
			}
		})
	}
}

// A deploy's record carries who, what, where, when and how: the actor
// (the GitHub actor in Actions), the commit and its time, the branch, the
// release and the one before, the gates, each instance's outcome, each
// step (the runner's and the agent's), the run URL, and --hotfix.
func TestDeployRecordFields(t *testing.T) {
	t.Parallel()
	dir, sha := fakeProject(t, fakeConfig)
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "octocat", "GITHUB_REF_NAME": "main", "GITHUB_SERVER_URL": "https://github.example",
		"GITHUB_REPOSITORY": "acme/billing", "GITHUB_RUN_ID": "42", "GITHUB_STEP_SUMMARY": filepath.Join(t.TempDir(), "summary.md")}
	r := ferryWith(t, dir, env, withFake(answering(agent.OutcomeDeployed, "i-0a", "i-0b")), "deploy", "test", "--hotfix", "--json")
	if r.code != 0 {
		t.Fatalf("deploy: %s", r)
	}
	e := lastEnd(t, filepath.Join(dir, "srv"))
	if e.Actor.Name != "octocat" || e.Actor.Source != "github" || e.Actor.OSUser == "" {
		t.Errorf("actor %+v", e.Actor)
	}
	if e.Change.SHA != sha || e.Change.CommitTime.IsZero() || e.Change.Branch != "main" || e.Change.Release == "" {
		t.Errorf("change %+v", e.Change)
	}
	if !e.Hotfix || e.RunURL != "https://github.example/acme/billing/actions/runs/42" || e.Outcome != record.OutcomeDeployed || e.ExitCode != 0 {
		t.Errorf("hotfix %v, run %q, outcome %s", e.Hotfix, e.RunURL, e.Outcome)
	}
	if len(e.Target.Instances) != 2 || e.Target.Instances[1].ID != "i-0b" || e.Target.Instances[1].Outcome != "deployed" {
		t.Errorf("instances %+v", e.Target.Instances)
	}
	if e.Gates == nil || len(e.Gates.Results) == 0 {
		t.Errorf("gates %+v", e.Gates)
	}
	names := map[string]bool{}
	for _, s := range e.Steps {
		names[s.Name] = true
	}
	for _, n := range []string{"plan", "record-begin", "gates", "policy", "transport", "notify-end", "lock", "switch", "health"} {
		if !names[n] {
			t.Errorf("the record lacks step %s: %+v", n, e.Steps)
		}
	}
	var res struct {
		Record struct {
			Location string
			BeginSeq int64 `json:"begin_seq"`
			Seq      int64
		}
	}
	if err := json.Unmarshal(checkEnvelope(t, "deploy", r), &res); err != nil || res.Record.BeginSeq != 1 || res.Record.Seq != 2 || !strings.HasSuffix(res.Record.Location, filepath.Join("srv", "records")) {
		t.Errorf("the result's record: %+v %v", res.Record, err)
	}
	// The job summary ends with the environment's metrics line.
	b, _ := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); !strings.HasPrefix(lines[len(lines)-1], "**test, last 30 days:** 1 deployments") {
		t.Errorf("the job summary does not end with the metrics line:\n%s", b)
	}
}

// A refused CD deploy in GitHub Actions says so: the job summary is a
// "refused by window" result with the next window, and an ::error line
// annotates the run.
func TestRefusedDeployInActionsExplainsItself(t *testing.T) {
	t.Parallel()
	dir, _ := fakeProject(t, fakeWindowConfig)
	summary := filepath.Join(t.TempDir(), "summary.md")
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "octocat", "GITHUB_REF_NAME": "main", "GITHUB_STEP_SUMMARY": summary, "FERRY_NOW": friday}
	r := ferryWith(t, dir, env, withFake(answering(agent.OutcomeDeployed)), "deploy")
	if r.code != 6 {
		t.Fatalf("want exit 6: %s", r)
	}
	mustContain(t, r, "stderr", "::error title=ferry deploy test%3A refused by window::deploy to test refused at Fri 2026-11-27 11:00 CET: outside the deployment windows")
	b, _ := os.ReadFile(summary)
	for _, want := range []string{"### ferry apply ", " → test: refused by window", "> deploy to test refused at Fri 2026-11-27 11:00 CET", "Next window: **Tue 2026-12-01 10:00 CET**", "**test, last 30 days:**"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the job summary lacks %q:\n%s", want, b)
		}
	}
}

// An emergency deploy outside the windows passes, says so, and is
// recorded with its reason, the rules it overrode and who took
// responsibility; ferry history shows the reason.
func TestEmergencyDeployIsRecorded(t *testing.T) {
	t.Parallel()
	dir, _ := fakeProject(t, fakeWindowConfig)
	env := map[string]string{"FERRY_NOW": friday}
	tr := answering(agent.OutcomeDeployed)
	r := ferryWith(t, dir, env, withFake(tr), "deploy", "test", "--emergency", "--reason", "checkout fails for every customer", "--json")
	if r.code != 0 || len(tr.Specs()) != 1 {
		t.Fatalf("emergency deploy: %s", r)
	}
	mustContain(t, r, "stderr", "emergency deploy by Ada Tester (checkout fails for every customer): overriding window Tue-Thu 10:00-14:00")
	var res struct {
		Policy struct {
			Open      bool
			Emergency struct {
				Actor, Reason string
				Overridden    []struct{ Rule string }
			}
		}
	}
	if err := json.Unmarshal(checkEnvelope(t, "deploy", r), &res); err != nil || res.Policy.Open || res.Policy.Emergency.Actor != "Ada Tester" || len(res.Policy.Emergency.Overridden) != 1 || res.Policy.Emergency.Overridden[0].Rule != "window" {
		t.Errorf("the result's policy: %+v %v", res.Policy, err)
	}
	e := lastEnd(t, filepath.Join(dir, "srv"))
	if e.Emergency == nil || e.Emergency.Reason != "checkout fails for every customer" || len(e.Emergency.Overridden) != 1 || e.Actor.Name != "Ada Tester" {
		t.Errorf("the record's emergency: %+v by %+v", e.Emergency, e.Actor)
	}
	r = ferryIn(t, dir, nil, "history", "test", "--json")
	if !strings.Contains(r.out, `"emergency": "checkout fails for every customer"`) {
		t.Errorf("history does not show the emergency's reason: %s", r)
	}
}
