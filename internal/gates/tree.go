package gates

import (
	"bytes"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ferryhq/ferry/internal/startcmd/appref"
	"github.com/ferryhq/ferry/internal/text"
)

// ignoredDirNames are directories that never hold the app's own code, left
// out at any depth by every gate: ferry's local deploy root (releases and
// their virtualenvs), virtualenvs, tool caches, version control and build
// output. A local deploy puts .ferry/ inside the app, so without this a
// first `ferry check` after it lints the release venvs' site-packages.
var ignoredDirNames = map[string]bool{
	".ferry": true, ".venv": true, "venv": true, "env": true,
	".tox": true, ".nox": true, ".eggs": true, "site-packages": true,
	"build": true, "dist": true, "node_modules": true, "__pycache__": true,
	".git": true, ".hg": true, ".svn": true,
	".mypy_cache": true, ".pytest_cache": true, ".ruff_cache": true,
}

// Files that mark a directory as not the app's code, whatever its name: a
// virtualenv (pyvenv.cfg), one ferry built (.ferry-complete, written last
// by internal/pyenv), and a ferry release (REVISION, written by the agent,
// holding the commit).
const (
	venvMarker    = "pyvenv.cfg"
	ferryVenvMark = ".ferry-complete"
	ferryRevision = "REVISION"
)

// maxTreeEntries bounds the walk of the app.
const maxTreeEntries = 200_000

// revisionRe is what a ferry release's REVISION holds: a full commit ID
// (SHA-1 or SHA-256) and a newline. An app's own REVISION file with other
// content does not make its directory ignored.
var revisionRe = text.Pattern(`^[0-9a-f]{40}([0-9a-f]{24})?\r?\n?$`)

// ignoredDirName reports whether a directory name alone leaves it out.
func ignoredDirName(name string) bool {
	return ignoredDirNames[name] || strings.HasSuffix(name, ".egg-info")
}

// markedDir reports whether the entries of a directory mark it as a
// virtualenv or a ferry release; dir is read only for a REVISION file.
func markedDir(dir string, ents []os.DirEntry) bool {
	for _, ent := range ents {
		switch ent.Name() {
		case venvMarker, ferryVenvMark:
			return true
		case ferryRevision:
			if ent.Type().IsRegular() {
				if data, err := os.ReadFile(filepath.Join(dir, ferryRevision)); err == nil && len(data) < 100 && revisionRe().Match(bytes.TrimLeft(data, " ")) {
					return true
				}
			}
		}
	}
	return false
}

// appTree is the app directory as every gate sees it, walked once per run:
// which directories are left out, and the top level the linters start
// from.
type appTree struct {
	root string
	// skipped are the tops of the left-out subtrees, relative to root with
	// forward slashes, sorted; nothing below them was read.
	skipped []string
	skipSet map[string]bool
	// marked are the skipped directories left out for their markers
	// rather than their names; tools that match names need these as paths.
	marked map[string]bool
	layout sourceLayout
}

// scanTree walks root, pruning ignored directories without reading them.
func scanTree(root string) (*appTree, error) {
	t := &appTree{root: root, marked: map[string]bool{}}
	top, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	seen := 0
	var walk func(rel string, ents []os.DirEntry)
	walk = func(rel string, ents []os.DirEntry) {
		for _, ent := range ents {
			// A bound for trees no app has (a home directory given as the
			// app): past it, the tools' own name patterns still apply.
			if seen++; seen > maxTreeEntries {
				return
			}
			// Symbolic links are not followed, as the tools' own walks do not.
			if !ent.IsDir() {
				continue
			}
			child := joinRel(rel, ent.Name())
			if ignoredDirName(ent.Name()) {
				t.skipped = append(t.skipped, child)
				continue
			}
			full := filepath.Join(root, filepath.FromSlash(child))
			sub, err := os.ReadDir(full)
			if err != nil {
				continue
			}
			if markedDir(full, sub) {
				t.skipped = append(t.skipped, child)
				t.marked[child] = true
				continue
			}
			walk(child, sub)
		}
	}
	walk("", top)
	sort.Strings(t.skipped)
	t.skipSet = make(map[string]bool, len(t.skipped))
	for _, s := range t.skipped {
		t.skipSet[s] = true
	}
	t.layout = layoutOf(root, top, t)
	return t, nil
}

