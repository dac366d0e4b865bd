package agent

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// Each hand-written check stands for a regular expression (shape.go says
// why): the same answers on generated strings made of the bytes that
// matter, and on edge cases.
func TestShapesMatchTheirRegexps(t *testing.T) {
	t.Parallel()
	shapes := map[string]shape{
		`^([0-9a-f]{40}|[0-9a-f]{64})$`:        hexSHA,
		`^[0-9a-f]{64}$`:                       hex64,
		`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`:    nameRe,
		`^[A-Za-z_][A-Za-z0-9_]{0,127}$`:       varRe,
		`^[0-9A-Za-z][0-9A-Za-z-]{3,79}$`:      toRe,
		`^[A-Za-z0-9_][A-Za-z0-9_./-]{0,254}$`: branchRe,
		`^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$`:   serviceNameRe,
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := "0af9AZgz_.-/+:@ ${}\x00\xff\u00e9"
	for expr, sh := range shapes {
		re := regexp.MustCompile(expr)
		for range 20000 {
			s := gen(r, alphabet, []int{0, 1, 3, 4, 39, 40, 41, 63, 64, 65, 80, 81, 128, 129, 201, 202, 255, 256}[r.IntN(18)])
			if r.IntN(3) == 0 { // mostly valid bytes, so matches happen
				s = gen(r, "0123456789abcdef", len(s))
			}
			if got, want := sh.MatchString(s), re.MatchString(s); got != want {
				t.Fatalf("%s on %q: %v, the regexp says %v", expr, s, got, want)
			}
		}
	}
}

func TestExpandAndRedactMatchTheirRegexps(t *testing.T) {
	t.Parallel()
	healthVar := regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)
	urlCreds := regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)([^/\s:@]*)(:[^/\s@]*)?@`)
	byRegexp := func(s string) string {
		return urlCreds.ReplaceAllStringFunc(s, func(m string) string {
			sub := urlCreds.FindStringSubmatch(m)
			if sub[3] == "" {
				if sub[2] == "" {
					return m
				}
				return sub[1] + "***@"
			}
			return sub[1] + sub[2] + ":***@"
		})
	}
	cases := []string{
		"http://127.0.0.1:${PORT}/health", "${A}${B_1}${1X}${}${ A}$${X}${X", "https://user:pa:ss@host/x https://tok@h ftp://@h",
		"1abc://u:p@h", "x+y.z-w://u@h", "a://x b://u:p@h", "://u:p@h", "h://u:p/x@y", "h://u\t:p@y", "postgres://u:p@db:5432/x?sslmode=disable",
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 30000 {
		cases = append(cases, gen(r, "ab1+.-:/@ \t${}_X9", r.IntN(24)))
	}
	for _, s := range cases {
		if got, want := expandVars(s, func(n string) string { return "<" + n + ">" }),
			healthVar.ReplaceAllStringFunc(s, func(m string) string { return "<" + m[2:len(m)-1] + ">" }); got != want {
			t.Fatalf("expandVars(%q) = %q, the regexp gives %q", s, got, want)
		}
		if got, want := redactURL(s), byRegexp(s); got != want {
			t.Fatalf("redactURL(%q) = %q, the regexp gives %q", s, got, want)
		}
	}
	secretName := regexp.MustCompile(`(?i)pass|secret|token|key|cred|auth|private|dsn|cookie|session|signature`)
	for _, s := range []string{"DB_PASSWORD", "api_Key", "PORT", "AUTHOR", "x", "SESSION_ID", "monkey", "DEBUG", "Signature"} {
		if looksSecret(s) != secretName.MatchString(s) {
			t.Errorf("looksSecret(%q) = %v", s, looksSecret(s))
		}
	}
}

func gen(r *rand.Rand, alphabet string, n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(alphabet[r.IntN(len(alphabet))])
	}
	return b.String()
}
