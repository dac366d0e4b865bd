package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
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
	// StatusUnknown: found on disk when state.json was rebuilt.
	StatusUnknown = "unknown"
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
	// NodeModules is the key of the node_modules a runtime node release
	// links (node_modules/<key> under the root).
	NodeModules string `json:"node_modules,omitempty"`
	Status      string `json:"status"`
	Reason      string `json:"reason,omitempty"`
	// RolledBack says the bad status came from a rollback away from this
	// release, not from its own checks: it was healthy once, so a person
	// may still name it (rollback --to) though no automatic choice will.
	RolledBack bool `json:"rolled_back,omitempty"`
	Pruned     bool `json:"pruned,omitempty"`
	// Run is how this release starts and proves healthy, recorded when it
	// was built: a rollback restores the old release with its own command,
	// variables and health check, not the failed release's.
	Run *RunConfig `json:"run,omitempty"`
}

// RunConfig is the part of a spec that says how a release runs.
// As recorded in state.json it holds the variables' names and the health
// URL without credentials; the values are in the release's secrets file
// (see secrets.go), and runOf puts them back.
type RunConfig struct {
	Start []string `json:"start"`
	// Vars are the values, in memory only; LegacyVars is where agents
	// before secrets files recorded them (moved out on the next lock).
	Vars       map[string]string `json:"-"`
	LegacyVars map[string]string `json:"env,omitempty"`
	// VarNames are the names of the configured variables.
	VarNames    []string      `json:"env_names,omitempty"`
	EnvFile     string        `json:"env_file,omitempty"`
	Health      HealthSpec    `json:"health"`
	StopTimeout time.Duration `json:"stop_timeout,omitempty"`
}

func runConfigOf(s Spec) *RunConfig {
	return &RunConfig{Start: s.Start, Vars: s.Vars, EnvFile: s.EnvFile, Health: s.Health, StopTimeout: s.StopTimeout}
}

