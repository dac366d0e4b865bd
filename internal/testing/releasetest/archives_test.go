package releasetest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/agentbin"
	"github.com/ferryhq/ferry/internal/testing/acttest"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// entry is one file of an archive.
type entry struct {
	mode    os.FileMode
	modTime time.Time
	data    []byte
}

// readArchive returns the files (not directories) of a .tar.gz or .zip.
func readArchive(t *testing.T, path string) map[string]entry {
	t.Helper()
	files := map[string]entry{}
	if strings.HasSuffix(path, ".zip") {
		zr, err := zip.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		for _, f := range zr.File {
			if f.FileInfo().IsDir() {
				continue
			}
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			files[f.Name] = entry{mode: f.Mode(), modTime: f.Modified, data: b}
		}
		return files
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	zr, err := gzip.NewReader(fh)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = entry{mode: h.FileInfo().Mode(), modTime: h.ModTime, data: b}
	}
	return files
}

// binaryPlatform reads an executable's own header: what it was built for.
func binaryPlatform(b []byte) (Platform, error) {
	r := bytes.NewReader(b)
	if f, err := elf.NewFile(r); err == nil {
		switch f.Machine {
		case elf.EM_X86_64:
			return Platform{"linux", "amd64"}, nil
		case elf.EM_AARCH64:
			return Platform{"linux", "arm64"}, nil
		}
		return Platform{}, errors.New("ELF for " + f.Machine.String())
	}
	if f, err := pe.NewFile(r); err == nil {
		switch f.Machine {
		case pe.IMAGE_FILE_MACHINE_AMD64:
			return Platform{"windows", "amd64"}, nil
		case pe.IMAGE_FILE_MACHINE_ARM64:
			return Platform{"windows", "arm64"}, nil
		}
		return Platform{}, errors.New("PE for another machine")
	}
	if f, err := macho.NewFile(r); err == nil {
		switch f.Cpu {
		case macho.CpuAmd64:
			return Platform{"darwin", "amd64"}, nil
		case macho.CpuArm64:
			return Platform{"darwin", "arm64"}, nil
		}
		return Platform{}, errors.New("Mach-O for " + f.Cpu.String())
	}
	return Platform{}, errors.New("not an ELF, PE or Mach-O executable")
}

// TestArchives checks what a user downloads: one archive per platform
// under goreleaser's name, listed in checksums.txt with its SHA-256,
// holding ferry for that platform and the four agents under agents/
// (each built for the platform its name says, each at most 3 MB
// gzipped), README.md, with the commit's date as every mtime.
func TestArchives(t *testing.T) {
	s := Build(t)
	t.Logf("snapshot %s (FERRY_RELEASE_TARGETS=%s) built in %s", s.Version, s.Targets, s.Took.Round(time.Second))
	sums := s.Checksums(t)

	var want []string
	for _, p := range s.Platforms {
		want = append(want, ArchiveName(s.Version, p))
	}
	var got []string
	for name := range sums {
		got = append(got, name)
	}
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("checksums.txt lists %q, want %q", got, want)
	}

	_, err := os.Stat(filepath.Join(s.Source, "LICENSE"))
	hasLicense := err == nil
	for _, p := range s.Platforms {
		name := ArchiveName(s.Version, p)
		path := filepath.Join(s.Dist, name)
		if sum := FileSHA256(t, path); sum != sums[name] {
			t.Errorf("%s: sha256 %s, checksums.txt says %s", name, sum, sums[name])
		}
		files := readArchive(t, path)
		exe := "ferry"
		if p.GOOS == "windows" {
			exe += ".exe"
		}
		wantFiles := []string{exe, "README.md"}
		if hasLicense {
			wantFiles = append(wantFiles, "LICENSE")
		}
		for _, a := range agentbin.Platforms {
			wantFiles = append(wantFiles, agentbin.Dir+"/"+agentbin.FileName(a.GOOS, a.GOARCH))
		}
		var names []string
		for n := range files {
			names = append(names, n)
		}
		sort.Strings(names)
		sort.Strings(wantFiles)
		if strings.Join(names, " ") != strings.Join(wantFiles, " ") {
			t.Errorf("%s holds %q, want %q", name, names, wantFiles)
		}

		for n, e := range files {
			if !e.modTime.Equal(s.CommitDate) {
				t.Errorf("%s: %s has mtime %s, want the commit's %s", name, n, e.modTime.UTC(), s.CommitDate.UTC())
			}
		}
		check := func(n string, want Platform) {
			e, ok := files[n]
			if !ok {
				return
			}
			if e.mode.Perm()&0o111 == 0 && p.GOOS != "windows" {
				t.Errorf("%s: %s is not executable (%s)", name, n, e.mode)
			}
			if got, err := binaryPlatform(e.data); err != nil || got != want {
				t.Errorf("%s: %s is built for %v (%v), want %v", name, n, got, err, want)
			}
		}
		check(exe, p)
		for _, a := range agentbin.Platforms {
			n := agentbin.Dir + "/" + agentbin.FileName(a.GOOS, a.GOARCH)
			check(n, Platform(a))
			if e, ok := files[n]; ok && p == s.Platforms[0] {
				var buf bytes.Buffer
				zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // as goreleaser's tar.gz
				zw.Write(e.data)
				zw.Close()
				t.Logf("%s: %d bytes, %d gzipped", n, len(e.data), buf.Len())
				if buf.Len() > agentbin.MaxCompressedSize {
					t.Errorf("%s is %d bytes gzipped, over %d", n, buf.Len(), agentbin.MaxCompressedSize)
				}
			}
		}
		if st, err := os.Stat(path); err == nil {
			t.Logf("%s: %d bytes", name, st.Size())
		}
	}
}

