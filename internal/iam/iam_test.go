package iam

import (
	"encoding/json"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/testing/golden"
)

func opts() Options {
	return Options{
		Account: "123456789012", Region: "eu-west-1", Repository: "acme/billing", Environment: "production",
		App: "billing", Platform: Windows, Tags: map[string]string{"Role": "billing", "Env": "prod"},
		Bucket: "billing-deploy", Prefix: "ferry/", Calendars: []string{"billing-freeze"},
	}
}

func optsIDs() Options {
	o := opts()
	o.Tags = nil
	o.InstanceIDs = []string{"i-0fedcba9876543210", "i-0123456789abcdef0"}
	o.Platform = Linux
	o.Calendars = []string{"arn:aws:ssm:eu-west-1:123456789012:document/other-calendar"}
	return o
}

func statement(t *testing.T, p Policy, sid string) Statement {
	t.Helper()
	for _, s := range p.Statement {
		if s.Sid == sid {
			return s
		}
	}
	t.Fatalf("no statement %s in %+v", sid, p)
	return Statement{}
}

func TestTrustIsTheEnvironment(t *testing.T) {
	s, err := For(opts())
	if err != nil {
		t.Fatal(err)
	}
	st := s.DeployTrust.Statement[0]
	if st.Principal["Federated"] != "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" ||
		strings.Join(st.Action, ",") != "sts:AssumeRoleWithWebIdentity" {
		t.Errorf("trust statement %+v", st)
	}
	eq := st.Condition["StringEquals"]
	if eq["token.actions.githubusercontent.com:aud"] != "sts.amazonaws.com" || eq["token.actions.githubusercontent.com:sub"] != "repo:acme/billing:environment:production" {
		t.Errorf("trust condition %v", eq)
	}
	if len(st.Condition) != 1 {
		t.Errorf("a StringLike (wildcard) condition slipped in: %v", st.Condition)
	}

	o := opts()
	o.OwnerID, o.RepositoryID = 123456, 456789
	if got := Subject(o); got != "repo:acme@123456/billing@456789:environment:production" {
		t.Errorf("immutable subject %q", got)
	}
}

func TestDeployPolicyScopes(t *testing.T) {
	s, err := For(opts())
	if err != nil {
		t.Fatal(err)
	}
	p := s.DeployPolicy
	if doc := statement(t, p, "SendTheDocument"); strings.Join(doc.Resource, ",") != "arn:aws:ssm:eu-west-1::document/AWS-RunPowerShellScript" || doc.Condition != nil {
		t.Errorf("document statement %+v", doc)
	}
	in := statement(t, p, "ToTheEnvironmentsInstances")
	if strings.Join(in.Resource, ",") != "arn:aws:ec2:eu-west-1:123456789012:instance/*" ||
		in.Condition["StringEquals"]["ssm:resourceTag/Role"] != "billing" || in.Condition["StringEquals"]["ssm:resourceTag/Env"] != "prod" {
		t.Errorf("instances by tag %+v", in)
	}
	if obj := statement(t, p, "ObjectsUnderThePrefix"); strings.Join(obj.Resource, ",") != "arn:aws:s3:::billing-deploy/ferry/*" {
		t.Errorf("objects %+v", obj)
	}
	list := statement(t, p, "ListThePrefix")
	if strings.Join(list.Resource, ",") != "arn:aws:s3:::billing-deploy" || list.Condition["StringLikeIfExists"]["s3:prefix"] == nil {
		t.Errorf("listing %+v", list)
	}
	if cal := statement(t, p, "ChangeCalendars"); strings.Join(cal.Resource, ",") != "arn:aws:ssm:eu-west-1:123456789012:document/billing-freeze" {
		t.Errorf("calendars %+v", cal)
	}
	for _, st := range p.Statement {
		for _, a := range st.Action {
			if strings.Contains(a, "*") {
				t.Errorf("wildcard action %s", a)
			}
		}
		if strings.Join(st.Resource, ",") == "*" && st.Sid != "FollowAndCancelCommands" && st.Sid != "WhoAmI" {
			t.Errorf("statement %s is on every resource", st.Sid)
		}
	}

	s, err = For(optsIDs())
	if err != nil {
		t.Fatal(err)
	}
	if doc := statement(t, s.DeployPolicy, "SendTheDocument"); doc.Resource[0] != "arn:aws:ssm:eu-west-1::document/AWS-RunShellScript" {
		t.Errorf("linux document %v", doc.Resource)
	}
	in = statement(t, s.DeployPolicy, "ToTheEnvironmentsInstances")
	if strings.Join(in.Resource, ",") != "arn:aws:ec2:eu-west-1:123456789012:instance/i-0123456789abcdef0,arn:aws:ec2:eu-west-1:123456789012:instance/i-0fedcba9876543210" || in.Condition != nil {
		t.Errorf("instances by ID %+v", in)
	}

	o := opts()
	o.Document = "billing-deploy-doc"
	o.PrefixBoundListing = true
	s, _ = For(o)
	if doc := statement(t, s.DeployPolicy, "SendTheDocument"); doc.Resource[0] != "arn:aws:ssm:eu-west-1:123456789012:document/billing-deploy-doc" {
		t.Errorf("custom document %v", doc.Resource)
	}
	if l := statement(t, s.DeployPolicy, "ListThePrefix"); l.Condition["StringLike"] == nil {
		t.Errorf("prefix-bound listing %v", l.Condition)
	}
	if _, ok := func() (Statement, bool) {
		for _, st := range s.DeployPolicy.Statement {
			if st.Sid == "ChangeCalendars" {
				return st, true
			}
		}
		return Statement{}, false
	}(); !ok {
		t.Errorf("calendars dropped")
	}
}

