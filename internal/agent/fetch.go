package agent

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/proc"
	"github.com/ferryhq/ferry/internal/text"
)

// git runs git with an argument vector, never a shell, with protocols
// that run commands turned off.
func git(ctx context.Context, dir string, stdout io.Writer, args ...string) error {
	full := append([]string{"-c", "protocol.ext.allow=never", "-c", "core.hooksPath=/dev/null"}, args...)
	cmd := exec.CommandContext(ctx, "git", full...)
	cmd.Dir = dir
	var stderr strings.Builder
	if stdout != nil {
		cmd.Stdout = stdout
	}
	cmd.Stderr = &stderr
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "LC_ALL=C")
	if err := proc.Run(ctx, cmd); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if errors.Is(err, exec.ErrNotFound) {
			return errors.New("git is not installed on this server")
		}
		return fmt.Errorf("git %s: %w: %s", args[0], err, strings.Join(text.LastLines(msg, 5), "\n"))
	}
	return nil
}

// fetchGit mirrors the repository into repo.git (incrementally after the
// first time) and exports the exact commit's app directory into dst.
func fetchGit(ctx context.Context, l layout, src Source, sha, dst string) error {
	repo := l.repo()
	if isAbs(src.URL) {
		if _, err := os.Stat(src.URL); err == nil {
			// The repository is on this machine (target local): export
			// from it directly. The mirror exists to make remote fetches
			// incremental, and would only copy objects already here.
			return exportCommit(ctx, src.URL, src, sha, dst)
		}
	}
	if _, err := os.Stat(filepath.Join(repo, "HEAD")); err != nil {
		os.RemoveAll(repo)
		if err := git(ctx, l.root, nil, "init", "--quiet", "--bare", repo); err != nil {
			return err
		}
	}
	if !hasCommit(ctx, repo, sha) {
		if err := fetchOnly(ctx, repo, src, sha); err != nil {
			return err
		}
	}
	return exportCommit(ctx, repo, src, sha, dst)
}

// fetchOnly fetches what the deploy needs and nothing else, so that a ref
// this server cannot store (a branch name longer than its paths allow,
// two names that differ only in case on Windows) does not fail a deploy
// that never needed it. In order: the commit itself (protocol v2 servers,
// GitHub among them, accept a reachable SHA), the branch the spec names,
// then the refs that point exactly at it (from ls-remote). The commit is
// kept under refs/ferry/, so that it is never collected and later
// fetches negotiate from it.
func fetchOnly(ctx context.Context, repo string, src Source, sha string) error {
	keep := "refs/ferry/" + sha
	first := git(ctx, repo, nil, "fetch", "--quiet", "--no-tags", "--", src.URL, "+"+sha+":"+keep)
	if first == nil && hasCommit(ctx, repo, sha) {
		return nil
	}
	if src.Ref != "" {
		ref := "refs/heads/" + src.Ref
		if err := git(ctx, repo, nil, "fetch", "--quiet", "--no-tags", "--", src.URL, "+"+ref+":"+ref); err != nil {
			return fmt.Errorf("fetch %s from %s: %w", src.Ref, src.URL, err)
		}
		if hasCommit(ctx, repo, sha) {
			return nil
		}
		return fmt.Errorf("commit %s is not on branch %s of %s", sha, src.Ref, src.URL)
	}
	var out strings.Builder
	if err := git(ctx, repo, &out, "ls-remote", "--", src.URL); err != nil {
		return fmt.Errorf("fetch %s: %w", src.URL, err)
	}
	var refspecs []string
	for _, line := range strings.Split(out.String(), "\n") {
		id, ref, ok := strings.Cut(strings.TrimSpace(line), "\t")
		if ok && id == sha && (strings.HasPrefix(ref, "refs/heads/") || strings.HasPrefix(ref, "refs/tags/")) && len(ref) < 200 {
			refspecs = append(refspecs, "+"+ref+":"+ref)
		}
	}
	if len(refspecs) == 0 {
		return fmt.Errorf("commit %s is not in %s: no branch or tag points at it, and the server refused it by SHA (%v); push it, or name its branch", sha, src.URL, first)
	}
	if err := git(ctx, repo, nil, append([]string{"fetch", "--quiet", "--no-tags", "--", src.URL}, refspecs...)...); err != nil {
		return fmt.Errorf("fetch %s: %w", src.URL, err)
	}
	if !hasCommit(ctx, repo, sha) {
		return fmt.Errorf("commit %s is not in %s", sha, src.URL)
	}
	return nil
}

