// Package iam writes the least-privilege AWS IAM that `ferry iam` prints
// for one environment: the GitHub OIDC provider, the deploy role GitHub
// Actions assumes (its trust policy and its permissions), and the
// instance role of the servers, as IAM JSON and as a CloudFormation
// snippet (YAML).
//
// The CLI's calls:
//
//	o := iam.Options{Account: "123456789012", Region: "eu-west-1", Repository: "acme/billing",
//		Environment: "production", App: "billing", Platform: iam.Windows,
//		Tags: map[string]string{"Role": "billing"}, Bucket: "billing-deploy", Prefix: "ferry"}
//	set, err := iam.For(o)        // the policies as Go values
//	b, err := set.JSON()          // `ferry iam ENV --json`
//	b, err = set.CloudFormation() // `ferry iam ENV --cloudformation`
//
// What the deploy role may do is exactly what ferry calls (the test
// TestPoliciesMatchCalls holds the two lists equal, reading the Go code's
// SDK calls and botocore's service models):
//
//   - ssm:SendCommand on the environment's document (AWS-RunShellScript,
//     AWS-RunPowerShellScript or its own) and on its instances, by ID or
//     by tag condition (ssm:resourceTag/KEY);
//   - ssm:DescribeInstanceInformation, ssm:ListCommands,
//     ssm:ListCommandInvocations, ssm:GetCommandInvocation,
//     ssm:CancelCommand (none of them takes a resource narrower than *);
//   - ssm:GetCalendarState on the environment's Change Calendars, when it
//     has some;
//   - sts:GetCallerIdentity (`ferry doctor`, and the AWS principal of
//     every audit record; AWS allows it to everyone, listed so that the
//     policy says what ferry does);
//   - s3:GetObject, s3:PutObject and s3:DeleteObject (the sealed secrets
//     object, removed after use) under PREFIX/ of the bucket (artifacts,
//     agents, records; presigned URLs are signed with this role, so the
//     servers need no S3 access to download), and s3:ListBucket on the
//     bucket for keys under PREFIX/ (record chains; HeadBucket, the
//     preflight's check, is authorised as s3:ListBucket);
//   - s3:GetObject under the output prefix (ssm.output_prefix; ferry.yml's
//     default is the SOP's ssm-logs/ENV) when it is outside PREFIX/:
//     ferry reads a command's whole output there.
//
// The instance role is AmazonSSMManagedInstanceCore plus s3:PutObject
// under the output prefix (the SSM Agent writes the command's full output
// there) and s3:GetEncryptionConfiguration on the bucket (the SSM Agent
// asks before it writes).
package iam

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/text"
)

// Platform picks the default SSM document.
type Platform string

// The server platforms.
const (
	Windows Platform = "windows"
	Linux   Platform = "linux"
)

// GitHub's OIDC issuer and the audience configure-aws-credentials asks for.
const (
	OIDCHost     = "token.actions.githubusercontent.com"
	OIDCAudience = "sts.amazonaws.com"
	// InstanceCorePolicy is the managed policy the SSM Agent needs.
	InstanceCorePolicy = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
)

// githubThumbprints are the GitHub OIDC certificate thumbprints. IAM no
// longer uses them for GitHub (it trusts GitHub's CA), but the
// CloudFormation resource has long required the property.
var githubThumbprints = []string{"6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"}

