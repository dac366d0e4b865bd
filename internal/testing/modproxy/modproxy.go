// Package modproxy publishes a module version the way the Go module proxy
// serves it, as files a GOPROXY=file://… URL points at, so tests can run
// `go install module@version` and `go mod download` for real without a
// network and without publishing anything. ferry's own module is the one
// published: a test snapshots the packages it needs from the checkout.
package modproxy

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// Proxy is a directory laid out as GOPROXY protocol files.
type Proxy struct {
	// Dir is the proxy's root directory.
	Dir string
}

// New makes an empty proxy in a temporary directory of t.
func New(t testing.TB) *Proxy {
	t.Helper()
	return &Proxy{Dir: t.TempDir()}
}

// URL is the GOPROXY value that serves this proxy alone.
func (p *Proxy) URL() string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(p.Dir)}).String()
}

// Publish writes module@version with files (slash paths relative to the
// module root; go.mod is required) as .info, .mod and .zip.
func (p *Proxy) Publish(t testing.TB, module, version string, files map[string][]byte) {
	t.Helper()
	gomod, ok := files["go.mod"]
	if !ok {
		t.Fatalf("modproxy: %s@%s has no go.mod", module, version)
	}
	dir := filepath.Join(p.Dir, filepath.FromSlash(module), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	info, _ := json.Marshal(struct{ Version, Time string }{version, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Format(time.RFC3339)})
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		w, err := zw.Create(module + "@" + version + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(files[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{version + ".info": info, version + ".mod": gomod, version + ".zip": zb.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	list, _ := os.ReadFile(filepath.Join(dir, "list"))
	list = append(list, []byte(version+"\n")...)
	if err := os.WriteFile(filepath.Join(dir, "list"), list, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Env is the environment for a go command that must resolve modules from
// proxies alone, in order (file:// URLs), with its own module cache and
// checksum database off: the published module is in no real go.sum
// database. -modcacherw lets t.TempDir remove the cache afterwards.
func Env(modcache string, proxies ...string) []string {
	return []string{
		"GOPROXY=" + strings.Join(proxies, ","),
		"GOMODCACHE=" + modcache,
		"GOSUMDB=off",
		"GOFLAGS=-modcacherw",
		"GOWORK=off",
		"GOTOOLCHAIN=local",
	}
}

// RealDownloadCache is the file:// GOPROXY URL of this machine's module
// download cache, which serves every module the checkout has downloaded
// (`go mod download`) without a network.
func RealDownloadCache(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOMODCACHE: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "cache", "download")
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir)}).String()
}

// PackageFiles returns go.mod, go.sum and every file of the main module's
// packages that pkgs need (for GOOS linux and windows), read from the
// checkout at root: enough to build pkgs from the published module: the
// regular files directly in each package directory (Go files of every
// platform) and the files the package embeds from below it.
func PackageFiles(t testing.TB, root, module string, pkgs ...string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for _, name := range []string{"go.mod", "go.sum", "LICENSE"} {
		if b, err := os.ReadFile(filepath.Join(root, name)); err == nil {
			files[name] = b
		}
	}
	if _, ok := files["go.mod"]; !ok {
		t.Fatalf("modproxy: no go.mod in %s", root)
	}
	add := func(p string) {
		rel, err := filepath.Rel(root, p)
		if err != nil || strings.HasPrefix(rel, "..") {
			t.Fatalf("modproxy: %s is outside %s", p, root)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.ToSlash(rel)] = b
	}
	dirs := map[string]bool{}
	for _, goos := range []string{"linux", "windows", runtime.GOOS} {
		format := `{{if .Module}}{{if eq .Module.Path "` + module + `"}}{{.Dir}}{{range .EmbedFiles}}|{{.}}{{end}}{{"\n"}}{{end}}{{end}}`
		args := append([]string{"list", "-deps", "-f", format}, pkgs...)
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list %s for %s: %v", strings.Join(pkgs, " "), goos, err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			parts := strings.Split(line, "|")
			if parts[0] == "" {
				continue
			}
			dirs[parts[0]] = true
			for _, e := range parts[1:] {
				add(filepath.Join(parts[0], filepath.FromSlash(e)))
			}
		}
	}
	for d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || strings.HasSuffix(e.Name(), "_test.go") {
				continue
			}
			add(filepath.Join(d, e.Name()))
		}
	}
	return files
}

// String describes the proxy for failure messages.
func (p *Proxy) String() string { return fmt.Sprintf("modproxy %s", p.Dir) }
