package sandbox_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ferryhq/ferry/internal/sandbox"
)

// trap is an HTTP proxy on loopback that lets nothing through: a client
// that ignores the sandbox's endpoints tries the real AWS endpoint,
// through the proxy the environment names, and lands here. It records
// where the client wanted to go and refuses. Nothing leaves 127.0.0.1.
type trap struct {
	url   string
	mu    sync.Mutex
	hosts []string
}

func newTrap(t *testing.T) *trap {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr := &trap{url: "http://" + l.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr.mu.Lock()
		tr.hosts = append(tr.hosts, r.Host)
		tr.mu.Unlock()
		http.Error(w, "ferry test: no request leaves loopback", http.StatusForbidden)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return tr
}

func (tr *trap) caught() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.hosts)
}

// clientEnv is the sandbox's environment as a user pastes it, in a
// private HOME, with every proxy variable pointing at the trap (the
// sandbox itself, on 127.0.0.1, is reached directly). keep filters the
// sandbox's variables: the endpoint variables alone, the config file
// alone.
func clientEnv(t *testing.T, sb *sandbox.Sandbox, tr *trap, keep func(string) bool) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "LANG=C.UTF-8", "AWS_PAGER=",
		"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost"}
	for _, k := range []string{"HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "ALL_PROXY", "all_proxy"} {
		env = append(env, k+"="+tr.url)
	}
	for _, kv := range sb.Env() {
		if keep(kv) {
			env = append(env, kv)
		}
	}
	return env
}

// client is one AWS client of this machine and the version from which
// it reads the endpoint variables and the config file's services
// section, as AWS documents it.
type client struct {
	name    string
	version []int    // this machine's
	since   []int    // AWS's documented first version that reads them
	argv    []string // how to run it; a python client gets its code on stdin
	python  bool
}

var versionRe = regexp.MustCompile(`(\d+)\.(\d+)\.(\d+)`)

func parseVersion(s string) []int {
	m := versionRe.FindStringSubmatch(s)
	if m == nil {
		return nil
	}
	var v []int
	for _, p := range m[1:] {
		n, _ := strconv.Atoi(p)
		v = append(v, n)
	}
	return v
}

func atLeast(v, since []int) bool {
	for i := range since {
		if v[i] != since[i] {
			return v[i] > since[i]
		}
	}
	return true
}

// clients finds the AWS CLI v1 that pip installed next to python3,
// Debian's AWS CLI v2 and boto3.
func clients(t *testing.T) []client {
	t.Helper()
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		missingTool(t, "python3", err)
	}
	py := strings.TrimSpace(string(out))
	var cs []client
	for _, c := range []struct {
		name, path string
		since      []int
	}{
		{"AWS CLI v1", filepath.Join(filepath.Dir(py), "aws"), []int{1, 29, 0}},
		{"AWS CLI v2", "/usr/bin/aws", []int{2, 13, 0}},
	} {
		b, err := exec.Command(c.path, "--version").CombinedOutput()
		v := parseVersion(string(b))
		if err != nil || v == nil {
			missingTool(t, c.name+" ("+c.path+")", err)
		}
		cs = append(cs, client{name: c.name, version: v, since: c.since, argv: []string{c.path}})
	}
	b, err := exec.Command(py, "-c", "import boto3; print(boto3.__version__)").CombinedOutput()
	if err != nil {
		missingTool(t, "python3 module boto3", err)
	}
	return append(cs, client{name: "boto3", version: parseVersion(string(b)), since: []int{1, 28, 0}, argv: []string{py, "-"}, python: true})
}

