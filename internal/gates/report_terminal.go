package gates

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ferryhq/ferry/internal/ansi"
	"github.com/ferryhq/ferry/internal/text"
)

// maxTerminalFindings bounds the findings listed per gate; the JSON and
// SARIF reports have them all.
const maxTerminalFindings = 10

// WriteTerminal writes the table people read: one row per gate with its
// status, time and key figure, then for each gate that did not pass its
// findings, output tail and hint. color adds ANSI colours; pass false for
// pipes, dumb terminals and NO_COLOR.
func WriteTerminal(w io.Writer, rep *Report, color bool) error {
	bw := bufio.NewWriter(w)
	paint := ansi.Painter{On: color}.Paint
	statusColor := func(r Result) string {
		switch r.Status {
		case StatusPassed:
			return ansi.Green
		case StatusSkipped:
			return ansi.Dim
		case StatusWarned:
			return ansi.Yellow
		default:
			if r.Blocking {
				return ansi.Red
			}
			return ansi.Yellow
		}
	}

	head := []string{"GATE", "STATUS", "TIME", "RESULT"}
	rows := make([][]string, len(rep.Gates))
	widths := []int{len(head[0]), len(head[1]), len(head[2])}
	for i, g := range rep.Gates {
		status := string(g.Status)
		if !g.Blocking && g.Status != StatusPassed && g.Status != StatusSkipped && g.Status != StatusWarned {
			status += " (non-blocking)"
		}
		rows[i] = []string{g.Name, status, gateTime(g), g.Summary}
		for c := 0; c < 3; c++ {
			widths[c] = max(widths[c], utf8.RuneCountInString(rows[i][c]))
		}
	}
	pad := func(s string, n int) string { return s + strings.Repeat(" ", n-utf8.RuneCountInString(s)) }
	fmt.Fprintf(bw, "%s  %s  %s  %s\n", paint(ansi.Bold, pad(head[0], widths[0])), paint(ansi.Bold, pad(head[1], widths[1])),
		paint(ansi.Bold, pad(head[2], widths[2])), paint(ansi.Bold, head[3]))
	for i, g := range rep.Gates {
		row := rows[i]
		fmt.Fprintf(bw, "%s  %s  %s  %s\n", pad(row[0], widths[0]), paint(statusColor(g), pad(row[1], widths[1])),
			pad(row[2], widths[2]), row[3])
	}

	for _, g := range rep.Gates {
		if g.Status == StatusPassed || g.Status == StatusSkipped {
			continue
		}
		fmt.Fprintf(bw, "\n%s\n", paint(statusColor(g), fmt.Sprintf("── %s: %s ──", g.Name, g.Status)))
		if g.Summary != "" {
			fmt.Fprintf(bw, "%s\n", g.Summary)
		}
		shown := 0
		for _, f := range g.Findings {
			if f.Level == "note" && !reportOf(g.Name).notes {
				continue // low-severity notes would drown what failed the gate
			}
			if shown == maxTerminalFindings {
				fmt.Fprintf(bw, "  … and more (see the JSON or SARIF report)\n")
				break
			}
			shown++
			fmt.Fprintf(bw, "  %s\n", findingLine(f))
		}
		for _, tc := range g.Tests {
			if reportOf(g.Name).cases && (tc.Status == CaseFailed || tc.Status == CaseError) {
				fmt.Fprintf(bw, "  %s %s::%s: %s\n", tc.Status, tc.Classname, tc.Name, text.FirstLine(tc.Message))
			}
		}
		if g.Output != "" {
			fmt.Fprintf(bw, "%s\n", paint(ansi.Dim, indent(g.Output, "  │ ")))
		}
		if g.Hint != "" {
			fmt.Fprintf(bw, "%s %s\n", paint(ansi.Bold, "hint:"), g.Hint)
		}
	}

	fmt.Fprintln(bw)
	counts := rep.Counts()
	var parts []string
	for _, s := range []Status{StatusPassed, StatusFailed, StatusWarned, StatusMissing, StatusError, StatusTimeout, StatusSkipped} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	verdict := paint(ansi.Green+ansi.Bold, "check passed")
	if !rep.Passed {
		verdict = paint(ansi.Red+ansi.Bold, "check failed")
		if names := rep.BlockingFailures(); len(names) > 0 {
			verdict += ": blocking " + strings.Join(names, ", ")
		}
	}
	fmt.Fprintf(bw, "%s (%s) in %s\n", verdict, strings.Join(parts, ", "), formatDuration(rep.Duration))
	return bw.Flush()
}

func findingLine(f Finding) string {
	loc := f.File
	if f.Line > 0 {
		loc += fmt.Sprintf(":%d", f.Line)
		if f.Column > 0 {
			loc += fmt.Sprintf(":%d", f.Column)
		}
	}
	s := ""
	if loc != "" {
		s = loc + ": "
	}
	s += f.Rule
	if f.Severity != "" && f.Severity != f.Rule[:min(len(f.Rule), len(f.Severity))] {
		s += " [" + f.Severity + "]"
	}
	return s + " " + text.FirstLine(f.Message)
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

// gateTime is the time a gate took, for its row of a table; blank for a
// gate that never ran.
func gateTime(g Result) string {
	if g.Status == StatusSkipped && g.Duration == 0 {
		return ""
	}
	return formatDuration(g.Duration)
}

// formatDuration is short and steady: 85ms, 1.2s, 2m03s.
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	default:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
}
