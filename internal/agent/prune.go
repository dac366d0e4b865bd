package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
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
		if err := os.RemoveAll(o.l.release(r.ID)); err != nil {
			o.warn(fmt.Sprintf("prune %s: %v", r.ID, err))
			continue
		}
		os.Remove(o.l.secretsOf(r.ID))
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
	var venvGone int
	for _, v := range venvs {
		if !used[v.Name()] {
			if err := os.RemoveAll(o.l.venv(v.Name())); err == nil {
				venvGone++
			}
		}
	}
	usedNode := map[string]bool{}
	for _, r := range st.Releases {
		if !r.Pruned && r.NodeModules != "" {
			usedNode[r.NodeModules] = true
		}
	}
	mods, _ := os.ReadDir(filepath.Join(o.l.root, "node_modules"))
	for _, m := range mods {
		if !usedNode[m.Name()] {
			if err := os.RemoveAll(o.l.nodeModules(m.Name())); err == nil {
				venvGone++
			}
		}
	}
	if len(removed) == 0 && venvGone == 0 {
		return skip("nothing to prune")
	}
	if err := o.saveState(); err != nil {
		return err
	}
	o.emit(Event{Event: EventLog, Msg: fmt.Sprintf("pruned %d releases (%s) and %d venvs or node_modules", len(removed), strings.Join(removed, ", "), venvGone)})
	return nil
}
