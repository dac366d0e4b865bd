package recordstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3API is the part of *s3.Client the store uses.
type S3API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// S3Prefix is where an environment's records live in its bucket:
// <prefix>/records/<app>/<environment>/ (prefix may be empty).
func S3Prefix(prefix, app, environment string) string {
	p := path.Join(strings.Trim(prefix, "/"), "records", app, environment)
	return strings.TrimPrefix(p, "/") + "/"
}

// NewS3 returns the store of the records under keyPrefix (see S3Prefix)
// in bucket.
func NewS3(client S3API, bucket, keyPrefix string) *Store {
	if keyPrefix != "" && !strings.HasSuffix(keyPrefix, "/") {
		keyPrefix += "/"
	}
	return &Store{b: &s3Backend{c: client, bucket: bucket, prefix: keyPrefix}}
}

type s3Backend struct {
	c      S3API
	bucket string
	prefix string
}

func (b *s3Backend) location() string { return "s3://" + b.bucket + "/" + b.prefix }

func (b *s3Backend) names(ctx context.Context, after string) ([]string, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(b.bucket), Prefix: aws.String(b.prefix)}
	if after != "" {
		in.StartAfter = aws.String(b.prefix + after)
	}
	var out []string
	p := s3.NewListObjectsV2Paginator(b.c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			n := strings.TrimPrefix(aws.ToString(o.Key), b.prefix)
			if !strings.Contains(n, "/") {
				out = append(out, n)
			}
		}
	}
	return out, nil
}

func (b *s3Backend) get(ctx context.Context, name string) ([]byte, error) {
	o, err := b.c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.prefix + name)})
	if err != nil {
		var nk *s3types.NoSuchKey
		if errors.As(err, &nk) || httpStatus(err) == http.StatusNotFound {
			return nil, fs.ErrNotExist
		}
		return nil, err
	}
	defer o.Body.Close()
	return io.ReadAll(o.Body)
}

// create is S3's conditional write: If-None-Match: * makes S3 refuse
// (412 PreconditionFailed) a key that exists, atomically; a concurrent
// conditional write to the same key may instead get 409
// ConditionalRequestConflict, which AWS says to retry. Both are a lost
// race here: the caller re-reads the head.
func (b *s3Backend) create(ctx context.Context, name string, data []byte) error {
	_, err := b.c.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(b.bucket),
		Key:           aws.String(b.prefix + name),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		ContentType:   aws.String("application/json"),
		IfNoneMatch:   aws.String("*"),
	})
	if err == nil {
		return nil
	}
	if conflict(err) {
		return fmt.Errorf("%s: %w", name, errExists)
	}
	return err
}

func conflict(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "PreconditionFailed", "ConditionalRequestConflict":
			return true
		}
	}
	switch httpStatus(err) {
	case http.StatusPreconditionFailed, http.StatusConflict:
		return true
	}
	return false
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}
