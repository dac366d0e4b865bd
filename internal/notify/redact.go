package notify

import (
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
)

// redactor removes a channel's secrets from every text that leaves the
// package (results, logs). Webhook URLs are secrets whole — Slack's path
// and Teams' sig= parameter are the credential — so their parts are
// redacted too, in the forms net/http and url.Error print them.
type redactor struct{ secrets []string }

const redacted = "[redacted]"

// minSecret is the shortest value redacted: replacing every "a" of an
// error message for a one-letter password would garble it and hide
// nothing worth hiding.
const minSecret = 3

func newRedactor(values ...string) redactor {
	var r redactor
	add := func(s string) {
		if len(s) >= minSecret {
			r.secrets = append(r.secrets, s)
		}
	}
	for _, v := range values {
		add(v)
		add(url.QueryEscape(v))
		add(url.PathEscape(v))
		if u, err := url.Parse(v); err == nil && u.Host != "" {
			if len(u.Path) > 1 {
				add(u.Path)
				add(u.EscapedPath())
			}
			add(u.RawQuery)
			for _, vals := range u.Query() {
				for _, qv := range vals {
					if len(qv) >= 6 {
						add(qv)
						add(url.QueryEscape(qv))
					}
				}
			}
			if u.User != nil {
				add(u.User.String())
			}
		}
	}
	// Longest first, so a URL goes whole before its parts are looked for.
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
	return r
}

// plainAuthSecret is what PLAIN auth sends on the wire, in case a server
// echoes it back in an error.
func plainAuthSecret(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

func (r redactor) String(s string) string {
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, redacted)
	}
	return s
}
