package ssmemu

import (
	"path"
	"time"
)

// document is what the emulator knows of an SSM document: the one plugin
// step it has and the platform it runs on.
type document struct {
	name     string
	plugin   string // e.g. aws:runShellScript
	platform Platform
}

// s3Dir is the plugin name as the agent writes it in S3 keys: colons removed.
func (d document) s3Dir() string {
	out := make([]byte, 0, len(d.plugin))
	for i := 0; i < len(d.plugin); i++ {
		if d.plugin[i] != ':' {
			out = append(out, d.plugin[i])
		}
	}
	return string(out)
}

var documents = map[string]document{
	"AWS-RunShellScript":      {name: "AWS-RunShellScript", plugin: "aws:runShellScript", platform: PlatformLinux},
	"AWS-RunPowerShellScript": {name: "AWS-RunPowerShellScript", plugin: "aws:runPowerShellScript", platform: PlatformWindows},
}

// command is one SendCommand and everything it spawned.
type command struct {
	id              string
	doc             document
	documentVersion string
	comment         string
	params          map[string][]string
	instanceIDs     []string
	targets         []targetJSON
	requested       time.Time
	visibleAt       time.Time
	deliverBy       time.Time // after this an undelivered invocation never starts
	expires         time.Time // undelivered invocations become DeliveryTimedOut
	timeoutSeconds  int
	execTimeout     time.Duration // scaled
	commands        []string
	workingDir      string
	maxConcurrency  string
	maxErrors       string
	maxConc         int
	maxErr          int
	bucket          string
	keyPrefix       string
	s3Region        string
	serviceRole     string
	notification    notificationJSON
	cloudWatch      cloudWatchJSON
	alarm           any
	cancelAll       bool

	invocations []*invocation
	byInstance  map[string]*invocation

	wake chan struct{}
	done bool
}

func (c *command) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// invocation is the command's copy for one instance.
type invocation struct {
	cmd          *command
	instanceID   string
	detail       string
	responseCode int
	started      time.Time
	ended        time.Time
	stdout       string // already cut at 24,000 bytes
	stderr       string // already cut at 8,000 bytes
	pluginOutput string // already cut at 2,500 bytes
	stdoutURL    string
	stderrURL    string

	running    bool
	stop       chan struct{} // closed to kill the running script
	stopReason string        // detailCancelled or detailUndeliverable
	held       *runResult    // finished while the instance was offline
}

func (inv *invocation) finishLocked(detail string, code int, now time.Time) {
	inv.detail = detail
	inv.responseCode = code
	inv.ended = now
}

// requestStopLocked asks a running script to die for the given reason.
func (inv *invocation) requestStopLocked(reason string) {
	if inv.stop == nil || inv.stopReason != "" {
		return
	}
	inv.stopReason = reason
	close(inv.stop)
}

// instanceGoneLocked applies RemoveInstance to this invocation.
func (inv *invocation) instanceGoneLocked(now time.Time) {
	if terminalDetail(inv.detail) {
		return
	}
	if inv.running {
		inv.requestStopLocked(detailUndeliverable)
		return
	}
	inv.held = nil
	inv.finishLocked(detailUndeliverable, -1, now)
}

func (c *command) s3Prefix(instanceID string) string {
	return path.Join(c.keyPrefix, c.id, instanceID, c.doc.s3Dir())
}

// commandStatusLocked aggregates the invocations into the command's Status
// and StatusDetails. Source: the model documentation of Command.StatusDetails
// and the "Understanding command statuses" page. Documented: Pending (nothing
// sent), InProgress (something sent, not all terminal), Success (all
// succeeded), Failed / Execution Timed Out / Delivery Timed Out (more than
// MaxErrors invocations in that state), Incomplete (all attempted, not all
// succeeded, not enough failures), Cancelled. Inferred, because the pages
// name no Status for them: Incomplete -> Failed; a target set that matched no
// instance -> Failed / NoInstancesInTag.
func (c *command) statusLocked() (status, details string) {
	allDone, anySent := true, false
	var success, failed, execTO, delivTO int
	for _, inv := range c.invocations {
		if !terminalDetail(inv.detail) {
			allDone = false
		}
		if inv.detail != detailPending {
			anySent = true
		}
		switch inv.detail {
		case detailSuccess:
			success++
		case detailFailed:
			failed++
		case detailExecutionTimedOut:
			execTO++
		case detailDeliveryTimedOut:
			delivTO++
		}
	}
	if !allDone {
		switch {
		case c.cancelAll:
			return "Cancelling", detailCancelling
		case anySent:
			return "InProgress", detailInProgress
		}
		return "Pending", detailPending
	}
	switch {
	case len(c.invocations) == 0:
		return "Failed", detailNoInstancesInTag
	case c.cancelAll:
		return "Cancelled", detailCancelled
	case success == len(c.invocations):
		return "Success", detailSuccess
	case execTO > c.maxErr && execTO > failed:
		return "TimedOut", detailExecutionTimedOut
	case failed+execTO > c.maxErr:
		return "Failed", detailFailed
	case delivTO > c.maxErr:
		return "TimedOut", detailDeliveryTimedOut
	}
	return "Failed", detailIncomplete
}

func (c *command) countsLocked() (completed, errs, delivTO int) {
	for _, inv := range c.invocations {
		if terminalDetail(inv.detail) {
			completed++
		}
		if errorDetail(inv.detail) {
			errs++
		}
		if inv.detail == detailDeliveryTimedOut {
			delivTO++
		}
	}
	return
}
