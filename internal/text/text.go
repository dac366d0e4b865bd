// Package text holds the few string cuts that ferry's outputs share: a
// commit's short form, the first line of an error, the last lines of a log.
// They live once here so every output cuts the same way.
//
// The package is standard library only: ferry-agent uses it too.
package text

import (
	"bytes"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
)

// Short is a commit SHA's 12-character form, as git and ferry print it.
func Short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// FirstLine is the first line of s that is not blank, trimmed: the part
// of a multi-line error that fits in a table cell or a step line.
func FirstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// LastLines returns at most n trailing lines of s, without the trailing
// newline (and carriage returns) of the text; nil for empty text.
func LastLines(s string, n int) []string {
	s = strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	if s == "" || n <= 0 {
		return nil
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// TailFile is LastLines of a file; nil when it cannot be read. Logs are
// read whole: the ones ferry tails are its own, kept small by rotation of
// releases.
func TailFile(path string, n int) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return LastLines(string(b), n)
}

// Pattern is a regular expression compiled the first time it is used.
// Compiling at package init costs every start of both binaries, even the
// many that never match (`ferry --help`): a Unicode class such as \p{L}
// alone costs milliseconds and megabytes there. A bad pattern still
// panics, at its first use, which every pattern's tests reach.
func Pattern(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// TailWriter writes to W and keeps the last of it (32 to 64 KiB) in
// Tail, for an error that quotes a command's last lines while its whole
// output goes to a log.
type TailWriter struct {
	W    io.Writer
	Tail *bytes.Buffer
}

func (t *TailWriter) Write(p []byte) (int, error) {
	t.Tail.Write(p)
	if t.Tail.Len() > 64<<10 {
		b := t.Tail.Bytes()
		t.Tail.Reset()
		t.Tail.Write(b[len(b)-32<<10:])
	}
	return t.W.Write(p)
}
