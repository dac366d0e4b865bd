// Package hello embeds ferry's example app (app.py, requirements.txt,
// its tests, ferry.yml and the offline OSV database of its audit gate),
// so that `ferry demo` runs from any directory: a release's ferry, or one
// installed with go install, carries the app it deploys.
package hello

import "embed"

// Files are the example app's files, by their paths in examples/hello.
//
//go:embed app.py requirements.txt ferry.yml tests/test_app.py osv
var Files embed.FS
