package ssm

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Services are the AWS clients ferry uses for an ssm environment beside
// Run Command, configured as the transport's are (region, profile, the
// SDK's loader or a given configuration): S3 for the environment's audit
// records in its bucket, SSM for its Change Calendars, STS to name who the
// credentials belong to.
type Services struct {
	S3     *s3.Client
	SSM    *awsssm.Client
	STS    *sts.Client
	Region string

	c *clients // the transport's own set, which these fields are
}

// NewServices loads the configuration of region and profile (awsConfig,
// when not nil, replaces the SDK's loading as in Options.AWSConfig) and
// makes the clients; it fails, with the transport's hint, when there are
// no usable credentials. It makes no call beyond retrieving those.
func NewServices(ctx context.Context, region, profile string, awsConfig *aws.Config) (*Services, error) {
	c, err := newClients(ctx, Options{Region: region, Profile: profile, AWSConfig: awsConfig})
	if err != nil {
		return nil, err
	}
	return &Services{S3: c.s3, SSM: c.ssm, STS: c.sts, Region: c.region, c: c}, nil
}

// CallerARN is the ARN the credentials act as (sts:GetCallerIdentity, as
// ferry doctor and ferry iam ask it), asked once, within a few seconds: it
// names the AWS principal in the audit record.
func (s *Services) CallerARN(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, arn, err := s.c.identity(ctx)
	return arn, err
}

// CheckBucket is the preflight's bucket check: nil when bucket exists and
// the credentials may use it, else a failure that says what to do (the
// runner asks when it cannot write a record there).
func (s *Services) CheckBucket(ctx context.Context, bucket string) error {
	return checkBucket(ctx, s.S3, bucket, s.Region)
}
