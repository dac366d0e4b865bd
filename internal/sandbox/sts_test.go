package sandbox_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ferryhq/ferry/internal/sandbox"
	"github.com/ferryhq/ferry/internal/testing/testtool"
)

// The sandbox's STS answers GetCallerIdentity to aws-sdk-go-v2 (through
// the sandbox's configuration, as ferry doctor asks) and to the AWS CLI
// with --endpoint-url, refuses a key that is not the sandbox's as STS
// refuses an unknown one, and every other action with an error the SDK
// understands.
func TestSTSGetCallerIdentity(t *testing.T) {
	t.Parallel()
	sb, err := sandbox.Start(sandbox.Options{Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	ctx := context.Background()
	out, err := sts.NewFromConfig(sb.AWSConfig()).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) != sandbox.Account || aws.ToString(out.Arn) != sandbox.CallerARN || aws.ToString(out.UserId) == "" {
		t.Errorf("GetCallerIdentity: %+v", out)
	}

	if _, err := sts.NewFromConfig(sb.AWSConfig()).GetSessionToken(ctx, &sts.GetSessionTokenInput{}, func(o *sts.Options) { o.RetryMaxAttempts = 1 }); err == nil || !strings.Contains(err.Error(), "InvalidAction") {
		t.Errorf("GetSessionToken: %v, want InvalidAction (the sandbox answers GetCallerIdentity alone)", err)
	}

	other := sb.AWSConfig()
	other.Credentials = credentials.NewStaticCredentialsProvider("AKIAOTHERKEY", "secret", "")
	_, err = sts.NewFromConfig(other).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err == nil || !strings.Contains(err.Error(), "InvalidClientTokenId") {
		t.Errorf("another key: %v, want InvalidClientTokenId", err)
	}

	awsCLI := testtool.Need(t, "aws")
	home := t.TempDir()
	cmd := exec.Command(awsCLI, "--endpoint-url", sb.STSEndpoint, "sts", "get-caller-identity", "--output", "json")
	cmd.Env = append(sb.Environ(os.Environ()), "HOME="+home, "AWS_CONFIG_FILE="+filepath.Join(home, "none"))
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws sts get-caller-identity: %v\n%s", err, b)
	}
	var id struct{ Account, Arn, UserId string }
	if err := json.Unmarshal(b, &id); err != nil || id.Account != sandbox.Account || id.Arn != sandbox.CallerARN {
		t.Errorf("aws sts get-caller-identity: %v %s", err, b)
	}
}
