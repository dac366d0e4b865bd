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
