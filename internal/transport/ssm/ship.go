package ssm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/text"
)

// goosOf maps an SSM platform to the Go name of its operating system.
var goosOf = map[string]string{PlatformLinux: "linux", PlatformWindows: "windows"}

// AgentKey is where a ferry-agent binary lives in the bucket: by its
// digest, so each version is uploaded once and never overwritten.
func AgentKey(prefix, platform, digest string) string {
	name := "ferry-agent"
	if platform == PlatformWindows {
		name += ".exe"
	}
	return path.Join(prefix, "agents", digest, name)
}

// ArtifactKey is where a commit's archive lives in the bucket.
func ArtifactKey(prefix, digest string) string {
	return path.Join(prefix, "artifacts", digest+".tar.gz")
}

// shipped is an object in the bucket that servers download through a
// presigned URL, made for each command when it is sent: a command sent
// after others gets a URL that lasts for its own rollout.
type shipped struct {
	key    string
	digest string
}

// shipAgents uploads, when missing, the amd64 and arm64 agents of every
// platform in the fleet.
func (r *run) shipAgents(ctx context.Context, platforms map[string]bool) error {
	r.agents = map[string][2]shipped{}
	for platform := range platforms {
		var pair [2]shipped
		for i, arch := range []string{"amd64", "arm64"} {
			file, err := r.o.Agents.Agent(ctx, goosOf[platform], arch)
			if err != nil {
				return fmt.Errorf("ferry-agent for %s/%s: %w", goosOf[platform], arch, err)
			}
			digest, err := fileDigest(file)
			if err != nil {
				return fmt.Errorf("ferry-agent: %w", err)
			}
			key := AgentKey(r.o.Prefix, platform, digest)
			if err := r.putIfMissing(ctx, key, file, "application/octet-stream"); err != nil {
				return err
			}
			pair[i] = shipped{key: key, digest: digest}
		}
		r.agents[platform] = pair
	}
	return nil
}

// agentURLs presigns platform's agents for a command of waves waves.
func (r *run) agentURLs(ctx context.Context, platform string, waves int) (AgentBinary, AgentBinary, error) {
	var out [2]AgentBinary
	for i, a := range r.agents[platform] {
		url, err := r.presign(ctx, a.key, r.presignExpiry(waves))
		if err != nil {
			return AgentBinary{}, AgentBinary{}, err
		}
		out[i] = AgentBinary{SHA256: a.digest, URL: url}
	}
	return out[0], out[1], nil
}

// shipSource points the spec at the code: the commit's archive in S3
// (its URL is presigned for each command), or the repository the servers
// fetch from themselves.
func (r *run) shipSource(ctx context.Context, spec *agent.Spec) error {
	if r.o.Source == "git" {
		spec.Source = agent.Source{Kind: "git", URL: r.o.Repository, Subdir: r.o.AppDir}
		return nil
	}
	repo, appDir := r.o.RepoDir, r.o.AppDir
	if repo == "" && spec.Source.Kind == "git" {
		// The CLI's spec names the local repository it deploys from.
		repo, appDir = spec.Source.URL, spec.Source.Subdir
	}
	if repo == "" {
		return errors.New("build artifact: no local repository to archive the commit from")
	}
	file, digest, err := archiveFile(ctx, repo, spec.SHA, appDir)
	if err != nil {
		return fmt.Errorf("build artifact: %w", err)
	}
	defer os.Remove(file)
	key := ArtifactKey(r.o.Prefix, digest)
	if err := r.putIfMissing(ctx, key, file, "application/gzip"); err != nil {
		return err
	}
	r.log("", "artifact %s: %s of %s", text.Short(digest), orDot(appDir), text.Short(spec.SHA))
	r.artifact = shipped{key: key, digest: digest}
	spec.Source = agent.Source{Kind: "archive", SHA256: digest}
	return nil
}

// putIfMissing uploads file to key unless an object is already there:
// keys are content-addressed, and the servers verify what they download.
func (r *run) putIfMissing(ctx context.Context, key, file, contentType string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	_, err := r.c.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(r.o.Bucket), Key: aws.String(key)})
	if err == nil {
		return nil
	}
	var nf *s3types.NotFound
	if !errors.As(err, &nf) && httpStatus(err) != 404 {
		return explain("look up s3://"+r.o.Bucket+"/"+key, err)
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	_, err = r.c.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(r.o.Bucket), Key: aws.String(key), Body: f,
		ContentLength: aws.Int64(st.Size()), ContentType: aws.String(contentType),
	})
	if err != nil {
		return explain("upload s3://"+r.o.Bucket+"/"+key, err)
	}
	r.log("", "uploaded s3://%s/%s (%d bytes)", r.o.Bucket, key, st.Size())
	return nil
}

// presign makes a GET URL that lets a server download key without any S3
// permission of its own, for a limited time.
func (r *run) presign(ctx context.Context, key string, expires time.Duration) (string, error) {
	req, err := r.c.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(r.o.Bucket), Key: aws.String(key)},
		s3.WithPresignExpires(expires))
	if err != nil {
		return "", explain("presign s3://"+r.o.Bucket+"/"+key, err)
	}
	return req.URL, nil
}

func fileDigest(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func orDot(s string) string {
	if s == "" {
		return "."
	}
	return s
}
