package agent

import (
	"fmt"

	"github.com/ferryhq/ferry/internal/supervise"
	"github.com/ferryhq/ferry/internal/text"
)

// ServiceHostOptions say which target a service host runs. They come from
// the service's command line, which the agent wrote.
type ServiceHostOptions struct {
	// Root is the target's absolute root directory.
	Root string
	// Name is the service's name; the host's log is named after it.
	Name string
	// Environment is passed to the app as FERRY_ENVIRONMENT, as process
	// mode does.
	Environment string
}

var serviceNameRe = text.Pattern(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$`)

// Validate refuses options the agent would never have written: the
// command line of a service is editable by administrators, and the host
// runs as LocalSystem.
func (o ServiceHostOptions) Validate() error {
	if err := checkRoot(o.Root); err != nil {
		return fmt.Errorf("--root: %w", err)
	}
	if _, ok := homeRelative(o.Root); ok {
		return fmt.Errorf("--root %s: a service needs an absolute root", o.Root)
	}
	if !serviceNameRe().MatchString(o.Name) {
		return fmt.Errorf("--name %q is not a service name", o.Name)
	}
	if o.Environment != "" && !nameRe().MatchString(o.Environment) {
		return fmt.Errorf("--environment %q is not a valid name", o.Environment)
	}
	return nil
}

// ServiceHost is the service host of the target opts name (see
// supervise.Host): before every start it reads state.json and runs the
// current release exactly as process mode would (appSpec), with that
// release's own recorded command.
func ServiceHost(opts ServiceHostOptions) (supervise.Host, error) {
	if err := opts.Validate(); err != nil {
		return supervise.Host{}, err
	}
	root, err := ResolveRoot(opts.Root)
	if err != nil {
		return supervise.Host{}, err
	}
	o := &op{spec: Spec{Environment: opts.Environment}, l: layout{root: root}, res: &Result{}, emit: func(Event) {}, red: &redactor{}}
	t := o.target()
	t.Service = opts.Name
	next := func() (supervise.Spec, bool, error) {
		st, _, err := loadState(o.l)
		if err != nil {
			return supervise.Spec{}, false, err
		}
		r := st.find(st.Current)
		if r == nil {
			return supervise.Spec{}, false, nil
		}
		if r.Run == nil || len(r.Run.Start) == 0 {
			return supervise.Spec{}, false, fmt.Errorf("release %s records no start command (deployed by an older agent): deploy again", r.ID)
		}
		o.spec.App = st.App
		spec, err := o.appSpec(r)
		if err != nil {
			return supervise.Spec{}, false, fmt.Errorf("release %s: %w", r.ID, err)
		}
		return spec, true, nil
	}
	return supervise.Host{Target: t, Next: next}, nil
}
