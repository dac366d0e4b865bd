package ssmemu_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// rawCall posts an AWS JSON 1.1 request without an SDK, to check what the
// SDKs would hide: status codes and error bodies.
func rawCall(t *testing.T, url, op, body string, signed bool) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if op != "" {
		req.Header.Set("X-Amz-Target", "AmazonSSM."+op)
	}
	if signed {
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=00")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: body %q is not JSON: %v", op, b, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		t.Errorf("%s: Content-Type %q", op, ct)
	}
	return resp.StatusCode, m
}

func TestWireErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	for _, tc := range []struct {
		name, op, body string
		signed         bool
		status         int
		typ, msgKey    string
	}{
		{"unsigned", "ListCommands", "{}", false, 400, "com.amazon.coral.service#MissingAuthenticationTokenException", "message"},
		{"unknown operation", "DescribeNothing", "{}", true, 400, "UnknownOperationException", "Message"},
		{"no target header", "", "{}", true, 400, "UnknownOperationException", "Message"},
		{"malformed json", "ListCommands", "{", true, 400, "SerializationException", "Message"},
		{"wrong member type", "ListCommands", `{"MaxResults":"ten"}`, true, 400, "SerializationException", "Message"},
		{"model error", "GetCommandInvocation", `{"CommandId":"00000000-0000-0000-0000-000000000000","InstanceId":"` + f.ids[0] + `"}`, true, 400, "InvocationDoesNotExist", "Message"},
		{"lower-case message shape", "DescribeInstanceInformation", `{"Filters":[{"Key":"PingStatus","Values":["Asleep"]}]}`, true, 400, "InvalidInstanceInformationFilterValue", "message"},
	} {
		status, body := rawCall(t, f.srv.URL, tc.op, tc.body, tc.signed)
		if status != tc.status || body["__type"] != tc.typ {
			t.Errorf("%s: HTTP %d %v, want %d %s", tc.name, status, body["__type"], tc.status, tc.typ)
		}
		if _, ok := body[tc.msgKey].(string); !ok {
			t.Errorf("%s: body %v has no %q", tc.name, body, tc.msgKey)
		}
	}
	status, body := rawCall(t, f.srv.URL, "ListCommands", "", true)
	if status != 200 || body["Commands"] == nil {
		t.Errorf("empty body: %d %v", status, body)
	}
}
