package agent_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/ferryhq/ferry/internal/agent"
)

func TestPruneKeepsWhatItShould(t *testing.T) {
	s := newSite(t)
	deploy := func(sha string) agent.Result {
		spec := s.spec("apply", sha)
		spec.KeepReleases, spec.KeepFailed = 2, 1
		return agent.Run(context.Background(), spec, agent.Options{})
	}
	var good []string
	for i := 0; i < 5; i++ {
		sha := s.change(i == 1) // one requirements change: a second venv
		r := deploy(sha)
		if r.ExitCode != 0 {
			t.Fatalf("deploy %d: %s", i, r.Error)
		}
		good = append(good, r.Release)
	}
	var failed []string
	for i := 0; i < 2; i++ {
		s.writeFile("requirements.txt", "greet==9.9.9\n")
		sha := s.change(false)
		r := deploy(sha)
		if r.ExitCode != 1 {
			t.Fatalf("a failing install must exit 1: %+v", r)
		}
		failed = append(failed, r.Release)
		s.writeFile("requirements.txt", "greet==2.0.0\n")
	}
	sha := s.change(false)
	r := deploy(sha)
	if r.ExitCode != 0 {
		t.Fatalf("last deploy: %s", r.Error)
	}
	st := s.state()
	// current + previous + 2 more good + 1 failed (the newest).
	want := []string{r.Release, good[4], good[3], good[2], failed[1]}
	sort.Strings(want)
	entries, _ := os.ReadDir(filepath.Join(s.root, "releases"))
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	sort.Strings(got)
	if len(got) != len(want) {
		t.Fatalf("kept releases %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("kept releases %v, want %v", got, want)
		}
	}
	if st.Current != r.Release || st.Previous != good[4] {
		t.Fatalf("current/previous = %s/%s", st.Current, st.Previous)
	}
	for _, rel := range st.Releases {
		_, err := os.Stat(filepath.Join(s.root, "releases", rel.ID))
		if rel.Pruned != os.IsNotExist(err) {
			t.Fatalf("release %s: pruned=%v but directory present=%v", rel.ID, rel.Pruned, err == nil)
		}
	}
	// Only the venv the kept releases use is left: releases before the
	// requirements change used the other one.
	venvs, _ := os.ReadDir(filepath.Join(s.root, "venvs"))
	if len(venvs) != 1 {
		var names []string
		for _, v := range venvs {
			names = append(names, v.Name())
		}
		t.Fatalf("want 1 venv left, got %v", names)
	}
	if s.health() != sha {
		t.Fatal("pruning touched the serving release")
	}
}

// Pruning moves what goes into trash/ with one rename each, before the
// result; the files are removed afterwards by a detached ferry-agent, so
// the deploy's exit never waits for them. A release the state says was
// pruned but that a crash left in releases/ is moved by the next prune.
func TestPruneRemovesAfterTheResult(t *testing.T) {
	s := newSite(t)
	deploy := func() agentRun {
		spec := s.spec("apply", s.change(false))
		spec.KeepReleases, spec.KeepFailed = 1, 1
		r := runAgent(t, spec)
		if r.code != 0 {
			t.Fatalf("deploy: %s", r)
		}
		return r
	}
	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, deploy().result.Release)
	}
	// current, previous and one more are kept: nothing pruned yet.
	st := s.state()
	for _, r := range st.Releases {
		if r.Pruned {
			t.Fatalf("%s pruned too early", r.ID)
		}
	}
	// A crash after the save but before the rename: the state says
	// pruned, the directory is still there.
	ids = append(ids, deploy().result.Release)
	waitUntil(t, "trash/ to be emptied after the result", func() bool { return !agent.TrashPending(s.root) })
	if _, err := os.Stat(filepath.Join(s.root, "releases", ids[0])); !os.IsNotExist(err) {
		t.Fatalf("the oldest release must be gone from releases/: %v", err)
	}
	os.MkdirAll(filepath.Join(s.root, "releases", ids[0], "app"), 0o755)
	ids = append(ids, deploy().result.Release)
	for _, id := range ids[:2] {
		if _, err := os.Stat(filepath.Join(s.root, "releases", id)); !os.IsNotExist(err) {
			t.Errorf("pruned release %s is still in releases/: %v", id, err)
		}
	}
	waitUntil(t, "trash/ to be emptied after the result", func() bool { return !agent.TrashPending(s.root) })
	for _, r := range s.state().Releases {
		_, err := os.Stat(filepath.Join(s.root, "releases", r.ID))
		if r.Pruned != os.IsNotExist(err) {
			t.Errorf("release %s: pruned=%v but directory present=%v", r.ID, r.Pruned, err == nil)
		}
	}
}
