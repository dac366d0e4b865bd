package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/testing/testwheel"
)

// TestWheelhouse builds a wheelhouse of the app's pinned requirements
// with a local --find-links directory standing in for the index (none is
// reachable): the pinned wheel and its dependency land in the directory
// ferry.yml's pip.find_links names, and nothing else does.
func TestWheelhouse(t *testing.T) {
	t.Parallel()
	need(t, "python3")
	index := t.TempDir()
	for _, w := range []testwheel.Wheel{
		{Name: "greet", Version: "1.0.0", Requires: []string{"words>=1"}},
		{Name: "greet", Version: "2.0.0"},
		{Name: "words", Version: "1.1.0"},
		{Name: "unrelated", Version: "1.0.0"},
	} {
		if _, err := w.Write(index); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ferry.yml"), []byte("app: a\npip: {no_index: true, find_links: [vendor/wheels]}\nenvironments: {local: {}}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte("greet==1.0.0\n"), 0o644)
	r := ferryIn(t, dir, nil, "wheelhouse", "--no-index", "--find-links", index, "--json")
	if r.code != 0 {
		t.Fatalf("ferry wheelhouse: %s", r)
	}
	var res struct {
		Dir    string
		Wheels []string
	}
	json.Unmarshal(checkEnvelope(t, "wheelhouse", r), &res)
	want := []string{"greet-1.0.0-py3-none-any.whl", "words-1.1.0-py3-none-any.whl"}
	if res.Dir != filepath.Join("vendor", "wheels") || !slices.Equal(res.Wheels, want) {
		t.Fatalf("wheelhouse %s holds %v, want %v", res.Dir, res.Wheels, want)
	}
	for _, w := range want {
		if _, err := os.Stat(filepath.Join(dir, "vendor", "wheels", w)); err != nil {
			t.Error(err)
		}
	}

	// pyproject.toml's dependencies, into the default directory, in text.
	os.Remove(filepath.Join(dir, "requirements.txt"))
	os.WriteFile(filepath.Join(dir, "ferry.yml"), []byte("app: a\nenvironments: {local: {}}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "pyproject.toml"), []byte("[project]\nname = \"a\"\ndependencies = [\"greet==2.0.0\"]\n"), 0o644)
	r = ferryIn(t, dir, nil, "wheelhouse", "--no-index", "--find-links", index)
	if r.code != 0 || strings.TrimSpace(r.out) != "greet-2.0.0-py3-none-any.whl" || !strings.Contains(r.err, "find_links: [wheels]") {
		t.Fatalf("ferry wheelhouse from pyproject.toml: %s", r)
	}

	// A requirement the index does not have fails with pip's reason.
	os.WriteFile(filepath.Join(dir, "pyproject.toml"), []byte("[project]\nname = \"a\"\ndependencies = [\"absent==1\"]\n"), 0o644)
	r = ferryIn(t, dir, nil, "wheelhouse", "--no-index", "--find-links", index, "--json")
	if r.code != 1 || !strings.Contains(r.out, "absent") {
		t.Fatalf("a missing package: %s", r)
	}
	checkEnvelope(t, "wheelhouse", r)
}