func TestInstanceRole(t *testing.T) {
	s, err := For(opts())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(s.InstanceManagedPolicies, ",") != InstanceCorePolicy {
		t.Errorf("managed %v", s.InstanceManagedPolicies)
	}
	if out := statement(t, s.InstancePolicy, "CommandOutput"); strings.Join(out.Resource, ",") != "arn:aws:s3:::billing-deploy/ferry/output/*" || strings.Join(out.Action, ",") != "s3:PutObject" {
		t.Errorf("output %+v", out)
	}
	if s.InstanceTrust.Statement[0].Principal["Service"] != "ec2.amazonaws.com" {
		t.Errorf("instance trust %+v", s.InstanceTrust)
	}
	for _, st := range s.DeployPolicy.Statement {
		if st.Sid == "ReadCommandOutput" {
			t.Errorf("output under the prefix granted twice: %+v", st)
		}
	}

	// ferry.yml's default, the SOP's layout: the output outside PREFIX/,
	// written by the servers, read by the deploy role.
	o := opts()
	o.OutputPrefix = "ssm-logs/production/"
	if s, err = For(o); err != nil {
		t.Fatal(err)
	}
	if out := statement(t, s.InstancePolicy, "CommandOutput"); strings.Join(out.Resource, ",") != "arn:aws:s3:::billing-deploy/ssm-logs/production/*" {
		t.Errorf("output %+v", out)
	}
	if rd := statement(t, s.DeployPolicy, "ReadCommandOutput"); strings.Join(rd.Resource, ",") != "arn:aws:s3:::billing-deploy/ssm-logs/production/*" || strings.Join(rd.Action, ",") != "s3:GetObject" {
		t.Errorf("reading the output %+v", rd)
	}
}

func TestJSONAndCloudFormation(t *testing.T) {
	o := opts()
	o.CreateOIDCProvider = true
	s, err := For(o)
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(j, &back); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "production.json", string(j))

	c, err := s.CloudFormation()
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "production.cfn.yaml", string(c))
	var tmpl struct {
		Resources map[string]struct {
			Type       string         `yaml:"Type"`
			Properties map[string]any `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(c, &tmpl); err != nil {
		t.Fatal(err)
	}
	for name, typ := range map[string]string{"GitHubOIDCProvider": "AWS::IAM::OIDCProvider", "DeployRole": "AWS::IAM::Role", "InstanceRole": "AWS::IAM::Role", "InstanceProfile": "AWS::IAM::InstanceProfile"} {
		if tmpl.Resources[name].Type != typ {
			t.Errorf("resource %s: %q, want %s", name, tmpl.Resources[name].Type, typ)
		}
	}
	if !strings.Contains(string(c), "Ref: GitHubOIDCProvider") || !strings.Contains(string(c), "repo:acme/billing:environment:production") {
		t.Errorf("the deploy role does not trust the provider made here for the environment")
	}

	o.CreateOIDCProvider = false
	s, _ = For(o)
	c, _ = s.CloudFormation()
	if strings.Contains(string(c), "AWS::IAM::OIDCProvider") || !strings.Contains(string(c), "Federated: arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com") {
		t.Errorf("without CreateOIDCProvider the existing provider is not used:\n%s", c)
	}
}

func TestOptionsRefused(t *testing.T) {
	for name, mutate := range map[string]func(*Options){
		"account":    func(o *Options) { o.Account = "12345" },
		"region":     func(o *Options) { o.Region = "Europe" },
		"repo":       func(o *Options) { o.Repository = "billing" },
		"one id":     func(o *Options) { o.OwnerID = 5 },
		"env":        func(o *Options) { o.Environment = "prod*" },
		"both":       func(o *Options) { o.InstanceIDs = []string{"i-0123456789abcdef0"} },
		"neither":    func(o *Options) { o.Tags = nil },
		"instance":   func(o *Options) { o.Tags = nil; o.InstanceIDs = []string{"*"} },
		"tag":        func(o *Options) { o.Tags = map[string]string{"aws:x": "y"} },
		"bucket":     func(o *Options) { o.Bucket = "Bad_Bucket" },
		"prefix":     func(o *Options) { o.Prefix = "a/../b" },
		"prefix wc":  func(o *Options) { o.Prefix = "ferry*" },
		"output":     func(o *Options) { o.OutputPrefix = "ssm-logs/../x" },
		"calendar":   func(o *Options) { o.Calendars = []string{"*"} },
		"platform":   func(o *Options) { o.Platform = "macos" },
		"partition":  func(o *Options) { o.Partition = "mars" },
		"document":   func(o *Options) { o.Document = "a b" },
		"empty opts": func(o *Options) { *o = Options{} },
	} {
		o := opts()
		mutate(&o)
		_, err := For(o)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		for _, p := range fail.Problems(err) {
			if fail.Code(p) != exitcode.Usage || len(fail.Hints(p)) == 0 || !strings.HasPrefix(p.Error(), "iam: ") {
				t.Errorf("%s: %v: want iam: … with a hint, exit 2", name, p)
			}
		}
	}
}
