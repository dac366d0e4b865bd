package ssmemu

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// runResult is what an instance's agent would report for one invocation.
type runResult struct {
	detail       string
	code         int
	stdout       string
	stderr       string
	pluginOutput string
	stdoutURL    string
	stderrURL    string
	ended        time.Time
}

// how a script run ended
const (
	endExited = iota
	endTimedOut
	endStopped
)

// execute runs one invocation on its instance and reports the result. It is
// the emulator's stand-in for the SSM Agent.
func (e *Emulator) execute(c *command, inv *invocation, inst Instance, stop <-chan struct{}) {
	defer e.wg.Done()
	dir := filepath.Join(e.stateDir, c.id, inst.ID, c.doc.s3Dir(), "0."+c.doc.s3Dir())
	stdoutPath, stderrPath := filepath.Join(dir, "stdout"), filepath.Join(dir, "stderr")
	code, how := e.runScript(c, inst, dir, stdoutPath, stderrPath, stop)

	res := runResult{code: code}
	switch {
	case how == endTimedOut:
		res.detail, res.code = detailExecutionTimedOut, stoppedExitCode
	case how == endStopped:
		res.detail, res.code = detailCancelled, stoppedExitCode
	case code == 0:
		res.detail = detailSuccess
	default:
		res.detail = detailFailed
	}
	e.collectOutput(c, inst.ID, stdoutPath, stderrPath, &res)
	res.ended = time.Now()

	e.mu.Lock()
	inv.running = false
	e.running--
	switch {
	case inv.stopReason == detailUndeliverable:
		inv.finishLocked(detailUndeliverable, -1, res.ended)
	case e.instanceOnlineLocked(inst.ID):
		inv.applyLocked(&res)
	default:
		// The agent finished but cannot report while the instance is offline.
		inv.held = &res
	}
	e.mu.Unlock()
	c.signal()
}

func (e *Emulator) instanceOnlineLocked(id string) bool {
	in := e.instances[id]
	return in != nil && in.PingStatus == PingOnline
}

func (inv *invocation) applyLocked(r *runResult) {
	inv.held = nil
	inv.stdout, inv.stderr, inv.pluginOutput = r.stdout, r.stderr, r.pluginOutput
	inv.stdoutURL, inv.stderrURL = r.stdoutURL, r.stderrURL
	inv.finishLocked(r.detail, r.code, r.ended)
}

// runScript runs the joined commands with `sh -c` in a new process group,
// killing the whole group on timeout, cancel or Close. Exit code 194 asks for
// a reboot: the group is killed (as a reboot would) and the script runs again,
// at most MaxReboots times, after which the invocation fails with 194.
func (e *Emulator) runScript(c *command, inst Instance, dir, stdoutPath, stderrPath string, stop <-chan struct{}) (int, int) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.opts.Logf("ssmemu: %v", err)
		return 1, endExited
	}
	stdout, err := os.OpenFile(stdoutPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		e.opts.Logf("ssmemu: %v", err)
		return 1, endExited
	}
	defer stdout.Close()
	stderr, err := os.OpenFile(stderrPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		e.opts.Logf("ssmemu: %v", err)
		return 1, endExited
	}
	defer stderr.Close()

	workDir := inst.Dir
	if c.workingDir != "" {
		workDir = c.workingDir
		if !filepath.IsAbs(workDir) {
			workDir = filepath.Join(inst.Dir, workDir)
		}
	}
	if st, err := os.Stat(workDir); err != nil || !st.IsDir() {
		fmt.Fprintf(stderr, "failed to run commands: working directory %s is not a directory\n", workDir)
		return 1, endExited
	}
	env := append(os.Environ(), e.opts.Env...)
	env = append(env,
		"SSMEMU_INSTANCE_ID="+inst.ID,
		"SSMEMU_INSTANCE_DIR="+inst.Dir,
		"HOME="+inst.Dir,
		"SSMEMU_COMMAND_ID="+c.id,
		"AWS_SSM_INSTANCE_ID="+inst.ID,
		"AWS_SSM_REGION_NAME="+e.opts.Region,
	)
	script := strings.Join(c.commands, "\n")

	for reboots := 0; ; reboots++ {
		cmd := exec.Command("sh", "-c", script)
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = workDir, env, stdout, stderr
		setProcessGroup(cmd)
		if err := cmd.Start(); err != nil {
			fmt.Fprintf(stderr, "failed to run commands: %v\n", err)
			return 1, endExited
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		timer := time.NewTimer(c.execTimeout)
		var waitErr error
		how := endExited
		select {
		case waitErr = <-done:
		case <-timer.C:
			how = endTimedOut
		case <-stop:
			how = endStopped
		case <-e.closing:
			how = endStopped
		}
		timer.Stop()
		if how != endExited {
			killProcessGroup(cmd.Process)
			<-done
			return stoppedExitCode, how
		}
		code := exitCode(waitErr)
		if code == rebootExitCode && reboots < e.opts.MaxReboots {
			killProcessGroup(cmd.Process)
			continue
		}
		return code, endExited
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return 1
}

// collectOutput cuts the streams as the service shows them and uploads the
// complete streams when the command asked for S3 output.
func (e *Emulator) collectOutput(c *command, instanceID, stdoutPath, stderrPath string, res *runResult) {
	outHead, outLen, err := readHead(stdoutPath, maxStdout)
	if err != nil {
		e.opts.Logf("ssmemu: %v", err)
	}
	errHead, errLen, err := readHead(stderrPath, maxStderr)
	if err != nil {
		e.opts.Logf("ssmemu: %v", err)
	}
	res.stdout = cutContent(outHead, outLen, maxStdout)
	res.stderr = cutContent(errHead, errLen, maxStderr)
	res.pluginOutput = pluginOutput(outHead[:min(len(outHead), maxPluginOutput)], outLen, errHead[:min(len(errHead), maxPluginOutput)], errLen, maxPluginOutput)
	if c.bucket == "" {
		return
	}
	outKey, errKey := outputKey(c, instanceID, "stdout"), outputKey(c, instanceID, "stderr")
	res.stdoutURL, res.stderrURL = e.s3.url(c.bucket, outKey), e.s3.url(c.bucket, errKey)
	if err := e.s3.put(e.ctx, c.bucket, outKey, stdoutPath); err != nil {
		e.opts.Logf("ssmemu: %v", err)
	}
	if err := e.s3.put(e.ctx, c.bucket, errKey, stderrPath); err != nil {
		e.opts.Logf("ssmemu: %v", err)
	}
}
