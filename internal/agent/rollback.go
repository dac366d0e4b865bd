package agent

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/pyenv"
	"github.com/ferryhq/ferry/internal/text"
)

// verify is the rollback's prepare phase: it picks the release to return
// to and checks that its directory and venv are still there.
func verify(_ context.Context, o *op) error {
	if cur := o.state.find(o.state.Current); cur != nil && o.spec.To != "" && (cur.ID == o.spec.To || strings.HasPrefix(cur.SHA, o.spec.To)) {
		// The goal is reached: on a fleet, the instances already there
		// succeed while the others move.
		o.to = cur.ID
		o.res.Release, o.res.SHA = cur.ID, cur.SHA
		return finished{fmt.Sprintf("already serving %s (%s)", cur.ID, text.Short(cur.SHA))}
	}
	target, err := o.rollbackTarget()
	if err != nil {
		return fail.Hint(err, "list kept releases with: ferry releases "+o.spec.Environment)
	}
	o.to = target.ID
	o.res.Release, o.res.SHA, o.res.Previous = target.ID, target.SHA, o.from
	if _, err := os.Stat(o.l.release(target.ID)); err != nil {
		return fmt.Errorf("release %s is gone from disk", target.ID)
	}
	if target.Venv != "" && !pyenv.Complete(o.l.venv(target.Venv)) {
		return fmt.Errorf("the venv of release %s was removed", target.ID)
	}
	if target.NodeModules != "" && !pyenv.Complete(o.l.nodeModules(target.NodeModules)) {
		return fmt.Errorf("the node_modules of release %s was removed", target.ID)
	}
	return nil
}

// rollbackTarget picks the named release, or the previous healthy one.
func (o *op) rollbackTarget() (*Release, error) {
	st := o.state
	if o.spec.To != "" {
		var found []*Release
		for i := len(st.Releases) - 1; i >= 0; i-- {
			r := &st.Releases[i]
			if r.Pruned {
				continue
			}
			if r.ID == o.spec.To || strings.HasPrefix(r.SHA, o.spec.To) {
				found = append(found, r)
			}
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("no kept release matches %q", o.spec.To)
		}
		r := found[0]
		if r.Status != StatusHealthy && !(r.Status == StatusBad && r.RolledBack) {
			return nil, fmt.Errorf("release %s is %s, not healthy: refusing to roll back to it", r.ID, r.Status)
		}
		if r.ID == st.Current {
			return nil, fmt.Errorf("release %s is already current", r.ID)
		}
		return r, nil
	}
	if r := st.lastGood(); r != nil {
		return r, nil
	}
	return nil, fmt.Errorf("there is no earlier healthy release to roll back to")
}
