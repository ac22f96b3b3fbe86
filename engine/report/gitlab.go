package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"strconv"

	"github.com/devflow/dwf-policy/engine/finding"
)

// GitLab Code Quality report (artifacts:reports:codequality), a subset of
// the Code Climate issue format. GitLab requires description, check_name,
// fingerprint, severity, location.path and location.lines.begin; severity
// is one of info, minor, major, critical, blocker.
type gitlabIssue struct {
	Description string         `json:"description"`
	CheckName   string         `json:"check_name"`
	Fingerprint string         `json:"fingerprint"`
	Severity    string         `json:"severity"`
	Location    gitlabLocation `json:"location"`
}

type gitlabLocation struct {
	Path  string      `json:"path"`
	Lines gitlabLines `json:"lines"`
}

type gitlabLines struct {
	Begin int `json:"begin"`
	End   int `json:"end,omitempty"`
}

// formatGitLab writes every unsuppressed finding as a Code Quality issue.
// Suppressed findings are left out: Code Quality has no way to mark them.
// The fingerprint, which GitLab uses to tell new issues from fixed ones
// between a merge request and its target, hashes the rule, the
// repository-relative path, the finding's own identity (the rule's
// fingerprint, else the content of its line as SARIF's line hash sees it,
// so moving the line elsewhere keeps it) and its message; findings that
// would still collide get a counter.
func formatGitLab(w io.Writer, r *Report) error {
	issues := make([]gitlabIssue, 0, len(r.Findings))
	b := sarifBuilder{report: r, hashes: map[string][]lineHash{}}
	seen := map[string]int{}
	for _, f := range r.Findings {
		if f.Suppressed() {
			continue
		}
		p := f.Path
		if r.URIBase != nil {
			p = r.URIBase(p)
		}
		loc := f.Location.Normalized()
		msg := f.Message
		if f.Subject != "" {
			msg += " [" + f.Subject + "]"
		}
		identity := f.Fingerprint
		if identity == "" {
			if h, ok := b.lineHash(f.Path, loc.Line); ok {
				identity = "line-content:" + h
			} else {
				identity = "line:" + strconv.Itoa(loc.Line)
			}
		}
		key := f.RuleID + "\x00" + p + "\x00" + identity + "\x00" + f.Subject + "\x00" + f.Message
		seen[key]++
		if n := seen[key]; n > 1 {
			key += "\x00" + strconv.Itoa(n)
		}
		sum := sha256.Sum256([]byte(key))
		issue := gitlabIssue{
			Description: msg,
			CheckName:   f.RuleID,
			Fingerprint: hex.EncodeToString(sum[:16]),
			Severity:    gitlabSeverity(f.Severity),
			Location:    gitlabLocation{Path: p, Lines: gitlabLines{Begin: loc.Line}},
		}
		if loc.EndLine > loc.Line {
			issue.Location.Lines.End = loc.EndLine
		}
		issues = append(issues, issue)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(issues)
}

// gitlabSeverity maps a severity onto GitLab's scale the way linters
// usually do: errors are major, warnings minor, notes info.
func gitlabSeverity(s finding.Severity) string {
	switch s {
	case finding.SeverityError:
		return "major"
	case finding.SeverityWarning:
		return "minor"
	}
	return "info"
}
