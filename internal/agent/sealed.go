package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"
)

// Sealed is a reference to the secret part of a spec: a URL (https, a
// presigned S3 GET; file for a local target; http only to a loopback
// address) and the SHA-256 of what it serves, a JSON object:
//
//	{"vars": {"NAME": "value", ...}, "pip_index_url": "https://…", "health_url": "https://…"}
//
// every key optional, unknown keys refused. The agent downloads it
// before anything else, verifies the digest, merges it into the spec (its
// variables over the spec's, its URLs instead of the spec's) and
// validates the result like any spec. So nothing secret is on the SSM
// command line, in SSM's history, or in the process list.
type Sealed struct {
	URL    string `json:"url"`
	SHA256 string `json:"sha256"`
}

// sealedDoc is what a Sealed URL serves.
type sealedDoc struct {
	Vars        map[string]string `json:"vars,omitempty"`
	PipIndexURL string            `json:"pip_index_url,omitempty"`
	HealthURL   string            `json:"health_url,omitempty"`
}

// maxSealed bounds the download, like a spec.
const maxSealed = maxSpec

func checkSealedURL(raw string) error {
	if err := checkURL(raw, "https", "http", "file"); err != nil {
		return err
	}
	u, _ := url.Parse(raw)
	if u.Scheme == "http" {
		if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("%q: plain http only to a loopback address; use https", truncate(redactURL(raw), 60))
		}
	}
	return nil
}

// unseal fetches the spec's sealed part, checks it and merges it in.
func unseal(ctx context.Context, s Spec) (Spec, error) {
	b, err := fetchSealed(ctx, s.Sealed.URL)
	if err != nil {
		return s, fmt.Errorf("fetch the sealed spec: %w", err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != s.Sealed.SHA256 {
		return s, fmt.Errorf("the sealed spec's SHA-256 is %s, want %s", got, s.Sealed.SHA256)
	}
	var doc sealedDoc
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return s, fmt.Errorf("the sealed spec is not valid JSON: %w", err)
	}
	if len(doc.Vars) > 0 {
		vars := maps.Clone(s.Vars)
		if vars == nil {
			vars = map[string]string{}
		}
		maps.Copy(vars, doc.Vars)
		s.Vars = vars
	}
	if doc.PipIndexURL != "" {
		s.Pip.IndexURL = doc.PipIndexURL
	}
	if doc.HealthURL != "" {
		s.Health.URL = doc.HealthURL
	}
	if s.Health.URL == "" {
		return s, errors.New("health.url is in neither the spec nor its sealed part")
	}
	return s, nil
}

func fetchSealed(ctx context.Context, raw string) ([]byte, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	var body io.ReadCloser
	if u.Scheme == "file" {
		if body, err = os.Open(fileURLPath(u)); err != nil {
			return nil, err
		}
	} else {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
		if err != nil {
			return nil, err
		}
		resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
		if err != nil {
			// Not the URL: a presigned one's signature is a credential.
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		body = resp.Body
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, maxSealed+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSealed {
		return nil, fmt.Errorf("it is more than %d bytes", maxSealed)
	}
	return b, nil
}
