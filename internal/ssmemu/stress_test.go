package ssmemu_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ferryhq/ferry/internal/ssmemu"
)

// Many clients at once, instances flapping underneath: every command still
// ends, each invocation exactly once (run under -race).
func TestConcurrentClients(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{instances: 4})
	stop := make(chan struct{})
	var flapper sync.WaitGroup
	flapper.Add(1)
	go func() {
		defer flapper.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			status := ssmemu.PingOnline
			if i%2 == 0 {
				status = ssmemu.PingConnectionLost
			}
			f.emu.SetPingStatus(f.ids[i%4], status)
			f.emu.Instances()
		}
	}()
	var wg sync.WaitGroup
	cmds := make(chan string, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := f.ssm.SendCommand(ctx(t), &ssm.SendCommandInput{
				DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: f.ids, MaxConcurrency: aws.String("2"),
				Parameters: script(`echo "$SSMEMU_COMMAND_ID" >> "$SHARED/$SSMEMU_INSTANCE_ID"`),
			})
			if err != nil {
				t.Error(err)
				return
			}
			cmds <- *out.Command.CommandId
			f.ssm.ListCommandInvocations(ctx(t), &ssm.ListCommandInvocationsInput{Details: true})
			f.ssm.DescribeInstanceInformation(ctx(t), &ssm.DescribeInstanceInformationInput{})
		}()
	}
	wg.Wait()
	close(stop)
	flapper.Wait()
	close(cmds)
	for _, id := range f.ids {
		f.emu.SetPingStatus(id, ssmemu.PingOnline)
	}
	n := 0
	for cmdID := range cmds {
		n++
		for _, id := range f.ids {
			if out := f.wait(t, cmdID, id); out.Status != types.CommandInvocationStatusSuccess {
				t.Errorf("%s on %s: %s", cmdID, id, out.Status)
			}
		}
	}
	for _, id := range f.ids {
		b, _ := os.ReadFile(filepath.Join(f.shared, id))
		if got := strings.Count(string(b), "\n"); got != n {
			t.Errorf("%s ran %d scripts, want %d (one per command)", id, got, n)
		}
	}
}

// After Close, nothing the emulator started is left running: no goroutine
// and no process of its own. Not parallel, so the goroutine count is its own.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	emu, err := ssmemu.New(ssmemu.Options{Instances: []ssmemu.Instance{
		{ID: instanceID(0), Dir: dir},
		{ID: instanceID(1), Dir: dir, PingStatus: ssmemu.PingConnectionLost},
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	transport := &http.Transport{}
	client := newSSMClient(srv.URL, transport)
	for range 3 {
		if _, err := client.SendCommand(ctx(t), &ssm.SendCommandInput{
			DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{instanceID(0), instanceID(1)},
			Parameters: script("sleep 30"),
		}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	srv.Close()
	transport.CloseIdleConnections()
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := giveUpAt(t)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines before, %d after Close:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
