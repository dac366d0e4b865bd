package cli

import (
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ferryhq/ferry/internal/transport"
	"github.com/ferryhq/ferry/internal/transport/ssm"
)

func init() { ssmTransportHook = newSSMTransport }

// awsOverrides gives one app (a ferry demo's inner commands) an AWS
// configuration of its own, so that the demo reaches its sandbox without
// changing the process environment.
var (
	awsOverridesMu sync.Mutex
	awsOverrides   = map[*app]*aws.Config{}
)

func setAWSOverride(a *app, cfg *aws.Config) {
	awsOverridesMu.Lock()
	defer awsOverridesMu.Unlock()
	if cfg == nil {
		delete(awsOverrides, a)
		return
	}
	awsOverrides[a] = cfg
}

func awsOverride(a *app) *aws.Config {
	awsOverridesMu.Lock()
	defer awsOverridesMu.Unlock()
	return awsOverrides[a]
}

// newSSMTransport builds the ssm transport of an environment from its
// ssm: section (already validated) and the repository being deployed.
func newSSMTransport(a *app, t *target) (transport.Transport, error) {
	s := t.env.SSM
	opts := ssm.Options{
		Region: s.Region, Profile: s.Profile, InstanceIDs: s.InstanceIDs, Tags: s.Tags,
		Bucket: s.Bucket, Prefix: s.Prefix, ExecutionTimeout: s.ExecutionTimeout,
		MaxConcurrency: s.Rollout.MaxConcurrency, MaxErrors: s.Rollout.MaxErrors,
		FleetRollback: s.FleetRollback == nil || *s.FleetRollback,
		Document:      s.Document, Source: s.Source, Repository: s.Repository,
		RepoDir: t.repo.Dir, AppDir: t.appDir,
		Agents:    ssm.DefaultAgentSource(a.getenv),
		AWSConfig: awsOverride(a),
	}
	return ssm.New(opts)
}
