package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/ferryhq/ferry/internal/pyenv"
)

// The interpreter's version (part of the venv key) is asked of it once
// per interpreter and remembered in run/python-probe.json, keyed by what
// decides the answer: the executable's path, size and modification time,
// and for a pyenv shim (a script that picks a version at each call, ~60
// ms) the inputs pyenv reads to pick one (PYENV_VERSION, the nearest
// .python-version, the global version file) and the executable that
// choice names. Anything it cannot account for (another kind of script,
// pyenv's "system", a launcher such as Windows' py.exe) is asked every
// time, as before.

func (l layout) probeCache() string { return filepath.Join(l.root, "run", "python-probe.json") }

// probeVersion answers pyenv.Version(python), from the cache when the key
// matches.
func (o *op) probeVersion(ctx context.Context, python string) (string, error) {
	key := probeKey(python)
	cache := map[string]string{}
	if key != "" {
		if b, err := os.ReadFile(o.l.probeCache()); err == nil {
			json.Unmarshal(b, &cache)
			if v, ok := cache[key]; ok && v != "" {
				return v, nil
			}
		}
	}
	v, err := pyenv.Version(ctx, python)
	if err == nil && key != "" {
		// One entry: the interpreter this root deploys with. A cache,
		// not state: a torn write is an unreadable file, asked again.
		if b, err := json.Marshal(map[string]string{key: v}); err == nil {
			tmp := fmt.Sprintf("%s.%d.tmp", o.l.probeCache(), os.Getpid())
			if os.MkdirAll(o.l.run(), 0o755) == nil && os.WriteFile(tmp, b, 0o644) == nil {
				if os.Rename(tmp, o.l.probeCache()) != nil {
					os.Remove(tmp)
				}
			}
		}
	}
	return v, err
}

// probeKey is the cache key of python's answer, "" when it cannot be
// cached.
func probeKey(python string) string {
	path, err := exec.LookPath(python)
	if err != nil {
		return ""
	}
	if path, err = filepath.Abs(path); err != nil {
		return ""
	}
	base := strings.ToLower(filepath.Base(path))
	if base == "py" || base == "py.exe" || base == "pyw.exe" {
		return "" // Windows' launcher picks an interpreter by its own rules
	}
	h := sha256.New()
	stamp := func(p string) bool {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return false
		}
		st, err := os.Stat(real)
		if err != nil || !st.Mode().IsRegular() {
			return false
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00", real, st.Size(), st.ModTime().UnixNano())
		return true
	}
	if !stamp(path) {
		return ""
	}
	if script(path) {
		target, ok := pyenvChoice(path, h)
		if !ok || !stamp(target) {
			return ""
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// script reports whether path is a script (#!) rather than a binary.
func script(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, 2)
	n, _ := f.Read(b)
	return n == 2 && string(b) == "#!"
}

// pyenvChoice follows pyenv's choice for the shim at path (pyenv's
// version-name: PYENV_VERSION, else the nearest .python-version from the
// working directory up, else $PYENV_ROOT/version), hashing its inputs
// into h, and returns the executable it names.
func pyenvChoice(shim string, h interface{ Write([]byte) (int, error) }) (string, bool) {
	b, err := os.ReadFile(shim)
	if err != nil || !bytes.Contains(b, []byte("pyenv")) || runtime.GOOS == "windows" {
		return "", false
	}
	shims := filepath.Dir(shim)
	if filepath.Base(shims) != "shims" {
		return "", false
	}
	root := os.Getenv("PYENV_ROOT")
	if root == "" {
		root = filepath.Dir(shims)
	}
	version := os.Getenv("PYENV_VERSION")
	fmt.Fprintf(h, "env\x00%s\x00%s\x00", root, version)
	if version == "" {
		dir := os.Getenv("PYENV_DIR")
		if dir == "" {
			dir, _ = os.Getwd()
		}
		for ; ; dir = filepath.Dir(dir) {
			if b, err := os.ReadFile(filepath.Join(dir, ".python-version")); err == nil {
				fmt.Fprintf(h, "local\x00%s\x00", dir)
				version = firstVersion(b)
				break
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	if version == "" {
		if b, err := os.ReadFile(filepath.Join(root, "version")); err == nil {
			version = firstVersion(b)
		}
	}
	fmt.Fprintf(h, "version\x00%s\x00", version)
	// Several versions (3.11:3.12), "system", or none: pyenv searches;
	// so does the probe.
	if version == "" || version == "system" || strings.ContainsAny(version, ": /\\") {
		return "", false
	}
	return filepath.Join(root, "versions", version, "bin", filepath.Base(shim)), true
}

// firstVersion is the one version a version file names, "" when it names
// several (pyenv then tries each in turn).
func firstVersion(b []byte) string {
	var names []string
	for _, f := range strings.Fields(string(b)) {
		if !strings.HasPrefix(f, "#") {
			names = append(names, f)
		}
	}
	if len(names) != 1 {
		return ""
	}
	return names[0]
}
