// Package sandbox runs, on loopback, everything ferry's ssm transport talks
// to: the SSM Run Command emulator with a set of Linux "instances" (plain
// directories) and an in-process S3 server with a bucket. It gives back the
// endpoints and the environment that point AWS clients at them (those that
// read AWS_ENDPOINT_URL_<SERVICE>; older ones need the endpoints as
// --endpoint-url), so that
// `ferry sandbox`, `ferry demo` and end-to-end tests deploy exactly as they
// would to AWS, without an account and without leaving 127.0.0.1.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"

	"github.com/ferryhq/ferry/internal/ssmemu"
)

// Dummy credentials: the servers do not check signatures, but every AWS
// client insists on signing, and none of them must find real keys.
const (
	AccessKeyID     = "SANDBOXACCESSKEY"
	SecretAccessKey = "sandbox-secret-key-not-a-real-one"
)

// Options configures a sandbox. Only Root is required.
type Options struct {
	// Root is the directory under which instance directories
	// (Root/instances/<id>), AWS client configuration (Root/aws) and the
	// emulator's per-invocation output files (Root/ssm-state) are made.
	// They stay after Close, for inspection.
	Root string
	// Instances is how many Linux instances to create; default 1.
	Instances int
	// InstanceTags are added to every instance, next to Name=sandbox-<n>.
	InstanceTags map[string]string
	// SSMPort, S3Port and STSPort choose the loopback ports; 0 picks
	// free ones.
	SSMPort int
	S3Port  int
	STSPort int
	// Bucket is created in the S3 server; default "ferry-sandbox".
	Bucket string
	// Region is what clients are told to use; default us-east-1.
	Region string
	// TimeScale, VisibilityDelay and Throttle are passed to the emulator
	// (see ssmemu.Options).
	TimeScale       float64
	VisibilityDelay time.Duration
	Throttle        []ssmemu.ThrottleRule
	// Env is added to the environment of every script the instances run.
	Env []string
	// Logf receives the emulator's diagnostics; default discarded.
	Logf func(format string, args ...any)
}

// Sandbox is a running emulator and S3 server. Close stops both.
type Sandbox struct {
	// SSMEndpoint, S3Endpoint and STSEndpoint are http://127.0.0.1:<port>
	// URLs (STS answers GetCallerIdentity alone, with CallerARN).
	SSMEndpoint string
	S3Endpoint  string
	STSEndpoint string
	Region      string
	Bucket      string
	Root        string
	// ConfigFile and CredentialsFile are a shared AWS config (region,
	// path-style S3, per-service endpoints) and a credentials file with the
	// dummy keys, for clients that read files rather than the environment.
	ConfigFile      string
	CredentialsFile string
	// Instances are the created instances, in order; their Dir is where
	// scripts run.
	Instances []ssmemu.Instance
	// Emulator gives tests and demos control: ping status, faults, call log.
	Emulator *ssmemu.Emulator

	servers []*http.Server
}

// InstanceID is the sandbox's n-th instance ID (from 0): stable across runs
// so that scripts and saved configuration can name instances.
func InstanceID(n int) string {
	return fmt.Sprintf("i-0fe77a%011x", n+1)
}

// Start creates the instances, starts both servers on loopback and creates
// the bucket. On error nothing is left running.
func Start(opts Options) (s *Sandbox, err error) {
	if opts.Root == "" {
		return nil, errors.New("sandbox root directory is required")
	}
	if opts.Instances == 0 {
		opts.Instances = 1
	}
	if opts.Instances < 0 {
		return nil, fmt.Errorf("instance count %d: must be positive", opts.Instances)
	}
	if opts.Bucket == "" {
		opts.Bucket = "ferry-sandbox"
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, fmt.Errorf("sandbox root: %w", err)
	}
	s = &Sandbox{Region: opts.Region, Bucket: opts.Bucket, Root: root}
	defer func() {
		if err != nil {
			s.Close()
			s = nil
		}
	}()

	for i := range opts.Instances {
		id := InstanceID(i)
		dir := filepath.Join(root, "instances", id)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return s, fmt.Errorf("create instance directory: %w", err)
		}
		tags := map[string]string{"Name": "sandbox-" + strconv.Itoa(i+1)}
		for k, v := range opts.InstanceTags {
			tags[k] = v
		}
		s.Instances = append(s.Instances, ssmemu.Instance{
			ID: id, Dir: dir, Platform: ssmemu.PlatformLinux, ComputerName: "sandbox-" + strconv.Itoa(i+1) + ".local", Tags: tags,
		})
	}

	backend := s3mem.New()
	if err := backend.CreateBucket(context.Background(), opts.Bucket); err != nil {
		return s, fmt.Errorf("create bucket %s: %w", opts.Bucket, err)
	}
	if s.S3Endpoint, err = s.serve(opts.S3Port, gofakes3.New(backend).Server()); err != nil {
		return s, fmt.Errorf("start s3 server: %w", err)
	}

	s.Emulator, err = ssmemu.New(ssmemu.Options{
		Instances:         s.Instances,
		Region:            opts.Region,
		TimeScale:         opts.TimeScale,
		VisibilityDelay:   opts.VisibilityDelay,
		Throttle:          opts.Throttle,
		S3Endpoint:        s.S3Endpoint,
		S3AccessKeyID:     AccessKeyID,
		S3SecretAccessKey: SecretAccessKey,
		StateDir:          filepath.Join(root, "ssm-state"),
		Env:               opts.Env,
		Logf:              opts.Logf,
	})
	if err != nil {
		return s, fmt.Errorf("start ssm emulator: %w", err)
	}
	if s.SSMEndpoint, err = s.serve(opts.SSMPort, s.Emulator); err != nil {
		return s, fmt.Errorf("start ssm server: %w", err)
	}
	if s.STSEndpoint, err = s.serve(opts.STSPort, &stsServer{}); err != nil {
		return s, fmt.Errorf("start sts server: %w", err)
	}
	if err := s.writeClientFiles(); err != nil {
		return s, err
	}
	return s, nil
}