// unpack extracts an archive's files into a new directory.
func unpack(t *testing.T, path string) string {
	t.Helper()
	dir := t.TempDir()
	for name, e := range readArchive(t, path) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, e.data, e.mode.Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestVersions runs the host's archive: ferry --version and ferry-agent
// version print the snapshot's version, and ferry's agent lookup finds
// every agent beside it.
func TestVersions(t *testing.T) {
	host, ok := HostPlatform()
	if !ok {
		t.Skipf("ferry is not released for %v", host)
	}
	s := Build(t)
	built := false
	for _, p := range s.Platforms {
		built = built || p == host
	}
	if !built {
		t.Skipf("no %v archive in a FERRY_RELEASE_TARGETS=%s snapshot", host, s.Targets)
	}
	dir := unpack(t, filepath.Join(s.Dist, ArchiveName(s.Version, host)))
	exe := "ferry"
	if host.GOOS == "windows" {
		exe += ".exe"
	}
	ferry := filepath.Join(dir, exe)
	out, err := exec.Command(ferry, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), s.Version) {
		t.Errorf("ferry --version: %v: %q, want %s", err, out, s.Version)
	}
	if host.GOOS == "linux" || host.GOOS == "windows" {
		agent := filepath.Join(dir, agentbin.Dir, agentbin.FileName(host.GOOS, host.GOARCH))
		out, err := exec.Command(agent, "version").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "ferry-agent "+s.Version+" ") {
			t.Errorf("ferry-agent version: %v: %q, want %s", err, out, s.Version)
		}
	}

	r := &agentbin.Resolver{
		Executable: func() (string, error) { return ferry, nil },
		Getwd:      func() (string, error) { return t.TempDir(), nil },
		CacheDir:   t.TempDir(),
	}
	for _, p := range agentbin.Platforms {
		a, err := r.Resolve(context.Background(), p.GOOS, p.GOARCH)
		if err != nil || a.Way != agentbin.WayBeside || filepath.Dir(a.Path) != filepath.Join(dir, agentbin.Dir) {
			t.Errorf("agentbin beside the archive's ferry, %s: %+v, %v", p, a, err)
		}
	}
}

// TestToolPins holds scripts/release-tools.sh, which CI installs the
// tools with, to the versions these tests are written against.
func TestToolPins(t *testing.T) {
	wd, _ := os.Getwd()
	root, ok := agentbin.FindModule(wd)
	if !ok {
		t.Fatal("no checkout")
	}
	b, err := os.ReadFile(filepath.Join(root, "scripts", "release-tools.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"github.com/goreleaser/goreleaser/v2 v" + GoreleaserVersion, "github.com/nektos/act v" + acttest.Version} {
		if !strings.Contains(string(b), want) {
			t.Errorf("scripts/release-tools.sh does not pin %q", want)
		}
	}
}
