package gates

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ferryhq/ferry/internal/text"
)

const (
	// stdoutCap bounds what is kept of a tool's stdout for parsing; JSON
	// reports of even large projects stay far below it.
	stdoutCap = 64 << 20
	// tailCap bounds the combined output kept for humans.
	tailCap = 64 << 10
	// resultOutputCap bounds Result.Output, which ends up in every report.
	resultOutputCap = 8 << 10
	// waitDelay is how long ferry waits for a killed tool's pipes to close
	// (a grandchild may hold them) before giving up on its output.
	waitDelay = 3 * time.Second
)

// tailBuffer keeps the last max bytes written to it; stdout and stderr are
// copied by separate goroutines, hence the lock.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
	cut bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.cut = true
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// capBuffer keeps the first max bytes and drops the rest.
type capBuffer struct {
	max int
	buf bytes.Buffer
}

func (c *capBuffer) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		if len(p) > room {
			c.buf.Write(p[:room])
		} else {
			c.buf.Write(p)
		}
	}
	return len(p), nil
}

// procResult is what a finished tool left behind.
type procResult struct {
	ExitCode int
	Stdout   []byte
	// Output is stdout and stderr interleaved, last tailCap bytes.
	Output string
	// CPU is the processor time the tool and the children it waited for
	// used, for the benchmark's account of where the cores went.
	CPU time.Duration
}

// runProc runs argv[0] with argv[1:] in dir with env and waits. A non-zero
// exit is not an error: tools use exit codes to report findings. Errors are
// failures to start and context ends, which kill the tool's whole process
// group so no grandchild (a test server, a worker pool) outlives the gate.
func runProc(ctx context.Context, dir string, env []string, argv []string) (procResult, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdin = nil
	tail := &tailBuffer{max: tailCap}
	out := &capBuffer{max: stdoutCap}
	cmd.Stdout = io.MultiWriter(out, tail)
	cmd.Stderr = tail
	cmd.WaitDelay = waitDelay
	prepareGroup(cmd)
	cmd.Cancel = func() error { return killGroup(cmd) }

	err := cmd.Start()
	if err != nil {
		return procResult{}, fmt.Errorf("start %s: %w", filepath.Base(argv[0]), err)
	}
	err = cmd.Wait()
	// Whatever the tool left running in its group goes with it.
	_ = killGroup(cmd)
	res := procResult{Stdout: out.buf.Bytes(), Output: tail.String()}
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
		res.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) && !errors.Is(err, exec.ErrWaitDelay) {
		return res, fmt.Errorf("run %s: %w", filepath.Base(argv[0]), err)
	}
	return res, nil
}

// envMap is an environment under construction; keys keep their case, and
// lookups follow the platform's rule for case.
type envMap map[string]string

func environFrom(list []string) envMap {
	m := envMap{}
	for _, kv := range list {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			m.set(k, v)
		}
	}
	return m
}

func (m envMap) key(k string) string {
	if !envCaseInsensitive {
		return k
	}
	for existing := range m {
		if strings.EqualFold(existing, k) {
			return existing
		}
	}
	return k
}

func (m envMap) get(k string) (string, bool) {
	v, ok := m[m.key(k)]
	return v, ok
}

func (m envMap) set(k, v string) { m[m.key(k)] = v }

func (m envMap) clone() envMap {
	c := make(envMap, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func (m envMap) list() []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// tail is the last n lines of a tool's output, and at most
// resultOutputCap bytes of them: what a report shows of it.
func tail(s string, n int) string {
	out := strings.Join(text.LastLines(strings.TrimRight(s, "\r\n\t "), n), "\n")
	if len(out) > resultOutputCap {
		out = out[len(out)-resultOutputCap:]
		if i := strings.IndexByte(out, '\n'); i >= 0 {
			out = out[i+1:]
		}
	}
	return out
}
