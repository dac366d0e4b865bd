package ssmemu

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Options configures an Emulator. The zero value (plus instances) behaves
// like the real service with real-time timeouts.
type Options struct {
	// Instances are registered at start, in order.
	Instances []Instance
	// Region is reported to scripts (AWS_SSM_REGION_NAME) and used in S3
	// output URLs when no S3 endpoint is set. Default us-east-1.
	Region string
	// TimeScale multiplies every SSM-side duration: TimeoutSeconds (delivery)
	// and the executionTimeout parameter. 0.01 turns SSM's one-hour defaults
	// into 36 seconds so tests need not wait. Default 1.
	TimeScale float64
	// VisibilityDelay is the initial eventual-consistency window (see SetVisibilityDelay).
	VisibilityDelay time.Duration
	// Throttle holds the initial throttling rules (see SetThrottle).
	Throttle []ThrottleRule
	// S3Endpoint is where OutputS3BucketName output is uploaded, path-style,
	// e.g. http://127.0.0.1:9000. Empty means the AWS URL form is reported
	// but nothing is uploaded (there is no AWS here).
	S3Endpoint string
	// S3Region, S3AccessKeyID and S3SecretAccessKey sign the uploads; they
	// default to Region and dummy keys.
	S3Region          string
	S3AccessKeyID     string
	S3SecretAccessKey string
	// S3Client overrides the client built from the fields above.
	S3Client *s3.Client
	// StateDir holds each invocation's stdout/stderr files, like the agent's
	// orchestration directory. Default: a temporary directory removed by Close.
	StateDir string
	// Env is added to every script's environment, after the emulator's own
	// environment and before the per-instance variables.
	Env []string
	// MaxReboots bounds how many times one invocation may exit 194 (reboot
	// and re-run) before it is reported Failed. Default 3.
	MaxReboots int
	// Logf receives diagnostics that have no API-visible effect (failed S3
	// uploads). Default: discarded.
	Logf func(format string, args ...any)
}

// Emulator is an SSM Run Command endpoint backed by local directories. It is
// an http.Handler; mount it at "/" of a loopback server. It is safe for
// concurrent use and must be closed to stop running scripts.
type Emulator struct {
	opts     Options
	scale    float64
	stateDir string
	ownState bool
	s3       *uploader

	throttle throttler
	log      callLog

	mu              sync.Mutex
	instances       map[string]*instance
	order           []string
	commands        map[string]*command
	commandOrder    []*command // oldest first
	visibilityDelay time.Duration
	closed          bool
	// running counts the scripts running now, on every instance and for
	// every command; peak is the most that ran at once (see PeakRunning).
	running, peak int

	closing   chan struct{}
	ctx       context.Context
	cancel    context.CancelFunc
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// New builds an emulator with opts.Instances registered and Online unless
// they say otherwise.
func New(opts Options) (*Emulator, error) {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.TimeScale < 0 {
		return nil, fmt.Errorf("time scale %v: must not be negative", opts.TimeScale)
	}
	scale := opts.TimeScale
	if scale == 0 {
		scale = 1
	}
	if opts.MaxReboots == 0 {
		opts.MaxReboots = 3
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	e := &Emulator{
		opts:            opts,
		scale:           scale,
		instances:       map[string]*instance{},
		commands:        map[string]*command{},
		visibilityDelay: opts.VisibilityDelay,
		closing:         make(chan struct{}),
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.throttle.set(opts.Throttle)
	if opts.StateDir == "" {
		dir, err := os.MkdirTemp("", "ssmemu-")
		if err != nil {
			return nil, fmt.Errorf("create state directory: %w", err)
		}
		e.stateDir, e.ownState = dir, true
	} else {
		if err := os.MkdirAll(opts.StateDir, 0o755); err != nil {
			return nil, fmt.Errorf("create state directory: %w", err)
		}
		e.stateDir = opts.StateDir
	}
	e.s3 = newUploader(opts)
	for _, in := range opts.Instances {
		if err := e.AddInstance(in); err != nil {
			e.Close()
			return nil, err
		}
	}
	return e, nil
}

// scaled converts an SSM duration (seconds as the API states them) into the
// wall-clock time the emulator waits.
func (e *Emulator) scaled(seconds int) time.Duration {
	return time.Duration(float64(seconds) * float64(time.Second) * e.scale)
}

// Close kills every script still running (its whole process group; children
// that called setsid survive, as on a real instance), stops all background
// work and waits for it. Requests after Close fail with InternalServerError.
func (e *Emulator) Close() error {
	e.closeOnce.Do(func() {
		e.mu.Lock()
		e.closed = true
		e.mu.Unlock()
		close(e.closing)
		e.cancel()
	})
	e.wg.Wait()
	if e.ownState {
		if err := os.RemoveAll(e.stateDir); err != nil {
			return fmt.Errorf("remove state directory: %w", err)
		}
	}
	return nil
}

// PeakRunning is the largest number of invocations that ran at the same
// time since the emulator started (or since ResetPeak), over every
// command: what a fleet-wide MaxConcurrency must bound. An invocation
// runs from the moment the service delivers it until its script ends.
func (e *Emulator) PeakRunning() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.peak
}

// Running is the number of invocations running now.
func (e *Emulator) Running() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.running
}

// ResetPeak starts a new measure of PeakRunning from what runs now.
func (e *Emulator) ResetPeak() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.peak = e.running
}

// wakeAllLocked nudges every unfinished command's scheduler after a change
// that may let work proceed (an instance came online, one was removed...).
func (e *Emulator) wakeAllLocked() {
	for _, c := range e.commandOrder {
		c.signal()
	}
}
