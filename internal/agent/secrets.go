package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/ferryhq/ferry/internal/fslink"
	"github.com/ferryhq/ferry/internal/text"
)

// Secrets: the values of env: may be secrets, and URLs carry credentials
// (a health check behind basic auth, a private package index). None of
// them is written where others read: state.json and what status and
// releases answer keep the variables' NAMES (RunConfig.VarNames) and URLs
// with their passwords replaced by ***; the values a later start or
// rollback needs go to secrets/<release>.json, readable by the agent's
// account only (Linux: 0600 in a 0700 directory; Windows: a protected
// DACL granting SYSTEM, Administrators and the agent's own account, see
// fslink.WritePrivate). Every event and result the agent writes passes
// through a redactor that replaces the values and URL passwords it knows.

// releaseSecrets is what secrets/<release>.json holds.
type releaseSecrets struct {
	Vars      map[string]string `json:"vars,omitempty"`
	HealthURL string            `json:"health_url,omitempty"`
}

func (l layout) secrets() string            { return filepath.Join(l.root, "secrets") }
func (l layout) secretsOf(id string) string { return filepath.Join(l.root, "secrets", id+".json") }

// writeSecrets records what release id needs to run that no one else may
// read.
func (l layout) writeSecrets(id string, s releaseSecrets) error {
	if err := fslink.MakePrivateDir(l.secrets()); err != nil {
		return fmt.Errorf("secrets directory: %w", err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := fslink.WritePrivate(l.secretsOf(id), b); err != nil {
		return fmt.Errorf("write the secrets of %s: %w", id, err)
	}
	return nil
}

func (l layout) readSecrets(id string) (releaseSecrets, error) {
	var s releaseSecrets
	b, err := os.ReadFile(l.secretsOf(id))
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("secrets of %s: %w", id, err)
	}
	return s, nil
}

// public is release r as a result may show it: a record an older agent
// wrote, with the values in it, shows the names only.
func public(r Release) Release {
	if r.Run != nil && (len(r.Run.LegacyVars) > 0 || redactURL(r.Run.Health.URL) != r.Run.Health.URL) {
		full := *r.Run
		full.Vars, full.LegacyVars = r.Run.LegacyVars, nil
		r.Run, _ = sealRun(&full)
	}
	return r
}

// sealRun splits how a release runs into what may be recorded (names,
// redacted URL) and what may not (values, the URL itself).
func sealRun(rc *RunConfig) (*RunConfig, releaseSecrets) {
	pub := *rc
	sec := releaseSecrets{Vars: rc.Vars}
	pub.Vars = nil
	pub.VarNames = slices.Sorted(maps.Keys(rc.Vars))
	if red := redactURL(rc.Health.URL); red != rc.Health.URL {
		sec.HealthURL = rc.Health.URL
		pub.Health.URL = red
	}
	return &pub, sec
}

// urlCreds finds the password of a URL written into any text:
// scheme://user:password@ (and a token alone: scheme://token@).
var urlCreds = text.Pattern(`([A-Za-z][A-Za-z0-9+.-]*://)([^/\s:@]*)(:[^/\s@]*)?@`)

// redactURL replaces the password of every URL in s with ***, and a user
// given without a password (a token) too.
func redactURL(s string) string {
	return urlCreds().ReplaceAllStringFunc(s, func(m string) string {
		sub := urlCreds().FindStringSubmatch(m)
		if sub[3] == "" {
			if sub[2] == "" {
				return m
			}
			return sub[1] + "***@"
		}
		return sub[1] + sub[2] + ":***@"
	})
}

// secretName is a variable whose value is a secret however short it is.
var secretName = text.Pattern(`(?i)pass|secret|token|key|cred|auth|private|dsn|cookie|session|signature`)

// minSecret is the shortest value of an ordinary variable that is
// redacted: shorter ones (a port, "true", "1") would mangle every message
// they happen to appear in and hide nothing.
const minSecret = 6

// redactor replaces known secret values and URL passwords in text.
type redactor struct{ values []string }

// addVars makes vars' values secret (see minSecret, secretName).
func (r *redactor) addVars(vars map[string]string) {
	for k, v := range vars {
		if len(v) >= minSecret || (secretName().MatchString(k) && len(v) >= 3) {
			r.add(v)
		}
	}
}

// spec makes the spec's secrets known: its variables' values and the
// credentials of its URLs.
func (r *redactor) spec(s Spec) {
	r.addVars(s.Vars)
	for _, u := range []string{s.Pip.IndexURL, s.Health.URL, s.Source.URL, s.RunURL} {
		r.addURL(u)
	}
	for _, f := range s.Pip.FindLinks {
		r.addURL(f)
	}
}

// addURL makes the credentials of a URL secret.
func (r *redactor) addURL(raw string) {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return
	}
	if p, ok := u.User.Password(); ok && p != "" {
		r.add(p)
		r.add(url.QueryEscape(p))
	} else if n := u.User.Username(); n != "" && !ok {
		r.add(n)
	}
}

func (r *redactor) add(v string) {
	if v != "" && !slices.Contains(r.values, v) {
		r.values = append(r.values, v)
		// Longest first: a secret that contains another is replaced whole.
		slices.SortFunc(r.values, func(a, b string) int { return len(b) - len(a) })
	}
}

// text is s without secrets.
func (r *redactor) text(s string) string {
	for _, v := range r.values {
		s = strings.ReplaceAll(s, v, "***")
	}
	return redactURL(s)
}

// walk redacts every string reachable from v (a pointer), in place.
func (r *redactor) walk(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			r.walk(v.Elem())
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				r.walk(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			r.walk(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			r.walk(e)
			v.SetMapIndex(k, e)
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString(r.text(v.String()))
		}
	}
}

// result redacts a result in place; Releases and Status are copies made
// for the result, so the state is untouched.
func (r *redactor) result(res *Result) { r.walk(reflect.ValueOf(res)) }

// event redacts an event before it is written.
func (r *redactor) event(ev Event) Event {
	ev.Msg = r.text(ev.Msg)
	if ev.Result != nil {
		c := *ev.Result
		r.result(&c)
		ev.Result = &c
	}
	return ev
}

// errNoSecrets says a release's secrets file is missing: it was deployed
// by an agent that kept values in state.json, or the file was removed.
var errNoSecrets = errors.New("no secrets file")
