package index

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ferryhq/ferry/internal/dora"
	"github.com/ferryhq/ferry/internal/record"
)

// A migration brings the schema from version n-1 to n (its place in
// migrations, from 1). Migrations are never edited once released: a
// change is a new one, so every old database takes the same path.
type migration func(ctx context.Context, tx *sql.Tx) error

var migrations = []migration{
	// 1: the first schema.
	execAll(
		`CREATE TABLE sources (
			id INTEGER PRIMARY KEY,
			location TEXT NOT NULL UNIQUE,
			last_seq INTEGER NOT NULL DEFAULT 0,
			last_hash TEXT NOT NULL DEFAULT '',
			synced_ms INTEGER NOT NULL DEFAULT 0)`,
		`CREATE TABLE records (
			source_id INTEGER NOT NULL REFERENCES sources(id),
			seq INTEGER NOT NULL,
			hash TEXT NOT NULL,
			phase TEXT NOT NULL,
			attempt_id TEXT NOT NULL,
			begin_seq INTEGER NOT NULL DEFAULT 0,
			op TEXT NOT NULL,
			app TEXT NOT NULL,
			environment TEXT NOT NULL,
			actor TEXT NOT NULL,
			sha TEXT NOT NULL,
			branch TEXT NOT NULL,
			release TEXT NOT NULL,
			outcome TEXT NOT NULL,
			exit_code INTEGER NOT NULL,
			started_ms INTEGER NOT NULL,
			ended_ms INTEGER NOT NULL,
			commit_ms INTEGER NOT NULL,
			hotfix INTEGER NOT NULL,
			run_url TEXT NOT NULL,
			error TEXT NOT NULL,
			raw TEXT NOT NULL,
			PRIMARY KEY (source_id, seq))`,
		`CREATE INDEX records_env_started ON records(environment, started_ms)`,
	),
	// 2: what the failed deployment recovery time and the history's
	// emergency and refusal columns need, filled in from each record's
	// stored JSON; indexes for the attempt pairing and the filters.
	func(ctx context.Context, tx *sql.Tx) error {
		if err := execAll(
			`ALTER TABLE records ADD COLUMN down_ms INTEGER NOT NULL DEFAULT 0`,
			`ALTER TABLE records ADD COLUMN emergency TEXT NOT NULL DEFAULT ''`,
			`ALTER TABLE records ADD COLUMN refusal TEXT NOT NULL DEFAULT ''`,
			`CREATE INDEX records_attempt ON records(source_id, attempt_id, phase)`,
			`CREATE INDEX records_sha ON records(sha)`,
			`CREATE INDEX records_actor ON records(actor COLLATE NOCASE)`,
		)(ctx, tx); err != nil {
			return err
		}
		return backfill(ctx, tx)
	},
}

// backfill derives migration 2's columns from the stored records.
func backfill(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT source_id, seq, raw FROM records`)
	if err != nil {
		return err
	}
	type fill struct {
		src, seq, down     int64
		emergency, refusal string
	}
	var fills []fill
	for rows.Next() {
		var src, seq int64
		var raw string
		if err := rows.Scan(&src, &seq, &raw); err != nil {
			rows.Close()
			return err
		}
		r, err := record.Decode([]byte(raw))
		if err != nil {
			continue // indexed from a record that parsed; cannot happen
		}
		f := fill{src: src, seq: seq, down: dora.DownMS(r.Steps)}
		if r.Emergency != nil {
			f.emergency = r.Emergency.Reason
		}
		if r.Refusal != nil {
			f.refusal = string(r.Refusal.Policy)
		}
		fills = append(fills, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, f := range fills {
		if _, err := tx.ExecContext(ctx, `UPDATE records SET down_ms = ?, emergency = ?, refusal = ? WHERE source_id = ? AND seq = ?`,
			f.down, f.emergency, f.refusal, f.src, f.seq); err != nil {
			return err
		}
	}
	return nil
}

func execAll(stmts ...string) migration {
	return func(ctx context.Context, tx *sql.Tx) error {
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("%.40s…: %w", s, err)
			}
		}
		return nil
	}
}

// Version is the schema version the database is at.
func (x *Index) Version(ctx context.Context) (int, error) {
	var v int
	err := x.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// migrate applies migrations up to target, each with its row in
// schema_migrations in the same transaction, so a crash leaves the
// database at a version it really is at.
func (x *Index) migrate(ctx context.Context, target int) error {
	if _, err := x.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)`); err != nil {
		return err
	}
	v, err := x.Version(ctx)
	if err != nil {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this ferry knows (%d)", v, len(migrations))
	}
	for n := v + 1; n <= target; n++ {
		tx, err := x.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		// The version row first: it takes the write lock, and when another
		// ferry applied this migration meanwhile it conflicts and this one
		// moves on.
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, applied_ms) VALUES (?, ?) ON CONFLICT DO NOTHING`, n, time.Now().UnixMilli()); err != nil {
			tx.Rollback()
			return err
		}
		var mine int
		if err := tx.QueryRowContext(ctx, `SELECT changes()`).Scan(&mine); err != nil {
			tx.Rollback()
			return err
		}
		if mine == 0 {
			tx.Rollback()
			continue
		}
		if err := migrations[n-1](ctx, tx); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate to schema version %d: %w", n, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate to schema version %d: %w", n, err)
		}
	}
	return nil
}
