package record

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
)

// Stored is one object as a store holds it.
type Stored struct {
	// Key is the object's name in its store (for messages).
	Key string
	// Seq is the sequence number the key says; the record inside should
	// say the same.
	Seq int64
	// Raw is the stored bytes, hashed as they are.
	Raw []byte
	// Record is Raw decoded, or nil when it does not parse (Err says why).
	Record *Record
	// Err says why Raw did not parse.
	Err error
}

// NewStored decodes raw as the object stored under key for seq.
func NewStored(key string, seq int64, raw []byte) Stored {
	s := Stored{Key: key, Seq: seq, Raw: raw}
	s.Record, s.Err = Decode(raw)
	return s
}

// Anchor is a record's number and hash remembered outside the store (the local
// index keeps the last one it synced): the chain alone cannot show that
// its newest records were deleted, an anchor can.
type Anchor struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// Kind classifies a problem Verify found.
type Kind string

// Problem kinds. Every kind but Unfinished and InProgress means the store
// no longer holds what ferry wrote: ferry never edits, deletes or renames
// a record, and never leaves a partial one (each object is created whole
// and exclusively).
const (
	// Edited: the record's bytes are not the ones its successor (or an
	// anchor) hashed.
	Edited Kind = "edited"
	// Removed: a sequence number is missing between records that exist,
	// or a record an anchor remembers is gone.
	Removed Kind = "removed"
	// Inserted: a record that the chain does not lead through.
	Inserted Kind = "inserted"
	// Reordered: records are stored under each other's sequence numbers.
	Reordered Kind = "reordered"
	// Unreadable: the object is not a record.
	Unreadable Kind = "unreadable"
	// Unfinished: an attempt began and never recorded its outcome; its
	// writer crashed or was killed. Not tampering.
	Unfinished Kind = "unfinished"
	// InProgress: the newest attempt began recently and has no outcome
	// yet. Not a problem.
	InProgress Kind = "in_progress"
)

// Problem is one finding: its kind, the record it is about (number and
// key) and what was found, in words.
type Problem struct {
	Kind   Kind   `json:"kind"`
	Seq    int64  `json:"seq"`
	Key    string `json:"key,omitempty"`
	Detail string `json:"detail"`
}

// Tampering reports whether the problem means the records were changed
// after ferry wrote them.
func (p Problem) Tampering() bool { return p.Kind != Unfinished && p.Kind != InProgress }

// String is the problem as one line for people.
func (p Problem) String() string { return fmt.Sprintf("record %d: %s: %s", p.Seq, p.Kind, p.Detail) }

// Report is what Verify found.
type Report struct {
	// Records is how many objects were read.
	Records int `json:"records"`
	// Head is the highest sequence number stored.
	Head int64 `json:"head"`
	// Problems are the findings, in record order.
	Problems []Problem `json:"problems,omitempty"`
}

// Intact reports whether no problem is tampering.
func (r Report) Intact() bool {
	for _, p := range r.Problems {
		if p.Tampering() {
			return false
		}
	}
	return true
}

// Err is nil for an intact chain, else a failure (exit 1) naming every
// tampered record, for `ferry audit verify`.
func (r Report) Err(location string) error {
	if r.Intact() {
		return nil
	}
	var lines []string
	for _, p := range r.Problems {
		if p.Tampering() {
			lines = append(lines, p.String())
		}
	}
	return fail.New(exitcode.Failed,
		fmt.Errorf("records in %s were changed after they were written:\n%s", location, strings.Join(lines, "\n")),
		"compare with the bucket's object versions or a backup: ferry never edits, removes or renames a record",
		"protect the records prefix with S3 Object Lock so that no one can")
}

// VerifyOptions tunes Verify.
type VerifyOptions struct {
	// Anchors are hashes remembered elsewhere; each is checked.
	Anchors []Anchor
	// Now and StaleAfter decide when a begin record without an end stops
	// being "in progress" and becomes "unfinished": when a later record
	// exists, or when it began more than StaleAfter before Now (default
	// 6 h, beyond SSM's default one-hour execution timeout). A zero Now
	// means every begin without an end is unfinished.
	Now        time.Time
	StaleAfter time.Duration
}

