package startcmd

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// The hand-written matchers (match.go says why) give the answers of the
// regular expressions they stand for, on generated strings of the bytes
// that matter.
func TestMatchersAgreeWithTheirRegexps(t *testing.T) {
	t.Parallel()
	wordVarRe := regexp.MustCompile("^\\$(?:\\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^{}$\"'\\x60]*))?\\}|([A-Za-z_][A-Za-z0-9_]*))")
	interpRe := regexp.MustCompile(`^(?i)python[0-9.]*(\.exe)?$`)
	windowedRe := regexp.MustCompile(`^(?i)pythonw[0-9.]*(\.exe)?$`)
	launcherVersionRe := regexp.MustCompile(`^-([0-9]+(\.[0-9]+)?(-(32|64))?|V:\S+)$`)
	r := rand.New(rand.NewPCG(5, 6))
	gen := func(alphabet string, n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	for range 40000 {
		s := "$" + gen("${}:-aZ_9'\"` x$.", r.IntN(12))
		v, ok := matchWordVar(s)
		m := wordVarRe.FindStringSubmatch(s)
		if ok != (m != nil) || ok && (v.n != len(m[0]) || v.name != m[1]+m[4] || v.op != m[2] || v.def != m[3]) {
			t.Fatalf("matchWordVar(%q) = %+v %v, the regexp gives %q", s, v, ok, m)
		}
		p := gen("pythonwPYTHONW.exeEXE3 ", r.IntN(14))
		if r.IntN(2) == 0 {
			p = []string{"python", "PythonW", "py"}[r.IntN(3)] + gen("0123456789.exeEXw", r.IntN(7))
		}
		if interpreterNamed(p, "python") != interpRe.MatchString(p) || interpreterNamed(p, "pythonw") != windowedRe.MatchString(p) {
			t.Fatalf("interpreterNamed(%q): %v/%v, the regexps say %v/%v", p, interpreterNamed(p, "python"), interpreterNamed(p, "pythonw"), interpRe.MatchString(p), windowedRe.MatchString(p))
		}
		l := "-" + gen("0123456789.-V:36 42", r.IntN(8))
		if launcherVersion(l) != launcherVersionRe.MatchString(l) {
			t.Fatalf("launcherVersion(%q) = %v, the regexp says %v", l, launcherVersion(l), launcherVersionRe.MatchString(l))
		}
	}
}