// runOf returns how release r runs: its own record with the values from
// its secrets file, or, for a release recorded before runs were kept, the
// spec at hand.
func (o *op) runOf(r *Release) *RunConfig {
	if r == nil || r.Run == nil {
		return runConfigOf(o.spec)
	}
	if rc, ok := o.runs[r.ID]; ok {
		return rc
	}
	rc := *r.Run
	rc.Vars = maps.Clone(rc.LegacyVars)
	if sec, err := o.l.readSecrets(r.ID); err == nil {
		if rc.Vars == nil {
			rc.Vars = map[string]string{}
		}
		maps.Copy(rc.Vars, sec.Vars)
		if sec.HealthURL != "" {
			rc.Health.URL = sec.HealthURL
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		o.warn(fmt.Sprintf("release %s: %v", r.ID, err))
	} else if len(rc.VarNames) > 0 && len(rc.Vars) == 0 {
		o.warn(fmt.Sprintf("release %s: %v (%s): its variables %s are not set", r.ID, errNoSecrets, o.l.secretsOf(r.ID), strings.Join(rc.VarNames, ", ")))
	}
	if rc.Vars == nil {
		rc.Vars = map[string]string{}
	}
	o.red.addVars(rc.Vars)
	o.red.addURL(rc.Health.URL)
	o.remember(r.ID, &rc)
	return &rc
}

// remember keeps how release id runs, values included, for the rest of
// the operation.
func (o *op) remember(id string, rc *RunConfig) {
	if o.runs == nil {
		o.runs = map[string]*RunConfig{}
	}
	o.runs[id] = rc
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

// errDamaged marks a state file that exists but cannot be the truth: not
// JSON, not an object, wrong types, or releases that make no sense.
var errDamaged = errors.New("damaged")

// lastGood is the copy of state.json that every save writes second, with
// the same tmp+fsync+rename: when state.json is damaged, it is whole.
func (l layout) lastGood() string { return filepath.Join(l.root, "state.last-good.json") }

// releaseMeta is the record a release keeps of itself in its directory,
// so that a state rebuilt from disk knows its venv and how it runs.
const releaseMeta = ".ferry-release.json"

// readState parses one state file strictly enough to trust it.
func readState(path string) (*State, error) {
	b, err := fslink.ReadFile(path)
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, fmt.Errorf("%s is %w: it is not a JSON object (%d bytes)", filepath.Base(path), errDamaged, len(b))
	}
	var st State
	if err := json.Unmarshal(trimmed, &st); err != nil {
		return nil, fmt.Errorf("%s is %w: %v", filepath.Base(path), errDamaged, err)
	}
	if err := st.check(); err != nil {
		return nil, fmt.Errorf("%s is %w: %v", filepath.Base(path), errDamaged, err)
	}
	return &st, nil
}

// check refuses a state whose parts do not hold together.
func (s *State) check() error {
	if s.Version < 1 {
		return fmt.Errorf("version %d", s.Version)
	}
	ids := map[string]bool{}
	for _, r := range s.Releases {
		if r.ID == "" || strings.ContainsAny(r.ID, `/\`) || r.ID == "." || r.ID == ".." || !hexSHA.MatchString(r.SHA) {
			return fmt.Errorf("release %q (sha %q) is not a release", r.ID, r.SHA)
		}
		ids[r.ID] = true
	}
	for _, id := range []string{s.Current, s.Previous} {
		if id != "" && !ids[id] {
			return fmt.Errorf("it names %s, which it does not list", id)
		}
	}
	return nil
}

// loaded is how loadState came by the state.
type loaded struct {
	// how: "" (state.json as it was), "restored" (from the last good
	// copy) or "rebuilt" (from the release directories).
	how string
	// why says what was wrong with state.json (and its copy).
	why string
}

// loadState reads state.json; a missing one is an empty state, unless
// releases are on disk. A damaged one is replaced, in memory, by the last
// good copy, and when that is damaged too by a state rebuilt from
// releases/*/REVISION and what `current` points at; loaded says which.
// The read shares delete access (on Windows), so that a status or the
// service host reading it never fails a deploy's rename of a new one.
func loadState(l layout) (*State, loaded, error) {
	st, err := readState(l.state())
	if err == nil {
		return st, loaded{}, nil
	}
	if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, errDamaged) {
		return nil, loaded{}, fmt.Errorf("read state: %w", err)
	}
	why := err.Error()
	if errors.Is(err, os.ErrNotExist) {
		if !hasReleases(l) {
			return &State{Version: 1}, loaded{}, nil
		}
		why = "state.json is missing but releases are on disk"
	}
	good, gerr := readState(l.lastGood())
	if gerr == nil {
		return good, loaded{how: "restored", why: why}, nil
	}
	if !errors.Is(gerr, os.ErrNotExist) {
		why += "; " + gerr.Error()
	}
	return rebuildState(l), loaded{how: "rebuilt", why: why}, nil
}

// message tells a person what loadState did, "" when nothing.
func (ld loaded) message(l layout, kept string) string {
	where := ""
	if kept != "" {
		where = "; the damaged file is kept as " + filepath.Base(kept)
	}
	switch ld.how {
	case "restored":
		return fmt.Sprintf("state.json was damaged (%s): restored from its last good copy %s%s", ld.why, filepath.Base(l.lastGood()), where)
	case "rebuilt":
		return fmt.Sprintf("state.json was damaged (%s) and no good copy was left: rebuilt from releases/*/REVISION and the current link; outcomes before this are unknown%s", ld.why, where)
	}
	return ""
}

func hasReleases(l layout) bool {
	entries, _ := os.ReadDir(l.releases())
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(l.release(e.Name()), "REVISION")); err == nil && e.IsDir() && !strings.HasSuffix(e.Name(), ".partial") {
			return true
		}
	}
	return false
}

// rebuildState makes a state from what is on disk: every complete
// release directory (its REVISION, and the record it keeps of itself), in
// the order of their IDs, which sort by time, and `current` where the
// link points. Nothing on disk says how a release fared, so each is
// "unknown": a rollback goes to one only when a person names it.
func rebuildState(l layout) *State {
	st := &State{Version: 1}
	entries, _ := os.ReadDir(l.releases())
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || strings.HasSuffix(name, ".partial") || strings.HasPrefix(name, ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(l.release(name), "REVISION"))
		sha := strings.TrimSpace(string(b))
		if err != nil || !hexSHA.MatchString(sha) {
			continue
		}
		r := Release{ID: name, SHA: sha, Status: StatusUnknown, Reason: "rebuilt from disk: its outcome was lost with state.json"}
		if mb, err := os.ReadFile(filepath.Join(l.release(name), releaseMeta)); err == nil {
			var m Release
			if json.Unmarshal(mb, &m) == nil && m.SHA == sha {
				r.Created, r.Deployer, r.RunURL, r.Venv, r.NodeModules, r.Run = m.Created, m.Deployer, m.RunURL, m.Venv, m.NodeModules, m.Run
			}
		} else {
			r.Status, r.Reason = StatusFailed, "rebuilt from disk: it never finished building"
		}
		if r.Created.IsZero() {
			if t, err := time.Parse("20060102T150405Z", strings.SplitN(name, "-", 2)[0]); err == nil {
				r.Created = t
			}
		}
		st.Releases = append(st.Releases, r)
	}
	sort.SliceStable(st.Releases, func(i, j int) bool { return st.Releases[i].ID < st.Releases[j].ID })
	if cur := l.currentTarget(); st.find(cur) != nil {
		st.Current = cur
	}
	return st
}

// save replaces state.json atomically, then its last good copy the same
// way: a reader, or a deploy killed at any instant, sees each file old or
// new, whole, and when state.json is damaged the copy is not.
func (s *State) save(l layout) error {
	if len(s.Releases) > maxHistory {
		s.Releases = s.Releases[len(s.Releases)-maxHistory:]
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if err := writeFile(l.state(), b, 0o644); err != nil {
		return err
	}
	return writeFile(l.lastGood(), b, 0o644)
}

// writeFile is the seam through which the state is written (tests inject
// a full disk here).
var writeFile = fslink.WriteFile

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
