package index_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/dora"
	"github.com/ferryhq/ferry/internal/index"
	"github.com/ferryhq/ferry/internal/record"
	"github.com/ferryhq/ferry/internal/recordstore"
	"github.com/ferryhq/ferry/internal/testing/recordtest"
	"github.com/ferryhq/ferry/internal/testing/s3test"
)

// benchRecords is 10,000 records: 5,000 attempts (begin and end), one
// deploy every 30 minutes from T0, a tenth of them rolled back.
const benchAttempts = 5000

func benchChain(b *testing.B) []record.Stored {
	var recs []*record.Record
	for i := range benchAttempts {
		r := recordtest.Deploy("production", i, recordtest.T0.Add(time.Duration(i)*30*time.Minute), time.Minute, 3*time.Hour)
		if i%10 == 3 {
			r.Outcome, r.ExitCode = record.OutcomeRolledBack, 3
		}
		b := r.AsBegin()
		recs = append(recs, b)
		r.BeginSeq = int64(2*i + 1)
		recs = append(recs, r)
	}
	return recordtest.Chain(b, recs...)
}

// seedS3 stores the chain straight into the server's backend (not over
// HTTP: seeding is not what is measured).
func seedS3(b *testing.B, srv *s3test.Server, prefix string, objs []record.Stored) {
	for _, o := range objs {
		if _, err := srv.Backend.PutObject(context.Background(), srv.Bucket, prefix+o.Key, map[string]string{}, bytes.NewReader(o.Raw), int64(len(o.Raw))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecords10k compares answering `ferry history` and `ferry
// metrics` from the index with computing the same from the records in
// S3 (the in-process server on loopback), over 10,000 records. Run:
//
//	go test -run '^$' -bench Records10k -benchtime 5x ./internal/index/
func BenchmarkRecords10k(b *testing.B) {
	srv := s3test.Start(b)
	prefix := recordstore.S3Prefix("ferry", "billing", "production")
	objs := benchChain(b)
	seedS3(b, srv, prefix, objs)
	store := recordstore.NewS3(srv.Client, srv.Bucket, prefix)
	now := recordtest.T0.Add(benchAttempts * 30 * time.Minute)
	since := now.Add(-30 * 24 * time.Hour)
	ctx := context.Background()

	idx := open(b) // closed when the whole benchmark ends
	if _, err := idx.Sync(ctx, store); err != nil {
		b.Fatal(err)
	}
	synced := func(*testing.B) *index.Index { return idx }

	b.Run("sync-full", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			fresh := open(b)
			b.StartTimer()
			res, err := fresh.Sync(ctx, recordstore.NewS3(srv.Client, srv.Bucket, prefix))
			if err != nil || res.New != 2*benchAttempts {
				b.Fatal(res, err)
			}
		}
	})
	b.Run("sync-nothing-new", func(b *testing.B) {
		x := synced(b)
		for b.Loop() {
			if res, err := x.Sync(ctx, recordstore.NewS3(srv.Client, srv.Bucket, prefix)); err != nil || res.New != 0 {
				b.Fatal(res, err)
			}
		}
	})
	b.Run("history-index", func(b *testing.B) {
		x := synced(b)
		for b.Loop() {
			rows, err := x.History(ctx, index.Filter{Environment: "production", Since: since, Outcome: "rolled_back"})
			if err != nil || len(rows) != 144 {
				b.Fatal(len(rows), err)
			}
		}
	})
	b.Run("history-store", func(b *testing.B) {
		for b.Loop() {
			all, err := store.List(ctx, 0)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for _, o := range all {
				r := o.Record
				if r.Phase == record.PhaseEnd && !r.Started.Before(since) && r.Outcome == record.OutcomeRolledBack {
					n++
				}
			}
			if n != 144 {
				b.Fatal(n)
			}
		}
	})
	b.Run("metrics-index", func(b *testing.B) {
		x := synced(b)
		for b.Loop() {
			ev, err := x.Events(ctx, store.Location())
			if err != nil {
				b.Fatal(err)
			}
			if rep := dora.Compute(ev, dora.Options{Now: now}); rep.DeploymentFrequency.Deployments != 1440 {
				b.Fatal(rep.DeploymentFrequency)
			}
		}
	})
	b.Run("metrics-store", func(b *testing.B) {
		for b.Loop() {
			all, err := store.List(ctx, 0)
			if err != nil {
				b.Fatal(err)
			}
			if rep := dora.Compute(dora.FromStored(all), dora.Options{Now: now}); rep.DeploymentFrequency.Deployments != 1440 {
				b.Fatal(rep.DeploymentFrequency)
			}
		}
	})
}
