package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ferryhq/ferry/internal/agent"
)

// progress renders agent events on stderr: one line per finished step
// with its duration, GitHub Actions groups when running there, colours
// only on a terminal.
type progress struct {
	w       io.Writer
	color   bool
	actions bool
	multi   bool // several targets: prefix lines with the target
	// live shows the running step on a terminal, overwritten when it ends.
	live    bool
	pending bool
	mu      sync.Mutex
}

func (p *progress) clearPending() {
	if p.pending {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.pending = false
	}
}

const (
	green  = "\x1b[32m"
	red    = "\x1b[31m"
	yellow = "\x1b[33m"
	dim    = "\x1b[2m"
	bold   = "\x1b[1m"
	reset  = "\x1b[0m"
)

func (p *progress) paint(code, s string) string {
	if !p.color {
		return s
	}
	return code + s + reset
}

func (p *progress) event(target string, ev agent.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	prefix := "  "
	if p.multi {
		prefix = "  " + p.paint(dim, target) + " "
	}
	switch ev.Event {
	case "step":
		p.clearPending()
		switch ev.Status {
		case "start":
			if p.actions && !p.multi {
				fmt.Fprintf(p.w, "::group::%s\n", ev.Step)
			} else if p.live && !p.multi {
				// The running step, replaced by its result line when it ends.
				fmt.Fprintf(p.w, "%s%s %s …", prefix, p.paint(dim, "•"), ev.Step)
				p.pending = true
			}
			return
		case "ok":
			fmt.Fprintf(p.w, "%s%s %-8s %s\n", prefix, p.paint(green, "✓"), ev.Step, p.paint(dim, fmtMS(ev.MS)))
		case "skipped":
			fmt.Fprintf(p.w, "%s%s %-8s %s %s\n", prefix, p.paint(dim, "–"), ev.Step, p.paint(dim, fmtMS(ev.MS)), p.paint(dim, "skipped: "+ev.Msg))
		case "failed":
			fmt.Fprintf(p.w, "%s%s %-8s %s %s\n", prefix, p.paint(red, "✗"), ev.Step, p.paint(dim, fmtMS(ev.MS)), p.paint(red, ev.Msg))
		}
		if p.actions && !p.multi {
			fmt.Fprintln(p.w, "::endgroup::")
		}
	case "warn":
		p.clearPending()
		if p.actions {
			fmt.Fprintf(p.w, "::warning::%s\n", escapeActions(ev.Msg))
		} else {
			fmt.Fprintf(p.w, "%s%s %s\n", prefix, p.paint(yellow, "warning:"), ev.Msg)
		}
	case "log":
		p.clearPending()
		fmt.Fprintf(p.w, "%s  %s\n", prefix, p.paint(dim, ev.Msg))
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

// appendStepSummary adds Markdown to the job's summary page in Actions.
func appendStepSummary(path, md string) {
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	f.WriteString(md)
}
