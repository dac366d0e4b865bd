package gates

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/ferryhq/ferry/internal/text"
)

var statusIcon = map[Status]string{
	StatusPassed: "✅", StatusFailed: "❌", StatusWarned: "⚠️", StatusSkipped: "⏭️",
	StatusMissing: "❓", StatusError: "💥", StatusTimeout: "⏱️",
}

// WriteMarkdown writes a summary for $GITHUB_STEP_SUMMARY: a table of gates,
// then each gate that did not pass in a collapsed section, so the page stays
// short when everything is green.
func WriteMarkdown(w io.Writer, rep *Report) error {
	bw := bufio.NewWriter(w)
	verdict := "✅ passed"
	if !rep.Passed {
		verdict = "❌ failed"
		if names := rep.BlockingFailures(); len(names) > 0 {
			verdict += " (blocking: " + strings.Join(names, ", ") + ")"
		}
	}
	fmt.Fprintf(bw, "## ferry check: %s\n\n", verdict)
	fmt.Fprintf(bw, "| Gate | Status | Time | Result |\n|---|---|---|---|\n")
	for _, g := range rep.Gates {
		status := statusIcon[g.Status] + " " + string(g.Status)
		if !g.Blocking {
			status += " (non-blocking)"
		}
		fmt.Fprintf(bw, "| %s | %s | %s | %s |\n", mdCell(g.Name), status, gateTime(g), mdCell(g.Summary))
	}
	for _, g := range rep.Gates {
		if g.Status == StatusPassed || g.Status == StatusSkipped {
			continue
		}
		fmt.Fprintf(bw, "\n<details><summary><b>%s</b>: %s</summary>\n\n", htmlEscape(g.Name), htmlEscape(g.Summary))
		if len(g.Findings) > 0 {
			fmt.Fprintf(bw, "| Location | Rule | Message |\n|---|---|---|\n")
			for i, f := range g.Findings {
				if i == 50 {
					fmt.Fprintf(bw, "| … | | %d more in the JSON report |\n", len(g.Findings)-50)
					break
				}
				loc := f.File
				if f.Line > 0 {
					loc = fmt.Sprintf("%s:%d", loc, f.Line)
				}
				fmt.Fprintf(bw, "| %s | %s | %s |\n", mdCell(loc), mdCell(f.Rule), mdCell(text.FirstLine(f.Message)))
			}
			fmt.Fprintln(bw)
		}
		for _, tc := range g.Tests {
			if reportOf(g.Name).cases && (tc.Status == CaseFailed || tc.Status == CaseError) {
				fmt.Fprintf(bw, "- %s `%s`: %s\n", tc.Status, strings.ReplaceAll(tc.Classname+"::"+tc.Name, "`", "'"), mdCell(text.FirstLine(tc.Message)))
			}
		}
		if g.Output != "" {
			fence := "```"
			for strings.Contains(g.Output, fence) {
				fence += "`"
			}
			fmt.Fprintf(bw, "\n%s\n%s\n%s\n", fence, g.Output, fence)
		}
		if g.Hint != "" {
			fmt.Fprintf(bw, "\n**Hint:** %s\n", mdCell(g.Hint))
		}
		fmt.Fprintf(bw, "\n</details>\n")
	}
	return bw.Flush()
}

// mdCell keeps text inside one table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "\r", "")
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", `\|`)
	return htmlEscape(s)
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
