// Package index is the local SQLite index of audit records that `ferry
// history`, `ferry metrics` and the dashboard query. It is derived: the
// records in each environment's store are the only truth, the index is
// rebuilt from them whenever it is missing, damaged or from another
// version's future, and nothing is ever written only here.
//
// It lives in the user cache directory (DefaultPath), one database for
// every environment this user queries, keyed by the store's location.
// Sync reads only records newer than the last one it indexed (one List
// call from that sequence number on), and remembers the newest record's
// hash, which Anchors hands to record.Verify so that deleting an
// environment's newest records does not go unnoticed.
//
// The CLI's calls:
//
//	path, err := index.DefaultPath()                 // or --index PATH
//	idx, err := index.Open(path)                     // migrates the schema
//	defer idx.Close()
//	res, err := idx.Sync(ctx, store)                 // store: a recordstore.Lister
//	rows, err := idx.History(ctx, index.Filter{Environment: "production", Since: t, Outcome: "failed"})
//	err = index.WriteTable(w, rows) / index.WriteJSON(w, rows) / index.WriteCSV(w, rows)
//	events, err := idx.Events(ctx, store.Location()) // for dora.Compute and dora.Weekly
//	anchors, err := idx.Anchors(ctx, store.Location())
//
// The schema is versioned: schema_migrations records each migration
// applied, and Open applies the missing ones in order, each in its own
// transaction.
package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"

	"github.com/ferryhq/ferry/internal/dora"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/record"
	"github.com/ferryhq/ferry/internal/recordstore"
)

// Index is an open index database.
type Index struct {
	db   *sql.DB
	path string
}

// DefaultPath is <user cache dir>/ferry/index.db.
func DefaultPath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the cache directory for the record index: %w", err)
	}
	return filepath.Join(dir, "ferry", "index.db"), nil
}

// Open opens (creating it if needed) the index at path and brings its
// schema up to date.
func Open(path string) (*Index, error) {
	return openAt(path, len(migrations))
}

func openAt(path string, version int) (*Index, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create the record index directory: %w", err)
	}
	// WAL lets a query read while another ferry syncs; busy_timeout makes
	// two syncing ferries wait for each other instead of failing.
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return nil, fmt.Errorf("open record index %s: %w", path, err)
	}
	x := &Index{db: db, path: path}
	if err := x.migrate(context.Background(), version); err != nil {
		db.Close()
		return nil, fail.New(exitcode.Failed, fmt.Errorf("record index %s: %w", path, err),
			"the index is only a cache of the records: delete "+path+" and ferry rebuilds it from the stores")
	}
	return x, nil
}

// Close closes the database.
func (x *Index) Close() error { return x.db.Close() }

// Path is the database file.
func (x *Index) Path() string { return x.path }

// SyncResult says what a Sync did, for which store (Location).
type SyncResult struct {
	Location string `json:"location"`
	// New is how many records were added; Head the newest sequence number.
	New  int   `json:"new"`
	Head int64 `json:"head"`
	// Warnings name records the index could not make sense of; `ferry
	// audit verify` says what happened to them.
	Warnings []string `json:"warnings,omitempty"`
}

// Sync adds the records of src that the index does not have yet: one
// List call from the last indexed sequence number on.
func (x *Index) Sync(ctx context.Context, src recordstore.Lister) (SyncResult, error) {
	loc := src.Location()
	res := SyncResult{Location: loc}
	if _, err := x.db.ExecContext(ctx, `INSERT OR IGNORE INTO sources(location) VALUES (?)`, loc); err != nil {
		return res, fmt.Errorf("sync %s: %w", loc, err)
	}
	var id, last int64
	var lastHash string
	if err := x.db.QueryRowContext(ctx, `SELECT id, last_seq, last_hash FROM sources WHERE location = ?`, loc).Scan(&id, &last, &lastHash); err != nil {
		return res, fmt.Errorf("sync %s: %w", loc, err)
	}
	res.Head = last
	objs, err := src.List(ctx, last)
	if err != nil {
		return res, err
	}
	if len(objs) == 0 {
		return res, nil
	}
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("sync %s: %w", loc, err)
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO records(
		source_id, seq, hash, phase, attempt_id, begin_seq, op, app, environment, actor, sha, branch, release,
		outcome, exit_code, started_ms, ended_ms, commit_ms, hotfix, run_url, error, down_ms, emergency, refusal, raw)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return res, fmt.Errorf("sync %s: %w", loc, err)
	}
	defer ins.Close()
	prevSeq, prevHash := last, lastHash
	for _, o := range objs {
		h := record.Hash(o.Raw)
		r := o.Record
		switch {
		case r == nil:
			res.Warnings = append(res.Warnings, fmt.Sprintf("record %d is not a record (%v): run ferry audit verify", o.Seq, o.Err))
		case o.Seq != prevSeq+1 || r.Prev != prevHash && prevSeq > 0:
			res.Warnings = append(res.Warnings, fmt.Sprintf("the chain breaks before record %d: run ferry audit verify", o.Seq))
		}
		prevSeq, prevHash = o.Seq, h
		if r == nil {
			continue
		}
		if _, err := ins.ExecContext(ctx, rowArgs(id, o.Seq, h, r, o.Raw)...); err != nil {
			return res, fmt.Errorf("index record %d of %s: %w", o.Seq, loc, err)
		}
		res.New++
	}
	head := objs[len(objs)-1]
	if _, err := tx.ExecContext(ctx, `UPDATE sources SET last_seq = ?, last_hash = ?, synced_ms = ? WHERE id = ? AND last_seq < ?`,
		head.Seq, record.Hash(head.Raw), time.Now().UnixMilli(), id, head.Seq); err != nil {
		return res, fmt.Errorf("sync %s: %w", loc, err)
	}
	if err := tx.Commit(); err != nil {
		return res, fmt.Errorf("sync %s: %w", loc, err)
	}
	res.Head = head.Seq
	return res, nil
}