// Options describe one environment's deploy.
type Options struct {
	// Account is the 12-digit AWS account; Partition defaults to aws
	// (aws-cn, aws-us-gov elsewhere); Region is ssm.region.
	Account, Partition, Region string
	// Repository is the GitHub OWNER/REPO that deploys.
	Repository string
	// OwnerID and RepositoryID, when set, write the subject with
	// GitHub's immutable IDs (repo:OWNER@ID/REPO@ID:…), the default for
	// repositories created or renamed since June 2026.
	OwnerID, RepositoryID int64
	// Environment is the GitHub (and ferry.yml) environment: the role
	// trusts only jobs that run in it.
	Environment string
	// App names the roles (ferry-APP-ENV-deploy, ferry-APP-ENV-instance).
	App string
	// Platform picks the document when Document is empty; default windows.
	Platform Platform
	// Document is ssm.document: a custom document's name in this account.
	Document string
	// InstanceIDs or Tags select the instances (ssm.instance_ids, ssm.tags).
	InstanceIDs []string
	Tags        map[string]string
	// Bucket and Prefix are ssm.bucket and ssm.prefix (default ferry).
	Bucket, Prefix string
	// OutputPrefix is ssm.output_prefix, where the SSM Agent writes the
	// commands' output and ferry reads it (ferry.yml's default is
	// ssm-logs/ENV, the SOP's layout; empty here means PREFIX/output).
	OutputPrefix string
	// Calendars are Change Calendar names or ARNs the policy consults.
	Calendars []string
	// CreateOIDCProvider adds the provider to the CloudFormation snippet;
	// an account has one, so only the first stack should create it.
	CreateOIDCProvider bool
	// PrefixBoundListing conditions s3:ListBucket on s3:prefix strictly.
	// Off, a request without a prefix is also allowed (s3:prefix
	// …IfExists), because the preflight's HeadBucket carries none; see
	// docs/pipeline.md for the preflight change that lets this go on.
	PrefixBoundListing bool
}

// Statement is one IAM policy statement.
type Statement struct {
	Sid       string                    `json:"Sid,omitempty" yaml:"Sid,omitempty"`
	Effect    string                    `json:"Effect" yaml:"Effect"`
	Principal map[string]string         `json:"Principal,omitempty" yaml:"Principal,omitempty"`
	Action    []string                  `json:"Action" yaml:"Action"`
	Resource  []string                  `json:"Resource,omitempty" yaml:"Resource,omitempty"`
	Condition map[string]map[string]any `json:"Condition,omitempty" yaml:"Condition,omitempty"`
}

// Policy is an IAM policy document.
type Policy struct {
	Version   string      `json:"Version" yaml:"Version"`
	Statement []Statement `json:"Statement" yaml:"Statement"`
}

