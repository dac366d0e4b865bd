//go:build !linux && !windows

package supervise

import "errors"

func newService(Target) (Supervisor, error) {
	return nil, errors.New("run_as: service is not supported on this platform yet")
}
