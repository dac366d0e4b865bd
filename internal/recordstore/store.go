// Package recordstore keeps an environment's audit records where the
// environment lives: one immutable object per record in the
// environment's S3 bucket (ssm targets) or one file per record in a
// directory on the deploying machine (local targets).
//
// Layout:
//
//	s3://<bucket>/<prefix>/records/<app>/<environment>/0000000001.json
//	<root>/records/0000000001.json
//
// The name is the record's sequence number, zero-padded so that a
// listing is in chain order. Appending never overwrites: the writer reads
// the head (the highest number), encodes record head+1 chained to the
// head's hash, and creates the object only if the name is free — S3's
// conditional write (PutObject with If-None-Match: *, answered 412
// PreconditionFailed, or 409 ConditionalRequestConflict during a race)
// or a hard link (atomic, fails when the name exists) of a complete
// temporary file. On a conflict it re-reads the head and tries again, so
// concurrent writers and retried requests each end with their own number
// and the chain stays intact. Ferry never deletes or renames a record, so
// the prefix can be protected with S3 Object Lock (compliance mode)
// without changing anything here.
//
// The CLI's calls:
//
//	store := recordstore.NewS3(s3Client, bucket, recordstore.S3Prefix(prefix, app, env))
//	store := recordstore.NewDir(recordstore.LocalDir(root))
//	stored, err := store.Append(ctx, rec)       // record.Record, see package record
//	objs, err := store.List(ctx, afterSeq)      // for the index and audit verify
//	report, err := recordstore.Verify(ctx, store, record.VerifyOptions{Now: time.Now()})
package recordstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/poll"
	"github.com/ferryhq/ferry/internal/record"
)

// Lister is what reads a chain: the index and Verify need only this.
type Lister interface {
	// List returns the records numbered above after, in order.
	List(ctx context.Context, after int64) ([]record.Stored, error)
	// Location names the chain for people and as the index's key.
	Location() string
}

// backend is the storage under a Store: names are bare file names
// ("0000000042.json").
type backend interface {
	// names returns the record names after the given one (all when
	// empty), sorted.
	names(ctx context.Context, after string) ([]string, error)
	// get reads one object; fs.ErrNotExist when there is none.
	get(ctx context.Context, name string) ([]byte, error)
	// create writes an object only if the name is free; errExists when
	// it is not.
	create(ctx context.Context, name string, data []byte) error
	location() string
}

// errExists is a backend's answer when the name is taken.
var errExists = fs.ErrExist

// Store appends to and lists one environment's chain.
type Store struct {
	b backend

	// MaxAttempts bounds how many times Append retries after losing a
	// race for a sequence number; default 100.
	MaxAttempts int

	mu sync.Mutex
	// head is the newest record this Store has seen (number and hash),
	// so the next Append lists only what came after it.
	headSeq  int64
	headHash string
}

// Location names the chain: an s3:// URL or a directory.
func (s *Store) Location() string { return s.b.location() }

// Name is the object name of record seq.
func Name(seq int64) string { return fmt.Sprintf("%010d.json", seq) }

var nameRE = regexp.MustCompile(`^[0-9]{10}\.json$`)

// parseName returns the sequence number a record name holds.
func parseName(n string) (int64, bool) {
	if !nameRE.MatchString(n) {
		return 0, false
	}
	v, err := strconv.ParseInt(n[:10], 10, 64)
	return v, err == nil && v > 0
}