func rowArgs(source, seq int64, hash string, r *record.Record, raw []byte) []any {
	emergency, refusal := "", ""
	if r.Emergency != nil {
		emergency = r.Emergency.Reason
		if emergency == "" {
			emergency = "(no reason given)"
		}
	}
	if r.Refusal != nil {
		refusal = string(r.Refusal.Policy)
	}
	return []any{source, seq, hash, string(r.Phase), r.ID, r.BeginSeq, string(r.Op), r.App, r.Environment, r.Actor.Name,
		r.Change.SHA, r.Change.Branch, r.Change.Release, string(r.Outcome), r.ExitCode,
		ms(r.Started), ms(r.Ended), ms(r.Change.CommitTime), r.Hotfix, r.RunURL, r.Error,
		dora.DownMS(r.Steps), emergency, refusal, string(raw)}
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// Rebuild forgets what the index holds of src and reads it all again.
func (x *Index) Rebuild(ctx context.Context, src recordstore.Lister) (SyncResult, error) {
	loc := src.Location()
	if _, err := x.db.ExecContext(ctx, `DELETE FROM records WHERE source_id = (SELECT id FROM sources WHERE location = ?)`, loc); err != nil {
		return SyncResult{}, fmt.Errorf("rebuild %s: %w", loc, err)
	}
	if _, err := x.db.ExecContext(ctx, `DELETE FROM sources WHERE location = ?`, loc); err != nil {
		return SyncResult{}, fmt.Errorf("rebuild %s: %w", loc, err)
	}
	return x.Sync(ctx, src)
}

// Anchors are the record hashes this index remembers for a location:
// the newest record it synced. record.Verify reports it if that record
// has since disappeared or changed.
func (x *Index) Anchors(ctx context.Context, location string) ([]record.Anchor, error) {
	var a record.Anchor
	err := x.db.QueryRowContext(ctx, `SELECT last_seq, last_hash FROM sources WHERE location = ? AND last_seq > 0`, location).Scan(&a.Seq, &a.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read anchors of %s: %w", location, err)
	}
	return []record.Anchor{a}, nil
}

// Events returns the end records of a location as metric events, in
// order: the input of dora.Compute and dora.Weekly.
func (x *Index) Events(ctx context.Context, location string) ([]dora.Event, error) {
	rows, err := x.db.QueryContext(ctx, `SELECT r.seq, r.op, r.outcome, r.started_ms, r.ended_ms, r.commit_ms, r.sha, r.hotfix, r.down_ms
		FROM records r JOIN sources s ON s.id = r.source_id
		WHERE s.location = ? AND r.phase = 'end' ORDER BY r.seq`, location)
	if err != nil {
		return nil, fmt.Errorf("read events of %s: %w", location, err)
	}
	defer rows.Close()
	var out []dora.Event
	for rows.Next() {
		var e dora.Event
		var op, outcome string
		var started, ended, commit int64
		if err := rows.Scan(&e.Seq, &op, &outcome, &started, &ended, &commit, &e.SHA, &e.Hotfix, &e.DownMS); err != nil {
			return nil, fmt.Errorf("read events of %s: %w", location, err)
		}
		e.Op, e.Outcome = record.Op(op), record.Outcome(outcome)
		e.Started, e.Ended, e.CommitTime = fromMS(started), fromMS(ended), fromMS(commit)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Source is one indexed store: its location, the app and environment its
// newest record names, the newest record indexed and when.
type Source struct {
	Location    string    `json:"location"`
	App         string    `json:"app"`
	Environment string    `json:"environment"`
	Head        int64     `json:"head"`
	Synced      time.Time `json:"synced"`
}

// Sources lists the stores the index holds, with the app and
// environment their records name.
func (x *Index) Sources(ctx context.Context) ([]Source, error) {
	rows, err := x.db.QueryContext(ctx, `SELECT s.location, s.last_seq, s.synced_ms,
		COALESCE((SELECT app FROM records WHERE source_id = s.id ORDER BY seq DESC LIMIT 1), ''),
		COALESCE((SELECT environment FROM records WHERE source_id = s.id ORDER BY seq DESC LIMIT 1), '')
		FROM sources s ORDER BY s.location`)
	if err != nil {
		return nil, fmt.Errorf("list indexed stores: %w", err)
	}
	defer rows.Close()
	var out []Source
	for rows.Next() {
		var s Source
		var synced int64
		if err := rows.Scan(&s.Location, &s.Head, &synced, &s.App, &s.Environment); err != nil {
			return nil, err
		}
		s.Synced = fromMS(synced)
		out = append(out, s)
	}
	return out, rows.Err()
}

// Filter selects history rows; zero fields select everything; App and
// Environment match exactly.
type Filter struct {
	// Location limits to one store.
	Location    string
	App         string
	Environment string
	// Since and Until bound the start time (Until exclusive).
	Since, Until time.Time
	// Outcome is an outcome ("failed", "rolled_back"…), or "unfinished"
	// for attempts without one.
	Outcome string
	// SHA matches a commit by prefix (as people type them).
	SHA string
	// Actor matches the actor's name exactly, ignoring case.
	Actor string
	// Op limits to one operation.
	Op record.Op
	// Limit caps the rows, newest first; 0 means all.
	Limit int
}

// Row is one attempt in `ferry history`: the fields of its end record
// (record.Record) flattened, with the store it came from (Location),
// its duration, and Emergency and Refusal reduced to the reason and the
// policy. An attempt without an end record has Outcome "unfinished".
type Row struct {
	Seq         int64          `json:"seq"`
	Location    string         `json:"location"`
	App         string         `json:"app"`
	Environment string         `json:"environment"`
	Op          record.Op      `json:"op"`
	Outcome     record.Outcome `json:"outcome"`
	ExitCode    int            `json:"exit_code"`
	Actor       string         `json:"actor"`
	SHA         string         `json:"sha,omitempty"`
	Branch      string         `json:"branch,omitempty"`
	Release     string         `json:"release,omitempty"`
	Started     time.Time      `json:"started"`
	Ended       time.Time      `json:"ended,omitzero"`
	DurationMS  int64          `json:"duration_ms"`
	Hotfix      bool           `json:"hotfix,omitempty"`
	Emergency   string         `json:"emergency,omitempty"`
	Refusal     string         `json:"refusal,omitempty"`
	RunURL      string         `json:"run_url,omitempty"`
	Error       string         `json:"error,omitempty"`
}

// OutcomeUnfinished is the outcome History shows for an attempt that
// began and never ended (its writer died).
const OutcomeUnfinished record.Outcome = "unfinished"

// History returns the attempts the filter selects, newest first: end
// records, and begin records that no end record closed.
func (x *Index) History(ctx context.Context, f Filter) ([]Row, error) {
	where := []string{`(r.phase = 'end' OR NOT EXISTS (SELECT 1 FROM records e WHERE e.source_id = r.source_id AND e.attempt_id = r.attempt_id AND e.phase = 'end'))`}
	var args []any
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.Location != "" {
		add(`s.location = ?`, f.Location)
	}
	if f.App != "" {
		add(`r.app = ?`, f.App)
	}
	if f.Environment != "" {
		add(`r.environment = ?`, f.Environment)
	}
	if !f.Since.IsZero() {
		add(`r.started_ms >= ?`, f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		add(`r.started_ms < ?`, f.Until.UnixMilli())
	}
	switch {
	case f.Outcome == string(OutcomeUnfinished):
		where = append(where, `r.phase = 'begin'`)
	case f.Outcome != "":
		add(`r.outcome = ?`, f.Outcome)
	}
	if f.SHA != "" {
		// Prefix match without LIKE's wildcards: a SHA is hex anyway.
		where = append(where, `substr(r.sha, 1, ?) = ?`)
		args = append(args, len(f.SHA), strings.ToLower(f.SHA))
	}
	if f.Actor != "" {
		add(`r.actor = ? COLLATE NOCASE`, f.Actor)
	}
	if f.Op != "" {
		add(`r.op = ?`, string(f.Op))
	}
	q := `SELECT r.seq, s.location, r.app, r.environment, r.op, r.phase, r.outcome, r.exit_code, r.actor, r.sha, r.branch, r.release,
		r.started_ms, r.ended_ms, r.hotfix, r.emergency, r.refusal, r.run_url, r.error
		FROM records r JOIN sources s ON s.id = r.source_id WHERE ` + strings.Join(where, " AND ") + ` ORDER BY r.started_ms DESC, r.seq DESC`
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := x.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("query history: %w", err)
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var r Row
		var op, phase, outcome string
		var started, ended int64
		if err := rows.Scan(&r.Seq, &r.Location, &r.App, &r.Environment, &op, &phase, &outcome, &r.ExitCode, &r.Actor, &r.SHA,
			&r.Branch, &r.Release, &started, &ended, &r.Hotfix, &r.Emergency, &r.Refusal, &r.RunURL, &r.Error); err != nil {
			return nil, fmt.Errorf("query history: %w", err)
		}
		r.Op, r.Outcome = record.Op(op), record.Outcome(outcome)
		if phase == string(record.PhaseBegin) {
			r.Outcome = OutcomeUnfinished
		}
		r.Started, r.Ended = fromMS(started), fromMS(ended)
		if ended > 0 {
			r.DurationMS = ended - started
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
