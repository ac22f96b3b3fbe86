package config

import (
	"bufio"
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/engine/repofile"
)

// DefaultMaxAge is how old a Trivy report may be before DWF402 reports it.
const DefaultMaxAge = 7 * 24 * time.Hour

// Vulnerabilities is the `vulnerabilities:` section. The zero value is the
// default.
type Vulnerabilities struct {
	IgnoreUnfixed bool
	// Max tolerates this many vulnerabilities of a severity.
	Max map[string]int
	// UnknownAs is the severity UNKNOWN is treated as; "" means HIGH.
	UnknownAs string
	// MaxAge is how old a report may be; 0 means DefaultMaxAge.
	MaxAge        time.Duration
	maxAgeText    string
	RequireReport bool
	// Ignore holds the configuration's accepted vulnerabilities.
	Ignore []VulnIgnore
}

// VulnIgnore accepts a vulnerability, from the configuration or from a
// .trivyignore or .trivyignore.yaml file.
type VulnIgnore struct {
	ID       string
	Packages []string // package names; nil means every package
	PURLs    []string // package URL prefixes (.trivyignore.yaml purls)
	Paths    []string // globs of targets or package paths
	Reason   string
	// Expires is the day (UTC) from which the entry no longer applies;
	// zero means never.
	Expires time.Time
	// File names the file the entry is written in, as in messages; Source
	// is its content (for DWF001's fingerprint).
	File   string
	Source []byte
	// Location is the entry's expiry when it has one, else the entry.
	Location document.Location
}

// value is the entry as data.dwf.config.vulnerabilities.ignore holds it.
func (v VulnIgnore) value() map[string]any {
	expires := ""
	if !v.Expires.IsZero() {
		expires = v.Expires.Format(time.DateOnly)
	}
	return map[string]any{
		"id":       v.ID,
		"packages": anySlice(v.Packages),
		"purls":    anySlice(v.PURLs),
		"paths":    anySlice(v.Paths),
		"reason":   v.Reason,
		"expires":  expires,
		"file":     v.File,
	}
}

func (cfg *Config) fillVulnerabilities(c *checker, n *yaml.Node) {
	v := &cfg.Vulnerabilities
	for k, val := range pairs(c, n) {
		switch k.Value {
		case "ignore_unfixed":
			v.IgnoreUnfixed = val.Value == "true"
		case "require_report":
			v.RequireReport = val.Value == "true"
		case "unknown_as":
			v.UnknownAs = val.Value
		case "max_age":
			v.MaxAge, _ = parseDuration(val.Value)
			v.maxAgeText = val.Value
		case "max":
			v.Max = map[string]int{}
			for sev, num := range pairs(c, val) {
				var n int
				fmt.Sscan(num.Value, &n)
				v.Max[sev.Value] = n
			}
		case "ignore":
			for _, item := range c.resolve(val).Content {
				item = c.resolve(item)
				ig := VulnIgnore{File: cfg.Name, Source: cfg.Source, Location: nodeLocation(item)}
				for k2, v2 := range pairs(c, item) {
					switch k2.Value {
					case "id":
						ig.ID = v2.Value
					case "packages":
						ig.Packages = stringList(c, v2)
					case "paths":
						ig.Paths = stringList(c, v2)
					case "reason":
						ig.Reason = strings.TrimSpace(v2.Value)
					case "expires":
						ig.Expires, _ = parseDate(v2.Value)
						ig.Location = document.Location{Line: k2.Line, Column: k2.Column,
							EndLine: v2.Line, EndColumn: v2.Column + len([]rune(v2.Value)) - 1}
					}
				}
				v.Ignore = append(v.Ignore, ig)
			}
		}
	}
}

func nodeLocation(n *yaml.Node) document.Location {
	return document.Location{Line: n.Line, Column: n.Column, EndLine: n.Line, EndColumn: n.Column}
}

// vulnerabilitiesData is data.dwf.config.vulnerabilities: the section with
// its defaults and every ignore entry, the configuration's and the
// .trivyignore files'.
func (cfg *Config) vulnerabilitiesData(extra []VulnIgnore) map[string]any {
	var v Vulnerabilities
	if cfg != nil {
		v = cfg.Vulnerabilities
	}
	maxAge, maxAgeText := v.MaxAge, v.maxAgeText
	if maxAge == 0 && maxAgeText == "" {
		maxAge, maxAgeText = DefaultMaxAge, "7d"
	}
	unknown := v.UnknownAs
	if unknown == "" {
		unknown = "HIGH"
	}
	maxes := map[string]any{}
	for sev, n := range v.Max {
		maxes[sev] = n
	}
	ignore := []any{}
	for _, ig := range append(append([]VulnIgnore{}, v.Ignore...), extra...) {
		ignore = append(ignore, ig.value())
	}
	return map[string]any{
		"ignore_unfixed":  v.IgnoreUnfixed,
		"max":             maxes,
		"unknown_as":      unknown,
		"max_age":         maxAgeText,
		"max_age_seconds": int(maxAge / time.Second),
		"require_report":  v.RequireReport,
		"ignore":          ignore,
	}
}

