package cli

import (
	"bytes"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strings"

	"github.com/ferryhq/ferry/internal/gates"
	"github.com/ferryhq/ferry/internal/gitrepo"
)

// maxAnnotations bounds the annotations of one gate: GitHub shows ten
// per step and a hundred per run; the rest are in the SARIF and the log.
const maxAnnotations = 50

// repoPrefix is appDir's path inside its repository ("" for the top),
// what SARIF URIs and annotations are relative to.
func repoPrefix(appDir string) string {
	repo, err := gitrepo.Open(appDir)
	if err != nil {
		return ""
	}
	rel, err := filepath.Rel(repo.Dir, appDir)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return ""
	}
	return filepath.ToSlash(rel)
}

// writeGateReports writes the JUnit and SARIF files asked for (paths
// relative to the working directory); SARIF URIs are relative to the
// repository root, prefix being the app's directory there.
func (c Common) writeGateReports(rep *gates.Report, junit, sarif, prefix string) error {
	if junit != "" {
		if err := writeFile(c.abs(junit), func(w io.Writer) error { return gates.WriteJUnit(redactWriter{w: w, r: c.redact}, rep) }); err != nil {
			return err
		}
	}
	if sarif != "" {
		if err := writeFile(c.abs(sarif), func(w io.Writer) error {
			var b bytes.Buffer
			if err := gates.WriteSARIF(&b, rep, prefix); err != nil {
				return err
			}
			out, err := c.redact.redactJSON(b.Bytes())
			if err != nil {
				return err
			}
			_, err = w.Write(out)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// showGates prints the gates' report on w: in GitHub Actions one
// collapsed group per gate with its findings and output, and an
// annotation on the line of each finding; elsewhere the terminal report.
func (c Common) showGates(w io.Writer, rep *gates.Report, prefix string) {
	if !c.CI.Actions {
		gatesTerminal(w, rep, c.painter())
		return
	}
	for _, g := range rep.Gates {
		fmt.Fprintf(w, "::group::%s: %s (%s) %s\n", g.Name, g.Status, fmtMS(g.Duration.Milliseconds()), escapeActions(g.Summary))
		for _, f := range g.Findings {
			fmt.Fprintf(w, "%s:%d:%d: %s %s\n", path.Join(prefix, f.File), f.Line, f.Column, f.Rule, f.Message)
		}
		if g.Output != "" {
			fmt.Fprintln(w, strings.TrimRight(g.Output, "\n"))
		}
		if g.Hint != "" {
			fmt.Fprintf(w, "hint: %s\n", g.Hint)
		}
		fmt.Fprintln(w, "::endgroup::")
	}
	for _, g := range rep.Gates {
		level := "warning"
		if g.Blocks() {
			level = "error"
		}
		n := 0
		for _, f := range g.Findings {
			if f.File == "" || n == maxAnnotations {
				continue
			}
			n++
			l := level
			if f.Level == "note" {
				l = "notice"
			}
			msg := f.Message
			if g.Hint != "" {
				msg += " (hint: " + g.Hint + ")"
			}
			fmt.Fprintln(w, annotation(l, path.Join(prefix, f.File), f.Line, f.Column, "ferry "+g.Name+": "+f.Rule, msg))
		}
		if g.Blocks() && len(g.Findings) == 0 {
			msg := g.Summary
			if g.Hint != "" {
				msg += " (hint: " + g.Hint + ")"
			}
			fmt.Fprintln(w, annotation("error", "", 0, 0, "ferry "+g.Name, msg))
		}
	}
	gatesTerminal(w, rep, c.painter())
}
