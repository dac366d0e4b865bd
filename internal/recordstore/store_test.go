package recordstore_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ferryhq/ferry/internal/record"
	"github.com/ferryhq/ferry/internal/recordstore"
	"github.com/ferryhq/ferry/internal/testing/recordtest"
	"github.com/ferryhq/ferry/internal/testing/s3test"
)

const prefixKey = "ferry/records/billing/production/"

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func deploy(n int) *record.Record {
	return recordtest.Deploy("production", n, recordtest.T0.Add(time.Duration(n)*time.Minute), time.Second, time.Hour)
}

type fixture struct {
	name  string
	store func(t *testing.T) (newStore func() *recordstore.Store)
}

func fixtures() []fixture {
	return []fixture{
		{"s3", func(t *testing.T) func() *recordstore.Store {
			srv := s3test.Start(t)
			// Each writer gets its own client, as separate processes would.
			return func() *recordstore.Store { return recordstore.NewS3(srv.NewClient(), srv.Bucket, prefixKey) }
		}},
		{"dir", func(t *testing.T) func() *recordstore.Store {
			dir := recordstore.LocalDir(t.TempDir())
			return func() *recordstore.Store { return recordstore.NewDir(dir) }
		}},
	}
}

func TestS3Prefix(t *testing.T) {
	for in, want := range map[[3]string]string{
		{"ferry", "billing", "production"}:   "ferry/records/billing/production/",
		{"/ferry/", "billing", "production"}: "ferry/records/billing/production/",
		{"", "billing", "staging"}:           "records/billing/staging/",
	} {
		if got := recordstore.S3Prefix(in[0], in[1], in[2]); got != want {
			t.Errorf("S3Prefix%v = %q, want %q", in, got, want)
		}
	}
}

