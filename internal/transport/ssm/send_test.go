package ssm

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/agentbin"
)

// stubSSM answers SendCommand as told and ListCommands with what was
// accepted, counting attempts.
type stubSSM struct {
	mu       sync.Mutex
	mode     string // ok, throttle-once, 500, 503, reset, lost-answer
	sends    int
	lists    int
	accepted []string // comments of commands SSM "created"
}

func (s *stubSSM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonSSM.")
	s.mu.Lock()
	defer s.mu.Unlock()
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	switch op {
	case "SendCommand":
		s.sends++
		var in struct{ Comment string }
		json.Unmarshal(body, &in)
		switch {
		case s.mode == "throttle-once" && s.sends == 1:
			reply(400, map[string]string{"__type": "ThrottlingException", "Message": "Rate exceeded"})
		case s.mode == "500":
			reply(500, map[string]string{"__type": "InternalServerError", "Message": "internal error"})
		case s.mode == "503":
			reply(503, map[string]string{"__type": "ServiceUnavailable", "Message": "unavailable"})
		case s.mode == "reset":
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		case s.mode == "lost-answer":
			// SSM created the command, but the answer never arrives.
			s.accepted = append(s.accepted, in.Comment)
			reply(500, map[string]string{"__type": "InternalServerError", "Message": "internal error"})
		default:
			s.accepted = append(s.accepted, in.Comment)
			reply(200, map[string]any{"Command": map[string]any{"CommandId": "11111111-2222-3333-4444-555555555555"}})
		}
	case "ListCommands":
		s.lists++
		var cmds []map[string]any
		for _, c := range s.accepted {
			cmds = append(cmds, map[string]any{"CommandId": "99999999-2222-3333-4444-555555555555", "Comment": c})
		}
		reply(200, map[string]any{"Commands": cmds})
	default:
		reply(400, map[string]string{"__type": "UnknownOperationException"})
	}
}

func stubRun(t *testing.T, mode string) (*run, *stubSSM) {
	stub := &stubSSM{mode: mode}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: stub}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	client := awsssm.New(awsssm.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://" + l.Addr().String()),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), Retryer: generalRetryer(),
	})
	tr, err := New(Options{Region: "us-east-1", InstanceIDs: []string{"i-0123456789abcdef0"}, Bucket: "ferry-test", ExecutionTimeout: time.Minute, Agents: agentbin.InDir(t.TempDir())})
	if err != nil {
		t.Fatal(err)
	}
	return &run{o: tr.opts, c: &clients{ssm: client, region: "us-east-1"}}, stub
}

// SendCommand is retried on throttling, which proves nothing was created,
// and never on errors that may come after SSM accepted the command.
func TestSendCommandRetriesOnlyWhatWasRefused(t *testing.T) {
	for _, c := range []struct {
		mode      string
		sends     int
		ok        bool
		ambiguous bool
	}{
		{"ok", 1, true, false},
		{"throttle-once", 2, true, false},
		{"500", 1, false, true},
		{"503", 1, false, true},
		{"reset", 1, false, true},
		{"lost-answer", 1, true, false}, // found again by its comment, not sent again
	} {
		t.Run(c.mode, func(t *testing.T) {
			r, stub := stubRun(t, c.mode)
			cmd := &command{platform: PlatformLinux, document: DocumentLinux, comment: comment(agent.Spec{Op: "apply", App: "hello", SHA: strings.Repeat("a", 40)}),
				expected: []string{"i-0123456789abcdef0"}, invs: map[string]*invocation{}}
			err := r.sendOne(context.Background(), cmd, []string{"true"}, 1, "1", "0")
			if stub.sends != c.sends {
				t.Errorf("%d SendCommand attempts, want %d", stub.sends, c.sends)
			}
			if (err == nil) != c.ok {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
			if c.ambiguous && !strings.Contains(err.Error(), "may or may not have reached SSM") {
				t.Errorf("an ambiguous failure does not say so: %v", err)
			}
			if c.mode == "lost-answer" && cmd.id != "99999999-2222-3333-4444-555555555555" {
				t.Errorf("did not adopt the command SSM created: %q", cmd.id)
			}
		})
	}
}

func TestCommentFitsAndIsUnique(t *testing.T) {
	spec := agent.Spec{Op: "apply", App: strings.Repeat("a", 63), Environment: strings.Repeat("e", 63), SHA: strings.Repeat("f", 40)}
	a, b := comment(spec), comment(spec)
	if len(a) > 100 || a == b {
		t.Errorf("comments %q and %q: want at most 100 characters and distinct", a, b)
	}
}

func TestParseResultTakesTheLastCompleteLine(t *testing.T) {
	ok := `{"event":"result","result":{"op":"apply","outcome":"deployed","exit_code":0,"duration_ms":5}}`
	if r, found := ParseResult("noise\n" + `{"event":"step","step":"lock"}` + "\n" + ok + "\n"); !found || r.Outcome != "deployed" {
		t.Errorf("got %+v, %v", r, found)
	}
	if _, found := ParseResult(ok[:60] + "--output truncated--"); found {
		t.Error("a truncated result line parsed")
	}
	stdout, stderr := splitPluginOutput(ok + "\n----------ERROR-------\nsomething on stderr")
	if _, found := ParseResult(stdout); !found || stderr != "something on stderr" {
		t.Errorf("split: %q / %q", stdout, stderr)
	}
}

// The presigned URLs last for the rollout plus a margin, never more than
// a few hours; TimeoutSeconds lets the last wave start.
func TestTimeLimits(t *testing.T) {
	r := &run{o: Options{ExecutionTimeout: 10 * time.Minute, MaxConcurrency: "10"}}
	if got := r.presignExpiry(r.waves(5)); got != 25*time.Minute {
		t.Errorf("one wave: expiry %s, want 25m", got)
	}
	if got := r.presignExpiry(r.waves(500)); got != 6*time.Hour {
		t.Errorf("fifty waves: expiry %s, want the 6h cap", got)
	}
	if got := r.deliveryTimeout(r.waves(50)); got != 4*600+600 {
		t.Errorf("five waves: TimeoutSeconds %d, want 3000", got)
	}
	r.o.MaxConcurrency = "25%"
	if w := r.waves(10); w != 4 {
		t.Errorf("25%% of 10 instances: %d waves, want 4 (3 at a time)", w)
	}
}

// The agent source is the caller's to give: where binaries come from
// depends on its environment, which the transport never reads.
func TestNewNeedsAnAgentSource(t *testing.T) {
	t.Parallel()
	if _, err := New(Options{Region: "us-east-1", InstanceIDs: []string{"i-0123456789abcdef0"}, Bucket: "ferry-test"}); err == nil {
		t.Fatal("New without Agents succeeded")
	}
}
