package gates

import (
	"io"
	"path"
	"sort"
	"strings"
)

// SARIF 2.1.0 as GitHub code scanning reads it; only the properties ferry
// fills are modelled.
const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string        `json:"id"`
	Name             string        `json:"name,omitempty"`
	ShortDescription *sarifMessage `json:"shortDescription,omitempty"`
	HelpURI          string        `json:"helpUri,omitempty"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifMessage    `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

// WriteSARIF writes bandit's and flake8's findings as SARIF 2.1.0, one run
// per tool, for GitHub code scanning. uriPrefix is the app directory's path
// inside the repository ("" when the app is the repository root), because
// code scanning resolves artifact URIs against the repository root. A gate
// that ran with no findings still gets an empty run: that is how code
// scanning learns earlier alerts are fixed.
func WriteSARIF(w io.Writer, rep *Report, uriPrefix string) error {
	log := sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{}}
	prefix := strings.Trim(strings.ReplaceAll(uriPrefix, `\`, "/"), "/")
	for _, g := range rep.Gates {
		info := reportOf(g.Name).sarifURI
		if info == "" || g.Status == StatusSkipped || g.Status == StatusMissing || g.Status == StatusError || g.Status == StatusTimeout {
			continue
		}
		run := sarifRun{Tool: sarifTool{Driver: sarifDriver{Name: g.Name, InformationURI: info, Rules: []sarifRule{}}}, Results: []sarifResult{}}
		index := map[string]int{}
		for _, f := range g.Findings {
			if _, seen := index[f.Rule]; !seen {
				rule := sarifRule{ID: f.Rule, Name: f.RuleName, HelpURI: f.HelpURI}
				if f.RuleName != "" {
					rule.ShortDescription = &sarifMessage{Text: f.RuleName}
				}
				index[f.Rule] = len(run.Tool.Driver.Rules)
				run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, rule)
			}
			res := sarifResult{RuleID: f.Rule, RuleIndex: index[f.Rule], Level: sarifLevel(f.Level), Message: sarifMessage{Text: f.Message}}
			if res.Message.Text == "" {
				res.Message.Text = f.Rule
			}
			if f.File != "" {
				uri := f.File
				if prefix != "" {
					uri = path.Join(prefix, uri)
				}
				loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: uri}}}
				if f.Line > 0 {
					loc.PhysicalLocation.Region = &sarifRegion{StartLine: f.Line, StartColumn: f.Column}
				}
				res.Locations = []sarifLocation{loc}
			}
			run.Results = append(run.Results, res)
		}
		log.Runs = append(log.Runs, run)
	}
	sort.SliceStable(log.Runs, func(i, j int) bool { return log.Runs[i].Tool.Driver.Name < log.Runs[j].Tool.Driver.Name })
	return writeIndentedJSON(w, log, "sarif")
}

func sarifLevel(level string) string {
	switch level {
	case "error", "warning", "note":
		return level
	}
	return "warning"
}