func TestAppendAndList(t *testing.T) {
	for _, f := range fixtures() {
		t.Run(f.name, func(t *testing.T) {
			s := f.store(t)()
			for i := range 5 {
				st, err := s.Append(ctx(t), deploy(i))
				if err != nil {
					t.Fatal(err)
				}
				if st.Seq != int64(i+1) || st.Key != recordstore.Name(int64(i+1)) {
					t.Fatalf("append %d stored as %d (%s)", i, st.Seq, st.Key)
				}
			}
			all, err := s.List(ctx(t), 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 5 || all[0].Record.Change.SHA != recordtest.SHA(0) || all[4].Seq != 5 {
				t.Fatalf("list: %d records", len(all))
			}
			tail, err := s.List(ctx(t), 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(tail) != 2 || tail[0].Seq != 4 {
				t.Fatalf("list after 3: %+v", tail)
			}
			if rep := record.Verify(all, record.VerifyOptions{}); len(rep.Problems) != 0 {
				t.Fatal(rep.Problems)
			}
		})
	}
}

// Ten writers, each with its own store (its own head cache and client),
// append at once: every record lands under its own number and the chain
// is intact.
func TestConcurrentWritersLoseNothing(t *testing.T) {
	for _, f := range fixtures() {
		t.Run(f.name, func(t *testing.T) {
			newStore := f.store(t)
			const writers, each = 10, 5
			var wg sync.WaitGroup
			errs := make(chan error, writers*each)
			start := make(chan struct{})
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s := newStore()
					<-start
					for i := range each {
						if _, err := s.Append(ctx(t), deploy(w*100+i)); err != nil {
							errs <- err
						}
					}
				}()
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			all, err := newStore().List(ctx(t), 0)
			if err != nil {
				t.Fatal(err)
			}
			var shas []string
			for _, o := range all {
				shas = append(shas, o.Record.Change.SHA)
			}
			slices.Sort(shas)
			var want []string
			for w := range writers {
				for i := range each {
					want = append(want, recordtest.SHA(w*100+i))
				}
			}
			slices.Sort(want)
			if !slices.Equal(shas, want) {
				t.Fatalf("%d records stored, want %d: lost or duplicated writes", len(shas), len(want))
			}
			rep := record.Verify(all, record.VerifyOptions{})
			if len(rep.Problems) != 0 || rep.Head != writers*each {
				t.Fatalf("chain after concurrent writes: head %d, %v", rep.Head, rep.Problems)
			}
		})
	}
}

// A conditional write that races (409) is retried; one whose answer was
// lost after it landed (500, the SDK retries, S3 answers 412) is
// recognised as the writer's own and not written twice.
func TestS3ConflictAndLostAnswer(t *testing.T) {
	srv := s3test.Start(t)
	s := recordstore.NewS3(srv.Client, srv.Bucket, prefixKey)
	if _, err := s.Append(ctx(t), deploy(0)); err != nil {
		t.Fatal(err)
	}
	srv.FailConditional(http.StatusConflict)
	st, err := s.Append(ctx(t), deploy(1))
	if err != nil || st.Seq != 2 {
		t.Fatalf("after a 409: %v, seq %d", err, st.Seq)
	}
	srv.FailConditional(http.StatusInternalServerError)
	st, err = s.Append(ctx(t), deploy(2))
	if err != nil || st.Seq != 3 {
		t.Fatalf("after a lost answer: %v, seq %d", err, st.Seq)
	}
	all, err := s.List(ctx(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("%d records, want 3 (a retried write was stored twice?)", len(all))
	}
}

// The conditional write is what keeps writers apart: a stale store
// (its head cache one behind) must not overwrite the record another
// writer made.
func TestAppendNeverOverwrites(t *testing.T) {
	for _, f := range fixtures() {
		t.Run(f.name, func(t *testing.T) {
			newStore := f.store(t)
			a, b := newStore(), newStore()
			if _, err := a.Append(ctx(t), deploy(0)); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Append(ctx(t), deploy(1)); err != nil { // b now caches head 2
				t.Fatal(err)
			}
			first, _ := a.List(ctx(t), 1)
			if _, err := a.Append(ctx(t), deploy(2)); err != nil { // a cached head 2 via List
				t.Fatal(err)
			}
			if _, err := b.Append(ctx(t), deploy(3)); err != nil { // b's cache says 2: conflict on 3, retry at 4
				t.Fatal(err)
			}
			all, _ := newStore().List(ctx(t), 0)
			if len(all) != 4 || string(all[1].Raw) != string(first[0].Raw) {
				t.Fatalf("records overwritten: %d stored", len(all))
			}
		})
	}
}

func TestS3TamperingIsFound(t *testing.T) {
	srv := s3test.Start(t)
	s := recordstore.NewS3(srv.Client, srv.Bucket, prefixKey)
	for i := range 6 {
		if _, err := s.Append(ctx(t), deploy(i)); err != nil {
			t.Fatal(err)
		}
	}
	// Someone with bucket access rewrites record 3 and deletes record 5.
	key3 := prefixKey + recordstore.Name(3)
	o, err := srv.Client.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &srv.Bucket, Key: &key3})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	_, _ = fmt.Fprint(&b, readAll(t, o))
	edited := strings.Replace(b.String(), `"octocat"`, `"mallory"`, 1)
	if _, err := srv.Client.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &srv.Bucket, Key: &key3, Body: strings.NewReader(edited)}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Client.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &srv.Bucket, Key: aws.String(prefixKey + recordstore.Name(5))}); err != nil {
		t.Fatal(err)
	}
	rep, err := recordstore.Verify(ctx(t), s, record.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range rep.Problems {
		got = append(got, fmt.Sprintf("%s:%d", p.Kind, p.Seq))
	}
	if !slices.Equal(got, []string{"edited:3", "removed:5"}) {
		t.Fatalf("found %v\n%v", got, rep.Problems)
	}
}

func readAll(t *testing.T, o *s3.GetObjectOutput) string {
	t.Helper()
	defer o.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := o.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// A writer killed between writing its temporary file and linking it
// leaves only the temporary file: no torn record, and the chain goes on.
func TestDirLeftoverTemporaryFileIsIgnored(t *testing.T) {
	dir := recordstore.LocalDir(t.TempDir())
	s := recordstore.NewDir(dir)
	if _, err := s.Append(ctx(t), deploy(0)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".tmp-123"), []byte(`{"sch`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := recordstore.NewDir(dir).Append(ctx(t), deploy(1)); err != nil {
		t.Fatal(err)
	}
	all, err := s.List(ctx(t), 0)
	if err != nil || len(all) != 2 {
		t.Fatalf("%v, %d records", err, len(all))
	}
	if rep := record.Verify(all, record.VerifyOptions{}); len(rep.Problems) != 0 {
		t.Fatal(rep.Problems)
	}
}
