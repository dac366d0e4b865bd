package agent_test

import "github.com/ferryhq/ferry/internal/pyenv"

func pipOpts(wheels string) pyenv.PipOptions {
	return pyenv.PipOptions{NoIndex: true, FindLinks: []string{wheels}}
}