// call asks c for the sandbox's instances and the objects of its
// bucket, through env, with --endpoint-url when flags is set; it reports
// whether both answers came from the sandbox.
func call(c client, sb *sandbox.Sandbox, env []string, flags bool) (bool, string) {
	var cmds []*exec.Cmd
	if c.python {
		cmd := exec.Command(c.argv[0], c.argv[1:]...)
		cmd.Stdin = strings.NewReader(fmt.Sprintf(`import boto3
print(boto3.client("ssm").describe_instance_information()["InstanceInformationList"][0]["InstanceId"])
print([o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=%q).get("Contents", [])])
`, sb.Bucket))
		cmds = append(cmds, cmd)
	} else {
		ssmArgs := []string{"ssm", "describe-instance-information"}
		s3Args := []string{"s3", "ls", "s3://" + sb.Bucket}
		if flags {
			ssmArgs = append([]string{"--endpoint-url", sb.SSMEndpoint}, ssmArgs...)
			s3Args = append([]string{"--endpoint-url", sb.S3Endpoint}, s3Args...)
		}
		cmds = append(cmds, exec.Command(c.argv[0], ssmArgs...), exec.Command(c.argv[0], s3Args...))
	}
	var log strings.Builder
	var all string
	ok := true
	for _, cmd := range cmds {
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		fmt.Fprintf(&log, "  %s: %v %.300q\n", strings.Join(cmd.Args[1:], " "), err, out)
		ok = ok && err == nil
		all += string(out)
	}
	return ok && strings.Contains(all, sandbox.InstanceID(0)) && strings.Contains(all, "probe.txt"), log.String()
}

// putProbe puts an object the clients must list.
func putProbe(t *testing.T, sb *sandbox.Sandbox) {
	t.Helper()
	c := s3.NewFromConfig(sb.AWSConfig(), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.PutObject(testCtx(t), &s3.PutObjectInput{Bucket: &sb.Bucket, Key: aws.String("probe.txt"), Body: strings.NewReader("hi")}); err != nil {
		t.Fatal(err)
	}
}

// What ferry sandbox says about the clients it points at itself, checked
// with the clients of this machine, against a sandbox and nothing else: a
// client that reads AWS_ENDPOINT_URL_SSM and _S3 (and the config file's
// services section) from the version AWS documents reaches the sandbox
// with them; an older one ignores them and tries real AWS (the trap
// catches it); every one reaches the sandbox with --endpoint-url. On this
// machine: the AWS CLI v1 1.45 and boto3 1.43 read them, Debian 12's AWS
// CLI 2.9 does not. aws-sdk-go-v2, ferry's own, is
// TestEnvConfiguresDefaultSDKLoader's.
func TestWhichClientsHonourTheEndpointVariables(t *testing.T) {
	t.Parallel()
	cs := clients(t)
	sb := start(t, sandbox.Options{Instances: 1})
	putProbe(t, sb)
	isEndpointVar := func(kv string) bool { return strings.HasPrefix(kv, "AWS_ENDPOINT_URL_") }
	isConfigFile := func(kv string) bool { return strings.HasPrefix(kv, "AWS_CONFIG_FILE=") }
	for _, c := range cs {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			reads := atLeast(c.version, c.since)
			for _, way := range []struct {
				name string
				keep func(string) bool
			}{
				{"the endpoint variables", func(kv string) bool { return !isConfigFile(kv) }},
				{"the config file", func(kv string) bool { return !isEndpointVar(kv) }},
			} {
				tr := newTrap(t)
				ok, log := call(c, sb, clientEnv(t, sb, tr, way.keep), false)
				switch {
				case reads && !ok:
					t.Errorf("%s %v should reach the sandbox through %s, and did not:\n%s", c.name, c.version, way.name, log)
				case !reads && (ok || tr.caught() == 0):
					t.Errorf("%s %v is older than %v: it should ignore %s and try real AWS (through the trap):\n%s", c.name, c.version, c.since, way.name, log)
				}
				t.Logf("%s %v through %s: reached the sandbox %v, tried real AWS %d times", c.name, c.version, way.name, ok, tr.caught())
			}
			if c.python {
				return
			}
			tr := newTrap(t)
			if ok, log := call(c, sb, clientEnv(t, sb, tr, func(string) bool { return true }), true); !ok || tr.caught() != 0 {
				t.Errorf("%s %v with --endpoint-url should reach the sandbox:\n%s", c.name, c.version, log)
			}
		})
	}
}
