package index_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/dora"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/index"
	"github.com/ferryhq/ferry/internal/record"
	"github.com/ferryhq/ferry/internal/recordstore"
	"github.com/ferryhq/ferry/internal/testing/recordtest"
	"github.com/ferryhq/ferry/internal/testing/s3test"
)

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return c
}

func open(t testing.TB) *index.Index {
	t.Helper()
	idx, err := index.Open(filepath.Join(t.TempDir(), "cache", "ferry", "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	return idx
}

func appendAll(t testing.TB, s *recordstore.Store, recs []*record.Record) {
	t.Helper()
	for _, r := range recs {
		if _, err := s.Append(ctx(t), r); err != nil {
			t.Fatal(err)
		}
	}
}

// counting wraps a store and remembers each List call's argument.
type counting struct {
	recordstore.Lister
	calls []int64
}

func (c *counting) List(ctx context.Context, after int64) ([]record.Stored, error) {
	c.calls = append(c.calls, after)
	return c.Lister.List(ctx, after)
}

func TestDefaultPath(t *testing.T) {
	p, err := index.DefaultPath()
	if err != nil {
		t.Skip("no user cache directory here:", err)
	}
	dir, _ := os.UserCacheDir()
	if p != filepath.Join(dir, "ferry", "index.db") {
		t.Fatalf("DefaultPath = %s", p)
	}
}

// Sync reads only what is new: one List from the last indexed number,
// and one GetObject per new record.
func TestSyncIsIncremental(t *testing.T) {
	srv := s3test.Start(t)
	store := recordstore.NewS3(srv.Client, srv.Bucket, recordstore.S3Prefix("ferry", "billing", "production"))
	hist := recordtest.History("production")
	appendAll(t, store, hist[:20])

	idx := open(t)
	// A fresh store object, as a new ferry process would have.
	src := &counting{Lister: recordstore.NewS3(srv.Client, srv.Bucket, recordstore.S3Prefix("ferry", "billing", "production"))}
	srv.ResetCounts()
	res, err := idx.Sync(ctx(t), src)
	if err != nil {
		t.Fatal(err)
	}
	if res.New != 20 || res.Head != 20 || srv.Count("GetObject") != 20 || srv.Count("ListObjectsV2") != 1 {
		t.Fatalf("first sync: %+v, %d gets, %d lists", res, srv.Count("GetObject"), srv.Count("ListObjectsV2"))
	}

	appendAll(t, store, hist[20:25])
	srv.ResetCounts()
	res, err = idx.Sync(ctx(t), src)
	if err != nil {
		t.Fatal(err)
	}
	if res.New != 5 || res.Head != 25 || srv.Count("GetObject") != 5 || srv.Count("ListObjectsV2") != 1 {
		t.Fatalf("second sync: %+v, %d gets, %d lists", res, srv.Count("GetObject"), srv.Count("ListObjectsV2"))
	}
	srv.ResetCounts()
	if res, err = idx.Sync(ctx(t), src); err != nil || res.New != 0 || srv.Count("GetObject") != 0 {
		t.Fatalf("third sync: %+v, %v, %d gets", res, err, srv.Count("GetObject"))
	}
	if want := []int64{0, 20, 25}; !reflect.DeepEqual(src.calls, want) {
		t.Fatalf("List called after %v, want %v", src.calls, want)
	}
	// 25 records: 12 attempts (begin and end) and the begin of a 13th,
	// whose end is not stored yet, so it shows as unfinished.
	rows, err := idx.History(ctx(t), index.Filter{})
	if err != nil || len(rows) != 13 || rows[0].Outcome != index.OutcomeUnfinished {
		t.Fatalf("%v: %d rows", err, len(rows))
	}
}

func TestMigrateFromVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index.db")
	old, err := index.OpenAtVersion(path, 1)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := old.Version(ctx(t)); v != 1 {
		t.Fatalf("old database at version %d", v)
	}
	// Rows as a version-1 ferry wrote them: no down_ms, emergency or refusal.
	r := recordtest.Deploy("production", 1, recordtest.T0, time.Minute, time.Hour)
	r.Outcome, r.ExitCode = record.OutcomeRolledBack, 3
	r.Steps = []record.Step{{Name: "fetch", DurationMS: 1000}, {Name: "stop", DurationMS: 2000}, {Name: "health", DurationMS: 3000}}
	r.Emergency = &record.Emergency{Reason: "outage"}
	raw, err := record.Encode(r, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Exec(`INSERT INTO sources(id, location, last_seq, last_hash) VALUES (1, 'dir', 1, ?)`, record.Hash(raw)); err != nil {
		t.Fatal(err)
	}
	if err := old.Exec(`INSERT INTO records(source_id, seq, hash, phase, attempt_id, op, app, environment, actor, sha, branch, release,
		outcome, exit_code, started_ms, ended_ms, commit_ms, hotfix, run_url, error, raw)
		VALUES (1, 1, ?, 'end', 'a1', 'deploy', 'billing', 'production', 'octocat', 'abc', 'main', 'r1', 'rolled_back', 3, ?, ?, 0, 0, '', '', ?)`,
		record.Hash(raw), r.Started.UnixMilli(), r.Ended.UnixMilli(), string(raw)); err != nil {
		t.Fatal(err)
	}
	// A version-1 database cannot hold the new columns.
	if err := old.Exec(`UPDATE records SET down_ms = 1`); err == nil {
		t.Fatal("version 1 already has down_ms: the test does not start from the old schema")
	}
	old.Close()

	idx, err := index.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	if v, _ := idx.Version(ctx(t)); v != 2 {
		t.Fatalf("migrated to version %d, want 2", v)
	}
	rows, err := idx.History(ctx(t), index.Filter{})
	if err != nil || len(rows) != 1 || rows[0].Emergency != "outage" {
		t.Fatalf("after migration: %v %+v", err, rows)
	}
	ev, err := idx.Events(ctx(t), "dir")
	if err != nil || len(ev) != 1 || ev[0].DownMS != 5000 {
		t.Fatalf("down_ms not backfilled: %v %+v", err, ev)
	}
}

func TestNewerSchemaIsRefusedWithAHint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index.db")
	idx, err := index.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := idx.Exec(`INSERT INTO schema_migrations(version, applied_ms) VALUES (99, 0)`); err != nil {
		t.Fatal(err)
	}
	idx.Close()
	_, err = index.Open(path)
	if err == nil || fail.Code(err) != exitcode.Failed || !strings.Contains(strings.Join(fail.Hints(err), " "), "rebuilds") {
		t.Fatalf("newer schema: %v (hints %v)", err, fail.Hints(err))
	}
}

// writeChain lays a chain out as a directory store holds it, without
// Append's fsyncs: this is the index's test, not the store's.
func writeChain(t testing.TB, dir string, recs []*record.Record) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, o := range recordtest.Chain(t, recs...) {
		if err := os.WriteFile(filepath.Join(dir, recordstore.Name(o.Seq)), o.Raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// The seeded history in a local directory store, plus a staging store
// with one attempt by another actor and one whose writer died.
func seeded(t *testing.T) (*index.Index, *recordstore.Store, *recordstore.Store) {
	t.Helper()
	root := t.TempDir()
	prod := recordstore.NewDir(recordstore.LocalDir(filepath.Join(root, "prod")))
	writeChain(t, prod.Location(), recordtest.History("production"))
	staging := recordstore.NewDir(recordstore.LocalDir(filepath.Join(root, "staging")))
	a := recordtest.Deploy("staging", 1, recordtest.T0, time.Minute, time.Hour)
	a.Actor.Name = "Alice"
	a.Change.SHA = "abcdef0123456789abcdef0123456789abcdef01"
	b := recordtest.Deploy("staging", 2, recordtest.T0.Add(time.Hour), time.Minute, time.Hour).AsBegin()
	appendAll(t, staging, []*record.Record{a, b})
	idx := open(t)
	for _, s := range []*recordstore.Store{prod, staging} {
		if _, err := idx.Sync(ctx(t), s); err != nil {
			t.Fatal(err)
		}
	}
	return idx, prod, staging
}

// Counts from recordtest.History's pattern (i = 0..199): 200 deploys,
// 10 rollbacks (i mod 20 = 7), 29 refusals (i mod 7 = 0), 19 failed
// fetches (i mod 11 = 0), 16 execs (i mod 13 = 0): 274 attempts.
func TestHistoryFilters(t *testing.T) {
	idx, _, _ := seeded(t)
	since := recordtest.T0.Add(720 * time.Hour) // deploy 150 starts here
	cases := []struct {
		name string
		f    index.Filter
		want int
	}{
		{"all", index.Filter{}, 274 + 2},
		{"environment", index.Filter{Environment: "production"}, 274},
		{"app and environment", index.Filter{App: "billing", Environment: "staging"}, 2},
		// i in 150..199: 50 deploys, rollbacks after 167 and 187, refusals
		// 154..196 step 7 (7), failed fetches 154,165,176,187,198 (5),
		// execs 156,169,182,195 (4).
		{"since", index.Filter{Environment: "production", Since: since}, 68},
		{"until", index.Filter{Environment: "production", Until: since}, 274 - 68},
		// i mod 10 = 3 is 20 deploys, of which 63 and 163 failed to roll back.
		{"outcome rolled_back", index.Filter{Outcome: "rolled_back"}, 18},
		{"outcome rollback_failed", index.Filter{Outcome: "rollback_failed"}, 2},
		{"outcome refused", index.Filter{Outcome: "refused"}, 29},
		{"outcome failed", index.Filter{Outcome: "failed"}, 19},
		{"unfinished", index.Filter{Outcome: "unfinished"}, 1},
		{"sha", index.Filter{SHA: recordtest.SHA(5)}, 1},
		// deploy 20 and its redeploy, 21.
		{"sha redeployed", index.Filter{SHA: recordtest.SHA(20)}, 2},
		{"sha prefix, any case", index.Filter{SHA: "ABCDEF012345"}, 1},
		{"actor, any case", index.Filter{Actor: "alice"}, 1},
		{"op", index.Filter{Op: record.OpRollback}, 10},
		{"limit", index.Filter{Limit: 7}, 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, err := idx.History(ctx(t), c.f)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != c.want {
				t.Fatalf("%d rows, want %d", len(rows), c.want)
			}
			for i := 1; i < len(rows); i++ {
				if rows[i].Started.After(rows[i-1].Started) {
					t.Fatalf("rows not newest first at %d", i)
				}
			}
		})
	}
	rows, _ := idx.History(ctx(t), index.Filter{Environment: "production", Limit: 1})
	if r := rows[0]; r.Seq != 548 || r.Op != record.OpDeploy || r.Actor != "octocat" || r.DurationMS != 70000 || r.SHA != recordtest.SHA(199) {
		// Deploy 199 is the last record (548 = 2 × 274) and lasted 60+10×(199 mod 6) = 70 s.
		t.Fatalf("newest row: %+v", r)
	}
}

// The index answers the metrics exactly as the records do.
func TestEventsMatchTheStore(t *testing.T) {
	idx, prod, _ := seeded(t)
	fromIndex, err := idx.Events(ctx(t), prod.Location())
	if err != nil {
		t.Fatal(err)
	}
	objs, err := prod.List(ctx(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	fromStore := dora.FromStored(objs)
	opts := dora.Options{Now: recordtest.HistoryNow}
	a, b := dora.Compute(fromIndex, opts), dora.Compute(fromStore, opts)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("index and store disagree:\n%+v\n%+v", a, b)
	}
	if a.DeploymentFrequency.Deployments != 150 || a.ChangeFailRate.Count != 25 {
		t.Fatalf("metrics from the index: %+v", a)
	}
}

func TestRebuildAndAnchors(t *testing.T) {
	idx, prod, staging := seeded(t)
	res, err := idx.Rebuild(ctx(t), prod)
	if err != nil || res.New != 548 {
		t.Fatalf("rebuild: %+v %v", res, err)
	}
	anchors, err := idx.Anchors(ctx(t), staging.Location())
	if err != nil || len(anchors) != 1 || anchors[0].Seq != 2 {
		t.Fatalf("anchors %+v %v", anchors, err)
	}
	// Someone deletes staging's newest record: the chain alone cannot
	// tell, the index's anchor can.
	if err := os.Remove(filepath.Join(staging.Location(), recordstore.Name(2))); err != nil {
		t.Fatal(err)
	}
	rep, err := recordstore.Verify(ctx(t), staging, record.VerifyOptions{Anchors: anchors})
	if err != nil || rep.Intact() || rep.Problems[0].Kind != record.Removed || rep.Problems[0].Seq != 2 {
		t.Fatalf("truncation not found: %+v %v", rep, err)
	}
	srcs, err := idx.Sources(ctx(t))
	if err != nil || len(srcs) != 2 || srcs[0].Head == 0 {
		t.Fatalf("sources %+v %v", srcs, err)
	}
}

func TestWriters(t *testing.T) {
	idx, _, _ := seeded(t)
	rows, err := idx.History(ctx(t), index.Filter{Environment: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := index.WriteCSV(&b, rows); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(recs) != 3 || recs[0][0] != "seq" || recs[0][4] != "outcome" {
		t.Fatalf("csv: %v %v", err, recs)
	}
	if recs[1][4] != "unfinished" || recs[2][6] != "Alice" {
		t.Fatalf("csv rows: %v", recs[1:])
	}
	b.Reset()
	if err := index.WriteJSON(&b, rows); err != nil {
		t.Fatal(err)
	}
	var back []index.Row
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back) != 2 || back[1].Actor != "Alice" {
		t.Fatalf("json: %v %s", err, b.String())
	}
	b.Reset()
	_ = index.WriteJSON(&b, nil)
	if strings.TrimSpace(b.String()) != "[]" {
		t.Fatalf("empty json: %q", b.String())
	}
	b.Reset()
	if err := index.WriteTable(&b, rows); err != nil || strings.Count(b.String(), "\n") != 3 || !strings.Contains(b.String(), "abcdef012345") {
		t.Fatalf("table: %v\n%s", err, b.String())
	}
}

// A damaged index is only a cache: the error says to delete it.
func TestDamagedIndexSaysToDeleteIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index.db")
	if err := os.WriteFile(path, bytes.Repeat([]byte("not a database "), 400), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := index.Open(path)
	if err == nil || !strings.Contains(strings.Join(fail.Hints(err), " "), "delete "+path) {
		t.Fatalf("damaged index: %v (hints %v)", err, fail.Hints(err))
	}
}
