// Package ssm is ferry's AWS Systems Manager transport: it runs ferry-agent
// on EC2 instances (Linux and Windows) through SSM Run Command.
//
// One deploy is: preflight (DescribeInstanceInformation: every target
// Online, on a known platform), ship (the commit's app directory as a
// content-addressed tar.gz and the ferry-agent binaries to S3, handed to
// the servers as presigned URLs), one SendCommand for the whole fleet with
// SSM's own rate control, polling of ListCommandInvocations until every
// invocation ends, the agent's result read from each invocation's output
// (from S3 when SSM truncated it), and, when some servers failed, a fleet
// rollback of those that succeeded so the fleet never stays mixed.
//
// A fleet that needs more than one command (more than 50 instances named
// by ID, or Linux and Windows together) gets them one after another, so
// that MaxConcurrency and MaxErrors hold for the whole fleet (see budget).
package ssm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/text"
	"github.com/ferryhq/ferry/internal/transport"
)

// Options configure the transport for one environment; the CLI fills them
// from the environment's ssm: section of ferry.yml.
type Options struct {
	Region  string
	Profile string
	// InstanceIDs or Tags choose the servers; tags are resolved with
	// DescribeInstanceInformation's tag:Key filter.
	InstanceIDs []string
	Tags        map[string]string
	// Bucket carries artifacts, agent binaries and the commands' full
	// output; Prefix is the key prefix of all three, OutputPrefix that of
	// the output alone (default Prefix/output; ferry.yml's default is the
	// SOP's ssm-logs/<environment>).
	Bucket       string
	Prefix       string
	OutputPrefix string
	// ExecutionTimeout bounds one run of the agent on a server.
	ExecutionTimeout time.Duration
	// MaxConcurrency and MaxErrors are SSM's rate control ("2", "25%").
	MaxConcurrency string
	MaxErrors      string
	// FleetRollback rolls back the servers that succeeded when others failed.
	FleetRollback bool
	// Document replaces AWS-RunShellScript / AWS-RunPowerShellScript; it
	// must take the same commands and executionTimeout parameters.
	Document string
	// Source is archive (ferry ships the commit through S3) or git (the
	// servers fetch Repository themselves).
	Source     string
	Repository string
	// RepoDir is the local repository and AppDir the app's directory in
	// it, relative to its top ("." for the top): what an archive holds.
	RepoDir string
	AppDir  string
	// Agents supplies the ferry-agent binaries.
	Agents AgentSource
	// One runs the spec on one instance only, the first Online one by
	// instance ID (ferry exec without --all).
	One bool
	// AWSConfig replaces the SDK's default configuration loading (tests,
	// the sandbox); nil loads it from the environment and shared files.
	AWSConfig *aws.Config
	// PollMin and PollMax bound the interval between polls; zero means
	// 250ms and 5s.
	PollMin, PollMax time.Duration
	// Margin is added to SSM's own time limits to make the overall
	// deadline; zero means two minutes.
	Margin time.Duration
}

// Outcomes the transport reports for servers whose agent gave no result.
const (
	// OutcomeCancelled: the command was cancelled before the agent started.
	OutcomeCancelled = "cancelled"
	// OutcomeNotRun: SSM never ran the agent (offline, expired, stopped by max_errors).
	OutcomeNotRun = "not_run"
	// OutcomeUnknown: the agent was stopped mid-operation (timeout, cancel,
	// lost instance) or gave no result; what serves must be checked.
	OutcomeUnknown = "unknown"
)

// Transport runs agent specs on an environment's instances through SSM.
type Transport struct {
	opts Options
}

