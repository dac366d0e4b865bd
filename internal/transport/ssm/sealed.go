package ssm

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/ferryhq/ferry/internal/agent"
)

// Nothing secret in SSM's parameters. A command's parameters (the script,
// and in it the spec) are shown to anyone allowed to list commands, and
// kept in Run Command's history. The values of the app's variables and
// the credentials of the pip index and health URLs travel instead in a
// sealed object: JSON ({"vars", "pip_index_url", "health_url"}) uploaded
// beside the artifact under a random name, server-side encrypted,
// presigned for the command's rollout like the artifact, and deleted
// when the command has ended. The spec carries only its URL and SHA-256
// (spec.sealed); the agent downloads it, verifies it and merges it in.
// Operations that take no sealed part (status, releases, unlock, repair)
// are sent without the values and credentials: the agent reads how each
// release runs from its own records.

// sealedDoc is what the sealed object holds.
type sealedDoc struct {
	Vars        map[string]string `json:"vars,omitempty"`
	PipIndexURL string            `json:"pip_index_url,omitempty"`
	HealthURL   string            `json:"health_url,omitempty"`
}

// takesSealed: the operations whose spec may have a sealed part.
func takesSealed(op string) bool { return op == agent.OpApply || op == agent.OpRollback }

// withoutCredentials is raw without its user and password, so that the
// spec still names a valid URL (the agent checks it before unsealing).
// It works on the text: a health URL's ${PORT} makes it no URL to Go.
func withoutCredentials(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return raw
	}
	return scheme + "://" + rest[at+1:]
}

// seal returns spec as it may travel in a command, referring to its
// sealed part, and the key of the sealed object ("" when none was
// uploaded), for a command of waves waves.
func (r *run) seal(ctx context.Context, spec agent.Spec, waves int) (agent.Spec, string, error) {
	doc := sealedDoc{Vars: spec.Vars, PipIndexURL: spec.Pip.IndexURL, HealthURL: spec.Health.URL}
	pub := spec
	pub.Vars = nil
	pub.Pip.IndexURL = withoutCredentials(spec.Pip.IndexURL)
	pub.Health.URL = withoutCredentials(spec.Health.URL)
	if !takesSealed(spec.Op) {
		return pub, "", nil
	}
	if len(doc.Vars) == 0 && doc.PipIndexURL == pub.Pip.IndexURL && doc.HealthURL == pub.Health.URL {
		return pub, "", nil // nothing secret
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return spec, "", err
	}
	var name [16]byte
	rand.Read(name[:])
	key := path.Join(r.o.Prefix, "sealed", hex.EncodeToString(name[:])+".json")
	pctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	_, err = r.c.s3.PutObject(pctx, &s3.PutObjectInput{
		Bucket: aws.String(r.o.Bucket), Key: aws.String(key), Body: strings.NewReader(string(b)),
		ContentLength: aws.Int64(int64(len(b))), ContentType: aws.String("application/json"),
		ServerSideEncryption: s3types.ServerSideEncryptionAes256,
	})
	if err != nil {
		return spec, "", explain("upload the sealed part of the spec to s3://"+r.o.Bucket+"/"+key, err)
	}
	u, err := r.presign(ctx, key, r.presignExpiry(waves))
	if err != nil {
		r.dropSealed(ctx, key)
		return spec, "", err
	}
	sum := sha256.Sum256(b)
	pub.Sealed = &agent.Sealed{URL: u, SHA256: hex.EncodeToString(sum[:])}
	return pub, key, nil
}

// dropSealed deletes the sealed object once its command has ended (or
// could not be sent), whatever happened to the context.
func (r *run) dropSealed(ctx context.Context, key string) {
	if key == "" {
		return
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
	defer cancel()
	if _, err := r.c.s3.DeleteObject(dctx, &s3.DeleteObjectInput{Bucket: aws.String(r.o.Bucket), Key: aws.String(key)}); err != nil {
		r.warn("", "%v: delete it by hand, it holds the deploy's variables (it expires in any case)", explain("delete s3://"+r.o.Bucket+"/"+key, err))
	}
}