func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// isSkipped reports whether rel (relative, forward slashes) is a skipped
// directory or lies inside one.
func (t *appTree) isSkipped(rel string) bool {
	for i := 0; i <= len(rel); i++ {
		if (i == len(rel) || rel[i] == '/') && t.skipSet[rel[:i]] {
			return true
		}
	}
	return false
}

// holdsSkipped reports whether a skipped directory that can hold source
// lies below rel ("" is the root). __pycache__ holds none, so a tool
// walking into it reads nothing.
func (t *appTree) holdsSkipped(rel string) bool {
	for _, s := range t.skipped {
		if (rel == "" || strings.HasPrefix(s, rel+"/")) && path.Base(s) != "__pycache__" {
			return true
		}
	}
	return false
}

// sourceSkips are the skipped directories that can hold source, for tools
// given them as paths (pytest's --ignore).
func (t *appTree) sourceSkips() []string {
	var out []string
	for _, s := range t.skipped {
		if path.Base(s) != "__pycache__" {
			out = append(out, s)
		}
	}
	return out
}

// markedSkips are the directories skipped for their markers, which tools
// matching directory names do not know to leave out.
func (t *appTree) markedSkips() []string {
	var out []string
	for _, s := range t.skipped {
		if t.marked[s] {
			out = append(out, s)
		}
	}
	return out
}

// rel turns a tool target into a path relative to the root with forward
// slashes, or reports that it lies outside the app.
func (t *appTree) rel(p string) (string, bool) {
	if filepath.IsAbs(p) {
		r, err := filepath.Rel(t.root, p)
		if err != nil {
			return "", false
		}
		p = r
	}
	p = filepath.ToSlash(filepath.Clean(p))
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", false
	}
	if p == "." {
		p = ""
	}
	return p, true
}

// avoid rewrites targets for a tool that walks whatever it is given
// (bandit reads every file under a directory before excluding any): a
// target holding a skipped directory is replaced by its entries, down to
// the skipped ones, which are dropped, as are targets inside them. keepFile
// says which files of an expanded directory the tool wants, keepDir which
// subdirectories; a target the tree does not cover is passed as given.
func (t *appTree) avoid(targets []string, keepFile, keepDir func(rel string) bool) []string {
	var out []string
	var expand func(rel string)
	expand = func(rel string) {
		dir := t.root
		if rel != "" {
			dir = filepath.Join(t.root, filepath.FromSlash(rel))
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, ent := range ents {
			child := joinRel(rel, ent.Name())
			switch {
			case t.isSkipped(child):
			case ent.IsDir() && !keepDir(child):
			case ent.IsDir() && t.holdsSkipped(child):
				expand(child)
			case ent.IsDir() || keepFile(child):
				out = append(out, child)
			}
		}
	}
	for _, target := range targets {
		rel, ok := t.rel(target)
		switch {
		case !ok:
			out = append(out, target)
		case rel != "" && t.isSkipped(rel):
		case t.holdsSkipped(rel):
			if fi, err := os.Stat(filepath.Join(t.root, filepath.FromSlash(rel))); err == nil && fi.IsDir() {
				expand(rel)
			} else {
				out = append(out, target)
			}
		default:
			out = append(out, target)
		}
	}
	return out
}

// isPythonFile is what the linters read when they walk a directory.
func isPythonFile(rel string) bool { return strings.HasSuffix(rel, ".py") }

func anyDir(string) bool { return true }

var identRe = text.Pattern(`^[A-Za-z_][A-Za-z0-9_]*$`)

// sourceLayout is the app's top level as the linters see it.
type sourceLayout struct {
	Files    []string // top-level *.py
	Packages []string // directories with __init__.py
	Dirs     []string // other directories holding Python files
	// Src is "src" when the app uses a src layout: its packages and modules
	// live in src/, which is not a package itself, and are imported with
	// src on the import path (what an editable install provides).
	Src         string
	SrcFiles    []string // *.py directly in src/, as "src/name.py"
	SrcPackages []string // packages directly in src/, as "src/name"
}

// layoutOf reads the app's top level from its entries, leaving out what
// the tree skipped and hidden entries.
func layoutOf(root string, top []os.DirEntry, t *appTree) sourceLayout {
	var l sourceLayout
	for _, ent := range top {
		name := ent.Name()
		if strings.HasPrefix(name, ".") || t.isSkipped(name) {
			continue
		}
		full := filepath.Join(root, name)
		switch {
		case !ent.IsDir() && strings.HasSuffix(name, ".py"):
			l.Files = append(l.Files, name)
		case ent.IsDir():
			if isPackage(full) && identRe().MatchString(name) {
				l.Packages = append(l.Packages, name)
			} else if t.hasPython(name, 3) {
				l.Dirs = append(l.Dirs, name)
			}
		}
	}
	if ents, err := os.ReadDir(filepath.Join(root, "src")); err == nil && !isPackage(filepath.Join(root, "src")) && !t.isSkipped("src") {
		for _, ent := range ents {
			name := ent.Name()
			switch {
			case strings.HasPrefix(name, "."), t.isSkipped("src/" + name):
			case !ent.IsDir() && strings.HasSuffix(name, ".py") && identRe().MatchString(strings.TrimSuffix(name, ".py")):
				l.SrcFiles = append(l.SrcFiles, "src/"+name)
			case ent.IsDir() && identRe().MatchString(name) && isPackage(filepath.Join(root, "src", name)):
				l.SrcPackages = append(l.SrcPackages, "src/"+name)
			}
		}
		if len(l.SrcFiles)+len(l.SrcPackages) > 0 {
			l.Src = "src"
		}
	}
	for _, s := range [][]string{l.Files, l.Packages, l.Dirs, l.SrcFiles, l.SrcPackages} {
		sort.Strings(s)
	}
	return l
}

func isPackage(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "__init__.py"))
	return err == nil
}

