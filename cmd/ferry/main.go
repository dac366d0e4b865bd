// Command ferry ships Python web applications to servers.
package main

import (
	"os"

	"golang.org/x/term"

	"github.com/ferryhq/ferry/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.IO{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		ErrIsTerminal: term.IsTerminal(int(os.Stderr.Fd())),
		Getenv:        os.Getenv,
	}))
}
