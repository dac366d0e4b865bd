package record_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/record"
	"github.com/ferryhq/ferry/internal/testing/recordtest"
)

func ten() []*record.Record {
	var rs []*record.Record
	for i := range 10 {
		rs = append(rs, recordtest.Deploy("production", i, recordtest.T0.Add(time.Duration(i)*time.Hour), time.Minute, time.Hour))
	}
	return rs
}

// found lists problems as "kind:seq", sorted, so a test states exactly
// what Verify must find and nothing else.
func found(rep record.Report) []string {
	var out []string
	for _, p := range rep.Problems {
		out = append(out, fmt.Sprintf("%s:%d", p.Kind, p.Seq))
	}
	slices.Sort(out)
	return out
}

func TestEncodeIsCompactJSONWithChainFields(t *testing.T) {
	objs := recordtest.Chain(t, ten()[:2]...)
	if !bytes.HasSuffix(objs[0].Raw, []byte("}\n")) || bytes.Count(objs[0].Raw, []byte("\n")) != 1 {
		t.Fatalf("record is not one line of JSON: %q", objs[0].Raw)
	}
	var m map[string]any
	if err := json.Unmarshal(objs[1].Raw, &m); err != nil {
		t.Fatal(err)
	}
	if m["schema"] != float64(1) || m["seq"] != float64(2) || m["prev"] != record.Hash(objs[0].Raw) || m["phase"] != "end" {
		t.Fatalf("chain fields wrong: %v", m)
	}
	for _, k := range []string{"actor", "change", "gates", "started", "ended", "target", "outcome", "exit_code", "ferry_version", "run_url"} {
		if _, ok := m[k]; !ok {
			t.Errorf("field %s missing from %s", k, objs[1].Raw)
		}
	}
}

func TestUnknownFieldsSurvive(t *testing.T) {
	// A record written by a future ferry: schema 2, a field this version
	// does not know.
	raw := []byte(`{"schema":2,"seq":1,"prev":"","id":"a","phase":"end","op":"deploy","app":"billing","environment":"production",` +
		`"actor":{"name":"x","source":"git"},"change":{"sha":"abc"},"ferry_version":"9","started":"2025-03-03T00:00:00Z",` +
		`"ended":"2025-03-03T00:01:00Z","target":{"kind":"ssm"},"outcome":"deployed","exit_code":0,"canary":{"percent":10}}` + "\n")
	r, err := record.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if r.Schema != 2 || string(r.Extra["canary"]) != `{"percent":10}` {
		t.Fatalf("schema %d, extra %v", r.Schema, r.Extra)
	}
	again, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(again, []byte(`"canary":{"percent":10}`)) {
		t.Fatalf("unknown field lost: %s", again)
	}
	// Hashing uses the stored bytes, so a future record verifies here.
	next := recordtest.Deploy("production", 1, recordtest.T0, time.Minute, time.Hour)
	raw2, err := record.Encode(next, 2, record.Hash(raw))
	if err != nil {
		t.Fatal(err)
	}
	rep := record.Verify([]record.Stored{record.NewStored("1", 1, raw), record.NewStored("2", 2, raw2)}, record.VerifyOptions{})
	if len(rep.Problems) != 0 {
		t.Fatalf("a newer schema's record fails verification: %v", rep.Problems)
	}
}

func TestValidate(t *testing.T) {
	r := recordtest.Deploy("production", 1, recordtest.T0, time.Minute, time.Hour)
	r.Outcome = record.OutcomeRefused
	if _, err := record.Encode(r, 1, ""); err == nil || !strings.Contains(err.Error(), "refusal") {
		t.Fatalf("a refusal without its policy was accepted: %v", err)
	}
	b := recordtest.Deploy("production", 1, recordtest.T0, time.Minute, time.Hour).AsBegin()
	if b.Outcome != "" || !b.Ended.IsZero() || b.Phase != record.PhaseBegin {
		t.Fatalf("AsBegin kept the outcome: %+v", b)
	}
	if _, err := record.Encode(b, 1, ""); err != nil {
		t.Fatalf("begin record refused: %v", err)
	}
	if _, err := record.Encode(&record.Record{Phase: record.PhaseEnd, Op: "deploy"}, 1, ""); err == nil {
		t.Fatal("an empty record was accepted")
	}
}

