package ssmemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Output limits and markers. Sources: the model (StandardOutputContent max
// 24000, StandardErrorContent max 8000, CommandPluginOutput max 2500) and the
// amazon-ssm-agent source (iohandler: MaxStdoutLength 24000, MaxStderrLength
// 8000, OutputTruncatedSuffix "--output truncated--", MaximumPluginOutputSize
// 2500 with "\n---Output truncated---", "\n---Error truncated----" and the
// "\n----------ERROR-------\n" title between stdout and stderr).
const (
	maxStdout        = 24000
	maxStderr        = 8000
	maxPluginOutput  = 2500
	truncatedSuffix  = "--output truncated--"
	pluginOutMarker  = "\n---Output truncated---"
	pluginErrMarker  = "\n---Error truncated----"
	pluginErrorTitle = "\n----------ERROR-------\n"
)

// cutContent applies the agent's rule for GetCommandInvocation content: output
// of max bytes or more keeps its first max-len(suffix) bytes and gets the
// suffix, so the result is exactly max bytes. The agent counts bytes; the cut
// is moved back to a UTF-8 boundary so the JSON answer stays valid text.
func cutContent(prefix []byte, size int64, max int) string {
	if size < int64(max) {
		return string(prefix)
	}
	return validPrefix(prefix, max-len(truncatedSuffix)) + truncatedSuffix
}

func validPrefix(b []byte, n int) string {
	if n > len(b) {
		n = len(b)
	}
	if n < 0 {
		n = 0
	}
	for n > 0 && !utf8.Valid(b[:n]) {
		n--
	}
	return string(b[:n])
}

// pluginOutput reproduces the agent's combined stdout+stderr plugin output
// limited to capacity bytes (ListCommandInvocations Details). out and errb hold
// at least the first capacity bytes of each stream; outLen and errLen are the
// full sizes, which decide how the space is shared.
func pluginOutput(out []byte, outLen int64, errb []byte, errLen int64, capacity int) string {
	title := ""
	if errLen > 0 {
		title = pluginErrorTitle
	}
	avail := int64(capacity - len(title))
	half := avail / 2
	switch {
	case outLen+errLen < avail:
		return string(out) + title + string(errb)
	case outLen > half && errLen > half:
		n := int((avail - int64(len(pluginErrMarker)) - int64(len(pluginOutMarker))) / 2)
		return validPrefix(out, n) + pluginOutMarker + title + validPrefix(errb, n) + pluginErrMarker
	case outLen < half:
		return string(out) + title + validPrefix(errb, int(avail-int64(len(pluginErrMarker))-outLen)) + pluginErrMarker
	default:
		return validPrefix(out, int(avail-int64(len(pluginOutMarker))-errLen)) + pluginOutMarker + title + string(errb)
	}
}

// readHead reads up to n bytes of a file and reports its full size.
func readHead(name string, n int) ([]byte, int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, fmt.Errorf("open output: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("stat output: %w", err)
	}
	buf := make([]byte, min(int64(n), st.Size()))
	if _, err := io.ReadFull(f, buf); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, 0, fmt.Errorf("read output: %w", err)
	}
	return buf, st.Size(), nil
}

// uploader sends complete outputs to S3 under the agent's key layout:
// <prefix>/<commandId>/<instanceId>/<plugin>/0.<plugin>/stdout|stderr, where
// <plugin> is the plugin name without colons (awsrunShellScript). Observed in
// real StandardOutputUrl values; the agent joins the parts with path.Join and
// uploads a stream only when it is not empty.
type uploader struct {
	client   *s3.Client
	endpoint string
	region   string
}

func newUploader(opts Options) *uploader {
	u := &uploader{endpoint: strings.TrimRight(opts.S3Endpoint, "/"), region: opts.Region, client: opts.S3Client}
	if u.client == nil && u.endpoint != "" {
		region := opts.S3Region
		if region == "" {
			region = opts.Region
		}
		key, secret := opts.S3AccessKeyID, opts.S3SecretAccessKey
		if key == "" {
			key, secret = "ssmemu", "ssmemu-secret"
		}
		u.client = s3.New(s3.Options{
			Region:                     region,
			BaseEndpoint:               aws.String(u.endpoint),
			UsePathStyle:               true,
			Credentials:                credentials.NewStaticCredentialsProvider(key, secret, ""),
			RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
			ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		})
	}
	return u
}

func (u *uploader) regionFor(c *command) string {
	if c.bucket == "" {
		return ""
	}
	if c.s3Region != "" {
		return c.s3Region
	}
	return u.region
}

func outputKey(c *command, instanceID, stream string) string {
	dir := c.doc.s3Dir()
	return path.Join(c.keyPrefix, c.id, instanceID, dir, "0."+dir, stream)
}

// url is where a client finds the object: path-style on the configured
// endpoint, or the AWS form when there is none.
func (u *uploader) url(bucket, key string) string {
	if u.endpoint != "" {
		return u.endpoint + "/" + bucket + "/" + key
	}
	return "https://s3." + u.region + ".amazonaws.com/" + bucket + "/" + key
}

func (u *uploader) put(ctx context.Context, bucket, key, file string) error {
	if u.client == nil {
		return nil
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("open %s: %w", file, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", file, err)
	}
	if st.Size() == 0 {
		return nil
	}
	_, err = u.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(key),
		Body:          f,
		ContentLength: aws.Int64(st.Size()),
		ContentType:   aws.String("text/plain; charset=utf-8"),
	})
	if err != nil {
		return fmt.Errorf("upload s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}