// Verify checks one environment's chain: objects sorted by Seq, as a
// store lists them. It names every record that was edited, removed,
// inserted, reordered or replaced by something unreadable, and tells
// attempts whose writer died (a begin without an end) apart from those.
func Verify(objs []Stored, opts VerifyOptions) Report {
	objs = append([]Stored(nil), objs...)
	sort.SliceStable(objs, func(i, j int) bool { return objs[i].Seq < objs[j].Seq })
	rep := Report{Records: len(objs)}
	if len(objs) > 0 {
		rep.Head = objs[len(objs)-1].Seq
	}
	add := func(k Kind, o Stored, format string, args ...any) {
		rep.Problems = append(rep.Problems, Problem{Kind: k, Seq: o.Seq, Key: o.Key, Detail: fmt.Sprintf(format, args...)})
	}
	hashes := make([]string, len(objs))
	for i, o := range objs {
		hashes[i] = Hash(o.Raw)
	}
	bySeq := map[int64]int{}
	byHash := map[string]int{}
	for i, o := range objs {
		bySeq[o.Seq] = i
		byHash[hashes[i]] = i
	}

	// Sequence numbers: ferry takes each one exactly once, in order, so a
	// hole is a deletion.
	next := int64(1)
	for _, o := range objs {
		switch gap := o.Seq - next; {
		case gap > 3:
			// One finding for a long run, not thousands of lines.
			add(Removed, Stored{Seq: next}, "records %d to %d (%d) are missing (%s)", next, o.Seq-1, gap, neighbours(next-1, o.Seq))
		case gap > 0:
			for s := next; s < o.Seq; s++ {
				add(Removed, Stored{Seq: s}, "missing (%s)", neighbours(next-1, o.Seq))
			}
		}
		next = o.Seq + 1
	}

	inserted := map[int]bool{}
	reordered := map[int]bool{}
	shifted := false
	for i, o := range objs {
		if o.Record == nil {
			add(Unreadable, o, "%s is not a record: %v", o.Key, o.Err)
			continue
		}
		// A record stored under another record's number: swapped with it
		// (reordered) or pushed along by an insertion before it.
		if o.Record.Seq != o.Seq {
			switch j, ok := bySeq[o.Record.Seq]; {
			case ok && objs[j].Record != nil && objs[j].Record.Seq == o.Seq:
				reordered[i] = true
				add(Reordered, o, "%s holds record %d, and %s holds record %d: swapped", o.Key, o.Record.Seq, objs[j].Key, o.Seq)
			case o.Record.Seq == o.Seq-1 && i >= 2 && objs[i-1].Seq == o.Seq-1 && o.Record.Prev == hashes[i-2]:
				// It chains to the object two before it: the one in between
				// was put there, and this one renumbered to make room.
				inserted[i-1] = true
				shifted = true
				add(Inserted, objs[i-1], "%s is not in the chain: %s (record %d) follows record %d directly", objs[i-1].Key, o.Key, o.Record.Seq, objs[i-2].Seq)
			case shifted && i >= 1 && o.Record.Prev == hashes[i-1] && objs[i-1].Record != nil && objs[i-1].Record.Seq == o.Record.Seq-1:
				// Renumbered along with the records before it, chain intact:
				// part of the insertion already reported.
			default:
				add(Reordered, o, "%s holds record %d", o.Key, o.Record.Seq)
			}
			continue
		}
		if reordered[i] || inserted[i] {
			continue
		}
		// The link to the predecessor.
		switch {
		case o.Seq == 1:
			if o.Record.Prev != "" {
				add(Edited, o, "record 1 names a predecessor")
			}
		case i == 0 || objs[i-1].Seq != o.Seq-1:
			// The predecessor is missing: reported above.
		case objs[i-1].Record == nil || reordered[i-1]:
			// Reported above.
		case inserted[i-1]:
			// The link around the inserted record was checked when found.
		case o.Record.Prev != hashes[i-1]:
			if i >= 2 && o.Record.Prev == hashes[i-2] && objs[i-1].Record.Prev == hashes[i-2] {
				// Two records claim the same predecessor: the one the chain
				// does not continue from was added.
				inserted[i-1] = true
				add(Inserted, objs[i-1], "%s claims the same predecessor as %s, which the chain continues from", objs[i-1].Key, o.Key)
			} else if j, ok := byHash[o.Record.Prev]; ok && j != i-1 {
				// It chains to an older record, which already has its
				// successor: a fork, added after the fact.
				inserted[i] = true
				add(Inserted, o, "%s claims record %d as its predecessor, which record %d already follows", o.Key, objs[j].Seq, objs[j].Seq+1)
			} else {
				add(Edited, objs[i-1], "%s was changed after record %d hashed it", objs[i-1].Key, o.Seq)
			}
		}
	}

	for _, a := range opts.Anchors {
		j, ok := bySeq[a.Seq]
		switch {
		case !ok && a.Seq > rep.Head:
			add(Removed, Stored{Seq: a.Seq}, "this record was read before (hash %s) and the chain now ends at %d: its newest records were deleted", short(a.Hash), rep.Head)
		case ok && hashes[j] != a.Hash:
			add(Edited, objs[j], "%s differs from the copy read before (hash %s, now %s)", objs[j].Key, short(a.Hash), short(hashes[j]))
		}
	}

	attempts(objs, opts, add)
	sort.SliceStable(rep.Problems, func(i, j int) bool { return rep.Problems[i].Seq < rep.Problems[j].Seq })
	return rep
}

