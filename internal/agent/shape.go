package agent

import "strings"

// The agent checks names, digests and placeholders by hand instead of
// with the regexp package: regexp and its tables are about 110 KB of the
// gzipped agent every server downloads, which keeps it under its 3 MB
// budget (agentbin.MaxCompressedSize). shape_test.go holds each of these
// to the regular expression it stands for, on generated inputs.

// class is a set of bytes, written like a regexp class body: "A-Za-z0-9_".
type class [256]bool

func newClass(spec string) *class {
	var c class
	for i := 0; i < len(spec); i++ {
		if i+2 < len(spec) && spec[i+1] == '-' {
			for b := int(spec[i]); b <= int(spec[i+2]); b++ {
				c[b] = true
			}
			i += 2
			continue
		}
		c[spec[i]] = true
	}
	return &c
}

// shape is a word of Min to Max bytes whose first byte is in First and
// the others in Rest: ^[First][Rest]{Min-1,Max-1}$. Lens, when set,
// lists the only lengths allowed.
type shape struct {
	first, rest *class
	min, max    int
	lens        []int
}

// MatchString reports whether s has the shape (the name regexp's).
func (p shape) MatchString(s string) bool {
	if len(s) < p.min || len(s) > p.max {
		return false
	}
	if p.lens != nil && !contains(p.lens, len(s)) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := p.rest
		if i == 0 {
			c = p.first
		}
		if !c[s[i]] {
			return false
		}
	}
	return true
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

var (
	lowerHex = newClass("0-9a-f")
	alnum    = newClass("A-Za-z0-9")
	letters  = newClass("A-Za-z")
	varFirst = newClass("A-Za-z_")
	varRest  = newClass("A-Za-z0-9_")
	// spaces is regexp's \s: tab, newline, form feed, carriage return, space.
	spaces = "\t\n\f\r "
	// schemeRest is what follows a URL scheme's first letter.
	schemeRest = newClass("A-Za-z0-9+.-")
)

// expandVars replaces each ${NAME} in s (NAME: a letter or _, then
// letters, digits and _) with value(NAME); anything else stays as it is.
func expandVars(s string, value func(name string) string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		rest := s[i+2:]
		n := 0
		for n < len(rest) && (n == 0 && varFirst[rest[n]] || n > 0 && varRest[rest[n]]) {
			n++
		}
		if n > 0 && n < len(rest) && rest[n] == '}' {
			b.WriteString(value(rest[:n]))
			s = rest[n+1:]
			continue
		}
		b.WriteString("$")
		s = s[i+1:]
	}
}

// replaceURLCreds finds each scheme://user[:password]@ in s, as
// ([A-Za-z][A-Za-z0-9+.-]*://)([^/\s:@]*)(:[^/\s@]*)?@ does, and writes
// what repl returns for its scheme (with "://"), user and password (with
// its ":", or "" when there is none) in its place.
func replaceURLCreds(s string, repl func(scheme, user, pass string) string) string {
	var b strings.Builder
	done := 0 // s[:done] is written
	from := 0 // where to look for the next "://"
	for {
		j := strings.Index(s[from:], "://")
		if j < 0 {
			break
		}
		j += from
		// The scheme: the leftmost letter of the run of scheme bytes
		// before "://", not before what was already replaced.
		start := j
		for start > done && schemeRest[s[start-1]] {
			start--
		}
		for start < j && !letters[s[start]] {
			start++
		}
		if start == j {
			from = j + 1
			continue
		}
		k := j + 3
		u := k
		for u < len(s) && !strings.ContainsRune(spaces+"/:@", rune(s[u])) {
			u++
		}
		end, pass := -1, ""
		if u < len(s) && s[u] == '@' {
			end = u
		} else if u < len(s) && s[u] == ':' {
			p := u + 1
			for p < len(s) && !strings.ContainsRune(spaces+"/@", rune(s[p])) {
				p++
			}
			if p < len(s) && s[p] == '@' {
				end, pass = p, s[u:p]
			}
		}
		if end < 0 {
			from = j + 1
			continue
		}
		b.WriteString(s[done:start])
		b.WriteString(repl(s[start:k], s[k:u], pass))
		done, from = end+1, end+1
	}
	b.WriteString(s[done:])
	return b.String()
}

// secretWords mark a variable whose value is a secret however short.
var secretWords = []string{"pass", "secret", "token", "key", "cred", "auth", "private", "dsn", "cookie", "session", "signature"}

// looksSecret reports whether a variable's name contains one of
// secretWords, in any case.
func looksSecret(name string) bool {
	l := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}
