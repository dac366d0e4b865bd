// Package startcmd turns start commands and hooks into the argument
// vectors ferry runs without a shell — words, quotes and $VARS (Words,
// Vars, Expand) — and resolves their program to the release venv's own
// (Resolve). The agent links it, so it uses no regular expressions (they
// are a tenth of the agent's download): the matchers below are written by
// hand and held to the expressions they stand for in match_test.go.
package startcmd

import "strings"

func isNameStart(b byte) bool { return b == '_' || 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' }
func isNameByte(b byte) bool  { return isNameStart(b) || '0' <= b && b <= '9' }
func isDigit(b byte) bool     { return '0' <= b && b <= '9' }

// nameLen is the length of the NAME ([A-Za-z_][A-Za-z0-9_]*) s starts with.
func nameLen(s string) int {
	if s == "" || !isNameStart(s[0]) {
		return 0
	}
	n := 1
	for n < len(s) && isNameByte(s[n]) {
		n++
	}
	return n
}

// wordVar is a variable as Words accepts it at the start of s, as
// ^\$(?:\{(NAME)(?:(:?-)([^{}$"'`]*))?\}|(NAME)) reads it: its length,
// its name, the default's operator (":-", "-" or "") and the default.
type wordVar struct {
	n             int
	name, op, def string
}

func matchWordVar(s string) (wordVar, bool) {
	if len(s) < 2 || s[0] != '$' {
		return wordVar{}, false
	}
	if s[1] != '{' {
		n := nameLen(s[1:])
		if n == 0 {
			return wordVar{}, false
		}
		return wordVar{n: 1 + n, name: s[1 : 1+n]}, true
	}
	rest := s[2:]
	n := nameLen(rest)
	if n == 0 || n == len(rest) {
		return wordVar{}, false
	}
	v := wordVar{name: rest[:n]}
	i := n
	switch {
	case rest[i] == '}':
		v.n = 2 + i + 1
		return v, true
	case strings.HasPrefix(rest[i:], ":-"):
		v.op = ":-"
	case rest[i] == '-':
		v.op = "-"
	default:
		return wordVar{}, false
	}
	i += len(v.op)
	j := i
	for j < len(rest) && !strings.ContainsRune("{}$\"'`", rune(rest[j])) {
		j++
	}
	if j == len(rest) || rest[j] != '}' {
		return wordVar{}, false
	}
	v.def = rest[i:j]
	v.n = 2 + j + 1
	return v, true
}

// dottedDigits reports whether s is made of digits and dots only.
func dottedDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) && s[i] != '.' {
			return false
		}
	}
	return true
}

// interpreterNamed reports whether prog is base (python, pythonw) with a
// version of digits and dots and an optional .exe, in any case:
// ^(?i)BASE[0-9.]*(\.exe)?$.
func interpreterNamed(prog, base string) bool {
	l := strings.ToLower(prog)
	rest, ok := strings.CutPrefix(l, base)
	if !ok {
		return false
	}
	if dottedDigits(rest) {
		return true
	}
	v, ok := strings.CutSuffix(rest, ".exe")
	return ok && dottedDigits(v)
}

// launcherVersion reports whether s is the py launcher's version selector
// (-3, -3.12, -3.12-64, -V:3.12): ^-([0-9]+(\.[0-9]+)?(-(32|64))?|V:\S+)$.
func launcherVersion(s string) bool {
	rest, ok := strings.CutPrefix(s, "-")
	if !ok {
		return false
	}
	if tag, ok := strings.CutPrefix(rest, "V:"); ok && tag != "" && !strings.ContainsAny(tag, "\t\n\f\r ") {
		return true
	}
	digits := func(s string) int {
		n := 0
		for n < len(s) && isDigit(s[n]) {
			n++
		}
		return n
	}
	n := digits(rest)
	if n == 0 {
		return false
	}
	rest = rest[n:]
	if strings.HasPrefix(rest, ".") {
		if m := digits(rest[1:]); m > 0 {
			rest = rest[1+m:]
		}
	}
	return rest == "" || rest == "-32" || rest == "-64"
}
