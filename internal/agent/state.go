package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/ferryhq/ferry/internal/fslink"
)

// Release statuses kept in state.json.
const (
	StatusBuilding = "building" // being fetched or installed
	StatusReady    = "ready"    // complete, never run
	StatusStarting = "starting" // switched to, not yet proven healthy
	StatusHealthy  = "healthy"  // passed its health check
	StatusFailed   = "failed"   // failed before serving (fetch, install)
	StatusBad      = "bad"      // failed after the switch; kept for diagnosis
)

// Release is one deploy's directory and what became of it.
type Release struct {
	ID       string    `json:"id"`
	SHA      string    `json:"sha"`
	Created  time.Time `json:"created"`
	Finished time.Time `json:"finished,omitempty"`
	Deployer string    `json:"deployer,omitempty"`
	RunURL   string    `json:"run_url,omitempty"`
	Venv     string    `json:"venv,omitempty"`
	Status   string    `json:"status"`
	Reason   string    `json:"reason,omitempty"`
	Pruned   bool      `json:"pruned,omitempty"`
	// Run is how this release starts and proves healthy, recorded when it
	// was built: a rollback restores the old release with its own command,
	// variables and health check, not the failed release's.
	Run *RunConfig `json:"run,omitempty"`
}

// RunConfig is the part of a spec that says how a release runs.
type RunConfig struct {
	Start       []string          `json:"start"`
	Vars        map[string]string `json:"env,omitempty"`
	EnvFile     string            `json:"env_file,omitempty"`
	Health      HealthSpec        `json:"health"`
	StopTimeout time.Duration     `json:"stop_timeout,omitempty"`
}

func runConfigOf(s Spec) *RunConfig {
	return &RunConfig{Start: s.Start, Vars: s.Vars, EnvFile: s.EnvFile, Health: s.Health, StopTimeout: s.StopTimeout}
}

// runOf returns how release r runs: its own record, or, for a release
// recorded before runs were kept, the spec at hand.
func (o *op) runOf(r *Release) *RunConfig {
	if r != nil && r.Run != nil {
		return r.Run
	}
	return runConfigOf(o.spec)
}

// State is the journal of a target and its truth: which release is
// current, which was before, and every release with its outcome. The
// `current` link is derived from it, never the other way round.
type State struct {
	Version  int       `json:"version"`
	App      string    `json:"app"`
	Current  string    `json:"current,omitempty"`
	Previous string    `json:"previous,omitempty"`
	Releases []Release `json:"releases"`
}

// maxHistory bounds state.json: pruned releases are remembered for the
// record, but not forever.
const maxHistory = 200

// loadState reads state.json; a missing one is an empty state. The read
// shares delete access (on Windows), so that a status or the service host
// reading it never fails a deploy's rename of a new one over it.
func loadState(path string) (*State, error) {
	b, err := fslink.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &State{Version: 1}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("read state %s: %w", path, err)
	}
	return &s, nil
}

// save replaces state.json atomically: a reader, or a deploy killed at
// any instant, sees the old file or the new one, whole.
func (s *State) save(path string) error {
	if len(s.Releases) > maxHistory {
		s.Releases = s.Releases[len(s.Releases)-maxHistory:]
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return fslink.WriteFile(path, append(b, '\n'), 0o644)
}

func (s *State) find(id string) *Release {
	for i := range s.Releases {
		if s.Releases[i].ID == id {
			return &s.Releases[i]
		}
	}
	return nil
}

func (s *State) set(id, status, reason string) {
	if r := s.find(id); r != nil {
		r.Status = status
		r.Reason = reason
		if status != StatusBuilding && status != StatusStarting {
			r.Finished = time.Now().UTC()
		}
	}
}