// DataWith is Data with the entries of .trivyignore files added to
// data.dwf.config.vulnerabilities.ignore.
func (cfg *Config) DataWith(ignores []VulnIgnore) map[string]any {
	d := cfg.Data()
	d["vulnerabilities"] = cfg.vulnerabilitiesData(ignores)
	return d
}

// IgnoreFileNames are Trivy's ignore files, looked for where the
// configuration is.
var IgnoreFileNames = []string{".trivyignore.yaml", ".trivyignore"}

// maxIgnoreFileBytes caps an ignore file.
const maxIgnoreFileBytes = 1 << 20

// LoadIgnoreFile reads a .trivyignore (one ID a line, `# comments`,
// optional `exp:YYYY-MM-DD`) or a .trivyignore.yaml (`vulnerabilities:`
// entries with id, paths, purls, statement and expired_at), by the file's
// extension. name is how messages name it.
func LoadIgnoreFile(file, name string) ([]VulnIgnore, error) {
	data, err := repofile.ReadFile(file, maxIgnoreFileBytes)
	if err != nil {
		return nil, fmt.Errorf("reading ignore file %s: %w", name, err)
	}
	ext := strings.ToLower(filepath.Ext(file))
	if ext == ".yaml" || ext == ".yml" {
		return decodeIgnoreYAML(name, data)
	}
	return decodeIgnoreText(name, data)
}

// decodeIgnoreText reads Trivy's plain .trivyignore.
func decodeIgnoreText(name string, data []byte) ([]VulnIgnore, error) {
	var out []VulnIgnore
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxIgnoreFileBytes)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		ig := VulnIgnore{ID: fields[0], Reason: "listed in " + name, File: name, Source: data,
			Location: document.Location{Line: n, Column: 1, EndLine: n, EndColumn: len([]rune(sc.Text()))}}
		for _, f := range fields[1:] {
			if d, ok := strings.CutPrefix(f, "exp:"); ok {
				t, err := parseDate(d)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: %q is not a date YYYY-MM-DD", name, n, excerpt(d))
				}
				ig.Expires = t
			}
		}
		out = append(out, ig)
	}
	return out, nil
}

// decodeIgnoreYAML reads Trivy's .trivyignore.yaml; only its
// vulnerabilities are dwf-policy's concern.
func decodeIgnoreYAML(name string, data []byte) ([]VulnIgnore, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("invalid ignore file: %s", yamlError(name, err))
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil
	}
	c := &checker{name: name, budget: maxAliasNodes}
	var out []VulnIgnore
	for k, v := range pairs(c, doc.Content[0]) {
		if k.Value != "vulnerabilities" || v.Kind != yaml.SequenceNode {
			continue
		}
		for _, item := range v.Content {
			item = c.resolve(item)
			if item.Kind != yaml.MappingNode {
				return nil, fmt.Errorf("%s:%d:%d: each of vulnerabilities must be a mapping with an id", name, item.Line, item.Column)
			}
			ig := VulnIgnore{File: name, Source: data, Location: nodeLocation(item)}
			for k2, v2 := range pairs(c, item) {
				switch k2.Value {
				case "id":
					ig.ID = v2.Value
				case "paths":
					ig.Paths = scalarList(v2)
				case "purls":
					ig.PURLs = scalarList(v2)
				case "statement":
					ig.Reason = strings.TrimSpace(v2.Value)
				case "expired_at":
					t, err := parseDate(v2.Value)
					if err != nil {
						return nil, fmt.Errorf("%s:%d:%d: expired_at %q is not a date YYYY-MM-DD", name, v2.Line, v2.Column, excerpt(v2.Value))
					}
					ig.Expires = t
					ig.Location = document.Location{Line: k2.Line, Column: k2.Column,
						EndLine: v2.Line, EndColumn: v2.Column + len([]rune(v2.Value)) - 1}
				}
			}
			if ig.ID == "" {
				return nil, fmt.Errorf("%s:%d:%d: an entry of vulnerabilities lacks its id", name, item.Line, item.Column)
			}
			if ig.Reason == "" {
				ig.Reason = "listed in " + name
			}
			out = append(out, ig)
		}
	}
	return out, nil
}

func scalarList(n *yaml.Node) []string {
	var out []string
	for _, item := range n.Content {
		if item.Kind == yaml.ScalarNode {
			out = append(out, item.Value)
		}
	}
	return out
}

// ExpiredIgnores returns one DWF001 finding (at sev) per entry of ignores
// whose expiry has passed at now; SeverityNone returns none.
func ExpiredIgnores(ignores []VulnIgnore, now time.Time, sev finding.Severity) []finding.Finding {
	if sev == finding.SeverityNone {
		return nil
	}
	y, m, d := now.UTC().Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	var out []finding.Finding
	for _, ig := range ignores {
		if ig.Expires.IsZero() || today.Before(ig.Expires) {
			continue
		}
		out = append(out, finding.Finding{
			RuleID:   ExpiredExceptionRuleID,
			Severity: sev,
			Message: fmt.Sprintf("the accepted vulnerability %s expired on %s and no longer suppresses its findings: fix it, or renew the entry with a new date and reason",
				ig.ID, ig.Expires.Format(time.DateOnly)),
			Path:     ig.File,
			Location: ig.Location,
		})
	}
	return out
}