func TestActorFrom(t *testing.T) {
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "octocat"}
	if a := record.ActorFrom(func(k string) string { return env[k] }, "Jo"); a.Name != "octocat" || a.Source != "github" {
		t.Fatalf("in Actions: %+v", a)
	}
	if a := record.ActorFrom(func(string) string { return "" }, "Jo"); a.Name != "Jo" || a.Source != "git" {
		t.Fatalf("with git: %+v", a)
	}
	if a := record.ActorFrom(func(string) string { return "" }, ""); a.Source != "os" || a.Name == "" {
		t.Fatalf("with neither: %+v", a)
	}
}

func TestVerifyIntactChain(t *testing.T) {
	rep := record.Verify(recordtest.Chain(t, ten()...), record.VerifyOptions{})
	if !rep.Intact() || len(rep.Problems) != 0 || rep.Head != 10 || rep.Records != 10 {
		t.Fatalf("intact chain: %+v", rep)
	}
	if err := rep.Err("x"); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyTampering(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(objs []record.Stored) ([]record.Stored, []record.Anchor)
		want   []string
	}{
		{"edit", func(o []record.Stored) ([]record.Stored, []record.Anchor) {
			o[4] = record.NewStored(o[4].Key, 5, bytes.Replace(o[4].Raw, []byte(`"octocat"`), []byte(`"mallory"`), 1))
			return o, nil
		}, []string{"edited:5"}},
		{"delete", func(o []record.Stored) ([]record.Stored, []record.Anchor) {
			return slices.Delete(o, 6, 7), nil
		}, []string{"removed:7"}},
		{"delete many", func(o []record.Stored) ([]record.Stored, []record.Anchor) {
			return append(o[:1], o[9:]...), nil
		}, []string{"removed:2"}},
		{"delete the first", func(o []record.Stored) ([]record.Stored, []record.Anchor) {
			return o[1:], nil
		}, []string{"removed:1"}},
		{"insert", func(o []record.Stored) ([]record.Stored, []record.Anchor) {
			// A forged record at 5, chained correctly to 4; 5..10 renumbered
			// to 6..11 to make room.
			forged := recordtest.Deploy("production", 99, recordtest.T0, time.Minute, time.Hour)
			raw, _ := record.Encode(forged, 5, record.Hash(o[3].Raw))
			out := append([]record.Stored(nil), o[:4]...)
			out = append(out, record.NewStored("f", 5, raw))
			for _, s := range o[4:] {
				out = append(out, record.NewStored(s.Key, s.Seq+1, s.Raw))
			}
			return out, nil
		}, []string{"inserted:5"}},
		{"insert beside", func(o []record.Stored) ([]record.Stored, []record.Anchor) {
			// A second record 5 under a fresh number at the end, claiming
			// record 4 as its predecessor: a fork.
			forged := recordtest.Deploy("production", 99, recordtest.T0, time.Minute, time.Hour)
			raw, _ := record.Encode(forged, 11, record.Hash(o[3].Raw))
			return append(o, record.NewStored("f", 11, raw)), nil
		}, []string{"inserted:11"}},
		{"reorder", func(o []record.Stored) ([]record.Stored, []record.Anchor) {
			o[2], o[3] = record.NewStored(o[2].Key, 3, o[3].Raw), record.NewStored(o[3].Key, 4, o[2].Raw)
			return o, nil
		}, []string{"reordered:3", "reordered:4"}},
		{"unreadable", func(o []record.Stored) ([]record.Stored, []record.Anchor) {
			o[5] = record.NewStored(o[5].Key, 6, []byte("garbage"))
			return o, nil
		}, []string{"unreadable:6"}},
		{"newest deleted", func(o []record.Stored) ([]record.Stored, []record.Anchor) {
			return o[:8], []record.Anchor{{Seq: 10, Hash: record.Hash(o[9].Raw)}}
		}, []string{"removed:10"}},
		{"newest edited", func(o []record.Stored) ([]record.Stored, []record.Anchor) {
			a := []record.Anchor{{Seq: 10, Hash: record.Hash(o[9].Raw)}}
			o[9] = record.NewStored(o[9].Key, 10, bytes.Replace(o[9].Raw, []byte(`"deployed"`), []byte(`"failed"`), 1))
			return o, a
		}, []string{"edited:10"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			objs, anchors := c.tamper(recordtest.Chain(t, ten()...))
			rep := record.Verify(objs, record.VerifyOptions{Anchors: anchors})
			if got := found(rep); !slices.Equal(got, c.want) {
				t.Fatalf("found %v, want %v\n%v", got, c.want, rep.Problems)
			}
			if rep.Intact() {
				t.Fatal("tampering reported as intact")
			}
			err := rep.Err("s3://b/records/billing/production/")
			if fail.Code(err) != exitcode.Failed || !strings.Contains(err.Error(), fmt.Sprintf("record %d", rep.Problems[0].Seq)) {
				t.Fatalf("error does not name the record or exit 1: %v", err)
			}
		})
	}
}

