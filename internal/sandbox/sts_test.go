package sandbox_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ferryhq/ferry/internal/sandbox"
)

// The sandbox's STS answers GetCallerIdentity with its own identity
// through the SDK (AWSConfig's per-service endpoint), and refuses every
// other action with an error the SDK understands.
func TestSTSGetCallerIdentity(t *testing.T) {
	t.Parallel()
	sb := start(t, sandbox.Options{})
	c := sts.NewFromConfig(sb.AWSConfig())
	out, err := c.GetCallerIdentity(testCtx(t), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Arn) != sandbox.CallerARN || aws.ToString(out.Account) != sandbox.Account || aws.ToString(out.UserId) == "" {
		t.Errorf("caller %s %s %s", aws.ToString(out.Arn), aws.ToString(out.Account), aws.ToString(out.UserId))
	}
	if _, err := c.GetSessionToken(testCtx(t), &sts.GetSessionTokenInput{}, func(o *sts.Options) { o.RetryMaxAttempts = 1 }); err == nil {
		t.Error("GetSessionToken succeeded; the sandbox answers GetCallerIdentity alone")
	}
}
