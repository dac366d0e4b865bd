package ssmemu_test

import (
	"compress/gzip"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// startMoto runs moto's server on a free loopback port and returns its URL.
// The port is free when chosen, but another process may take it before
// moto binds it: then moto exits, and it is started again on another.
func startMoto(t *testing.T, py string) string {
	t.Helper()
	deadline := giveUpAt(t)
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		cmd := exec.Command(py, "-m", "moto.server", "-H", "127.0.0.1", "-p", strconv.Itoa(port))
		cmd.Env = isolatedEnv(t)
		if err := cmd.Start(); err != nil {
			t.Fatalf("start moto: %v", err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			cmd.Process.Kill()
			<-exited
		})
		url := "http://127.0.0.1:" + strconv.Itoa(port)
		client := newSSMClient(url, &recorder{next: &httpTransport})
		for {
			select {
			case <-exited:
				// It could not bind the port (or died): another port.
			default:
				if _, err := client.ListCommands(ctx(t), &ssm.ListCommandsInput{}); err == nil {
					return url
				} else if time.Now().After(deadline) {
					t.Fatalf("moto did not come up: %v", err)
				}
				time.Sleep(200 * time.Millisecond)
				continue
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("moto did not come up")
		}
	}
}

// modelMembers reads botocore's service model: the authority for wire shapes.
func modelMembers(t *testing.T, py string) map[string]map[string]bool {
	t.Helper()
	out := run(t, py, "-c", "import botocore, os; print(os.path.dirname(botocore.__file__))")
	name := filepath.Join(strings.TrimSpace(string(out)), "data", "ssm", "2014-11-06", "service-2.json.gz")
	fh, err := os.Open(name)
	if err != nil {
		t.Fatalf("botocore model: %v", err)
	}
	defer fh.Close()
	zr, err := gzip.NewReader(fh)
	if err != nil {
		t.Fatal(err)
	}
	var model struct {
		Shapes map[string]struct {
			Members map[string]json.RawMessage
		}
	}
	if err := json.NewDecoder(zr).Decode(&model); err != nil {
		t.Fatal(err)
	}
	shapes := map[string]map[string]bool{}
	for name, s := range model.Shapes {
		shapes[name] = map[string]bool{}
		for m := range s.Members {
			shapes[name][m] = true
		}
	}
	return shapes
}

func keys(t *testing.T, body []byte, path ...string) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("response %q: %v", body, err)
	}
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			v = x[0]
			if m, ok := v.(map[string]any); ok {
				v = m[p]
			}
		}
		if l, ok := v.([]any); ok && len(l) > 0 {
			v = l[0]
		}
	}
	m, _ := v.(map[string]any)
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// The emulator and moto answer the same requests; their JSON key sets are
// compared shape by shape, and every key must be a member of botocore's
// model. The expected differences are moto's, each justified by the model or
// by real service answers:
//   - moto omits DocumentVersion and CloudWatchOutputConfig from Command and
//     GetCommandInvocation, and StandardErrorUrl from GetCommandInvocation;
//     all are model members the service returns (also when empty).
//   - moto returns the deprecated OutputS3Region even when unset; the service
//     does not (it is absent from real SendCommand answers), nor does the emulator.
func TestWireShapesAgainstMoto(t *testing.T) {
	t.Parallel()
	py := pythonWith(t, "moto", "botocore")
	model := modelMembers(t, py)
	motoURL := startMoto(t, py)
	f := newFixture(t, fixtureOpts{})
	id := f.ids[0]

	bodies := func(url string, wait bool) map[string][]byte {
		rec := &recorder{next: &httpTransport, last: map[string][]byte{}}
		client := newSSMClient(url, rec)
		out, err := client.SendCommand(ctx(t), &ssm.SendCommandInput{
			DocumentName: aws.String("AWS-RunShellScript"),
			InstanceIds:  []string{id},
			Comment:      aws.String("shape check"),
			Parameters:   script("echo shape"),
		})
		if err != nil {
			t.Fatalf("%s: send: %v", url, err)
		}
		cmdID := out.Command.CommandId
		if wait {
			f.wait(t, *cmdID, id)
		}
		if _, err := client.ListCommands(ctx(t), &ssm.ListCommandsInput{CommandId: cmdID}); err != nil {
			t.Fatalf("%s: list commands: %v", url, err)
		}
		if _, err := client.GetCommandInvocation(ctx(t), &ssm.GetCommandInvocationInput{CommandId: cmdID, InstanceId: &id}); err != nil {
			t.Fatalf("%s: get command invocation: %v", url, err)
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return rec.last
	}
	emu, moto := bodies(f.srv.URL, true), bodies(motoURL, false)

	for _, tc := range []struct {
		op, shape         string
		path              []string
		onlyEmu, onlyMoto []string
	}{
		{"SendCommand", "Command", []string{"Command"}, []string{"CloudWatchOutputConfig", "DocumentVersion"}, []string{"OutputS3Region"}},
		{"SendCommand", "NotificationConfig", []string{"Command", "NotificationConfig"}, nil, nil},
		{"ListCommands", "Command", []string{"Commands"}, []string{"CloudWatchOutputConfig", "DocumentVersion"}, []string{"OutputS3Region"}},
		{"GetCommandInvocation", "GetCommandInvocationResult", nil, []string{"CloudWatchOutputConfig", "DocumentVersion", "StandardErrorUrl"}, nil},
	} {
		ek, mk := keys(t, emu[tc.op], tc.path...), keys(t, moto[tc.op], tc.path...)
		for _, k := range ek {
			if !model[tc.shape][k] {
				t.Errorf("%s %s: emulator key %s is not in the botocore model", tc.op, tc.shape, k)
			}
		}
		for _, k := range mk {
			if !model[tc.shape][k] {
				t.Logf("%s %s: moto key %s is not in the botocore model", tc.op, tc.shape, k)
			}
		}
		gotEmu, gotMoto := minus(ek, mk), minus(mk, ek)
		if !slices.Equal(gotEmu, tc.onlyEmu) || !slices.Equal(gotMoto, tc.onlyMoto) {
			t.Errorf("%s %s: only in emulator %v (want %v), only in moto %v (want %v)", tc.op, tc.shape, gotEmu, tc.onlyEmu, gotMoto, tc.onlyMoto)
		}
		t.Logf("%s %s: %d common keys; emulator adds %v; moto adds %v", tc.op, tc.shape, len(ek)-len(gotEmu), gotEmu, gotMoto)
	}
}
