package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// payloadFunc builds a webhook's JSON body (and extra headers) for one
// delivery.
type payloadFunc func(d *delivery) ([]byte, error)

// httpChannel sets ch up to POST JSON to the URL in $urlEnv, signed with
// the secret in $secretEnv when one is named.
func (n *Notifier) httpChannel(ch *channel, urlEnv, secretEnv string, payload payloadFunc) {
	ch.label = "$" + urlEnv
	rawURL := n.opts.Getenv(urlEnv)
	var secret string
	if secretEnv != "" {
		secret = n.opts.Getenv(secretEnv)
	}
	ch.redact = newRedactor(rawURL, secret)
	switch u, err := url.Parse(rawURL); {
	case rawURL == "":
		ch.missing = fmt.Errorf("%s is not set", urlEnv)
		return
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		// Never the value: it may be a secret with a typo.
		ch.missing = fmt.Errorf("%s does not hold an http(s) URL", urlEnv)
		return
	case secretEnv != "" && secret == "":
		ch.missing = fmt.Errorf("%s is not set: the webhook is not sent unsigned", secretEnv)
		return
	}
	ch.send = func(ctx context.Context, d *delivery) error {
		body, err := payload(d)
		if err != nil {
			return permanent(fmt.Errorf("build the payload: %w", err))
		}
		h := http.Header{}
		if ch.kind == "webhook" {
			h.Set("X-Ferry-Event", string(d.Msg.Event))
			h.Set("X-Ferry-Delivery", d.ID)
			if secret != "" {
				// Signed per attempt: a retry carries a fresh timestamp, so
				// a receiver's replay window does not reject it.
				ts := strconv.FormatInt(n.opts.Now().Unix(), 10)
				h.Set(HeaderTimestamp, ts)
				h.Set(HeaderSignature, Sign(secret, ts, body))
			}
		}
		return n.post(ctx, rawURL, body, h)
	}
}

// post sends one request. Errors never hold the URL: url.Error's is
// dropped, and the redactor catches the rest.
func (n *Notifier) post(ctx context.Context, rawURL string, body []byte, h http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return permanent(errors.New("the URL cannot be requested"))
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ferry")
	resp, err := n.opts.HTTPClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so the connection is reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("the webhook answered %s", resp.Status)
	if s := strings.TrimSpace(string(snippet)); s != "" {
		err = fmt.Errorf("%w: %s", err, strings.Join(strings.Fields(s), " "))
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return errRetryAfter{err, retryAfter(resp.Header.Get("Retry-After"))}
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusRequestTimeout:
		return err
	}
	// 4xx: a wrong URL, a removed channel, a payload it refuses.
	return permanent(err)
}

// retryAfter reads Retry-After's seconds form, capped: a server asking
// for an hour gets the notification bound instead.
func retryAfter(v string) time.Duration {
	s, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || s <= 0 {
		return 0
	}
	return min(time.Duration(s)*time.Second, time.Minute)
}
