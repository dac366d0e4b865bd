package ssm

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/text"
)

// BuildArchive writes the app directory appDir (relative to the repository
// top, "." for all of it) of commit sha in repo as a tar.gz into w and
// returns its SHA-256. The bytes depend only on the commit: every entry
// carries the commit time, no owner names, and the gzip header no time, so
// the same commit always gives the same digest and an artifact already in
// S3 is not uploaded again.
func BuildArchive(ctx context.Context, repo, sha, appDir string, w io.Writer) (string, error) {
	ct, err := gitOutput(ctx, repo, "show", "-s", "--format=%ct", sha+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("read commit time of %s: %w", text.Short(sha), err)
	}
	secs, err := strconv.ParseInt(strings.TrimSpace(ct), 10, 64)
	if err != nil {
		return "", fmt.Errorf("read commit time of %s: %q", text.Short(sha), ct)
	}
	mtime := time.Unix(secs, 0).UTC()
	tree := sha
	if appDir != "" && appDir != "." {
		tree = sha + ":" + strings.TrimSuffix(appDir, "/")
	}
	cmd := exec.CommandContext(ctx, "git", "-c", "core.hooksPath=/dev/null", "archive", "--format=tar", tree)
	cmd.Dir = repo
	var stderr strings.Builder
	cmd.Stderr = &stderr
	src, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("git archive: %w", err)
	}
	h := sha256.New()
	zw, _ := gzip.NewWriterLevel(io.MultiWriter(w, h), gzip.BestCompression)
	tw := tar.NewWriter(zw)
	werr := copyTar(tar.NewReader(src), tw, mtime)
	if werr == nil {
		werr = tw.Close()
	}
	if werr == nil {
		werr = zw.Close()
	}
	io.Copy(io.Discard, src)
	if err := cmd.Wait(); err != nil {
		return "", fmt.Errorf("git archive %s: %w: %s", tree, err, strings.TrimSpace(stderr.String()))
	}
	if werr != nil {
		return "", fmt.Errorf("write archive: %w", werr)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// copyTar rewrites git's entries with fixed metadata: a tree archive
// would otherwise carry the current time.
func copyTar(tr *tar.Reader, tw *tar.Writer, mtime time.Time) error {
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		out := &tar.Header{Name: hdr.Name, Typeflag: hdr.Typeflag, ModTime: mtime, Format: tar.FormatPAX}
		switch hdr.Typeflag {
		case tar.TypeXGlobalHeader:
			continue
		case tar.TypeDir:
			out.Mode = 0o755
		case tar.TypeReg:
			out.Mode, out.Size = 0o644, hdr.Size
			if hdr.Mode&0o111 != 0 {
				out.Mode = 0o755
			}
		case tar.TypeSymlink:
			out.Mode, out.Linkname = 0o777, hdr.Linkname
		default:
			continue // git archive writes nothing else; submodules are absent
		}
		if err := tw.WriteHeader(out); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := io.Copy(tw, tr); err != nil {
				return err
			}
		}
	}
}

func gitOutput(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// archiveFile builds the archive into a temporary file for upload.
func archiveFile(ctx context.Context, repo, sha, appDir string) (path, digest string, err error) {
	f, err := os.CreateTemp("", "ferry-artifact-*.tar.gz")
	if err != nil {
		return "", "", fmt.Errorf("artifact: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	digest, err = BuildArchive(ctx, repo, sha, appDir, f)
	return f.Name(), digest, err
}
