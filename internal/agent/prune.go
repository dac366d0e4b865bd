package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// prune keeps keep_releases releases plus current and previous, never the
// one that serves, and at most keep_failed failed ones; venvs no kept
// release uses are removed.
func prune(_ context.Context, o *op) error {
	st := o.state
	keepOK, keepBad := o.spec.KeepReleases, o.spec.KeepFailed
	if keepOK <= 0 {
		keepOK = 5
	}
	if keepBad <= 0 {
		keepBad = 3
	}
	order := make([]int, 0, len(st.Releases))
	for i := range st.Releases {
		if !st.Releases[i].Pruned {
			order = append(order, i)
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return st.Releases[order[a]].Created.After(st.Releases[order[b]].Created) })
	// What goes is marked pruned and saved first, then renamed into
	// trash/ (one rename each, however many files): the files are removed
	// after the result is reported (emptyTrashLater). A crash between the
	// save and a rename leaves a pruned release in releases/, which the
	// next prune moves (sweepPruned); one between a rename and its
	// removal leaves it in trash/, which the next prune empties.
	var removed []string
	ok, bad := 0, 0
	for _, i := range order {
		r := &st.Releases[i]
		if r.ID == st.Current || r.ID == st.Previous {
			continue
		}
		failed := r.Status == StatusFailed || r.Status == StatusBad
		if failed && bad < keepBad {
			bad++
			continue
		}
		if !failed && ok < keepOK {
			ok++
			continue
		}
		r.Pruned = true
		removed = append(removed, r.ID)
	}
	used := map[string]bool{}
	for _, r := range st.Releases {
		if !r.Pruned && r.Venv != "" {
			used[r.Venv] = true
		}
	}
	venvs, _ := os.ReadDir(o.l.venvs())
	var unused []string
	for _, v := range venvs {
		if !used[v.Name()] {
			unused = append(unused, v.Name())
		}
	}
	if len(removed) > 0 {
		if err := o.saveState(); err != nil {
			return err
		}
	}
	for _, id := range removed {
		if err := o.l.toTrash(o.l.release(id)); err != nil {
			o.warn(fmt.Sprintf("prune %s: %v", id, err))
		}
		os.Remove(o.l.secretsOf(id))
	}
	o.sweepPruned()
	var venvGone int
	for _, v := range unused {
		if err := o.l.toTrash(o.l.venv(v)); err == nil {
			venvGone++
		}
	}
	// node_modules no kept release links go the same way.
	usedNode := map[string]bool{}
	for _, r := range st.Releases {
		if !r.Pruned && r.NodeModules != "" {
			usedNode[r.NodeModules] = true
		}
	}
	mods, _ := os.ReadDir(filepath.Join(o.l.root, "node_modules"))
	for _, m := range mods {
		if !usedNode[m.Name()] {
			if err := o.l.toTrash(o.l.nodeModules(m.Name())); err == nil {
				venvGone++
			}
		}
	}
	o.emptyTrashLater()
	if len(removed) == 0 && venvGone == 0 {
		return skip("nothing to prune")
	}
	o.emit(Event{Event: EventLog, Msg: fmt.Sprintf("pruned %d releases (%s) and %d venvs or node_modules", len(removed), strings.Join(removed, ", "), venvGone)})
	return nil
}

// sweepPruned moves into trash/ the directories of releases the state
// says were pruned but that are still there (a crash after the save).
func (o *op) sweepPruned() {
	for _, r := range o.state.Releases {
		if !r.Pruned {
			continue
		}
		if _, err := os.Lstat(o.l.release(r.ID)); err == nil {
			o.l.toTrash(o.l.release(r.ID))
		}
	}
}

// toTrash renames dir into trash/ under a name of its own: one rename,
// atomic, on the root's file system.
func (l layout) toTrash(dir string) error {
	if err := os.MkdirAll(l.trash(), 0o755); err != nil {
		return err
	}
	name := filepath.Base(dir) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	return os.Rename(dir, filepath.Join(l.trash(), name))
}

// emptyTrashLater removes what trash/ holds without anyone waiting for
// it: in the background here (an agent in-process, in ferry), and, in
// the ferry-agent binary, in a process of its own started after the
// result is printed (agentcli, SweepTrash), so neither the result nor
// the agent's exit waits for thousands of unlinks. Nothing reads trash/:
// removing it needs no lock, and two removers at once are harmless.
func (o *op) emptyTrashLater() {
	root := o.l.root
	go EmptyTrash(root)
}

// EmptyTrash removes every entry of root's trash/ (pruned releases and
// venvs) and reports whether it is empty now.
func EmptyTrash(root string) bool {
	l := layout{root: root}
	entries, err := os.ReadDir(l.trash())
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	clean := true
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(l.trash(), e.Name())); err != nil {
			clean = false
		}
	}
	return clean
}

// TrashPending reports whether root's trash/ holds anything to remove.
func TrashPending(root string) bool {
	entries, err := os.ReadDir(layout{root: root}.trash())
	return err == nil && len(entries) > 0
}
