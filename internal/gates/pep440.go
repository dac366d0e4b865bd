package gates

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/ferryhq/ferry/internal/text"
)

// pyVersion is a parsed PEP 440 version. The local segment is kept for
// display but never compared: advisories name public versions.
type pyVersion struct {
	epoch   uint64
	release []uint64
	// pre is the pre-release phase (0 a, 1 b, 2 rc) and number; hasPre says
	// whether there is one.
	hasPre  bool
	prePh   int
	preN    uint64
	hasPost bool
	postN   uint64
	hasDev  bool
	devN    uint64
	local   string
}

// pep440Re follows PEP 440's permissive syntax: any case, optional leading
// v, and the separators (., -, _) and spellings (alpha, c, rev, ...) that
// normalize to the canonical form.
var pep440Re = text.Pattern(`(?i)^\s*v?` +
	`(?:(\d+)!)?` + // epoch
	`(\d+(?:\.\d+)*)` + // release
	`(?:[-_.]?(alpha|beta|preview|pre|a|b|c|rc)[-_.]?(\d+)?)?` + // pre-release
	`(?:-(\d+)|[-_.]?(post|rev|r)[-_.]?(\d+)?)?` + // post-release
	`(?:[-_.]?(dev)[-_.]?(\d+)?)?` + // development release
	`(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$`) // local version

func parseNum(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

// parsePEP440 parses a version string; the error names the string, for
// advisories or requirements that do not follow PEP 440.
func parsePEP440(s string) (pyVersion, error) {
	m := pep440Re().FindStringSubmatch(s)
	if m == nil {
		return pyVersion{}, fmt.Errorf("%q is not a PEP 440 version", s)
	}
	var v pyVersion
	var err error
	bad := func(e error) bool {
		if e != nil && err == nil {
			err = fmt.Errorf("%q: number out of range", s)
		}
		return e != nil
	}
	var e error
	v.epoch, e = parseNum(m[1])
	bad(e)
	for _, part := range strings.Split(m[2], ".") {
		n, e := parseNum(part)
		bad(e)
		v.release = append(v.release, n)
	}
	if m[3] != "" {
		v.hasPre = true
		switch strings.ToLower(m[3]) {
		case "a", "alpha":
			v.prePh = 0
		case "b", "beta":
			v.prePh = 1
		default: // c, rc, pre, preview
			v.prePh = 2
		}
		v.preN, e = parseNum(m[4])
		bad(e)
	}
	switch {
	case m[5] != "":
		v.hasPost = true
		v.postN, e = parseNum(m[5])
		bad(e)
	case m[6] != "":
		v.hasPost = true
		v.postN, e = parseNum(m[7])
		bad(e)
	}
	if m[8] != "" {
		v.hasDev = true
		v.devN, e = parseNum(m[9])
		bad(e)
	}
	v.local = strings.ToLower(m[10])
	if err != nil {
		return pyVersion{}, err
	}
	return v, nil
}

// String renders the canonical form, e.g. "1!2.0rc1.post2.dev3+local".
func (v pyVersion) String() string {
	var b strings.Builder
	if v.epoch != 0 {
		fmt.Fprintf(&b, "%d!", v.epoch)
	}
	for i, n := range v.release {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.FormatUint(n, 10))
	}
	if v.hasPre {
		fmt.Fprintf(&b, "%s%d", [...]string{"a", "b", "rc"}[v.prePh], v.preN)
	}
	if v.hasPost {
		fmt.Fprintf(&b, ".post%d", v.postN)
	}
	if v.hasDev {
		fmt.Fprintf(&b, ".dev%d", v.devN)
	}
	if v.local != "" {
		b.WriteString("+" + v.local)
	}
	return b.String()
}

// sortKey places the suffixes on one scale per PEP 440's ordering:
// X.devN < X.aN < X.bN < X.rcN < X < X.postN, where a dev release of a
// pre- or post-release sorts just before that pre- or post-release.
func (v pyVersion) sortKey() [6]int64 {
	const lo, hi = math.MinInt64, math.MaxInt64
	var k [6]int64
	switch {
	case !v.hasPre && !v.hasPost && v.hasDev:
		k[0], k[1] = lo, 0 // 1.0.dev1 sorts before 1.0a1
	case !v.hasPre:
		k[0], k[1] = hi, 0 // final (or post) sorts after every pre-release
	default:
		k[0], k[1] = int64(v.prePh), clamp(v.preN)
	}
	if v.hasPost {
		k[2], k[3] = 1, clamp(v.postN)
	} else {
		k[2], k[3] = 0, 0
	}
	if v.hasDev {
		k[4], k[5] = 0, clamp(v.devN)
	} else {
		k[4], k[5] = 1, 0
	}
	return k
}

func clamp(n uint64) int64 {
	if n > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(n)
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareVersions orders two versions: -1, 0 or 1. Trailing zeros of the
// release do not count (1.0 == 1.0.0), nor does the local segment.
func compareVersions(a, b pyVersion) int {
	if c := cmpUint(a.epoch, b.epoch); c != 0 {
		return c
	}
	n := max(len(a.release), len(b.release))
	for i := 0; i < n; i++ {
		var x, y uint64
		if i < len(a.release) {
			x = a.release[i]
		}
		if i < len(b.release) {
			y = b.release[i]
		}
		if c := cmpUint(x, y); c != 0 {
			return c
		}
	}
	ka, kb := a.sortKey(), b.sortKey()
	for i := range ka {
		switch {
		case ka[i] < kb[i]:
			return -1
		case ka[i] > kb[i]:
			return 1
		}
	}
	return 0
}

// compareVersionStrings compares two version strings; ok is false when
// either is not a PEP 440 version.
func compareVersionStrings(a, b string) (c int, ok bool) {
	va, err := parsePEP440(a)
	if err != nil {
		return 0, false
	}
	vb, err := parsePEP440(b)
	if err != nil {
		return 0, false
	}
	return compareVersions(va, vb), true
}
