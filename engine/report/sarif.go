package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/devflow/dwf-policy/engine/finding"
)

// SARIF output for GitHub code scanning and other SARIF 2.1.0 consumers.
// GitHub's ingestion rules shape a few choices: every rule is described (not
// only those that fired), rules carry the "security" tag and a
// security-severity string, results carry a region even when the position is
// unknown, and partialFingerprints match what codeql-action would compute.

const (
	sarifSchemaURI = "https://json.schemastore.org/sarif-2.1.0.json"
	// sarifSrcRoot is the uriBaseId of every relative artifact URI: the root
	// of the checked-out repository.
	sarifSrcRoot = "%SRCROOT%"
	// sarifLineHashKey is the partial fingerprint GitHub reads.
	sarifLineHashKey = "primaryLocationLineHash"
)

// sarifLog, sarifRun and sarifResult wrap go-sarif's types only to replace
// Result.Suppressions: go-sarif v2.3.3's Suppression has no omitempty on its
// optional fields and would write "location": null and "guid": null, which
// the SARIF schema rejects. The outer fields shadow the embedded ones.
type sarifLog struct {
	*sarif.Report
	Runs []*sarifRun `json:"runs"`
}

type sarifRun struct {
	*sarif.Run
	Results []*sarifResult `json:"results"` // never nil: GitHub wants the array
}

