// Command ferry-agent runs on each server and deploys what ferry sends it.
package main

import (
	"os"

	"github.com/ferryhq/ferry/internal/agentcli"
)

func main() { os.Exit(agentcli.Main(os.Args[1:], os.Stdout, os.Stderr)) }