// exportCommit verifies sha names a commit of repo and writes its app
// directory into dst.
func exportCommit(ctx context.Context, repo string, src Source, sha, dst string) error {
	// One git call: ^{commit} makes archive refuse anything but a commit
	// (the spec's SHA is full, so it names itself); only a failure asks
	// why, for the message.
	tree := sha + "^{commit}"
	if src.Subdir != "" && src.Subdir != "." {
		tree += ":" + filepath.ToSlash(src.Subdir)
	}
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		err := git(ctx, repo, pw, "archive", "--format=tar", tree)
		pw.CloseWithError(err)
		errc <- err
	}()
	xerr := extractTar(pr, dst)
	if xerr == nil {
		// tar stops at its end marker; git pads the stream past it.
		io.Copy(io.Discard, pr)
	}
	pr.CloseWithError(xerr)
	gerr := <-errc
	if xerr != nil {
		// The extraction's own error is the cause: git only saw its
		// reader go away ("signal: broken pipe").
		return fmt.Errorf("export %s: %w", text.Short(sha), xerr)
	}
	if gerr != nil {
		var out strings.Builder
		if err := git(ctx, repo, &out, "rev-parse", "--verify", "--quiet", sha+"^{commit}"); err != nil || strings.TrimSpace(out.String()) != sha {
			return fmt.Errorf("commit %s is not in %s", sha, repo)
		}
		return fmt.Errorf("export %s: %w", text.Short(sha), gerr)
	}
	return nil
}

func hasCommit(ctx context.Context, repo, sha string) bool {
	return git(ctx, repo, nil, "cat-file", "-e", sha+"^{commit}") == nil
}

// fetchArchive downloads a tar.gz (http(s) or file URL), checks its
// SHA-256 before unpacking anything, and unpacks it into dst.
func fetchArchive(ctx context.Context, l layout, src Source, dst string) error {
	tmp, err := os.CreateTemp(l.releases(), ".download-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	u, _ := url.Parse(src.URL)
	var body io.ReadCloser
	if u.Scheme == "file" {
		body, err = os.Open(fileURLPath(u))
	} else {
		var req *http.Request
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, src.URL, nil)
		if err == nil {
			var resp *http.Response
			client := &http.Client{Timeout: 10 * time.Minute}
			resp, err = client.Do(req)
			if err == nil && resp.StatusCode != http.StatusOK {
				resp.Body.Close()
				err = fmt.Errorf("HTTP %d", resp.StatusCode)
			} else if err == nil {
				body = resp.Body
			}
		}
	}
	if err != nil {
		return fmt.Errorf("download artifact: %w", err)
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), io.LimitReader(body, 4<<30))
	body.Close()
	if err != nil {
		return fmt.Errorf("download artifact: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != src.SHA256 {
		return fmt.Errorf("artifact SHA-256 is %s, want %s", got, src.SHA256)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	zr, err := gzip.NewReader(tmp)
	if err != nil {
		return fmt.Errorf("artifact is not gzip: %w", err)
	}
	return extractTar(zr, dst)
}

func fileURLPath(u *url.URL) string {
	p := u.Path
	// file:///C:/x on Windows parses as /C:/x.
	if len(p) > 3 && p[0] == '/' && p[2] == ':' {
		p = p[1:]
	}
	return filepath.FromSlash(p)
}

// extractTar unpacks regular files, directories and symlinks that stay
// inside dst; anything else, or any path that escapes, is an error.
func extractTar(r io.Reader, dst string) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		name := filepath.FromSlash(hdr.Name)
		if hdr.Typeflag == tar.TypeXGlobalHeader || name == "." || name == "pax_global_header" {
			continue
		}
		if filepath.IsAbs(name) || strings.Contains(name, ":") || !filepath.IsLocal(name) {
			return fmt.Errorf("archive entry %q leaves the release directory", hdr.Name)
		}
		target := filepath.Join(dst, name)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			mode := os.FileMode(0o644)
			if hdr.Mode&0o111 != 0 {
				mode = 0o755
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("write %s: %w", hdr.Name, err)
			}
		case tar.TypeSymlink:
			link := filepath.FromSlash(hdr.Linkname)
			if filepath.IsAbs(link) || !filepath.IsLocal(filepath.Join(filepath.Dir(name), link)) {
				return fmt.Errorf("archive symlink %q -> %q leaves the release directory", hdr.Name, hdr.Linkname)
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
		default:
			return fmt.Errorf("archive entry %q has unsupported type %c", hdr.Name, hdr.Typeflag)
		}
	}
}
