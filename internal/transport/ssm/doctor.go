package ssm

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/transport"
)

// Doctor is what `ferry doctor` learns of an environment's AWS side and
// of each server.
type Doctor struct {
	// Checks are the AWS side, in the order a deploy needs them:
	// credentials, region, bucket, instances, agents, document.
	Checks []agent.Check
	// Account and ARN are whose the credentials are.
	Account, ARN string
	// Results are each server's answer to the doctor op (its Doctor
	// checks), when it could be sent.
	Results []transport.TargetResult
}

// OK is true when every check passed, on the AWS side and on every server.
func (d *Doctor) OK() bool {
	for _, c := range d.Checks {
		if !c.OK {
			return false
		}
	}
	for _, r := range d.Results {
		if r.Result.ExitCode != 0 {
			return false
		}
	}
	return true
}

// Identity asks STS whose the credentials are (for ferry iam's account).
func (t *Transport) Identity(ctx context.Context) (account, arn string, err error) {
	c, err := newClients(ctx, t.opts)
	if err != nil {
		return "", "", err
	}
	return c.identity(ctx)
}

func (c *clients) identity(ctx context.Context) (string, string, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	out, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", "", explain("sts get-caller-identity", err)
	}
	return aws.ToString(out.Account), aws.ToString(out.Arn), nil
}

// Doctor checks everything a deploy of spec needs, going on past a
// failure wherever the next check can still say something, and sends the
// servers one read-only doctor command. The error is only for a
// problem of the check itself (the context); what is wrong is in the
// report.
func (t *Transport) Doctor(ctx context.Context, spec agent.Spec, progress transport.Progress) (*Doctor, error) {
	d := &Doctor{}
	add := func(c agent.Check) { d.Checks = append(d.Checks, c) }
	bad := func(name string, err error) {
		c := agent.Check{Name: name, Detail: err.Error()}
		if hints := fail.Hints(err); len(hints) > 0 {
			c.Fix = strings.Join(hints, "; ")
		}
		add(c)
	}
	r := &run{o: t.opts, progress: progress}
	var err error
	if r.c, err = newClients(ctx, r.o); err != nil {
		bad("credentials", err)
		return d, ctx.Err()
	}
	if d.Account, d.ARN, err = r.c.identity(ctx); err != nil {
		bad("credentials", err)
		return d, ctx.Err()
	}
	add(agent.Check{Name: "credentials", OK: true, Detail: fmt.Sprintf("%s (account %s)", d.ARN, d.Account)})
	if r.c.region == "" {
		add(agent.Check{Name: "region", Detail: "no region", Fix: "set ssm.region in ferry.yml"})
		return d, ctx.Err()
	}
	add(agent.Check{Name: "region", OK: true, Detail: r.c.region})

	bucketOK := true
	if err := r.checkBucket(ctx); err != nil {
		bad("bucket", err)
		bucketOK = false
	} else {
		add(r.bucketRegion(ctx))
		add(r.bucketWritable(ctx))
	}

	if r.insts, err = r.preflight(ctx); err != nil {
		bad("instances", err)
		return d, ctx.Err()
	}
	platforms := map[string]bool{}
	for _, in := range r.insts {
		platforms[in.Platform] = true
		add(agent.Check{Name: "instance " + in.ID, OK: true, Detail: fmt.Sprintf("%s, %s (%s), SSM Agent %s", in.Ping, in.Platform, in.PlatformName, in.AgentVersion)})
	}
	var names []string
	for p := range platforms {
		names = append(names, p)
	}
	sort.Strings(names)
	agentsOK := true
	for _, p := range names {
		for _, arch := range []string{"amd64", "arm64"} {
			file, err := r.o.Agents.Agent(ctx, goosOf[p], arch)
			if err != nil {
				bad("agent "+goosOf[p]+"/"+arch, err)
				agentsOK = false
				continue
			}
			add(agent.Check{Name: "agent " + goosOf[p] + "/" + arch, OK: true, Detail: file})
		}
	}
	if !bucketOK || !agentsOK {
		return d, ctx.Err()
	}
	if err := r.shipAgents(ctx, platforms); err != nil {
		bad("agents", err)
		return d, ctx.Err()
	}
	spec.Op = agent.OpDoctor
	results, _, err := r.execute(ctx, spec, r.insts, len(r.o.InstanceIDs) == 0)
	if err != nil {
		bad("document", err)
		return d, ctx.Err()
	}
	d.Results = results
	ran := 0
	for _, res := range results {
		if res.Result.Op == agent.OpDoctor && len(res.Result.Doctor) > 0 {
			ran++
		}
	}
	doc := r.o.Document
	if doc == "" {
		doc = strings.Join(documentsOf(names), ", ")
	}
	if ran == 0 {
		add(agent.Check{Name: "document", Detail: doc + ": no server ran the doctor command",
			Fix: "see each server's line below; a custom ssm.document must take the commands and executionTimeout parameters"})
	} else {
		add(agent.Check{Name: "document", OK: true, Detail: fmt.Sprintf("%s ran the read-only doctor command on %d of %d instances", doc, ran, len(results))})
	}
	return d, ctx.Err()
}

// documentsOf are the AWS documents of the platforms.
func documentsOf(platforms []string) []string {
	var out []string
	for _, p := range platforms {
		if p == PlatformWindows {
			out = append(out, "AWS-RunPowerShellScript")
		} else {
			out = append(out, "AWS-RunShellScript")
		}
	}
	return out
}

// bucketRegion compares the bucket's region (HeadBucket's answer) with
// the servers': presigned URLs of a bucket elsewhere cross regions.
func (r *run) bucketRegion(ctx context.Context) agent.Check {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	out, err := r.c.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(r.o.Bucket)})
	if err != nil {
		return agent.Check{Name: "bucket", Detail: err.Error()}
	}
	region := aws.ToString(out.BucketRegion)
	switch {
	case region == "":
		return agent.Check{Name: "bucket", OK: true, Detail: r.o.Bucket + " exists (its region was not reported)"}
	case region != r.c.region:
		return agent.Check{Name: "bucket", OK: true, Warn: true, Detail: fmt.Sprintf("%s is in %s, the servers in %s", r.o.Bucket, region, r.c.region),
			Fix: "a bucket in the servers' region keeps downloads in the region (and their cost down)"}
	}
	return agent.Check{Name: "bucket", OK: true, Detail: fmt.Sprintf("%s exists in %s", r.o.Bucket, region)}
}

// bucketWritable writes a small probe under the prefix (the deploy
// writes artifacts and agents there the same way).
func (r *run) bucketWritable(ctx context.Context) agent.Check {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	key := r.o.Prefix + "/doctor/probe.txt"
	_, err := r.c.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(r.o.Bucket), Key: aws.String(key),
		Body: bytes.NewReader([]byte("written by ferry doctor\n")), ContentType: aws.String("text/plain")})
	if err != nil {
		return agent.Check{Name: "bucket writable", Detail: explain("put s3://"+r.o.Bucket+"/"+key, err).Error(),
			Fix: "the credentials need s3:PutObject on arn:aws:s3:::" + r.o.Bucket + "/" + r.o.Prefix + "/* (ferry iam ENV prints the policy)"}
	}
	return agent.Check{Name: "bucket writable", OK: true, Detail: "s3://" + r.o.Bucket + "/" + r.o.Prefix + "/"}
}
