package dashboard_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/dashboard"
	"github.com/ferryhq/ferry/internal/dora"
	"github.com/ferryhq/ferry/internal/index"
	"github.com/ferryhq/ferry/internal/record"
	"github.com/ferryhq/ferry/internal/recordstore"
	"github.com/ferryhq/ferry/internal/testing/recordtest"
)

// historyRows is how many attempts each environment's table shows.
const historyRows = 40

// seeded builds the page's data as the CLI will: records in stores,
// synced into an index, metrics and weeks from its events. production
// is the 200-deploy history; staging has two deploys in the third week.
func seeded(t testing.TB) dashboard.Data {
	t.Helper()
	ctx := context.Background()
	root := t.TempDir()
	write := func(name string, recs []*record.Record) *recordstore.Store {
		dir := recordstore.LocalDir(filepath.Join(root, name))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, o := range recordtest.Chain(t, recs...) {
			if err := os.WriteFile(filepath.Join(dir, recordstore.Name(o.Seq)), o.Raw, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return recordstore.NewDir(dir)
	}
	prod := write("production", recordtest.History("production"))
	week3 := recordtest.T0.AddDate(0, 0, 21)
	staging := write("staging", []*record.Record{
		recordtest.Deploy("staging", 1, week3.Add(10*time.Hour), time.Minute, 2*time.Hour),
		recordtest.Deploy("staging", 2, week3.Add(30*time.Hour), time.Minute, 4*time.Hour),
	})
	idx, err := index.Open(filepath.Join(root, "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	now := recordtest.HistoryNow
	d := dashboard.Data{Title: "billing", Generated: now}
	for _, s := range []struct {
		name  string
		store *recordstore.Store
	}{{"production", prod}, {"staging", staging}} {
		if _, err := idx.Sync(ctx, s.store); err != nil {
			t.Fatal(err)
		}
		ev, err := idx.Events(ctx, s.store.Location())
		if err != nil {
			t.Fatal(err)
		}
		rep := dora.Compute(ev, dora.Options{Now: now})
		rows, err := idx.History(ctx, index.Filter{Location: s.store.Location(), Limit: historyRows})
		if err != nil {
			t.Fatal(err)
		}
		d.Environments = append(d.Environments, dashboard.Environment{
			App: "billing", Name: s.name, Target: "ssm, 2 instances",
			Instances: []dashboard.Instance{
				{ID: "i-0fe77a00000000001", Release: "r199", SHA: recordtest.SHA(199), Healthy: true},
				{ID: "i-0fe77a00000000002", Release: "r198", SHA: recordtest.SHA(198), Status: "unreachable"},
			},
			Metrics: rep, Weeks: dora.Weekly(ev, rep.From, rep.To), History: rows,
		})
	}
	return d
}
