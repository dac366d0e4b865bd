// Command ferry-proxy is the zero-downtime proxy a server runs in front of
// its app's releases (docs/proxy.md). It is its own program, not a
// command of ferry-agent, so that servers without a proxy never download
// its HTTP and TLS server code: the agent stays within its 3 MB budget.
package main

import (
	"os"

	"github.com/ferryhq/ferry/internal/proxy"
)

func main() { os.Exit(proxy.Main(os.Args[1:], os.Stderr)) }
