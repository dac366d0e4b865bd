package agent

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
)

// Data an app writes into its release directory is lost with the next
// release: a Flask instance/ folder, a SQLite file, uploads belong in
// shared:. The first deploy of a target lists the release's files when it
// is exported and again once the app answered healthy, and warns once of
// what the app wrote, naming the shared: entry that would keep it.

// exportedFiles lists the files (and links) of dir, relative and
// slash-separated.
func exportedFiles(dir string) map[string]bool {
	files := map[string]bool{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if d.Name() == "__pycache__" {
				return filepath.SkipDir
			}
			return nil
		}
		if rel, err := filepath.Rel(dir, p); err == nil && rel != "." {
			files[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	return files
}

// writesStep warns of files the app wrote into its release directory.
var writesStep = step{StepWrites, cleanup, "", checkWrites}

func checkWrites(_ context.Context, o *op) error {
	if o.from != "" || o.exported == nil {
		return skip("only a target's first deploy looks for data written into the release")
	}
	shared := map[string]bool{releaseMeta: true, "REVISION": true}
	for _, p := range o.spec.Shared {
		shared[filepath.ToSlash(p)] = true
	}
	if o.spec.EnvFile != "" {
		shared[filepath.ToSlash(o.spec.EnvFile)] = true
	}
	var wrote []string
	tops := map[string]bool{}
	for p := range exportedFiles(o.dir) {
		if o.exported[p] || strings.HasSuffix(p, ".pyc") || under(p, shared) {
			continue
		}
		wrote = append(wrote, p)
		top, _, _ := strings.Cut(p, "/")
		tops[top] = true
	}
	if len(wrote) == 0 {
		return skip("the app wrote nothing into its release directory")
	}
	sort.Strings(wrote)
	names := make([]string, 0, len(tops))
	for t := range tops {
		names = append(names, t)
	}
	sort.Strings(names)
	shown := wrote
	if len(shown) > 5 {
		shown = append(shown[:5:5], fmt.Sprintf("and %d more", len(wrote)-5))
	}
	o.warn(fmt.Sprintf("the app wrote into its release directory (%s): that is lost with the next release; add shared: [%s] to ferry.yml to keep it across releases", strings.Join(shown, ", "), strings.Join(names, ", ")))
	return nil
}

// under reports whether p is one of paths or inside one.
func under(p string, paths map[string]bool) bool {
	for q := range paths {
		if p == q || strings.HasPrefix(p, q+"/") {
			return true
		}
	}
	return false
}
