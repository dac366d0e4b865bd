package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/ferryhq/ferry/internal/config"
	"github.com/ferryhq/ferry/internal/text"
)

// What ferry writes never shows a secret: the values of the app's
// variables (env: may hold secrets, whatever the docs say) and the
// credentials in URLs. Names stay. Every stream and file ferry writes
// goes through one redactor per run: stdout and stderr (redactWriter),
// the --json envelope (redactJSON, which also hides every value of a
// release's recorded variables), the job summary and the report files.
// The rules are the agent's (internal/agent/secrets.go), so that both
// sides hide the same things the same way: values of at least minSecret
// bytes, shorter ones too for names that say they are secrets, URL
// passwords and tokens, all replaced by ***.

// redacted is what a secret is replaced with.
const redacted = "***"

// minSecret is the shortest value of an ordinary variable hidden in free
// text: shorter ones (a port, "true", "1") would mangle every message
// they happen to appear in and hide nothing.
const minSecret = 6

// secretName is a variable whose value is a secret however short it is.
var secretName = text.Pattern(`(?i)pass|secret|token|key|cred|auth|private|dsn|cookie|session|signature`)

// redactor holds the secrets of one run.
type redactor struct {
	mu     sync.Mutex
	values []string // longest first
}

// addConfig makes the secrets of a ferry.yml known: every environment's
// variables and the credentials of its URLs.
func (r *redactor) addConfig(cfg *config.Config) {
	if r == nil || cfg == nil {
		return
	}
	// The app's and the environments' names are in ferry.yml as names: a
	// variable that holds one (ENVIRONMENT: production) hides nothing.
	names := append([]string{cfg.App}, cfg.EnvironmentNames()...)
	r.addVars(cfg.Env, names)
	for _, name := range cfg.EnvironmentNames() {
		e := cfg.Environments[name]
		r.addVars(e.Env, names)
		if e.SSM != nil {
			r.addURL(e.SSM.Repository)
		}
	}
	r.addURL(cfg.Pip.IndexURL)
	r.addURL(cfg.Health.URL)
}

func (r *redactor) addVars(vars map[string]string, names []string) {
	for k, v := range vars {
		if slices.Contains(names, v) && !secretName().MatchString(k) {
			continue
		}
		if len(v) >= minSecret || (secretName().MatchString(k) && len(v) >= 3) {
			r.add(v)
		}
	}
}

// addURL makes the password (or the token given as a user) of a URL a
// known secret, also where it appears without the URL.
func (r *redactor) addURL(raw string) {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return
	}
	user, pass, hasPass := strings.Cut(rest[:at], ":")
	secret := user
	if hasPass {
		secret = pass
	}
	if len(secret) >= 3 {
		r.add(secret)
		if u, err := url.PathUnescape(secret); err == nil {
			r.add(u)
		}
	}
}

func (r *redactor) add(v string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v != "" && !slices.Contains(r.values, v) {
		r.values = append(r.values, v)
		slices.SortFunc(r.values, func(a, b string) int { return len(b) - len(a) })
	}
}

// text is s without secrets.
func (r *redactor) text(s string) string {
	if r != nil {
		r.mu.Lock()
		for _, v := range r.values {
			s = strings.ReplaceAll(s, v, redacted)
		}
		r.mu.Unlock()
	}
	return config.RedactURL(s)
}

// redactWriter redacts each write. ferry writes a message in one call
// (fmt.Fprintf), so a secret is never split between two.
type redactWriter struct {
	w io.Writer
	r *redactor
}

func (w redactWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(w.w, w.r.text(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// redactJSON is JSON b with every string redacted and every value of a
// recorded release's variables (…run.env) hidden, keys in their order,
// indented as the envelope is. Numbers and names are left as they are.
func (r *redactor) redactJSON(b []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out bytes.Buffer
	if err := r.jsonValue(dec, &out, nil); err != nil {
		return nil, err
	}
	var ind bytes.Buffer
	if err := json.Indent(&ind, out.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	ind.WriteByte('\n')
	return ind.Bytes(), nil
}

func (r *redactor) jsonValue(dec *json.Decoder, out *bytes.Buffer, path []string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			out.WriteByte('{')
			for i := 0; dec.More(); i++ {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key, ok := k.(string)
				if !ok {
					return errors.New("redact: an object key is not a string")
				}
				if i > 0 {
					out.WriteByte(',')
				}
				writeJSONString(out, key)
				out.WriteByte(':')
				if err := r.jsonValue(dec, out, append(path, key)); err != nil {
					return err
				}
			}
			out.WriteByte('}')
		case '[':
			out.WriteByte('[')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					out.WriteByte(',')
				}
				if err := r.jsonValue(dec, out, path); err != nil {
					return err
				}
			}
			out.WriteByte(']')
		}
		_, err := dec.Token() // the closing delimiter
		return err
	case string:
		if n := len(path); n >= 3 && path[n-2] == "env" && path[n-3] == "run" {
			t = redacted // a release's recorded variable: never its value
		}
		writeJSONString(out, r.text(t))
	case json.Number:
		out.WriteString(t.String())
	case bool:
		if t {
			out.WriteString("true")
		} else {
			out.WriteString("false")
		}
	case nil:
		out.WriteString("null")
	}
	return nil
}

func writeJSONString(out *bytes.Buffer, s string) {
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	out.Truncate(out.Len() - 1) // Encode's newline
}
