package ssm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
)

const credentialsHint = "configure AWS credentials: set AWS_PROFILE (or ssm.profile in ferry.yml) to a profile made with `aws configure` or `aws sso login`; " +
	"in GitHub Actions use aws-actions/configure-aws-credentials with an OIDC role (and permissions: id-token: write)"

// clients are the service clients of one run.
type clients struct {
	ssm     *awsssm.Client
	s3      *s3.Client
	presign *s3.PresignClient
	sts     *sts.Client
	region  string
}

// generalRetryer retries what is safe to repeat: every read, and
// CancelCommand (cancelling twice is harmless). The client-side retry
// quota is off because ferry's own polling already paces the calls, and
// a quota emptied by throttling would turn throttling into failure.
func generalRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 10
		o.MaxBackoff = 10 * time.Second
		o.RateLimiter = ratelimit.None
	})
}

// sendRetryer retries SendCommand only when the answer proves the request
// was refused before anything was created (throttling). A timeout, a
// reset connection or a 5xx may come after SSM accepted the command, and
// a second attempt would run the deploy twice.
func sendRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 10
		o.MaxBackoff = 10 * time.Second
		o.RateLimiter = ratelimit.None
		o.Retryables = []retry.IsErrorRetryable{
			retry.NoRetryCanceledError{},
			retry.RetryableErrorCode{Codes: retry.DefaultThrottleErrorCodes},
		}
	})
}

// newClients loads the SDK configuration the usual way (environment,
// shared files, SSO, web identity, instance role) unless one is given.
// AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL_STS are
// honoured by the loader;
// with an endpoint override S3 is addressed path-style, as local S3
// servers need.
func newClients(ctx context.Context, opts Options) (*clients, error) {
	cfg, err := loadConfig(ctx, opts)
	if err != nil {
		return nil, err
	}
	c := &clients{region: cfg.Region}
	c.ssm = newSSM(cfg)
	c.s3 = newS3(cfg)
	c.presign = s3.NewPresignClient(c.s3)
	c.sts = newSTS(cfg)
	return c, nil
}

// loadConfig is the SDK configuration of opts, with usable credentials.
func loadConfig(ctx context.Context, opts Options) (aws.Config, error) {
	var cfg aws.Config
	if opts.AWSConfig != nil {
		cfg = opts.AWSConfig.Copy()
		if opts.Region != "" {
			cfg.Region = opts.Region
		}
	} else {
		lo := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(opts.Region)}
		if opts.Profile != "" {
			lo = append(lo, awsconfig.WithSharedConfigProfile(opts.Profile))
		}
		var err error
		cfg, err = awsconfig.LoadDefaultConfig(ctx, lo...)
		if err != nil {
			return aws.Config{}, fail.New(exitcode.Failed, fmt.Errorf("load AWS configuration: %w", err), credentialsHint)
		}
	}
	if cfg.Credentials == nil {
		return aws.Config{}, fail.New(exitcode.Failed, errors.New("no AWS credentials are configured"), credentialsHint)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return aws.Config{}, fail.New(exitcode.Failed, fmt.Errorf("no usable AWS credentials: %w", err), credentialsHint)
	}
	return cfg, nil
}

func newSSM(cfg aws.Config) *awsssm.Client {
	return awsssm.NewFromConfig(cfg, func(o *awsssm.Options) { o.Retryer = generalRetryer() })
}

// newS3 addresses S3 path-style behind an endpoint override, as local S3
// servers need.
func newS3(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.Retryer = generalRetryer()
		if o.BaseEndpoint != nil {
			o.UsePathStyle = true
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	})
}

func newSTS(cfg aws.Config) *sts.Client {
	return sts.NewFromConfig(cfg, func(o *sts.Options) { o.Retryer = generalRetryer() })
}

// apiCode is the error code of an AWS answer, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// explain adds the advice an AWS error calls for.
func explain(what string, err error) error {
	if err == nil {
		return nil
	}
	var fe *fail.Error
	if errors.As(err, &fe) {
		return err
	}
	wrapped := fmt.Errorf("%s: %w", what, err)
	switch code := apiCode(err); code {
	case "UnrecognizedClientException", "InvalidClientTokenId", "ExpiredTokenException", "ExpiredToken",
		"RequestExpired", "InvalidSignatureException", "SignatureDoesNotMatch", "AuthFailure", "InvalidAccessKeyId":
		return fail.New(exitcode.Failed, wrapped, "the AWS credentials are invalid or expired; "+credentialsHint)
	case "AccessDeniedException", "AccessDenied":
		return fail.New(exitcode.Failed, wrapped, "the credentials lack a permission: ferry needs ssm:DescribeInstanceInformation, ssm:SendCommand, "+
			"ssm:ListCommandInvocations, ssm:ListCommands, ssm:GetCommandInvocation, ssm:CancelCommand and s3:GetObject, s3:PutObject, s3:DeleteObject, s3:ListBucket on the bucket")
	case "InvalidInstanceId":
		return fail.New(exitcode.Failed, wrapped, "each instance must be a managed node in this account and region: SSM Agent running, and an instance profile with AmazonSSMManagedInstanceCore")
	}
	if strings.Contains(err.Error(), "failed to refresh cached credentials") || strings.Contains(err.Error(), "failed to retrieve credentials") {
		return fail.New(exitcode.Failed, wrapped, credentialsHint)
	}
	if httpStatus(err) == http.StatusForbidden {
		return fail.New(exitcode.Failed, wrapped, "access denied: check the credentials' IAM permissions")
	}
	return wrapped
}
