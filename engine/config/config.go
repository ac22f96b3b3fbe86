package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/engine/repofile"
)

// FileName is the configuration file Find looks for.
const FileName = ".dwf-policy.yaml"

// maxFileBytes caps the configuration file; a real one is a few hundred
// bytes.
const maxFileBytes = 1 << 20

// Config is a decoded .dwf-policy.yaml. The zero value is the default
// configuration (no file).
type Config struct {
	// Name is the file as named in messages and findings (relative to the
	// working directory when below it); "" when there is no file.
	Name string
	// Dir is the absolute directory that paths and globs are relative to.
	Dir string
	// Source is the file's content, for SARIF fingerprints of DWF001.
	Source []byte

	uid             *int
	user            *string
	init            []string // nil: default
	trivySeverities []string // nil: default
	bakePlatforms   []string // nil: default
	bakeCompression *string
	bakeCacheMode   *string
	lockfiles       []string // nil: default
	defaultBranches []string // nil: default

	// Rules overrides rule severities by ID; SeverityNone turns a rule off.
	Rules map[string]finding.Severity
	// Exclude holds the exclude globs, relative to Dir.
	Exclude []string
	// Policies holds the policy directories and bundle files as written,
	// relative to Dir.
	Policies []string
	// Exceptions in file order.
	Exceptions []Exception
	// Vulnerabilities is the `vulnerabilities:` section.
	Vulnerabilities Vulnerabilities
	// Webhook is the `webhook:` section, read by serve only.
	Webhook Webhook

	ruleRefs []ruleRef
}

// Exception accepts the findings of one rule in some paths.
type Exception struct {
	Rule   string
	Paths  []string
	Reason string
	// Expires is the day (UTC) from which the exception no longer applies;
	// zero means never.
	Expires time.Time
	// Location is where the exception is written: its `expires` entry when
	// it has one (that is what DWF001 points at), else its first key.
	Location document.Location
}

// ruleRef is a rule ID written in the file, checked against the catalogue
// once the policies are loaded.
type ruleRef struct {
	id        string
	line, col int
}

// Load reads and decodes the configuration file the user named. name is
// how messages name it. Only a regular file is read.
func Load(file, name string) (*Config, error) {
	data, err := repofile.ReadFile(file, maxFileBytes)
	if err != nil {
		return nil, fmt.Errorf("reading config %s: %w", name, err)
	}
	return decodeFile(file, name, data)
}

// LoadIn reads and decodes a configuration file found by discovery,
// through os.Root at root: a symbolic link that leaves root, or a file that
// is not regular, is refused without reading it.
func LoadIn(root, file, name string) (*Config, error) {
	rel, err := filepath.Rel(root, file)
	if err != nil {
		return nil, fmt.Errorf("reading config %s: %w", name, err)
	}
	data, err := repofile.ReadIn(root, filepath.ToSlash(rel), maxFileBytes)
	if err != nil {
		return nil, fmt.Errorf("reading config %s: %w", name, err)
	}
	return decodeFile(file, name, data)
}

func decodeFile(file, name string, data []byte) (*Config, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Decode(name, filepath.Dir(abs), data)
}

// Decode decodes a configuration file's content strictly: an unknown key, a
// value of the wrong type, a missing required key or a bad glob or date is
// an error naming the file, line and column, with the closest valid key for
// a misspelt one. Every problem is reported, not only the first. dir is the
// directory paths in the file are relative to.
func Decode(name, dir string, data []byte) (*Config, error) {
	cfg := &Config{Name: name, Dir: dir, Source: data}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return cfg, nil // an empty file is the default configuration
		}
		return nil, fmt.Errorf("invalid config: %s", yamlError(name, err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("%s:%d: only one YAML document is allowed", name, extra.Line)
	}
	if len(doc.Content) == 0 {
		return cfg, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return cfg, nil // only comments
	}
	c := &checker{name: name, budget: maxAliasNodes}
	c.check(root, fileSpec(), "")
	if c.budget <= 0 {
		return nil, fmt.Errorf("%s: too many YAML nodes (aliases expand to more than %d)", name, maxAliasNodes)
	}
	if len(c.problems) > 0 {
		return nil, fmt.Errorf("invalid config: %w", errors.Join(c.problems...))
	}
	cfg.fill(c, root)
	return cfg, nil
}