// hasPython reports whether rel holds a Python file within depth levels,
// outside skipped directories.
func (t *appTree) hasPython(rel string, depth int) bool {
	if depth == 0 {
		return false
	}
	ents, err := os.ReadDir(filepath.Join(t.root, filepath.FromSlash(rel)))
	if err != nil {
		return false
	}
	for _, e := range ents {
		child := joinRel(rel, e.Name())
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".py") {
			return true
		}
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && !t.isSkipped(child) && t.hasPython(child, depth-1) {
			return true
		}
	}
	return false
}

// all lists every file and directory, for tools that walk directories.
func (l sourceLayout) all() []string {
	out := append([]string{}, l.Files...)
	out = append(out, l.Packages...)
	return append(out, l.Dirs...)
}

// modules lists the top-level modules and packages, src/'s included, for
// tools that take modules (pylint).
func (l sourceLayout) modules() []string {
	out := append([]string{}, l.Files...)
	out = append(out, l.Packages...)
	out = append(out, l.SrcFiles...)
	return append(out, l.SrcPackages...)
}

// isTestModule tells test code from app code by pytest's naming rules.
func isTestModule(name string) bool {
	base := strings.TrimSuffix(name, ".py")
	return strings.HasPrefix(base, "test_") || strings.HasSuffix(base, "_test") || base == "conftest" ||
		base == "tests" || base == "test"
}

// appModules are the importable top-level modules of the app, tests and
// packaging scripts left out: what the smoke gate imports by default.
func (l sourceLayout) appModules() []string {
	var mods []string
	files := append(append([]string{}, l.Files...), l.SrcFiles...)
	for _, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), ".py")
		if isTestModule(base) || base == "setup" || base == "noxfile" || !identRe().MatchString(base) {
			continue
		}
		mods = append(mods, base)
	}
	for _, p := range append(append([]string{}, l.Packages...), l.SrcPackages...) {
		if name := filepath.Base(p); !isTestModule(name) {
			mods = append(mods, name)
		}
	}
	return mods
}

// holdsModule reports whether the app holds t's top-level module, as a
// module or a package, where the server would import it from.
func (t *appTree) holdsModule(st appref.Target) bool {
	top, _, _ := strings.Cut(st.Module, ".")
	dirs := append([]string{""}, st.Dirs...)
	if t.layout.Src != "" {
		dirs = append(dirs, t.layout.Src)
	}
	for _, d := range dirs {
		base := filepath.Join(t.root, filepath.FromSlash(d), top)
		if _, err := os.Stat(base + ".py"); err == nil {
			return true
		}
		if fi, err := os.Stat(base); err == nil && fi.IsDir() {
			return true
		}
	}
	return false
}