func TestVerifyCrashedWriterIsNotTampering(t *testing.T) {
	rs := ten()
	// Attempt 3 wrote its begin record and died; attempts after it wrote
	// begin and end as usual.
	var chain []*record.Record
	for i, r := range rs {
		b := r.AsBegin()
		chain = append(chain, b)
		if i == 2 {
			continue
		}
		r.BeginSeq = int64(len(chain))
		chain = append(chain, r)
	}
	objs := recordtest.Chain(t, chain...)
	rep := record.Verify(objs, record.VerifyOptions{Now: recordtest.T0.Add(48 * time.Hour)})
	if got := found(rep); !slices.Equal(got, []string{"unfinished:5"}) {
		t.Fatalf("found %v, want unfinished:5\n%v", got, rep.Problems)
	}
	if !rep.Intact() || rep.Err("x") != nil {
		t.Fatal("a crashed writer was reported as tampering")
	}
	if !strings.Contains(rep.Problems[0].Detail, "crashed") {
		t.Fatalf("detail does not say what happened: %s", rep.Problems[0].Detail)
	}

	// A begin at the head, started a minute ago, is in progress.
	last := recordtest.Deploy("production", 50, recordtest.T0.Add(48*time.Hour), time.Minute, time.Hour).AsBegin()
	objs = recordtest.Chain(t, append(chain, last)...)
	rep = record.Verify(objs, record.VerifyOptions{Now: recordtest.T0.Add(48*time.Hour + time.Minute)})
	if got := found(rep); !slices.Equal(got, []string{"in_progress:20", "unfinished:5"}) {
		t.Fatalf("found %v\n%v", got, rep.Problems)
	}
	// Hours later it is unfinished.
	rep = record.Verify(objs, record.VerifyOptions{Now: recordtest.T0.Add(60 * time.Hour)})
	if got := found(rep); !slices.Equal(got, []string{"unfinished:20", "unfinished:5"}) {
		t.Fatalf("found %v\n%v", got, rep.Problems)
	}
}

func TestVerifyEndPointingAtAnotherBegin(t *testing.T) {
	rs := ten()
	b1, b2 := rs[0].AsBegin(), rs[1].AsBegin()
	rs[0].BeginSeq = 2 // b2 is someone else's
	rs[1].BeginSeq = 1
	rep := record.Verify(recordtest.Chain(t, b1, b2, rs[0], rs[1]), record.VerifyOptions{})
	if got := found(rep); !slices.Equal(got, []string{"edited:3", "edited:4"}) {
		t.Fatalf("found %v\n%v", got, rep.Problems)
	}
}