type sarifResult struct {
	*sarif.Result
	Suppressions []sarifSuppression `json:"suppressions,omitempty"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Status        string `json:"status,omitempty"`
	Justification string `json:"justification,omitempty"`
}

// formatSARIF writes r as a SARIF 2.1.0 log with exactly one run.
func formatSARIF(w io.Writer, r *Report) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(buildSARIF(r)); err != nil { // Encode adds the final newline
		return fmt.Errorf("encoding sarif: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing sarif: %w", err)
	}
	return nil
}

// semver is a Semantic Versioning 2.0.0 version, what SARIF's
// semanticVersion holds (a Go module version without its leading v).
var semver = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)
})

// buildSARIF converts r; it does not modify r.
func buildSARIF(r *Report) *sarifLog {
	driver := &sarif.ToolComponent{
		Name:  r.Tool.Name,
		Rules: make([]*sarif.ReportingDescriptor, 0, len(r.Rules)),
	}
	if r.Tool.Version != "" {
		driver.Version = sarifPtr(r.Tool.Version)
		if v := strings.TrimPrefix(r.Tool.Version, "v"); semver().MatchString(v) {
			driver.SemanticVersion = sarifPtr(v)
		}
	}
	if isAbsoluteURI(r.Tool.InformationURI) {
		driver.InformationURI = sarifPtr(r.Tool.InformationURI)
	}
	rules := make([]finding.Rule, 0, len(r.Rules)) // parallel to driver.Rules
	ruleIndex := make(map[string]int, len(r.Rules))
	for _, rule := range r.Rules {
		if _, dup := ruleIndex[rule.ID]; dup {
			continue // an ID must appear once in driver.rules
		}
		ruleIndex[rule.ID] = len(rules)
		rules = append(rules, rule)
		driver.Rules = append(driver.Rules, sarifRule(rule))
	}

	findings := slices.Clone(r.Findings)
	slices.SortStableFunc(findings, finding.Compare)

	b := sarifBuilder{report: r, rules: rules, ruleIndex: ruleIndex, hashes: map[string][]lineHash{}}
	results := make([]*sarifResult, 0, len(findings))
	for _, f := range findings {
		results = append(results, b.result(f))
	}

	run := &sarif.Run{
		Tool:       sarif.Tool{Driver: driver},
		ColumnKind: "unicodeCodePoints",
	}
	return &sarifLog{
		Report: &sarif.Report{Version: string(sarif.Version210), Schema: sarifSchemaURI},
		Runs:   []*sarifRun{{Run: run, Results: results}},
	}
}

// sarifRule describes one rule of the catalogue.
func sarifRule(rule finding.Rule) *sarif.ReportingDescriptor {
	title := firstNonEmpty(rule.Title, rule.Name, rule.ID)
	description := firstNonEmpty(rule.Description, title)
	help := firstNonEmpty(rule.Help, description)
	d := &sarif.ReportingDescriptor{
		ID:               rule.ID,
		ShortDescription: &sarif.MultiformatMessageString{Text: sarifPtr(title)},
		FullDescription:  &sarif.MultiformatMessageString{Text: sarifPtr(description)},
		// Help is markdown already; its plain text is the same string.
		Help:                 &sarif.MultiformatMessageString{Text: sarifPtr(help), Markdown: sarifPtr(help)},
		DefaultConfiguration: &sarif.ReportingConfiguration{Level: sarifLevel(rule.Severity)},
	}
	if rule.Name != "" {
		d.Name = sarifPtr(rule.Name)
	}
	tags := []string{"security"}
	if rule.Kind != "" {
		tags = append(tags, string(rule.Kind))
	}
	d.Properties = sarif.Properties{"tags": tags, "precision": "very-high"}
	if s := securitySeverity(rule.Severity); s != "" {
		d.Properties["security-severity"] = s
	}
	return d
}

// sarifBuilder turns findings into results, hashing each source at most once.
type sarifBuilder struct {
	report    *Report
	rules     []finding.Rule        // as in driver.rules
	ruleIndex map[string]int        // rule ID -> index in rules
	hashes    map[string][]lineHash // by finding path
}

func (b *sarifBuilder) result(f finding.Finding) *sarifResult {
	loc := f.Location.Normalized()
	res := &sarif.Result{
		RuleID:  sarifPtr(f.RuleID),
		Level:   sarifPtr(sarifLevel(f.Severity)),
		Message: sarif.Message{Text: sarifPtr(b.message(f))},
	}
	if i, ok := b.ruleIndex[f.RuleID]; ok {
		res.RuleIndex = sarifPtr(uint(i))
	}

	artifact := &sarif.ArtifactLocation{}
	if uri, relative := b.artifactURI(f.Path); relative {
		artifact.URI, artifact.URIBaseId = sarifPtr(uri), sarifPtr(sarifSrcRoot)
	} else {
		artifact.URI = sarifPtr(uri)
	}
	location := &sarif.Location{
		PhysicalLocation: &sarif.PhysicalLocation{
			ArtifactLocation: artifact,
			Region: &sarif.Region{
				StartLine:   sarifPtr(loc.Line),
				StartColumn: sarifPtr(loc.Column),
				EndLine:     sarifPtr(loc.EndLine),
				// Our ends are inclusive; SARIF's endColumn is the column
				// just after the region.
				EndColumn: sarifPtr(loc.EndColumn + 1),
			},
		},
	}
	if f.Subject != "" {
		location.LogicalLocations = []*sarif.LogicalLocation{{
			Name:               sarifPtr(f.Subject),
			FullyQualifiedName: sarifPtr(f.Subject),
			Kind:               sarifPtr("resource"),
		}}
	}
	res.Locations = []*sarif.Location{location}

	switch h, ok := b.lineHash(f.Path, loc.Line); {
	case f.Fingerprint != "":
		// The rule's own identity of the finding (a vulnerability ID,
		// package and target) stays the same when a rescan moves it to
		// another line, so the alert stays the same alert.
		res.PartialFingerprints = map[string]any{sarifLineHashKey: stableHash(f.RuleID + "\x00" + f.Fingerprint)}
	case ok:
		res.PartialFingerprints = map[string]any{sarifLineHashKey: h}
	}
	if f.SecuritySeverity != "" {
		res.Properties = map[string]any{"security-severity": f.SecuritySeverity}
	}

	out := &sarifResult{Result: res}
	for _, s := range f.Suppressions {
		kind := s.Kind
		if kind != "inSource" {
			kind = "external" // the only other kind SARIF has for us
		}
		out.Suppressions = append(out.Suppressions, sarifSuppression{
			Kind:          kind,
			Status:        "accepted",
			Justification: s.Justification,
		})
	}
	return out
}

// message returns the finding's message, falling back to the rule's title so
// that every result has the text GitHub displays.
func (b *sarifBuilder) message(f finding.Finding) string {
	if f.Message != "" {
		return f.Message
	}
	if i, ok := b.ruleIndex[f.RuleID]; ok {
		rule := b.rules[i]
		return firstNonEmpty(rule.Title, rule.Name, f.RuleID)
	}
	return f.RuleID
}

// lineHash returns the primaryLocationLineHash of a line of p's source.
func (b *sarifBuilder) lineHash(p string, line int) (string, bool) {
	hs, ok := b.hashes[p]
	if !ok {
		src, found := b.report.source(p)
		if !found {
			return "", false
		}
		hs = lineHashes(src)
		// Findings come sorted by path: one file's hashes at a time keeps
		// a report of many files small.
		clear(b.hashes)
		b.hashes[p] = hs
	}
	if line < 1 || line > len(hs) {
		return "", false
	}
	return hs[line-1].String(), true
}

// artifactURI maps a finding path to a URI reference. relative is true for
// the usual case, a path relative to the repository root, which SARIF
// resolves against %SRCROOT%; an absolute path becomes a file:// URI.
func (b *sarifBuilder) artifactURI(p string) (uri string, relative bool) {
	if b.report.URIBase != nil {
		p = b.report.URIBase(p)
	}
	if strings.HasPrefix(p, "/") {
		return "file://" + escapeURIPath(path.Clean(p)), false
	}
	for strings.HasPrefix(p, "./") {
		p = p[2:]
	}
	if p != "" {
		p = path.Clean(p)
	}
	return escapeURIPath(p), true
}

// escapeURIPath percent-encodes a slash-separated path as RFC 3986 requires
// for a path: everything but unreserved characters, sub-delims, ':' and '@'
// (pchar), and '/' between segments. A ':' in the first segment is encoded
// too, or "a:b/c" would read as a URI with scheme "a".
func escapeURIPath(p string) string {
	const hex = "0123456789ABCDEF"
	var sb strings.Builder
	sb.Grow(len(p))
	first := true
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '/':
			first = false
			sb.WriteByte(c)
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("-._~!$&'()*+,;=@", c) >= 0,
			c == ':' && !first:
			sb.WriteByte(c)
		default:
			sb.WriteByte('%')
			sb.WriteByte(hex[c>>4])
			sb.WriteByte(hex[c&0xF])
		}
	}
	return sb.String()
}

// sarifLevel maps a severity to a SARIF level.
func sarifLevel(s finding.Severity) string {
	switch s {
	case finding.SeverityError:
		return "error"
	case finding.SeverityWarning:
		return "warning"
	case finding.SeverityNote:
		return "note"
	}
	return "none"
}

// securitySeverity is the CVSS-like score GitHub uses to rank security
// alerts (>= 7.0 high, >= 4.0 medium, else low). GitHub requires a string.
func securitySeverity(s finding.Severity) string {
	switch s {
	case finding.SeverityError:
		return "8.0"
	case finding.SeverityWarning:
		return "5.0"
	case finding.SeverityNote:
		return "2.0"
	}
	return ""
}

func isAbsoluteURI(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.IsAbs() && (u.Host != "" || u.Opaque != "")
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func sarifPtr[T any](v T) *T { return &v }
