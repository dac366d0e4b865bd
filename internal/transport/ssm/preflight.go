package ssm

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
)

// instance is a managed node as the preflight found it.
type instance struct {
	ID           string
	Platform     string // Linux or Windows
	PlatformName string
	AgentVersion string
	Ping         string
	LastPing     time.Time
}

// callTimeout bounds one API call (its retries included).
const callTimeout = 60 * time.Second

// preflight makes sure every target can take the command before anything
// is uploaded or sent: a managed node, Online, Linux or Windows.
func (r *run) preflight(ctx context.Context) ([]instance, error) {
	var found []instance
	if len(r.o.InstanceIDs) > 0 {
		for start := 0; start < len(r.o.InstanceIDs); start += 50 {
			ids := r.o.InstanceIDs[start:min(start+50, len(r.o.InstanceIDs))]
			got, err := r.describe(ctx, []types.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: ids}})
			if apiCode(err) == "InvalidInstanceId" {
				// Some ID is not a managed node: ask one by one to name each.
				got, err = r.describeEach(ctx, ids)
			}
			if err != nil {
				return nil, explain("describe instances", err)
			}
			found = append(found, got...)
		}
	} else {
		keys := make([]string, 0, len(r.o.Tags))
		for k := range r.o.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var filters []types.InstanceInformationStringFilter
		for _, k := range keys {
			filters = append(filters, types.InstanceInformationStringFilter{Key: aws.String("tag:" + k), Values: []string{r.o.Tags[k]}})
		}
		got, err := r.describe(ctx, filters)
		if err != nil {
			return nil, explain("describe instances", err)
		}
		if len(got) == 0 {
			return nil, fail.New(exitcode.Failed, fmt.Errorf("no managed instance has the tags %s", tagList(r.o.Tags)), "check the tags in ferry.yml and that the instances run SSM Agent in "+r.c.region+" (aws ssm describe-instance-information)")
		}
		found = got
	}
	byID := map[string]instance{}
	for _, in := range found {
		byID[in.ID] = in
	}
	order := r.o.InstanceIDs
	if len(order) == 0 {
		for _, in := range found {
			order = append(order, in.ID)
		}
	}
	var problems []string
	var ok []instance
	for _, id := range order {
		in, present := byID[id]
		switch {
		case !present:
			problems = append(problems, id+": not a managed node in "+r.c.region+" (no SSM Agent registered, another account or region, or terminated)")
		case in.Ping != string(types.PingStatusOnline):
			why := in.Ping
			if !in.LastPing.IsZero() {
				why += ", last seen " + in.LastPing.UTC().Format(time.RFC3339)
			}
			problems = append(problems, id+": "+why+" (SSM Agent is not connected)")
		case in.Platform != PlatformLinux && in.Platform != PlatformWindows:
			problems = append(problems, id+": platform "+in.Platform+" is not Linux or Windows")
		default:
			ok = append(ok, in)
		}
	}
	if len(problems) > 0 {
		return nil, fail.New(exitcode.Failed, fmt.Errorf("preflight: %d of %d instances cannot take the deploy; nothing was sent:\n  %s",
			len(problems), len(order), strings.Join(problems, "\n  ")), "start the instances or their SSM Agent (check with: aws ssm describe-instance-information), or remove them from ferry.yml")
	}
	if len(ok) <= 5 {
		for _, in := range ok {
			r.log(in.ID, "%s: %s, %s (%s), SSM Agent %s", in.ID, in.Ping, in.Platform, in.PlatformName, in.AgentVersion)
		}
		return ok, nil
	}
	// A fleet gets one line: how many of each platform and agent version.
	kinds := map[string]int{}
	for _, in := range ok {
		kinds[in.Platform+" with SSM Agent "+in.AgentVersion]++
	}
	var parts []string
	for k, n := range kinds {
		parts = append(parts, fmt.Sprintf("%d %s", n, k))
	}
	sort.Strings(parts)
	r.log("", "%d instances Online: %s", len(ok), strings.Join(parts, ", "))
	return ok, nil
}

func (r *run) describe(ctx context.Context, filters []types.InstanceInformationStringFilter) ([]instance, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var out []instance
	p := awsssm.NewDescribeInstanceInformationPaginator(r.c.ssm, &awsssm.DescribeInstanceInformationInput{Filters: filters, MaxResults: aws.Int32(50)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, ii := range page.InstanceInformationList {
			in := instance{ID: aws.ToString(ii.InstanceId), Platform: string(ii.PlatformType), PlatformName: aws.ToString(ii.PlatformName),
				AgentVersion: aws.ToString(ii.AgentVersion), Ping: string(ii.PingStatus)}
			if ii.LastPingDateTime != nil {
				in.LastPing = *ii.LastPingDateTime
			}
			out = append(out, in)
		}
	}
	return out, nil
}

func (r *run) describeEach(ctx context.Context, ids []string) ([]instance, error) {
	var out []instance
	for _, id := range ids {
		got, err := r.describe(ctx, []types.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: []string{id}}})
		if apiCode(err) == "InvalidInstanceId" {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

func tagList(tags map[string]string) string {
	var parts []string
	for k, v := range tags {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// checkBucket fails early, with advice, when the bucket is missing or
// out of reach: better than a command whose output goes nowhere.
func (r *run) checkBucket(ctx context.Context) error {
	return checkBucket(ctx, r.c.s3, r.o.Bucket, r.c.region)
}

// checkBucket asks S3 whether bucket exists and the credentials may use
// it, and says what to do when not.
func checkBucket(ctx context.Context, c *s3.Client, bucket, region string) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	_, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err == nil {
		return nil
	}
	var nf *s3types.NotFound
	var nsb *s3types.NoSuchBucket
	if errors.As(err, &nf) || errors.As(err, &nsb) || apiCode(err) == "NoSuchBucket" || httpStatus(err) == 404 {
		return fail.New(exitcode.Failed, fmt.Errorf("S3 bucket %s does not exist", bucket), fmt.Sprintf("create it (aws s3 mb s3://%s --region %s) or fix ssm.bucket in ferry.yml; it carries artifacts, agent binaries, command output and the audit records, and servers need no access to it", bucket, region))
	}
	if httpStatus(err) == 403 {
		return fail.New(exitcode.Failed, fmt.Errorf("S3 bucket %s: access denied", bucket), "the credentials need s3:ListBucket, s3:GetObject and s3:PutObject on the bucket (and it must be in this account)")
	}
	return explain("check bucket "+bucket, err)
}
