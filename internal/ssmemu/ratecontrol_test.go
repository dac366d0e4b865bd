package ssmemu_test

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// Each script records its start and end (nanoseconds); the largest number of
// overlapping intervals is how many ran at once.
const recordInterval = `s=$(date +%s%N); sleep 0.25; echo "$s $(date +%s%N)" > "$SHARED/run.$SSMEMU_INSTANCE_ID"`

func maxOverlap(t *testing.T, dir string, want int) int {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "run.*"))
	if len(files) != want {
		t.Fatalf("%d scripts recorded, want %d", len(files), want)
	}
	type ev struct {
		at    int64
		delta int
	}
	var evs []ev
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Fields(string(b))
		start, _ := strconv.ParseInt(parts[0], 10, 64)
		end, _ := strconv.ParseInt(parts[1], 10, 64)
		evs = append(evs, ev{start, +1}, ev{end, -1})
	}
	sort.Slice(evs, func(i, j int) bool {
		if evs[i].at != evs[j].at {
			return evs[i].at < evs[j].at
		}
		return evs[i].delta < evs[j].delta // an end before a start at the same instant
	})
	cur, peak := 0, 0
	for _, e := range evs {
		cur += e.delta
		peak = max(peak, cur)
	}
	return peak
}

// MaxConcurrency bounds how many invocations of a command run at once.
// The emulator's own count (PeakRunning) is exact: the service delivers
// up to the limit at once. The intervals the scripts record can only
// overlap less (a loaded machine starts them late), never more.
func TestMaxConcurrency(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		maxConcurrency string
		want           int
	}{{"2", 2}, {"50%", 3}} {
		t.Run(tc.maxConcurrency, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, fixtureOpts{instances: 6})
			cmdID := f.send(t, &ssm.SendCommandInput{
				InstanceIds:    f.ids,
				MaxConcurrency: aws.String(tc.maxConcurrency),
				Parameters:     script(recordInterval),
			})
			for _, id := range f.ids {
				if out := f.wait(t, cmdID, id); out.Status != types.CommandInvocationStatusSuccess {
					t.Fatalf("%s: %s", id, out.Status)
				}
			}
			if peak := f.emu.PeakRunning(); peak != tc.want {
				t.Errorf("the emulator ran at most %d at once, want exactly %d", peak, tc.want)
			}
			if peak := maxOverlap(t, f.shared, 6); peak > tc.want {
				t.Errorf("%d scripts overlapped, more than %d", peak, tc.want)
			}
		})
	}
}

// PeakRunning counts every command's invocations together: two commands
// of two invocations each, all four held running until released.
func TestPeakRunningSpansCommands(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{instances: 4})
	hold := script(`touch "$SHARED/started.$SSMEMU_INSTANCE_ID"`, `while [ ! -f "$SHARED/go" ]; do sleep 0.02; done`)
	a := f.send(t, &ssm.SendCommandInput{InstanceIds: f.ids[:2], MaxConcurrency: aws.String("2"), Parameters: hold})
	b := f.send(t, &ssm.SendCommandInput{InstanceIds: f.ids[2:], MaxConcurrency: aws.String("2"), Parameters: hold})
	eventually(t, "four scripts running", func() bool { return f.emu.Running() == 4 })
	if err := os.WriteFile(filepath.Join(f.shared, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for i, id := range f.ids {
		cmd := a
		if i >= 2 {
			cmd = b
		}
		f.wait(t, cmd, id)
	}
	if peak, now := f.emu.PeakRunning(), f.emu.Running(); peak != 4 || now != 0 {
		t.Errorf("peak %d, running %d after all ended; want 4 and 0", peak, now)
	}
	f.emu.ResetPeak()
	if peak := f.emu.PeakRunning(); peak != 0 {
		t.Errorf("peak %d after ResetPeak with nothing running", peak)
	}
}

// With MaxConcurrency 1 and MaxErrors 1, the second failure exceeds the limit:
// the three invocations not yet started end Terminated without running.
func TestMaxErrorsTerminatesUnstarted(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{instances: 5})
	cmdID := f.send(t, &ssm.SendCommandInput{
		InstanceIds:    f.ids,
		MaxConcurrency: aws.String("1"),
		MaxErrors:      aws.String("1"),
		Parameters:     script(`touch "$SHARED/ran.$SSMEMU_INSTANCE_ID"`, "exit 1"),
	})
	var failed, terminated int
	for _, id := range f.ids {
		out := f.wait(t, cmdID, id)
		_, ranErr := os.Stat(filepath.Join(f.shared, "ran."+id))
		switch aws.ToString(out.StatusDetails) {
		case "Failed":
			failed++
			if out.ResponseCode != 1 || ranErr != nil {
				t.Errorf("%s failed with %d, ran=%v", id, out.ResponseCode, ranErr == nil)
			}
		case "Terminated":
			terminated++
			if out.Status != types.CommandInvocationStatusFailed || out.ResponseCode != -1 || ranErr == nil {
				t.Errorf("%s terminated: %s %d, ran=%v; want Failed -1 and never run", id, out.Status, out.ResponseCode, ranErr == nil)
			}
		default:
			t.Errorf("%s: %s", id, aws.ToString(out.StatusDetails))
		}
	}
	if failed != 2 || terminated != 3 {
		t.Errorf("%d failed, %d terminated; want 2 and 3", failed, terminated)
	}
	if st := f.command(t, cmdID); st != (ssmCommand{Status: "Failed", Details: "Failed", Target: 5, Completed: 5, Errors: 2}) {
		t.Errorf("command: %+v", st)
	}
	list, err := f.ssm.ListCommandInvocations(ctx(t), &ssm.ListCommandInvocationsInput{
		CommandId: &cmdID,
		Filters:   []types.CommandFilter{{Key: types.CommandFilterKeyStatus, Value: aws.String("Terminated")}},
	})
	if err != nil || len(list.CommandInvocations) != 3 {
		t.Errorf("filter Status=Terminated: %v, %d invocations", err, len(list.CommandInvocations))
	}
}
