package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/ansi"
)

// progress renders agent events on stderr: one line per finished step
// with its duration, GitHub Actions groups when running there, colours
// only on a terminal.
type progress struct {
	w       io.Writer
	p       ansi.Painter
	actions bool
	multi   bool // several targets: prefix lines with the target
	// live shows the running step on a terminal, overwritten when it ends.
	live    bool
	pending bool
	mu      sync.Mutex
}

func newProgress(c Common) *progress {
	return &progress{w: c.Err, p: c.painter(), actions: c.CI.Actions, live: c.ErrIsTerminal && c.Getenv("TERM") != "dumb"}
}

func (p *progress) clearPending() {
	if p.pending {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.pending = false
	}
}

func (p *progress) event(target string, ev agent.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	prefix := "  "
	if p.multi {
		prefix = "  " + p.p.Paint(ansi.Dim, target) + " "
	}
	switch ev.Event {
	case agent.EventStep:
		p.clearPending()
		switch ev.Status {
		case agent.StepStarted:
			// In Actions a step is its one line when it ends: a group
			// per one-line step only hides it.
			if p.live && !p.multi && !p.actions {
				// The running step, replaced by its result line when it ends.
				fmt.Fprintf(p.w, "%s%s %s …", prefix, p.p.Paint(ansi.Dim, "•"), ev.Step)
				p.pending = true
			}
			return
		case agent.StepOK:
			fmt.Fprintf(p.w, "%s%s %-8s %s\n", prefix, p.p.Paint(ansi.Green, "✓"), ev.Step, p.p.Paint(ansi.Dim, fmtMS(ev.MS)))
		case agent.StepSkipped:
			fmt.Fprintf(p.w, "%s%s %-8s %s %s\n", prefix, p.p.Paint(ansi.Dim, "–"), ev.Step, p.p.Paint(ansi.Dim, fmtMS(ev.MS)), p.p.Paint(ansi.Dim, "skipped: "+ev.Msg))
		case agent.StepFailed:
			fmt.Fprintf(p.w, "%s%s %-8s %s %s\n", prefix, p.p.Paint(ansi.Red, "✗"), ev.Step, p.p.Paint(ansi.Dim, fmtMS(ev.MS)), p.p.Paint(ansi.Red, ev.Msg))
		}
	case agent.EventWarn:
		p.clearPending()
		if p.actions {
			fmt.Fprintf(p.w, "::warning::%s\n", escapeActions(ev.Msg))
		} else {
			fmt.Fprintf(p.w, "%s%s %s\n", prefix, p.p.Paint(ansi.Yellow, "warning:"), ev.Msg)
		}
	case agent.EventLog:
		p.clearPending()
		fmt.Fprintf(p.w, "%s  %s\n", prefix, p.p.Paint(ansi.Dim, ev.Msg))
	}
}

func fmtMS(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	if d < time.Second {
		return fmt.Sprintf("%dms", ms)
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// escapeActions keeps a message on one workflow-command line.
func escapeActions(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}
