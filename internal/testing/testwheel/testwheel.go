// Package testwheel writes tiny but real Python wheels, so tests can drive
// pip end to end from a local directory: no package index is reachable from
// the machines that run ferry's tests.
package testwheel

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Wheel describes one pure-Python wheel.
type Wheel struct {
	Name    string            // distribution name, e.g. "greet"
	Version string            // e.g. "1.0.0"
	Files   map[string]string // path inside the wheel (e.g. "greet/__init__.py") to content
	// Requires lists Requires-Dist lines, e.g. "other>=2".
	Requires []string
}

// Filename is the wheel's file name as pip expects it.
func (w Wheel) Filename() string {
	return fmt.Sprintf("%s-%s-py3-none-any.whl", normalize(w.Name), w.Version)
}

func normalize(name string) string {
	return strings.NewReplacer("-", "_", ".", "_").Replace(name)
}

// Write writes the wheel into dir and returns its path.
func (w Wheel) Write(dir string) (string, error) {
	if w.Files == nil {
		w.Files = map[string]string{normalize(w.Name) + "/__init__.py": fmt.Sprintf("__version__ = %q\n", w.Version)}
	}
	distInfo := fmt.Sprintf("%s-%s.dist-info", normalize(w.Name), w.Version)
	var meta strings.Builder
	fmt.Fprintf(&meta, "Metadata-Version: 2.1\nName: %s\nVersion: %s\n", w.Name, w.Version)
	for _, r := range w.Requires {
		fmt.Fprintf(&meta, "Requires-Dist: %s\n", r)
	}
	files := map[string]string{}
	for k, v := range w.Files {
		files[k] = v
	}
	files[distInfo+"/METADATA"] = meta.String()
	files[distInfo+"/WHEEL"] = "Wheel-Version: 1.0\nGenerator: ferry-testwheel\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
	names := make([]string, 0, len(files))
	for k := range files {
		names = append(names, k)
	}
	sort.Strings(names)
	var record strings.Builder
	for _, n := range names {
		sum := sha256.Sum256([]byte(files[n]))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", n, base64.RawURLEncoding.EncodeToString(sum[:]), len(files[n]))
	}
	recordName := distInfo + "/RECORD"
	fmt.Fprintf(&record, "%s,,\n", recordName)

	path := filepath.Join(dir, w.Filename())
	f, err := os.Create(path)
	if err != nil {
		return "", fmt.Errorf("create wheel: %w", err)
	}
	zw := zip.NewWriter(f)
	for _, n := range append(names, recordName) {
		body := files[n]
		if n == recordName {
			body = record.String()
		}
		fw, err := zw.Create(n)
		if err != nil {
			f.Close()
			return "", fmt.Errorf("write wheel: %w", err)
		}
		if _, err := fw.Write([]byte(body)); err != nil {
			f.Close()
			return "", fmt.Errorf("write wheel: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return "", fmt.Errorf("close wheel: %w", err)
	}
	return path, f.Close()
}
