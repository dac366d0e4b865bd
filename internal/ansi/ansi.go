// Package ansi is the one set of terminal colours ferry uses. Whether to
// use them is decided once, by the CLI (a terminal, NO_COLOR unset, TERM
// not dumb); everything that writes for people gets a Painter.
package ansi

// Colours and styles.
const (
	Reset  = "\x1b[0m"
	Bold   = "\x1b[1m"
	Dim    = "\x1b[2m"
	Red    = "\x1b[31m"
	Green  = "\x1b[32m"
	Yellow = "\x1b[33m"
)

// Painter colours text when On; off it returns text unchanged, for pipes,
// files, dumb terminals and NO_COLOR.
type Painter struct{ On bool }

// Paint wraps s in style when the painter is on.
func (p Painter) Paint(style, s string) string {
	if !p.On || s == "" {
		return s
	}
	return style + s + Reset
}