// attempts pairs begin and end records: a begin nobody closed is a
// crashed writer (or one still running); an end that names a begin that
// is not its own is tampering.
func attempts(objs []Stored, opts VerifyOptions, add func(Kind, Stored, string, ...any)) {
	stale := opts.StaleAfter
	if stale == 0 {
		stale = 6 * time.Hour
	}
	ended := map[string]bool{}
	bySeq := map[int64]*Record{}
	for _, o := range objs {
		if o.Record != nil {
			bySeq[o.Seq] = o.Record
		}
	}
	for _, o := range objs {
		r := o.Record
		if r == nil || r.Phase != PhaseEnd {
			continue
		}
		ended[r.ID] = true
		if r.BeginSeq == 0 {
			continue
		}
		b, ok := bySeq[r.BeginSeq]
		if ok && (b.ID != r.ID || b.Phase != PhaseBegin) {
			add(Edited, o, "its begin record %d belongs to another attempt", r.BeginSeq)
		}
	}
	head := int64(0)
	if len(objs) > 0 {
		head = objs[len(objs)-1].Seq
	}
	for _, o := range objs {
		r := o.Record
		if r == nil || r.Phase != PhaseBegin || ended[r.ID] {
			continue
		}
		what := fmt.Sprintf("%s of %s %s by %s began %s", r.Op, r.App, shortSHA(r.Change.SHA), r.Actor.Name, r.Started.UTC().Format(time.RFC3339))
		laterByOthers := o.Seq < head
		if !laterByOthers && !opts.Now.IsZero() && opts.Now.Sub(r.Started) < stale {
			add(InProgress, o, "%s and has not finished yet", what)
			continue
		}
		add(Unfinished, o, "%s and never recorded an outcome: the writer crashed or was killed (not tampering); check what the servers serve with ferry status", what)
	}
}

func neighbours(before, after int64) string {
	if before < 1 {
		return fmt.Sprintf("the first record stored is %d", after)
	}
	return fmt.Sprintf("records %d and %d exist", before, after)
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func shortSHA(sha string) string {
	if sha == "" {
		return "(no commit)"
	}
	return short(sha)
}
