package ssmemu_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ferryhq/ferry/internal/ssmemu"
)

func describeIDs(t *testing.T, f *fixture, in *ssm.DescribeInstanceInformationInput) []string {
	t.Helper()
	var ids []string
	p := ssm.NewDescribeInstanceInformationPaginator(f.ssm, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatalf("describe: %v", err)
		}
		for _, ii := range out.InstanceInformationList {
			ids = append(ids, aws.ToString(ii.InstanceId))
		}
	}
	return ids
}

// Both filter styles and pagination, driven through the SDK's paginator.
func TestDescribeInstanceInformation(t *testing.T) {
	t.Parallel()
	// 12 instances: every 4th is Windows, every 3rd ConnectionLost, odd ones tagged Role=web.
	f := newFixture(t, fixtureOpts{instances: 12, configure: func(i int, in *ssmemu.Instance) {
		if i%4 == 3 {
			in.Platform, in.Dir = ssmemu.PlatformWindows, ""
		}
		if i%3 == 2 {
			in.PingStatus = ssmemu.PingConnectionLost
		}
		if i%2 == 1 {
			in.Tags = map[string]string{"Role": "web"}
		} else {
			in.Tags = map[string]string{"Team": "data"}
		}
		in.AgentVersion = "3.2.1.0"
	}})
	pick := func(pred func(i int) bool) []string {
		var out []string
		for i, id := range f.ids {
			if pred(i) {
				out = append(out, id)
			}
		}
		return out
	}
	str := func(k string, v ...string) []types.InstanceInformationStringFilter {
		return []types.InstanceInformationStringFilter{{Key: aws.String(k), Values: v}}
	}
	legacy := func(k types.InstanceInformationFilterKey, v ...string) []types.InstanceInformationFilter {
		return []types.InstanceInformationFilter{{Key: k, ValueSet: v}}
	}
	for _, tc := range []struct {
		name string
		in   ssm.DescribeInstanceInformationInput
		want []string
	}{
		{"all", ssm.DescribeInstanceInformationInput{}, f.ids},
		{"InstanceIds", ssm.DescribeInstanceInformationInput{Filters: str("InstanceIds", f.ids[4], f.ids[7])}, []string{f.ids[4], f.ids[7]}},
		{"PingStatus", ssm.DescribeInstanceInformationInput{Filters: str("PingStatus", "ConnectionLost")}, pick(func(i int) bool { return i%3 == 2 })},
		{"PlatformTypes", ssm.DescribeInstanceInformationInput{Filters: str("PlatformTypes", "Windows")}, pick(func(i int) bool { return i%4 == 3 })},
		{"tag", ssm.DescribeInstanceInformationInput{Filters: str("tag:Role", "web")}, pick(func(i int) bool { return i%2 == 1 })},
		{"tag-key", ssm.DescribeInstanceInformationInput{Filters: str("tag-key", "Team")}, pick(func(i int) bool { return i%2 == 0 })},
		{"two filters", ssm.DescribeInstanceInformationInput{Filters: append(str("tag:Role", "web"), str("PingStatus", "Online")...)},
			pick(func(i int) bool { return i%2 == 1 && i%3 != 2 })},
		{"legacy InstanceIds", ssm.DescribeInstanceInformationInput{InstanceInformationFilterList: legacy(types.InstanceInformationFilterKeyInstanceIds, f.ids[0])}, f.ids[:1]},
		{"legacy PingStatus", ssm.DescribeInstanceInformationInput{InstanceInformationFilterList: legacy(types.InstanceInformationFilterKeyPingStatus, "Online")},
			pick(func(i int) bool { return i%3 != 2 })},
		{"legacy PlatformTypes", ssm.DescribeInstanceInformationInput{InstanceInformationFilterList: legacy(types.InstanceInformationFilterKeyPlatformTypes, "Linux")},
			pick(func(i int) bool { return i%4 != 3 })},
		{"pages of 5", ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(5)}, f.ids},
	} {
		got := describeIDs(t, f, &tc.in)
		if len(got) != len(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
				break
			}
		}
	}

	first, err := f.ssm.DescribeInstanceInformation(ctx(t), &ssm.DescribeInstanceInformationInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.InstanceInformationList) != 10 || first.NextToken == nil {
		t.Errorf("default page: %d instances, token %v; want 10 and a token", len(first.InstanceInformationList), first.NextToken)
	}
	page, err := f.ssm.DescribeInstanceInformation(ctx(t), &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(5), NextToken: first.NextToken})
	if err != nil || len(page.InstanceInformationList) != 2 || page.NextToken != nil {
		t.Errorf("last page: %v, %d instances", err, len(page.InstanceInformationList))
	}
	ii := first.InstanceInformationList[3]
	if ii.PlatformType != types.PlatformTypeWindows || ii.PingStatus != types.PingStatusOnline || aws.ToString(ii.AgentVersion) != "3.2.1.0" ||
		ii.ResourceType != types.ResourceTypeEc2Instance || aws.ToString(ii.IPAddress) == "" || ii.LastPingDateTime == nil {
		t.Errorf("instance 3: %+v", ii)
	}

	// PingStatus changes at runtime are visible at once.
	if err := f.emu.SetPingStatus(f.ids[0], ssmemu.PingConnectionLost); err != nil {
		t.Fatal(err)
	}
	got := describeIDs(t, f, &ssm.DescribeInstanceInformationInput{Filters: str("InstanceIds", f.ids[0]), MaxResults: aws.Int32(5)})
	out, _ := f.ssm.DescribeInstanceInformation(ctx(t), &ssm.DescribeInstanceInformationInput{Filters: str("InstanceIds", f.ids[0])})
	if len(got) != 1 || out.InstanceInformationList[0].PingStatus != types.PingStatusConnectionLost {
		t.Errorf("after SetPingStatus: %v", out.InstanceInformationList)
	}
}
