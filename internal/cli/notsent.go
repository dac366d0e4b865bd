package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/policy"
	"github.com/ferryhq/ferry/internal/text"
)

// summarizeNotSent says, in GitHub Actions, why nothing reached the
// servers: the job summary names the refusal ("refused by window") or the
// failure, with the error, its hints (the next window among them) and the
// environment's metrics line, and an ::error line annotates the run, so a
// refused CD deploy is never an unexplained red run.
func (o *operation) summarizeNotSent(ctx context.Context) {
	if !o.CI.Actions || o.t == nil || o.firstErr == nil {
		return
	}
	title := "not sent"
	if fail.Code(o.firstErr) == exitcode.Refused {
		title = o.refusalTitle()
	}
	var md strings.Builder
	fmt.Fprintf(&md, "### ferry %s %s → %s: %s\n\n", o.spec.Op, text.Short(o.spec.SHA), o.t.name, title)
	for _, l := range strings.Split(strings.TrimSpace(o.firstErr.Error()), "\n") {
		fmt.Fprintf(&md, "> %s\n", l)
	}
	md.WriteString("\n")
	for _, h := range fail.Hints(o.firstErr) {
		fmt.Fprintf(&md, "- %s\n", h)
	}
	if d := o.decision; d != nil && !d.NextOpen.IsZero() && d.Emergency == nil {
		fmt.Fprintf(&md, "\nNext window: **%s**\n", policy.FormatTime(d.NextOpen, d.NextOpen.Location()))
	}
	md.WriteString("\n" + o.metricsLine(ctx))
	appendStepSummary(o.Getenv("GITHUB_STEP_SUMMARY"), o.redact.text(md.String()+"\n"))
	fmt.Fprintln(o.Err, annotation("error", "", 0, 0, "ferry "+o.verb()+" "+o.t.name+": "+title, o.redact.text(text.FirstLine(o.firstErr.Error()))))
}