// Append writes r as the chain's next record and returns it as stored.
// r's Seq, Prev and Schema are set; everything else is the caller's.
func (s *Store) Append(ctx context.Context, r *record.Record) (record.Stored, error) {
	attempts := s.MaxAttempts
	if attempts <= 0 {
		attempts = 100
	}
	for i := 0; ; i++ {
		seq, prev, err := s.head(ctx)
		if err != nil {
			return record.Stored{}, fmt.Errorf("append record to %s: read head: %w", s.Location(), err)
		}
		raw, err := record.Encode(r, seq+1, prev)
		if err != nil {
			return record.Stored{}, err
		}
		name := Name(seq + 1)
		err = s.b.create(ctx, name, raw)
		if errors.Is(err, errExists) {
			// A retried request whose first try landed finds its own bytes.
			if got, gerr := s.b.get(ctx, name); gerr == nil && bytes.Equal(got, raw) {
				err = nil
			}
		}
		if err == nil {
			s.remember(seq+1, record.Hash(raw))
			return record.NewStored(name, seq+1, raw), nil
		}
		if !errors.Is(err, errExists) {
			return record.Stored{}, fail.Hint(fmt.Errorf("write record %d to %s: %w", seq+1, s.Location(), err),
				"the deploying identity needs to list, read and create objects under "+s.Location()+" (s3:ListBucket, s3:GetObject, s3:PutObject; never s3:DeleteObject)")
		}
		if i+1 >= attempts {
			return record.Stored{}, fmt.Errorf("write record to %s: lost the race for a sequence number %d times: %w", s.Location(), attempts, record.ErrConflict)
		}
		// Another writer took seq+1: back off a little (jittered, so
		// writers that collided do not collide again) and re-read.
		if err := poll.Sleep(ctx, time.Duration(rand.IntN(5+5*min(i, 10)))*time.Millisecond); err != nil {
			return record.Stored{}, err
		}
	}
}

func (s *Store) remember(seq int64, hash string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq > s.headSeq {
		s.headSeq, s.headHash = seq, hash
	}
}

// head finds the newest record: its number and the hash of its bytes.
// It lists only names after the newest this Store has seen.
func (s *Store) head(ctx context.Context) (int64, string, error) {
	s.mu.Lock()
	seq, hash := s.headSeq, s.headHash
	s.mu.Unlock()
	after := ""
	if seq > 0 {
		after = Name(seq)
	}
	names, err := s.b.names(ctx, after)
	if err != nil {
		return 0, "", err
	}
	for i := len(names) - 1; i >= 0; i-- {
		n, ok := parseName(names[i])
		if !ok {
			continue
		}
		raw, err := s.b.get(ctx, names[i])
		if err != nil {
			return 0, "", fmt.Errorf("read %s: %w", names[i], err)
		}
		s.remember(n, record.Hash(raw))
		return n, record.Hash(raw), nil
	}
	return seq, hash, nil
}

// List returns the records numbered above after, in order. Objects that
// do not parse are returned too (Record nil, Err set): Verify names them.
func (s *Store) List(ctx context.Context, after int64) ([]record.Stored, error) {
	start := ""
	if after > 0 {
		start = Name(after)
	}
	names, err := s.b.names(ctx, start)
	if err != nil {
		return nil, fmt.Errorf("list records in %s: %w", s.Location(), err)
	}
	type item struct {
		name string
		seq  int64
	}
	var items []item
	for _, n := range names {
		if seq, ok := parseName(n); ok && seq > after {
			items = append(items, item{n, seq})
		}
	}
	out := make([]record.Stored, len(items))
	errs := make([]error, len(items))
	// Reads are independent: a few at a time hide the round trips.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, it := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			raw, err := s.b.get(ctx, it.name)
			if err != nil {
				errs[i] = fmt.Errorf("read record %d: %w", it.seq, err)
				return
			}
			out[i] = record.NewStored(it.name, it.seq, raw)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("list records in %s: %w", s.Location(), err)
	}
	if len(out) > 0 {
		last := out[len(out)-1]
		s.remember(last.Seq, record.Hash(last.Raw))
	}
	return out, nil
}

// Verify reads the whole chain and checks it (see record.Verify).
func Verify(ctx context.Context, l Lister, opts record.VerifyOptions) (record.Report, error) {
	objs, err := l.List(ctx, 0)
	if err != nil {
		return record.Report{}, err
	}
	return record.Verify(objs, opts), nil
}