// fill copies a checked document into cfg.
func (cfg *Config) fill(c *checker, root *yaml.Node) {
	for k, v := range pairs(c, root) {
		switch k.Value {
		case "uid":
			n, _ := strconv.ParseInt(v.Value, 0, 64)
			uid := int(n)
			cfg.uid = &uid
		case "user":
			cfg.user = &v.Value
		case "init":
			cfg.init = stringList(c, v)
		case "trivy":
			for k2, v2 := range pairs(c, v) {
				if k2.Value == "severities" {
					cfg.trivySeverities = stringList(c, v2)
				}
			}
		case "vulnerabilities":
			cfg.fillVulnerabilities(c, v)
		case "bake":
			for k2, v2 := range pairs(c, v) {
				switch k2.Value {
				case "platforms":
					cfg.bakePlatforms = stringList(c, v2)
				case "compression":
					cfg.bakeCompression = &v2.Value
				case "cache_mode":
					cfg.bakeCacheMode = &v2.Value
				}
			}
		case "scans":
			for k2, v2 := range pairs(c, v) {
				switch k2.Value {
				case "lockfiles":
					cfg.lockfiles = stringList(c, v2)
				case "default_branches":
					cfg.defaultBranches = stringList(c, v2)
				}
			}
		case "rules":
			cfg.Rules = map[string]finding.Severity{}
			for id, sev := range pairs(c, v) {
				s, _ := finding.ParseSeverity(sev.Value)
				cfg.Rules[id.Value] = s
				cfg.ruleRefs = append(cfg.ruleRefs, ruleRef{id.Value, id.Line, id.Column})
			}
		case "exclude":
			cfg.Exclude = stringList(c, v)
		case "policies":
			cfg.Policies = stringList(c, v)
		case "webhook":
			cfg.fillWebhook(c, v)
		case "exceptions":
			for _, item := range c.resolve(v).Content {
				cfg.Exceptions = append(cfg.Exceptions, exception(c, cfg, c.resolve(item)))
			}
		}
	}
}

func exception(c *checker, cfg *Config, item *yaml.Node) Exception {
	ex := Exception{Location: document.Location{Line: item.Line, Column: item.Column, EndLine: item.Line, EndColumn: item.Column}}
	for k, v := range pairs(c, item) {
		switch k.Value {
		case "rule":
			ex.Rule = v.Value
			cfg.ruleRefs = append(cfg.ruleRefs, ruleRef{v.Value, v.Line, v.Column})
		case "paths":
			ex.Paths = stringList(c, v)
		case "reason":
			ex.Reason = strings.TrimSpace(v.Value)
		case "expires":
			ex.Expires, _ = parseDate(v.Value)
			ex.Location = document.Location{
				Line: k.Line, Column: k.Column,
				EndLine: v.Line, EndColumn: v.Column + len([]rune(v.Value)) - 1,
			}
		}
	}
	return ex
}

// pairs iterates over a checked mapping's keys and values, aliases
// resolved.
func pairs(c *checker, n *yaml.Node) func(yield func(k, v *yaml.Node) bool) {
	return func(yield func(k, v *yaml.Node) bool) {
		n = c.resolve(n)
		for i := 0; i+1 < len(n.Content); i += 2 {
			if !yield(c.resolve(n.Content[i]), c.resolve(n.Content[i+1])) {
				return
			}
		}
	}
}

// stringList returns a checked list of strings.
func stringList(c *checker, n *yaml.Node) []string {
	n = c.resolve(n)
	out := make([]string, 0, len(n.Content))
	for _, item := range n.Content {
		out = append(out, c.resolve(item).Value)
	}
	return out
}

// yamlError turns "yaml: line 3: did not find expected key" into
// "name:3: did not find expected key".
func yamlError(name string, err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, text, ok := strings.Cut(rest, ": "); ok {
			if _, err := strconv.Atoi(num); err == nil {
				return name + ":" + num + ": " + text
			}
		}
	}
	return name + ": " + msg
}

// Data returns what policies read as data.dwf.config: the defaults with the
// file's values laid over them.
func (cfg *Config) Data() map[string]any {
	d := Default()
	if cfg == nil {
		return d
	}
	d["vulnerabilities"] = cfg.vulnerabilitiesData(nil)
	if cfg.uid != nil {
		d["uid"] = *cfg.uid
	}
	if cfg.user != nil {
		d["user"] = *cfg.user
	}
	if cfg.init != nil {
		d["init"] = anySlice(cfg.init)
	}
	if cfg.trivySeverities != nil {
		d["trivy_severities"] = anySlice(cfg.trivySeverities)
	}
	if cfg.bakePlatforms != nil {
		d["bake_platforms"] = anySlice(cfg.bakePlatforms)
	}
	if cfg.bakeCompression != nil {
		d["bake_compression"] = *cfg.bakeCompression
	}
	if cfg.bakeCacheMode != nil {
		d["bake_cache_mode"] = *cfg.bakeCacheMode
	}
	if cfg.lockfiles != nil {
		d["scan_lockfiles"] = anySlice(cfg.lockfiles)
	}
	if cfg.defaultBranches != nil {
		d["default_branches"] = anySlice(cfg.defaultBranches)
	}
	return d
}

// Lockfiles returns the lockfile names (globs over a file's base name)
// whose change must trigger an image scan: `scans.lockfiles`, or
// DefaultLockfiles.
func (cfg *Config) Lockfiles() []string {
	if cfg == nil || cfg.lockfiles == nil {
		return slices.Clone(DefaultLockfiles)
	}
	return slices.Clone(cfg.lockfiles)
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// CheckRuleIDs reports the rule IDs the file names (under rules: and in
// exceptions) that are not in known, with the file, line and the closest
// known ID.
func (cfg *Config) CheckRuleIDs(known []string) error {
	if cfg == nil {
		return nil
	}
	var errs []error
	for _, r := range cfg.ruleRefs {
		if !slices.Contains(known, r.id) {
			errs = append(errs, fmt.Errorf("%s:%d:%d: unknown rule %s%s", cfg.Name, r.line, r.col, r.id, suggest(r.id, known)))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid config: %w", errors.Join(errs...))
	}
	return nil
}