var (
	bucketName = text.Pattern(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	prefixRe   = text.Pattern(`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$`)
	instanceRe = text.Pattern(`^(i|mi)-[0-9a-f]{8,17}$`)
	rateRe     = text.Pattern(`^([1-9][0-9]*|[1-9][0-9]?%|100%|0%?)$`)
	documentRe = text.Pattern(`^[A-Za-z0-9_.:/-]{3,128}$`)
	tagKeyRe   = text.Pattern(`^[\p{L}\p{Z}\p{N}_.:/=+@-]{1,128}$`)
)

// New checks the options; it makes no network call.
func New(opts Options) (*Transport, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if opts.Region == "" && opts.AWSConfig == nil {
		bad("ssm.region is required")
	}
	if !bucketName().MatchString(opts.Bucket) || strings.Contains(opts.Bucket, "..") {
		bad("ssm.bucket %q is not an S3 bucket name", opts.Bucket)
	}
	if opts.Prefix == "" {
		opts.Prefix = "ferry"
	}
	opts.Prefix = strings.Trim(opts.Prefix, "/")
	if !prefixRe().MatchString(opts.Prefix) || strings.Contains("/"+opts.Prefix+"/", "/../") || strings.Contains("/"+opts.Prefix+"/", "/./") {
		bad("ssm.prefix %q: use letters, digits, '.', '_', '-' and '/' only", opts.Prefix)
	}
	if opts.OutputPrefix == "" {
		opts.OutputPrefix = opts.Prefix + "/output"
	}
	opts.OutputPrefix = strings.Trim(opts.OutputPrefix, "/")
	if !prefixRe().MatchString(opts.OutputPrefix) || strings.Contains("/"+opts.OutputPrefix+"/", "/../") || strings.Contains("/"+opts.OutputPrefix+"/", "/./") {
		bad("ssm.output_prefix %q: use letters, digits, '.', '_', '-' and '/' only", opts.OutputPrefix)
	}
	if len(opts.InstanceIDs) == 0 && len(opts.Tags) == 0 {
		bad("ssm needs instance_ids or tags")
	}
	seen := map[string]bool{}
	for _, id := range opts.InstanceIDs {
		if !instanceRe().MatchString(id) {
			bad("%q is not an instance ID", id)
		}
		if seen[id] {
			bad("instance %s is listed twice", id)
		}
		seen[id] = true
	}
	for k, v := range opts.Tags {
		if !tagKeyRe().MatchString(k) || len(v) > 256 {
			bad("tag %q is not a valid tag key", k)
		}
	}
	if opts.ExecutionTimeout == 0 {
		opts.ExecutionTimeout = time.Hour
	}
	if opts.ExecutionTimeout < time.Second || opts.ExecutionTimeout > 48*time.Hour {
		bad("execution timeout %s is out of range", opts.ExecutionTimeout)
	}
	if opts.MaxConcurrency == "" {
		opts.MaxConcurrency = "1"
	}
	if opts.MaxErrors == "" {
		opts.MaxErrors = "0"
	}
	if !rateRe().MatchString(opts.MaxConcurrency) || strings.HasPrefix(opts.MaxConcurrency, "0") {
		bad("max_concurrency %q is not a number or percentage", opts.MaxConcurrency)
	}
	if !rateRe().MatchString(opts.MaxErrors) {
		bad("max_errors %q is not a number or percentage", opts.MaxErrors)
	}
	if opts.Document != "" && !documentRe().MatchString(opts.Document) {
		bad("document %q is not a document name", opts.Document)
	}
	switch opts.Source {
	case "":
		opts.Source = "archive"
	case "archive":
	case "git":
		if opts.Repository == "" {
			bad("source git needs a repository")
		}
	default:
		bad("source %q is not archive or git", opts.Source)
	}
	if opts.PollMin <= 0 {
		opts.PollMin = 250 * time.Millisecond
	}
	if opts.PollMax <= 0 {
		opts.PollMax = 5 * time.Second
	}
	if opts.Margin <= 0 {
		opts.Margin = 2 * time.Minute
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fail.New(exitcode.Usage, err, "fix the environment's ssm: section in ferry.yml")
	}
	if opts.Agents == nil {
		// The caller's mistake, not the user's: where binaries come from
		// depends on the caller's environment (the CLI passes an agentbin.Resolver).
		return nil, errors.New("ssm transport: Options.Agents is required")
	}
	return &Transport{opts: opts}, nil
}

// Run implements transport.Transport: one command for every instance of
// the environment (one per platform, or per 50 instance IDs), then one
// result per instance. Failures before anything was sent return an
// error; once sent, every instance is reported, whatever happened.
func (t *Transport) Run(ctx context.Context, spec agent.Spec, progress transport.Progress) ([]transport.TargetResult, error) {
	r := &run{o: t.opts, progress: progress}
	return r.run(ctx, spec)
}

// run is the state of one Run.
type run struct {
	o        Options
	progress transport.Progress
	c        *clients
	insts    []instance
	agents   map[string][2]shipped // platform → amd64, arm64
	artifact shipped               // the commit's archive (apply with source archive)
	mu       sync.Mutex
	// turn lets one command run at a time, whoever sends it (a fleet
	// rollback sends several at once): the fleet never runs more agents
	// at once than MaxConcurrency allows.
	turn sync.Mutex
}

func (r *run) log(target, format string, args ...any) {
	if r.progress == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.progress(target, agent.Event{Event: "log", Msg: fmt.Sprintf(format, args...)})
}

func (r *run) warn(target, format string, args ...any) {
	if r.progress == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.progress(target, agent.Event{Event: "warn", Msg: fmt.Sprintf(format, args...)})
}

func (r *run) run(ctx context.Context, spec agent.Spec) ([]transport.TargetResult, error) {
	var err error
	if r.c, err = newClients(ctx, r.o); err != nil {
		return nil, err
	}
	if r.insts, err = r.preflight(ctx); err != nil {
		return nil, transport.Preflight(err)
	}
	if r.o.One && len(r.insts) > 1 {
		sort.Slice(r.insts, func(i, j int) bool { return r.insts[i].ID < r.insts[j].ID })
		r.log("", "running on %s, one of the %d instances (--all runs on every one)", r.insts[0].ID, len(r.insts))
		r.insts = r.insts[:1]
	}
	if err := r.checkBucket(ctx); err != nil {
		return nil, transport.Preflight(err)
	}
	platforms := map[string]bool{}
	for _, in := range r.insts {
		platforms[in.Platform] = true
	}
	if err := r.shipAgents(ctx, platforms); err != nil {
		return nil, err
	}
	if spec.Op == agent.OpApply {
		if err := r.shipSource(ctx, &spec); err != nil {
			return nil, err
		}
	}
	results, cancelled, err := r.execute(ctx, spec, r.insts, len(r.o.InstanceIDs) == 0 && !r.o.One)
	if err != nil {
		return nil, err
	}
	if spec.Op == agent.OpApply && !cancelled {
		r.fleetRollback(ctx, spec, results)
	}
	return results, nil
}

// execute sends spec to insts, one command after another, each waited
// for before the next is sent, within the fleet's budget; it reports
// every instance, and whether a command was cancelled (context or
// deadline). Only when nothing at all could be sent is the error returned.
func (r *run) execute(ctx context.Context, spec agent.Spec, insts []instance, tags bool) ([]transport.TargetResult, bool, error) {
	cmds := r.plan(spec, insts, tags)
	b := newBudget(r.o, len(insts), len(cmds))
	if len(cmds) > 1 {
		r.log("", "%d instances take %d commands, sent one after another: max concurrency %s (%d) and max errors %s (%d) hold for the whole fleet",
			len(insts), len(cmds), r.o.MaxConcurrency, b.concurrency, r.o.MaxErrors, b.maxErrors)
	}
	cancelled := false
	var stop error // why the commands left are not sent
	for i, c := range cmds {
		switch {
		case stop != nil:
			c.notSent = stop
			continue
		case ctx.Err() != nil:
			stop = errInterrupted
			c.notSent, cancelled = stop, true
			continue
		case b.exceeded():
			stop = fmt.Errorf("not run: %d instances failed before this one's turn, more than max_errors (%s) allows for the fleet", b.errors, r.o.MaxErrors)
			c.notSent = stop
			r.warn("", "%d instances failed, more than max_errors (%s, %d for this fleet) allows: the %d instances left are not sent the command", b.errors, r.o.MaxErrors, b.maxErrors, left(cmds[i:]))
			continue
		}
		err := r.runCommand(ctx, spec, c, b)
		if err != nil {
			if i == 0 {
				return nil, false, err // nothing was sent
			}
			c.failed = err
			r.warn("", "%v", err)
			stop = fmt.Errorf("not run: an earlier command could not be sent (%v)", err)
			continue
		}
		b.errors += c.errorCount()
		if c.cancelled {
			cancelled, stop = true, errInterrupted
		}
	}
	return r.results(ctx, spec, insts, cmds), cancelled, nil
}

// errInterrupted is why commands are not sent after a cancel.
var errInterrupted = errors.New("not sent: ferry was interrupted (or passed its deadline) before this instance's turn")

func left(cmds []*command) int {
	n := 0
	for _, c := range cmds {
		n += len(c.expected)
	}
	return n
}

// budget is MaxConcurrency and MaxErrors for the whole fleet, as counts,
// shared by the commands that carry the fleet one after another: each
// runs at most concurrency instances at once (fewer when it has fewer)
// and is allowed the errors that the commands before it left. SSM counts
// a percentage of a command's own targets; here it is of the fleet,
// concurrency rounded up (at least 1) and errors rounded down, as SSM
// rounds them.
type budget struct {
	// whole: one command carries the fleet, and SSM applies the limits
	// as written.
	whole       bool
	concurrency int
	maxErrors   int
	errors      int
}

func newBudget(o Options, fleet, commands int) *budget {
	return &budget{whole: commands == 1, concurrency: max(1, rateCount(o.MaxConcurrency, fleet, true)), maxErrors: rateCount(o.MaxErrors, fleet, false)}
}

// exceeded says the fleet failed more than MaxErrors allows: no further
// command may start.
func (b *budget) exceeded() bool { return b.errors > b.maxErrors }

// rates are the MaxConcurrency and MaxErrors of a command for n
// instances, and how many waves SSM needs for them.
func (b *budget) rates(o Options, n int) (concurrency, maxErrors string, waves int) {
	if b.whole {
		c := max(1, rateCount(o.MaxConcurrency, n, true))
		return o.MaxConcurrency, o.MaxErrors, (n + c - 1) / c
	}
	c := min(b.concurrency, n)
	return strconv.Itoa(c), strconv.Itoa(b.maxErrors - b.errors), (n + c - 1) / c
}

// waves is how many rounds SSM needs for n instances at MaxConcurrency.
func (r *run) waves(n int) int {
	c := rateCount(r.o.MaxConcurrency, n, true)
	if c <= 0 {
		c = 1
	}
	return (n + c - 1) / c
}

// rateCount turns "10" or "10%" of n into a count (concurrency rounds up).
func rateCount(s string, n int, up bool) int {
	if p, ok := strings.CutSuffix(s, "%"); ok {
		pct, _ := strconv.Atoi(p)
		f := float64(pct) * float64(n) / 100
		if up {
			return max(1, int(math.Ceil(f)))
		}
		return int(math.Floor(f))
	}
	v, _ := strconv.Atoi(s)
	return v
}

// presignExpiry covers the whole rollout (the last wave downloads last)
// plus a margin, but never more than a few hours: a leaked URL should
// not stay useful for long.
func (r *run) presignExpiry(waves int) time.Duration {
	d := time.Duration(waves)*r.o.ExecutionTimeout + 15*time.Minute
	return min(d, 6*time.Hour)
}

// deliveryTimeout is SendCommand's TimeoutSeconds: the last wave must be
// able to start after all earlier ones used their execution timeout.
func (r *run) deliveryTimeout(waves int) int {
	secs := int((time.Duration(waves-1)*r.o.ExecutionTimeout + 10*time.Minute) / time.Second)
	return min(max(secs, 30), 2592000)
}

func sortResults(results []transport.TargetResult, order []instance) {
	pos := map[string]int{}
	for i, in := range order {
		pos[in.ID] = i
	}
	sort.SliceStable(results, func(i, j int) bool {
		pi, iok := pos[results[i].Target]
		pj, jok := pos[results[j].Target]
		if iok != jok {
			return iok
		}
		if pi != pj {
			return pi < pj
		}
		return results[i].Target < results[j].Target
	})
}
