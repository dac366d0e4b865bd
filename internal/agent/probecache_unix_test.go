//go:build !windows

package agent

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// The interpreter's answer is remembered per what pyenv's shim would
// pick: switching the global version, PYENV_VERSION or a local
// .python-version asks again, and "system" is never remembered.
func TestProbeCacheFollowsPyenvChoice(t *testing.T) {
	pyroot := t.TempDir()
	t.Setenv("PYENV_ROOT", pyroot)
	t.Setenv("PYENV_VERSION", "")
	t.Setenv("PYENV_DIR", t.TempDir())
	write := func(path, body string, mode os.FileMode) {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	// A shim that does what pyenv's does here: run the chosen version.
	write(filepath.Join(pyroot, "shims", "python3"), "#!/bin/sh\n# pyenv shim\nv=${PYENV_VERSION:-$(cat \"$PYENV_ROOT/version\")}\nexec \"$PYENV_ROOT/versions/$v/bin/python3\" \"$@\"\n", 0o755)
	for _, v := range []string{"3.11.7", "3.12.1"} {
		write(filepath.Join(pyroot, "versions", v, "bin", "python3"), "#!/bin/sh\necho "+v+"\n", 0o755)
	}
	write(filepath.Join(pyroot, "version"), "3.11.7\n", 0o644)
	shim := filepath.Join(pyroot, "shims", "python3")
	o := &op{l: layout{root: t.TempDir()}}
	ask := func() string {
		t.Helper()
		v, err := o.probeVersion(context.Background(), shim)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := ask(); v != "3.11.7" {
		t.Fatalf("first probe = %q", v)
	}
	// Remembered: the answer comes from the cache while the key holds.
	key := probeKey(shim)
	if key == "" {
		t.Fatal("a pyenv shim naming one version must be cacheable")
	}
	os.WriteFile(o.l.probeCache(), []byte(`{"`+key+`":"remembered"}`), 0o644)
	if v := ask(); v != "remembered" {
		t.Fatalf("second probe = %q, want the remembered answer", v)
	}
	write(filepath.Join(pyroot, "version"), "3.12.1\n", 0o644)
	if v := ask(); v != "3.12.1" {
		t.Fatalf("after pyenv global 3.12.1 the probe = %q", v)
	}
	t.Setenv("PYENV_VERSION", "3.11.7")
	if v := ask(); v != "3.11.7" {
		t.Fatalf("PYENV_VERSION=3.11.7: probe = %q", v)
	}
	// A reinstalled version is another file.
	write(filepath.Join(pyroot, "versions", "3.11.7", "bin", "python3"), "#!/bin/sh\necho reinstalled\n", 0o755)
	if v := ask(); v != "reinstalled" {
		t.Fatalf("a reinstalled 3.11.7: probe = %q", v)
	}
	t.Setenv("PYENV_VERSION", "")
	local := t.TempDir()
	t.Setenv("PYENV_DIR", local)
	write(filepath.Join(local, ".python-version"), "3.11.7\n", 0o644)
	if k := probeKey(shim); k == "" || k == key {
		t.Fatalf("a local .python-version must key of its own: %q", k)
	}
	write(filepath.Join(local, ".python-version"), "system\n", 0o644)
	if k := probeKey(shim); k != "" {
		t.Fatal("pyenv's system version must not be cached")
	}
	other := filepath.Join(t.TempDir(), "python3")
	write(other, "#!/bin/sh\necho other\n", 0o755)
	if k := probeKey(other); k != "" {
		t.Fatal("a script that is not a pyenv shim must not be cached")
	}
}
