package startcmd

import (
	"errors"
	"fmt"
	"strings"
)

// Words splits a start command (or a hook written as one line) into the
// argument vector ferry runs without a shell: words and quotes as a POSIX
// shell reads them, and variables kept for the agent to fill in on the
// server from the app's environment ($PORT, ${PORT}, ${PORT:-8000}, in
// double quotes too). Operators, redirections, globs and command
// substitution are refused rather than ignored: nothing runs a shell.
//
// In the words it returns, a variable is written $NAME or ${NAME...} and
// a literal dollar sign (single-quoted, or escaped) is written $$, which
// Expand turns back into one.
func Words(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case ch == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(strings.ReplaceAll(s[i+1:i+1+j], "$", "$$"))
			i += j + 1
			inWord = true
		case ch == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				switch {
				case s[i] == '\\' && i+1 < len(s) && s[i+1] == '$':
					i++
					cur.WriteString("$$")
				case s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`"\`, s[i+1]) >= 0:
					i++
					cur.WriteByte(s[i])
				case s[i] == '$':
					n, err := variable(s[i:])
					if err != nil {
						return nil, err
					}
					cur.WriteString(s[i : i+n])
					i += n - 1
				case s[i] == '`':
					return nil, errors.New("\"`\" is shell syntax; ferry runs the command without a shell")
				default:
					cur.WriteByte(s[i])
				}
			}
			if i >= len(s) {
				return nil, errors.New("unterminated double quote")
			}
			inWord = true
		case ch == '$':
			n, err := variable(s[i:])
			if err != nil {
				return nil, err
			}
			cur.WriteString(s[i : i+n])
			i += n - 1
			inWord = true
		case strings.IndexByte("|&;<>()`\n*?", ch) >= 0:
			return nil, fmt.Errorf("%q is shell syntax; ferry runs the command without a shell", string(ch))
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return nil, errors.New("is empty")
	}
	return words, nil
}

// variable returns the length of the variable s starts with; a dollar
// followed by anything else is refused: $(…) runs a command, $1 or $*
// mean nothing without a shell.
func variable(s string) (int, error) {
	if v, ok := matchWordVar(s); ok {
		return v.n, nil
	}
	if strings.HasPrefix(s, "$(") {
		return 0, errors.New("\"$(\" is shell syntax; ferry runs the command without a shell")
	}
	return 0, fmt.Errorf("%q is not a variable ferry fills in: write $NAME or ${NAME}, or quote a literal dollar sign in single quotes", truncate(s, 12))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Vars lists the variables words use, in order, each once: the agent
// checks them before it runs anything.
func Vars(words []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range words {
		for i := 0; i < len(w); i++ {
			if w[i] != '$' {
				continue
			}
			if i+1 < len(w) && w[i+1] == '$' {
				i++
				continue
			}
			m, ok := matchWordVar(w[i:])
			if !ok {
				continue
			}
			if m.op == "" && !seen[m.name] {
				seen[m.name] = true
				out = append(out, m.name)
			}
			i += m.n - 1
		}
	}
	return out
}

// Expand fills in the variables of words (as Words writes them) from
// lookup: $$ becomes $, a variable lookup does not know takes its default
// when it has one, and is an error otherwise, naming it, so that an app
// never starts with "--port=" and no port.
func Expand(words []string, lookup func(string) (string, bool)) ([]string, error) {
	out := make([]string, len(words))
	var missing []string
	for wi, w := range words {
		if !strings.Contains(w, "$") {
			out[wi] = w
			continue
		}
		var b strings.Builder
		for i := 0; i < len(w); i++ {
			if w[i] != '$' {
				b.WriteByte(w[i])
				continue
			}
			if i+1 < len(w) && w[i+1] == '$' {
				b.WriteByte('$')
				i++
				continue
			}
			m, found := matchWordVar(w[i:])
			if !found {
				b.WriteByte('$') // a lone dollar from an older spec: as written
				continue
			}
			v, ok := lookup(m.name)
			switch {
			case ok && (v != "" || m.op != ":-"):
				b.WriteString(v)
			case m.op != "":
				b.WriteString(m.def)
			default:
				missing = append(missing, m.name)
			}
			i += m.n - 1
		}
		out[wi] = b.String()
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("$%s is not set: the command uses it, and neither env: in ferry.yml nor the env file gives it", strings.Join(missing, ", $"))
	}
	return out, nil
}
