package gates

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// osvAdvisory is the part of an OSV record (https://ossf.github.io/osv-schema/)
// the offline audit needs.
type osvAdvisory struct {
	ID        string   `json:"id"`
	Aliases   []string `json:"aliases"`
	Summary   string   `json:"summary"`
	Details   string   `json:"details"`
	Withdrawn string   `json:"withdrawn"`
	Affected  []struct {
		Package struct {
			Ecosystem string `json:"ecosystem"`
			Name      string `json:"name"`
		} `json:"package"`
		Ranges []struct {
			Type   string              `json:"type"`
			Events []map[string]string `json:"events"`
		} `json:"ranges"`
		Versions []string `json:"versions"`
	} `json:"affected"`
}

// osvDB indexes PyPI advisories by normalized package name.
type osvDB struct {
	byName map[string][]*osvAdvisory
	files  int
}

// loadOSV reads every *.json advisory from a directory (recursively) or a
// zip such as osv.dev's PyPI all.zip. Only advisories for the names in want
// are kept, so a database of thousands of records costs little memory.
func loadOSV(path string, want map[string]bool) (*osvDB, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open osv database: %w", err)
	}
	db := &osvDB{byName: map[string][]*osvAdvisory{}}
	if fi.IsDir() {
		err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.HasSuffix(strings.ToLower(d.Name()), ".json") {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return db.add(p, data, want)
		})
	} else {
		err = db.loadZip(path, want)
	}
	if err != nil {
		return nil, fmt.Errorf("load osv database %s: %w", path, err)
	}
	if db.files == 0 {
		return nil, fmt.Errorf("load osv database %s: no advisories (*.json) found", path)
	}
	return db, nil
}

func (db *osvDB) loadZip(path string, want map[string]bool) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || !strings.HasSuffix(strings.ToLower(f.Name), ".json") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(io.LimitReader(rc, 16<<20))
		rc.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		if err := db.add(f.Name, data, want); err != nil {
			return err
		}
	}
	return nil
}

func (db *osvDB) add(name string, data []byte, want map[string]bool) error {
	db.files++
	// Most records in a full ecosystem dump are for other packages; a
	// cheap byte check, with separators folded as PEP 503 folds them,
	// spares decoding them.
	if want != nil {
		folded := bytes.Map(func(r rune) rune {
			if r == '_' || r == '.' {
				return '-'
			}
			return r
		}, bytes.ToLower(data))
		hit := false
		for k := range want {
			if bytes.Contains(folded, []byte(k)) {
				hit = true
				break
			}
		}
		if !hit {
			return nil
		}
	}
	var a osvAdvisory
	if err := json.Unmarshal(data, &a); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if a.Withdrawn != "" {
		return nil
	}
	seen := map[string]bool{}
	for _, af := range a.Affected {
		if !strings.EqualFold(af.Package.Ecosystem, "PyPI") {
			continue
		}
		k := normalizeName(af.Package.Name)
		if (want != nil && !want[k]) || seen[k] {
			continue
		}
		seen[k] = true
		db.byName[k] = append(db.byName[k], &a)
	}
	return nil
}

// vulns returns the advisories affecting name at version, in pip-audit's
// shape. ok is false when version is not PEP 440 and cannot be compared.
func (db *osvDB) vulns(name, version string) (out []AuditVuln, ok bool) {
	v, err := parsePEP440(version)
	if err != nil {
		return nil, false
	}
	key := normalizeName(name)
	for _, a := range db.byName[key] {
		hit := false
		var fixes []pyVersion
		for _, af := range a.Affected {
			if !strings.EqualFold(af.Package.Ecosystem, "PyPI") || normalizeName(af.Package.Name) != key {
				continue
			}
			for _, s := range af.Versions {
				if sv, err := parsePEP440(s); err == nil && compareVersions(sv, v) == 0 {
					hit = true
				}
			}
			for _, rg := range af.Ranges {
				if rg.Type != "ECOSYSTEM" {
					continue
				}
				in, fixed := inRange(v, rg.Events)
				if in {
					hit = true
					fixes = append(fixes, fixed...)
				}
			}
			if hit && len(fixes) == 0 {
				// Affected through the versions list: any fix above v helps.
				for _, rg := range af.Ranges {
					for _, ev := range rg.Events {
						if f, err := parsePEP440(ev["fixed"]); err == nil && compareVersions(f, v) > 0 {
							fixes = append(fixes, f)
						}
					}
				}
			}
		}
		if !hit {
			continue
		}
		desc := a.Summary
		if desc == "" {
			desc = firstParagraph(a.Details)
		}
		out = append(out, AuditVuln{ID: a.ID, FixVersions: versionStrings(fixes), Aliases: nonNil(a.Aliases), Description: desc})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, true
}

// osvEvent is one parsed event of an ECOSYSTEM range.
type osvEvent struct {
	kind string // introduced, fixed, last_affected
	v    pyVersion
	zero bool // introduced "0": before every version
}

// inRange applies OSV's evaluation of an ECOSYSTEM range: walk the events
// in version order; introduced opens, fixed (exclusive) and last_affected
// (inclusive) close. It also returns the fixes above v that close the
// interval v is in. Events that are not PEP 440 are skipped.
func inRange(v pyVersion, raw []map[string]string) (bool, []pyVersion) {
	var evs []osvEvent
	for _, e := range raw {
		for _, kind := range []string{"introduced", "fixed", "last_affected"} {
			s, ok := e[kind]
			if !ok {
				continue
			}
			if kind == "introduced" && s == "0" {
				evs = append(evs, osvEvent{kind: kind, zero: true})
				continue
			}
			pv, err := parsePEP440(s)
			if err != nil {
				continue
			}
			evs = append(evs, osvEvent{kind: kind, v: pv})
		}
	}
	sort.SliceStable(evs, func(i, j int) bool {
		a, b := evs[i], evs[j]
		if a.zero || b.zero {
			return a.zero && !b.zero
		}
		return compareVersions(a.v, b.v) < 0
	})
	affected := false
	var fixes []pyVersion
	for i, e := range evs {
		switch e.kind {
		case "introduced":
			if e.zero || compareVersions(v, e.v) >= 0 {
				affected = true
				// The fix for this interval is the next fixed event, if any.
				fixes = nil
				for _, n := range evs[i+1:] {
					if n.kind == "fixed" {
						fixes = []pyVersion{n.v}
						break
					}
					if n.kind == "introduced" || n.kind == "last_affected" {
						break
					}
				}
			}
		case "fixed":
			if compareVersions(v, e.v) >= 0 {
				affected = false
			}
		case "last_affected":
			if compareVersions(v, e.v) > 0 {
				affected = false
			}
		}
	}
	if !affected {
		return false, nil
	}
	return true, fixes
}

func versionStrings(vs []pyVersion) []string {
	sort.Slice(vs, func(i, j int) bool { return compareVersions(vs[i], vs[j]) < 0 })
	out := []string{}
	for i, v := range vs {
		if i > 0 && compareVersions(vs[i-1], v) == 0 {
			continue
		}
		out = append(out, v.String())
	}
	return out
}

func firstParagraph(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "\n\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