// serve listens on 127.0.0.1 only: nothing here may be reachable from elsewhere.
func (s *Sandbox) serve(port int, h http.Handler) (string, error) {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return "", fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go srv.Serve(l)
	return "http://" + l.Addr().String(), nil
}

func (s *Sandbox) writeClientFiles() error {
	dir := filepath.Join(s.Root, "aws")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create aws config directory: %w", err)
	}
	s.ConfigFile, s.CredentialsFile = filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	config := strings.Join([]string{
		"[default]",
		"region = " + s.Region,
		"output = json",
		"services = ferry-sandbox",
		"s3 =",
		"  addressing_style = path",
		"",
		"[services ferry-sandbox]",
		"ssm =",
		"  endpoint_url = " + s.SSMEndpoint,
		"s3 =",
		"  endpoint_url = " + s.S3Endpoint,
		"sts =",
		"  endpoint_url = " + s.STSEndpoint,
		"",
	}, "\n")
	creds := "[default]\naws_access_key_id = " + AccessKeyID + "\naws_secret_access_key = " + SecretAccessKey + "\n"
	if err := os.WriteFile(s.ConfigFile, []byte(config), 0o644); err != nil {
		return fmt.Errorf("write aws config: %w", err)
	}
	if err := os.WriteFile(s.CredentialsFile, []byte(creds), 0o600); err != nil {
		return fmt.Errorf("write aws credentials: %w", err)
	}
	return nil
}

// Env is the environment that points AWS clients at the sandbox:
// per-service endpoints, dummy credentials, region, and config files that
// ask for path-style S3 addressing and name the endpoints again. Only
// clients that read AWS_ENDPOINT_URL_<SERVICE> (or the config file's
// services section) follow it: aws-sdk-go-v2, boto3 1.28 or later, the
// AWS CLI v2 2.13 or later and v1 1.29 or later. Older ones, such as
// Debian 12's AWS CLI 2.9, go to real AWS unless given --endpoint-url
// (TestWhichClientsHonourTheEndpointVariables checks this machine's).
// Combine it with Environ to be sure nothing from the caller's AWS setup
// wins.
func (s *Sandbox) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL_SSM=" + s.SSMEndpoint,
		"AWS_ENDPOINT_URL_S3=" + s.S3Endpoint,
		"AWS_ENDPOINT_URL_STS=" + s.STSEndpoint,
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_REGION=" + s.Region,
		"AWS_DEFAULT_REGION=" + s.Region,
		"AWS_CONFIG_FILE=" + s.ConfigFile,
		"AWS_SHARED_CREDENTIALS_FILE=" + s.CredentialsFile,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// Environ returns base without any AWS_* variable (a profile, a session
// token or a global endpoint from the caller would otherwise leak in) plus Env.
func (s *Sandbox) Environ(base []string) []string {
	out := make([]string, 0, len(base)+10)
	for _, kv := range base {
		if !strings.HasPrefix(kv, "AWS_") {
			out = append(out, kv)
		}
	}
	return append(out, s.Env()...)
}

// AWSConfig is an aws-sdk-go-v2 configuration for the sandbox, built without
// reading the environment, files or instance metadata: ssm.NewFromConfig and
// s3.NewFromConfig on it reach the sandbox's servers with the dummy keys.
// S3 uses path-style addressing because the endpoint host is an IP address.
func (s *Sandbox) AWSConfig() aws.Config {
	return aws.Config{
		Region:        s.Region,
		Credentials:   aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, "")),
		ConfigSources: []any{endpoints{"SSM": s.SSMEndpoint, "S3": s.S3Endpoint, "STS": s.STSEndpoint}},
	}
}

// endpoints answers the SDK's per-service endpoint lookup, the in-memory
// equivalent of AWS_ENDPOINT_URL_<SERVICE>.
type endpoints map[string]string

// GetServiceBaseEndpoint is the hook service clients call with their SDK ID.
func (e endpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	url, ok := e[sdkID]
	return url, ok, nil
}

// Close stops the servers and the emulator, killing scripts still running.
func (s *Sandbox) Close() error {
	var errs []error
	for _, srv := range s.servers {
		if err := srv.Close(); err != nil {
			errs = append(errs, fmt.Errorf("stop server: %w", err))
		}
	}
	if s.Emulator != nil {
		if err := s.Emulator.Close(); err != nil {
			errs = append(errs, fmt.Errorf("stop ssm emulator: %w", err))
		}
	}
	return errors.Join(errs...)
}