// Actions lists every action of p, sorted, once each.
func (p Policy) Actions() []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range p.Statement {
		for _, a := range s.Action {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Set is everything one environment needs.
type Set struct {
	// Options as normalized (defaults filled in).
	Options Options
	// OIDCProviderARN is the account's GitHub provider.
	OIDCProviderARN string
	// DeployRoleName, DeployTrust and DeployPolicy: the role GitHub
	// Actions assumes in the environment.
	DeployRoleName string
	DeployTrust    Policy
	DeployPolicy   Policy
	// InstanceRoleName, InstanceTrust, InstancePolicy and
	// InstanceManagedPolicies: the servers' role.
	InstanceRoleName        string
	InstanceTrust           Policy
	InstancePolicy          Policy
	InstanceManagedPolicies []string
}

var (
	accountRe  = text.Pattern(`^[0-9]{12}$`)
	regionRe   = text.Pattern(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	repoRe     = text.Pattern(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	nameRe     = text.Pattern(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)
	instanceRe = text.Pattern(`^i-[0-9a-f]{8,17}$`)
	bucketRe   = text.Pattern(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	prefixRe   = text.Pattern(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$`)
	documentRe = text.Pattern(`^[A-Za-z0-9_.-]{3,128}$`)
	tagRe      = text.Pattern(`^[\p{L}\p{N} _.:/=+@-]{1,128}$`)
	calendarRe = text.Pattern(`^(arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:document/)?[A-Za-z0-9_.-]{3,128}$`)
)

// For builds the policies of o, or returns every problem with o.
func For(o Options) (*Set, error) {
	var errs []error
	bad := func(hint, format string, args ...any) {
		errs = append(errs, fail.Errorf(exitcode.Usage, "iam: "+format, args...).WithHints(hint))
	}
	if o.Partition == "" {
		o.Partition = "aws"
	}
	if o.Platform == "" {
		o.Platform = Windows
	}
	if o.Prefix == "" {
		o.Prefix = "ferry"
	}
	o.Prefix = strings.Trim(o.Prefix, "/")
	if o.OutputPrefix == "" {
		o.OutputPrefix = o.Prefix + "/output"
	}
	o.OutputPrefix = strings.Trim(o.OutputPrefix, "/")
	if !accountRe().MatchString(o.Account) {
		bad("give the 12-digit account ID (aws sts get-caller-identity shows it)", "account %q is not an AWS account ID", o.Account)
	}
	if o.Partition != "aws" && o.Partition != "aws-cn" && o.Partition != "aws-us-gov" {
		bad("use aws, aws-cn or aws-us-gov", "partition %q is not an AWS partition", o.Partition)
	}
	if !regionRe().MatchString(o.Region) {
		bad("use ssm.region from ferry.yml, e.g. eu-west-1", "region %q is not an AWS region", o.Region)
	}
	if !repoRe().MatchString(o.Repository) {
		bad("give the GitHub repository as OWNER/REPO", "repository %q is not OWNER/REPO", o.Repository)
	}
	if (o.OwnerID == 0) != (o.RepositoryID == 0) || o.OwnerID < 0 || o.RepositoryID < 0 {
		bad("give both IDs (GET /repos/OWNER/REPO shows owner.id and id) or neither", "owner ID %d and repository ID %d: give both or neither", o.OwnerID, o.RepositoryID)
	}
	if !nameRe().MatchString(o.Environment) {
		bad("use the environment's name from ferry.yml", "environment %q is not allowed", o.Environment)
	}
	if !nameRe().MatchString(o.App) {
		bad("use ferry.yml's app", "app %q is not allowed", o.App)
	}
	if o.Platform != Windows && o.Platform != Linux {
		bad("use windows or linux", "platform %q is not windows or linux", o.Platform)
	}
	if o.Document != "" && !documentRe().MatchString(o.Document) {
		bad("give ssm.document's name", "document %q is not a document name", o.Document)
	}
	if (len(o.InstanceIDs) == 0) == (len(o.Tags) == 0) {
		bad("give ssm.instance_ids or ssm.tags, as in ferry.yml", "give instance IDs or tags, one of them")
	}
	for _, id := range o.InstanceIDs {
		if !instanceRe().MatchString(id) {
			bad("use EC2 instance IDs such as i-0123456789abcdef0", "instance %q is not an instance ID", id)
		}
	}
	for k, v := range o.Tags {
		if !tagRe().MatchString(k) || !tagRe().MatchString(v) || strings.HasPrefix(strings.ToLower(k), "aws:") {
			bad("use the tags of ssm.tags", "tag %q=%q is not allowed", k, v)
		}
	}
	if !bucketRe().MatchString(o.Bucket) || strings.Contains(o.Bucket, "..") {
		bad("use ssm.bucket from ferry.yml", "bucket %q is not an S3 bucket name", o.Bucket)
	}
	if !prefixRe().MatchString(o.Prefix) || strings.Contains("/"+o.Prefix+"/", "/../") || strings.Contains("/"+o.Prefix+"/", "/./") {
		bad("use ssm.prefix from ferry.yml", "prefix %q is not allowed", o.Prefix)
	}
	if !prefixRe().MatchString(o.OutputPrefix) || strings.Contains("/"+o.OutputPrefix+"/", "/../") || strings.Contains("/"+o.OutputPrefix+"/", "/./") {
		bad("use ssm.output_prefix from ferry.yml", "output prefix %q is not allowed", o.OutputPrefix)
	}
	for _, c := range o.Calendars {
		if !calendarRe().MatchString(c) {
			bad("give the Change Calendar's name or ARN", "calendar %q is not a document name or ARN", c)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	s := &Set{
		Options:          o,
		OIDCProviderARN:  fmt.Sprintf("arn:%s:iam::%s:oidc-provider/%s", o.Partition, o.Account, OIDCHost),
		DeployRoleName:   roleName(o.App, o.Environment, "deploy"),
		InstanceRoleName: roleName(o.App, o.Environment, "instance"),
	}
	s.DeployTrust = Policy{Version: "2012-10-17", Statement: []Statement{{
		Sid:       "GitHubActionsInTheEnvironment",
		Effect:    "Allow",
		Principal: map[string]string{"Federated": s.OIDCProviderARN},
		Action:    []string{"sts:AssumeRoleWithWebIdentity"},
		Condition: map[string]map[string]any{"StringEquals": {
			OIDCHost + ":aud": OIDCAudience,
			OIDCHost + ":sub": Subject(o),
		}},
	}}}
	s.DeployPolicy = deployPolicy(o)
	s.InstanceTrust = Policy{Version: "2012-10-17", Statement: []Statement{{
		Effect: "Allow", Principal: map[string]string{"Service": "ec2.amazonaws.com"}, Action: []string{"sts:AssumeRole"},
	}}}
	s.InstancePolicy = Policy{Version: "2012-10-17", Statement: []Statement{
		{Sid: "CommandOutput", Effect: "Allow", Action: []string{"s3:PutObject"}, Resource: []string{s3ARN(o, o.OutputPrefix+"/*")}},
		{Sid: "OutputBucketEncryption", Effect: "Allow", Action: []string{"s3:GetEncryptionConfiguration"}, Resource: []string{s3ARN(o, "")}},
	}}
	s.InstanceManagedPolicies = []string{strings.Replace(InstanceCorePolicy, "arn:aws:", "arn:"+o.Partition+":", 1)}
	return s, nil
}

// Subject is the OIDC sub claim of a job in o's environment: GitHub puts
// the environment there (instead of the ref) whenever a job names one,
// which is what ties the role to the environment's protection rules.
func Subject(o Options) string {
	owner, repo, _ := strings.Cut(o.Repository, "/")
	if o.OwnerID != 0 {
		owner += "@" + strconv.FormatInt(o.OwnerID, 10)
		repo += "@" + strconv.FormatInt(o.RepositoryID, 10)
	}
	return "repo:" + owner + "/" + repo + ":environment:" + o.Environment
}

// roleName fits IAM's 64 characters.
func roleName(app, env, kind string) string {
	n := "ferry-" + app + "-" + env + "-" + kind
	if len(n) > 64 {
		n = n[:64]
	}
	return n
}

func s3ARN(o Options, key string) string {
	if key == "" {
		return "arn:" + o.Partition + ":s3:::" + o.Bucket
	}
	return "arn:" + o.Partition + ":s3:::" + o.Bucket + "/" + key
}

// Document is the SSM document ferry sends for o.
func Document(o Options) string {
	switch {
	case o.Document != "":
		return o.Document
	case o.Platform == Linux:
		return "AWS-RunShellScript"
	default:
		return "AWS-RunPowerShellScript"
	}
}

func documentARN(o Options) string {
	d := Document(o)
	if strings.HasPrefix(d, "AWS-") {
		// AWS's own documents (only AWS may name one AWS-…) have no
		// account in their ARN.
		return fmt.Sprintf("arn:%s:ssm:%s::document/%s", o.Partition, o.Region, d)
	}
	return fmt.Sprintf("arn:%s:ssm:%s:%s:document/%s", o.Partition, o.Region, o.Account, d)
}

func deployPolicy(o Options) Policy {
	var st []Statement
	st = append(st, Statement{Sid: "SendTheDocument", Effect: "Allow", Action: []string{"ssm:SendCommand"}, Resource: []string{documentARN(o)}})
	// Instances in a statement of their own: a tag condition on the
	// document's statement would deny it (documents carry no such tag).
	if len(o.InstanceIDs) > 0 {
		ids := append([]string(nil), o.InstanceIDs...)
		sort.Strings(ids)
		var arns []string
		for _, id := range ids {
			arns = append(arns, fmt.Sprintf("arn:%s:ec2:%s:%s:instance/%s", o.Partition, o.Region, o.Account, id))
		}
		st = append(st, Statement{Sid: "ToTheEnvironmentsInstances", Effect: "Allow", Action: []string{"ssm:SendCommand"}, Resource: arns})
	} else {
		cond := map[string]any{}
		for k, v := range o.Tags {
			cond["ssm:resourceTag/"+k] = v
		}
		st = append(st, Statement{Sid: "ToTheEnvironmentsInstances", Effect: "Allow", Action: []string{"ssm:SendCommand"},
			Resource:  []string{fmt.Sprintf("arn:%s:ec2:%s:%s:instance/*", o.Partition, o.Region, o.Account)},
			Condition: map[string]map[string]any{"StringEquals": cond}})
	}
	st = append(st, Statement{Sid: "FollowAndCancelCommands", Effect: "Allow", Resource: []string{"*"}, Action: []string{
		"ssm:CancelCommand", "ssm:DescribeInstanceInformation", "ssm:GetCommandInvocation", "ssm:ListCommandInvocations", "ssm:ListCommands",
	}})
	if len(o.Calendars) > 0 {
		var arns []string
		for _, c := range o.Calendars {
			if strings.HasPrefix(c, "arn:") {
				arns = append(arns, c)
			} else {
				arns = append(arns, fmt.Sprintf("arn:%s:ssm:%s:%s:document/%s", o.Partition, o.Region, o.Account, c))
			}
		}
		sort.Strings(arns)
		st = append(st, Statement{Sid: "ChangeCalendars", Effect: "Allow", Action: []string{"ssm:GetCalendarState"}, Resource: arns})
	}
	st = append(st, Statement{Sid: "WhoAmI", Effect: "Allow", Action: []string{"sts:GetCallerIdentity"}, Resource: []string{"*"}})
	st = append(st, Statement{Sid: "ObjectsUnderThePrefix", Effect: "Allow", Action: []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}, Resource: []string{s3ARN(o, o.Prefix+"/*")}})
	if !strings.HasPrefix(o.OutputPrefix+"/", o.Prefix+"/") {
		// The commands' output outside PREFIX/ (ssm-logs/ENV): ferry
		// reads it whole when SSM's answer cuts it.
		st = append(st, Statement{Sid: "ReadCommandOutput", Effect: "Allow", Action: []string{"s3:GetObject"}, Resource: []string{s3ARN(o, o.OutputPrefix+"/*")}})
	}
	op := "StringLikeIfExists"
	if o.PrefixBoundListing {
		op = "StringLike"
	}
	st = append(st, Statement{Sid: "ListThePrefix", Effect: "Allow", Action: []string{"s3:ListBucket"}, Resource: []string{s3ARN(o, "")},
		Condition: map[string]map[string]any{op: {"s3:prefix": []string{o.Prefix + "/*"}}}})
	return Policy{Version: "2012-10-17", Statement: st}
}

// JSON is the set as one JSON document: the provider, each role's trust
// and permission policies, ready for `aws iam create-role
// --assume-role-policy-document` and `put-role-policy`.
func (s *Set) JSON() ([]byte, error) {
	doc := map[string]any{
		"oidc_provider": map[string]any{
			"arn": s.OIDCProviderARN, "url": "https://" + OIDCHost, "client_ids": []string{OIDCAudience},
		},
		"deploy_role": map[string]any{
			"name": s.DeployRoleName, "trust_policy": s.DeployTrust, "policy": s.DeployPolicy,
		},
		"instance_role": map[string]any{
			"name": s.InstanceRoleName, "trust_policy": s.InstanceTrust, "policy": s.InstancePolicy,
			"managed_policies": s.InstanceManagedPolicies,
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("iam: %w", err)
	}
	return append(b, '\n'), nil
}

// cfn* are the CloudFormation snippet's shape, in the order people read it.
type cfnTemplate struct {
	AWSTemplateFormatVersion string                 `yaml:"AWSTemplateFormatVersion"`
	Description              string                 `yaml:"Description"`
	Resources                map[string]cfnResource `yaml:"Resources"`
	Outputs                  map[string]cfnOutput   `yaml:"Outputs"`
}

type cfnResource struct {
	Type       string         `yaml:"Type"`
	Properties map[string]any `yaml:"Properties"`
}

type cfnOutput struct {
	Description string `yaml:"Description"`
	Value       any    `yaml:"Value"`
}

type cfnPolicy struct {
	PolicyName     string `yaml:"PolicyName"`
	PolicyDocument Policy `yaml:"PolicyDocument"`
}

// CloudFormation is the set as a CloudFormation template (YAML): the
// deploy role, the instance role and its instance profile, and the OIDC
// provider when Options.CreateOIDCProvider. Its outputs are the deploy
// role's ARN (the GitHub environment's FERRY_AWS_ROLE_ARN) and the
// instance profile to attach to the servers.
func (s *Set) CloudFormation() ([]byte, error) {
	t := cfnTemplate{
		AWSTemplateFormatVersion: "2010-09-09",
		Description:              fmt.Sprintf("ferry: deploy %s to %s from GitHub Actions (%s), least privilege", s.Options.App, s.Options.Environment, s.Options.Repository),
		Resources:                map[string]cfnResource{},
		Outputs: map[string]cfnOutput{
			"DeployRoleArn":   {Description: "set as the GitHub environment's variable FERRY_AWS_ROLE_ARN", Value: map[string]any{"Fn::GetAtt": []string{"DeployRole", "Arn"}}},
			"InstanceProfile": {Description: "attach to the environment's instances", Value: map[string]string{"Ref": "InstanceProfile"}},
		},
	}
	trust := s.DeployTrust
	if s.Options.CreateOIDCProvider {
		t.Resources["GitHubOIDCProvider"] = cfnResource{Type: "AWS::IAM::OIDCProvider", Properties: map[string]any{
			"Url": "https://" + OIDCHost, "ClientIdList": []string{OIDCAudience}, "ThumbprintList": githubThumbprints,
		}}
	}
	deployRole := map[string]any{
		"RoleName":                 s.DeployRoleName,
		"Description":              "ferry deploys from GitHub Actions jobs in environment " + s.Options.Environment,
		"AssumeRolePolicyDocument": trust,
		"MaxSessionDuration":       3600,
		"Policies":                 []cfnPolicy{{PolicyName: "ferry-deploy", PolicyDocument: s.DeployPolicy}},
	}
	if s.Options.CreateOIDCProvider {
		// The principal is the provider made here, by reference, so the
		// role waits for it.
		deployRole["AssumeRolePolicyDocument"] = map[string]any{
			"Version": trust.Version,
			"Statement": []map[string]any{{
				"Sid": trust.Statement[0].Sid, "Effect": "Allow",
				"Principal": map[string]any{"Federated": map[string]string{"Ref": "GitHubOIDCProvider"}},
				"Action":    trust.Statement[0].Action, "Condition": trust.Statement[0].Condition,
			}},
		}
	}
	t.Resources["DeployRole"] = cfnResource{Type: "AWS::IAM::Role", Properties: deployRole}
	t.Resources["InstanceRole"] = cfnResource{Type: "AWS::IAM::Role", Properties: map[string]any{
		"RoleName":                 s.InstanceRoleName,
		"Description":              "the SSM Agent on " + s.Options.App + " " + s.Options.Environment + " servers",
		"AssumeRolePolicyDocument": s.InstanceTrust,
		"ManagedPolicyArns":        s.InstanceManagedPolicies,
		"Policies":                 []cfnPolicy{{PolicyName: "ferry-command-output", PolicyDocument: s.InstancePolicy}},
	}}
	t.Resources["InstanceProfile"] = cfnResource{Type: "AWS::IAM::InstanceProfile", Properties: map[string]any{
		"InstanceProfileName": s.InstanceRoleName,
		"Roles":               []map[string]string{{"Ref": "InstanceRole"}},
	}}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(t); err != nil {
		return nil, fmt.Errorf("iam: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("iam: %w", err)
	}
	return b.Bytes(), nil
}
