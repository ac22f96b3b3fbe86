// Package workflow turns a GitHub Actions workflow into a positioned
// document: the raw keys policies check (permissions, triggers, jobs,
// steps, `uses:` references, `with:` inputs, `run:` scripts) and derived
// facts (the shell a script runs under, the Trivy scans a step performs with
// their effective exit code, severities and scanners, and whether a failing
// scan fails the step).
//
// The file is validated with github.com/rhysd/actionlint, whose syntax
// errors become a *document.ParseError at actionlint's position. The
// document is built from the node tree of the same YAML library
// (go.yaml.in/yaml/v4), which keeps what actionlint's AST drops: key
// positions, source order and the style each scalar was written in, from
// which end positions are computed. `run:` scripts are parsed with
// mvdan.cc/sh/v3/syntax.
package workflow

import (
	"cmp"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/rhysd/actionlint"
	"go.yaml.in/yaml/v4"
	"mvdan.cc/sh/v3/syntax"

	"github.com/devflow/dwf-policy/engine/analysis/ghfilter"
	"github.com/devflow/dwf-policy/engine/analysis/shell"
	"github.com/devflow/dwf-policy/engine/analysis/trivycli"
	"github.com/devflow/dwf-policy/engine/analysis/yamlpos"
	"github.com/devflow/dwf-policy/engine/document"
)

// DefaultMaxBytes is the largest workflow Parse accepts when Options.MaxBytes
// is zero.
const DefaultMaxBytes = 5 << 20

// maxConfigBytes caps a trivy.yaml read through Options.ReadFile.
const maxConfigBytes = 1 << 20

// Aliases are capped by the bytes they expand to (yamlpos.AliasLimit):
// actionlint expands them while it walks the tree and the builder reads
// every expanded `run:` script again.

// Options configures Parse. The zero value reads no files and caps input at
// DefaultMaxBytes.
type Options struct {
	// ReadFile reads a slash-separated path relative to the repository root:
	// the trivy.yaml named by a trivy-action `trivy-config` input, a Trivy
	// `--config` flag or TRIVY_CONFIG, or the trivy.yaml Trivy loads by
	// default from its working directory. An error wrapping fs.ErrNotExist
	// records the file as not found. Nil means files are not read, and
	// settings that could come from them count as unknown.
	ReadFile func(name string) ([]byte, error)
	// MaxBytes caps the workflow's size; zero means DefaultMaxBytes.
	MaxBytes int
}

// Parse parses a GitHub Actions workflow into a document of kind workflow.
// A problem in the file (too large, not YAML, alias bomb, not a valid
// workflow) is returned as a *document.ParseError; any other error means
// the parse itself failed.
func Parse(name string, src []byte, opts Options) (doc *document.Document, err error) {
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, fmt.Errorf("parsing workflow %s: internal error: %v", name, r)
		}
	}()
	limit := opts.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	if len(src) > limit {
		return nil, &document.ParseError{Path: name, Message: fmt.Sprintf("workflow is %d bytes, more than the %d-byte limit", len(src), limit)}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		pe := &document.ParseError{Path: name, Message: "could not parse as YAML: " + err.Error()}
		var ye *yaml.ParserError
		if errors.As(err, &ye) {
			pe.Message = "could not parse as YAML: " + ye.Message
			if line, col := yamlpos.ErrorPos(ye); line > 0 {
				pe.Location = document.Location{Line: line, Column: col, EndLine: line, EndColumn: col}
			}
		}
		return nil, pe
	}
	t := newText(src)
	if n := yamlpos.AliasBomb(&root, yamlpos.AliasLimit(len(src))); n != nil {
		return nil, &document.ParseError{Path: name, Location: t.loc(n),
			Message: fmt.Sprintf("YAML aliases expand the document to more than %d bytes, the limit for a %d-byte workflow (max(%d, %d × its size)); refusing to expand it",
				yamlpos.AliasLimit(len(src)), len(src), yamlpos.MinAliasBytes, yamlpos.AliasBytesFactor)}
	}
	if _, errs := actionlint.Parse(src); len(fatal(errs)) > 0 {
		return nil, syntaxError(name, t, &root, fatal(errs))
	}
	b := &builder{t: t, opts: opts, path: name, configs: map[string]*trivyConfig{}}
	in := b.workflow(&root)
	if b.fatal != nil {
		return nil, b.fatal
	}
	return &document.Document{Kind: document.KindWorkflow, Path: name, Source: src, Input: in}, nil
}

// fatal drops actionlint findings that are lint rather than reasons the
// workflow cannot run: an anchor that is never aliased is valid YAML.
func fatal(errs []*actionlint.Error) []*actionlint.Error {
	out := errs[:0:0]
	for _, e := range errs {
		if strings.HasPrefix(e.Message, "anchor ") && strings.HasSuffix(e.Message, " is defined but not used") {
			continue
		}
		out = append(out, e)
	}
	return out
}

// syntaxError turns actionlint's first error (by position) into a
// ParseError, with the range of the scalar it points at when there is one.
func syntaxError(name string, t *text, root *yaml.Node, errs []*actionlint.Error) *document.ParseError {
	slices.SortStableFunc(errs, func(a, b *actionlint.Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	e := errs[0]
	msg := "invalid workflow: " + e.Message
	if len(errs) > 1 {
		msg += fmt.Sprintf(" (and %d more problems)", len(errs)-1)
	}
	loc := document.Location{}
	if e.Line > 0 {
		loc = document.Location{Line: e.Line, Column: max(e.Column, 1), EndLine: e.Line, EndColumn: max(e.Column, 1)}
		if n := scalarAt(root, e.Line, e.Column); n != nil {
			loc = t.loc(n)
		}
		if k := emptyPermissions(root, e.Line, e.Column); k != nil {
			loc = t.keyLoc(k)
			msg = emptyPermissionsMessage
			if len(errs) > 1 {
				msg += fmt.Sprintf(" (and %d more problems)", len(errs)-1)
			}
		}
	}
	return &document.ParseError{Path: name, Location: loc, Message: msg}
}

// emptyPermissionsMessage explains a `permissions:` key with no value.
// GitHub refuses such a workflow (its message is "Unexpected value" and the
// empty string in quotes): an empty value is
// neither `{}` (no scopes) nor the repository default, and actionlint
// rejects it too ("string should not be empty").
const emptyPermissionsMessage = "`permissions:` has no value, and GitHub refuses a workflow with an empty value (\"Unexpected value ''\"); " +
	"write `permissions: {}` for a token with no scopes, or list the scopes it needs, e.g. `permissions: {contents: read}`"

// emptyPermissions returns the `permissions` key whose empty (null) value
// is at line and col, or nil.
func emptyPermissions(root *yaml.Node, line, col int) *yaml.Node {
	var found *yaml.Node
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if found != nil || n == nil || n.Kind == yaml.AliasNode {
			return
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Value == "permissions" && v.Kind == yaml.ScalarNode && v.Value == "" && v.Line == line && v.Column == col {
					found = k
					return
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(root)
	return found
}

func scalarAt(n *yaml.Node, line, col int) *yaml.Node {
	var found *yaml.Node
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if found != nil || n == nil {
			return
		}
		if n.Kind == yaml.ScalarNode && n.Line == line && n.Column == col {
			found = n
			return
		}
		if n.Kind != yaml.AliasNode {
			for _, c := range n.Content {
				walk(c)
			}
		}
	}
	walk(n)
	return found
}

type builder struct {
	t       *text
	opts    Options
	path    string
	configs map[string]*trivyConfig
	shell   *syntax.Parser
	// fatal is the first problem that makes the whole file a ParseError
	// (a run: script nested too deeply to parse).
	fatal *document.ParseError
}

// pairs iterates over a mapping's key/value nodes; the value is not
// dereferenced so its position is where it is written.
func pairs(m *yaml.Node) [][2]*yaml.Node {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	out := make([][2]*yaml.Node, 0, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		out = append(out, [2]*yaml.Node{m.Content[i], m.Content[i+1]})
	}
	return out
}

func (b *builder) str(v *yaml.Node) map[string]any {
	d := deref(v)
	if d == nil {
		return nil
	}
	return map[string]any{"value": d.Value, "location": b.t.loc(v).Value()}
}

// valueLoc is where a value is written; an empty value (`key:`) points at
// its key.
func (b *builder) valueLoc(k, v *yaml.Node) document.Location {
	if d := deref(v); d != nil && yamlpos.IsEmptyScalar(d) && v.Kind != yaml.AliasNode {
		return b.t.entryLoc(k, v)
	}
	return b.t.loc(v)
}

// runDefaults is a `defaults.run` block.
type runDefaults struct {
	shell       string
	shellLoc    *document.Location
	hasShell    bool
	shellSource string // job or workflow
	workdir     string
	hasWorkdir  bool
}

func (b *builder) workflow(doc *yaml.Node) map[string]any {
	in := map[string]any{
		"kind":           string(document.KindWorkflow),
		"path":           b.path,
		"name":           nil,
		"on":             nil,
		"permissions":    nil,
		"env":            map[string]any{},
		"env_expression": nil,
		"defaults":       nil,
		"jobs":           []any{},
	}
	if len(doc.Content) == 0 {
		return in
	}
	var (
		wfEnv      = map[string]envVal{}
		wfDefaults runDefaults
		jobsNode   *yaml.Node
	)
	for _, kv := range pairs(doc.Content[0]) {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "name":
			in["name"] = b.str(v)
		case "on":
			in["on"] = b.on(k, v)
		case "permissions":
			in["permissions"] = b.permissions(k, v)
		case "env":
			in["env"], in["env_expression"], wfEnv = b.env(v, "workflow_env")
		case "defaults":
			in["defaults"], wfDefaults = b.defaults(k, v)
		case "jobs":
			jobsNode = v
		}
	}
	jobs := []any{}
	for _, kv := range pairs(jobsNode) {
		jobs = append(jobs, b.job(kv[0], kv[1], wfEnv, wfDefaults))
	}
	in["jobs"] = jobs
	return in
}

var filterKeys = map[string]string{
	"types": "types", "branches": "branches", "branches-ignore": "branches_ignore",
	"tags": "tags", "tags-ignore": "tags_ignore", "paths": "paths", "paths-ignore": "paths_ignore",
	"workflows": "workflows",
}

// patternKeys are the filters whose entries are GitHub filter patterns
// (branches, tags and paths, with `!` negation and `**`).
var patternKeys = map[string]bool{
	"branches": true, "branches_ignore": true, "tags": true, "tags_ignore": true, "paths": true, "paths_ignore": true,
}

// patternList is stringList with each pattern compiled (ghfilter): whether
// it is a negation and the regular expression its glob stands for, so that
// policies match names with GitHub's semantics. A pattern GitHub cannot
// read (an unclosed `[`) has a null regex.
func (b *builder) patternList(v *yaml.Node) []any {
	out := b.stringList(v)
	for _, e := range out {
		m := e.(map[string]any)
		raw, _ := m["value"].(string)
		m["negated"], m["regex"] = strings.HasPrefix(raw, "!"), nil
		if p, err := ghfilter.Compile(raw); err == nil {
			m["regex"] = p.Regex
		}
	}
	return out
}

func (b *builder) on(k, v *yaml.Node) map[string]any {
	events, schedules := []any{}, []any{}
	event := func(name string, loc document.Location, cfg *yaml.Node) {
		e := map[string]any{"name": name, "location": loc.Value()}
		for _, f := range filterKeys {
			e[f] = nil
		}
		for _, kv := range pairs(cfg) {
			f, ok := filterKeys[kv[0].Value]
			if !ok {
				continue
			}
			if patternKeys[f] {
				e[f] = b.patternList(kv[1])
			} else {
				e[f] = b.stringList(kv[1])
			}
		}
		events = append(events, e)
	}
	d := deref(v)
	switch {
	case d == nil:
	case d.Kind == yaml.ScalarNode:
		event(d.Value, b.t.loc(v), nil)
	case d.Kind == yaml.SequenceNode:
		for _, e := range d.Content {
			if de := deref(e); de != nil && de.Kind == yaml.ScalarNode {
				event(de.Value, b.t.loc(e), nil)
			}
		}
	case d.Kind == yaml.MappingNode:
		for _, kv := range pairs(d) {
			name, cfg := kv[0].Value, kv[1]
			event(name, b.t.keyLoc(kv[0]), cfg)
			if name != "schedule" {
				continue
			}
			dc := deref(cfg)
			if dc == nil || dc.Kind != yaml.SequenceNode {
				continue
			}
			for _, entry := range dc.Content {
				s := map[string]any{"cron": "", "timezone": "", "daily": false, "location": b.t.loc(entry).Value()}
				for _, ekv := range pairs(entry) {
					val := deref(ekv[1])
					if val == nil {
						continue
					}
					switch ekv[0].Value {
					case "cron":
						s["cron"], s["daily"], s["location"] = val.Value, runsDaily(val.Value), b.t.loc(ekv[1]).Value()
					case "timezone":
						s["timezone"] = val.Value
					}
				}
				schedules = append(schedules, s)
			}
		}
	}
	return map[string]any{"location": b.t.keyLoc(k).Value(), "events": events, "schedules": schedules}
}

func (b *builder) stringList(v *yaml.Node) []any {
	out := []any{}
	d := deref(v)
	if d == nil {
		return out
	}
	switch d.Kind {
	case yaml.ScalarNode:
		if d.Tag != "!!null" {
			out = append(out, b.str(v))
		}
	case yaml.SequenceNode:
		for _, e := range d.Content {
			if de := deref(e); de != nil && de.Kind == yaml.ScalarNode {
				out = append(out, b.str(e))
			}
		}
	}
	return out
}

func (b *builder) permissions(k, v *yaml.Node) map[string]any {
	out := map[string]any{
		"all":          "",
		"scopes":       map[string]any{},
		"location":     b.valueLoc(k, v).Value(),
		"key_location": b.t.keyLoc(k).Value(),
	}
	d := deref(v)
	if d == nil {
		return out
	}
	switch d.Kind {
	case yaml.ScalarNode:
		out["all"] = d.Value
	case yaml.MappingNode:
		scopes := map[string]any{}
		for _, kv := range pairs(d) {
			level := ""
			if lv := deref(kv[1]); lv != nil {
				level = lv.Value
			}
			scopes[kv[0].Value] = map[string]any{"level": level, "location": b.t.entryLoc(kv[0], kv[1]).Value()}
		}
		out["scopes"] = scopes
	}
	return out
}

// env returns the document's env map, an env given as one expression, and
// the variables as Trivy's environment resolution sees them.
func (b *builder) env(v *yaml.Node, source string) (map[string]any, any, map[string]envVal) {
	vars, ev := map[string]any{}, map[string]envVal{}
	d := deref(v)
	if d == nil {
		return vars, nil, ev
	}
	if d.Kind == yaml.ScalarNode {
		return vars, b.str(v), ev
	}
	for _, kv := range pairs(d) {
		e := b.scalarEntry(kv)
		vars[e.name] = map[string]any{"value": e.value, "expression": e.expr, "location": e.loc.Value()}
		ev[e.name] = envVal{value: e.value, resolved: !e.expr, expr: e.expr, source: source, loc: e.loc}
	}
	return vars, nil, ev
}

// mappingEntry is one key of an env or with mapping, read as a string.
type mappingEntry struct {
	name, value string
	expr        bool // the value holds a ${{ }} expression
	loc         document.Location
}

// scalarEntry reads a key: value pair; a value that is not a scalar reads
// as "".
func (b *builder) scalarEntry(kv [2]*yaml.Node) mappingEntry {
	e := mappingEntry{name: kv[0].Value, loc: b.valueLoc(kv[0], kv[1])}
	if val := deref(kv[1]); val != nil && val.Kind == yaml.ScalarNode {
		e.value = val.Value
	}
	e.expr = strings.Contains(e.value, "${{")
	return e
}

func (b *builder) defaults(k, v *yaml.Node) (map[string]any, runDefaults) {
	var rd runDefaults
	out := map[string]any{"shell": nil, "working_directory": nil, "location": b.t.keyLoc(k).Value()}
	for _, kv := range pairs(v) {
		if kv[0].Value != "run" {
			continue
		}
		for _, r := range pairs(kv[1]) {
			val := deref(r[1])
			if val == nil {
				continue
			}
			switch r[0].Value {
			case "shell":
				loc := b.t.loc(r[1])
				rd.shell, rd.shellLoc, rd.hasShell = val.Value, &loc, true
				out["shell"] = b.str(r[1])
			case "working-directory":
				rd.workdir, rd.hasWorkdir = val.Value, true
				out["working_directory"] = b.str(r[1])
			}
		}
	}
	return out, rd
}

func (b *builder) cond(v *yaml.Node) map[string]any {
	d := deref(v)
	if d == nil {
		return nil
	}
	return map[string]any{"value": d.Value, "always_false": alwaysFalse(d.Value), "location": b.t.loc(v).Value()}
}

func (b *builder) continueOnError(v *yaml.Node) map[string]any {
	d := deref(v)
	if d == nil {
		return nil
	}
	out := map[string]any{"value": nil, "expression": nil, "location": b.t.loc(v).Value()}
	switch {
	case strings.Contains(d.Value, "${{"):
		out["expression"] = d.Value
	case d.Tag == "!!bool" || d.Value == "true" || d.Value == "false":
		out["value"] = strings.EqualFold(d.Value, "true")
	default:
		out["expression"] = d.Value
	}
	return out
}

func mergeEnv(parent, child map[string]envVal) map[string]envVal {
	out := make(map[string]envVal, len(parent)+len(child))
	for k, v := range parent {
		out[k] = v
	}
	for k, v := range child {
		out[k] = v
	}
	return out
}

func (b *builder) uses(v *yaml.Node) map[string]any {
	d := deref(v)
	if d == nil {
		return nil
	}
	m := parseUses(d.Value).value(d.Value)
	m["location"] = b.t.loc(v).Value()
	return m
}

func (b *builder) with(v *yaml.Node) (map[string]any, map[string]input) {
	out, ins := map[string]any{}, map[string]input{}
	for _, kv := range pairs(v) {
		e := b.scalarEntry(kv)
		key := strings.ToLower(e.name)
		out[key] = map[string]any{"name": e.name, "value": e.value, "expression": e.expr, "location": e.loc.Value()}
		ins[key] = input{name: e.name, value: e.value, expr: e.expr, loc: e.loc, entry: b.t.entryLoc(kv[0], kv[1])}
	}
	return out, ins
}

func (b *builder) job(k, v *yaml.Node, wfEnv map[string]envVal, wfDefaults runDefaults) map[string]any {
	out := map[string]any{
		"id":                k.Value,
		"location":          b.t.keyLoc(k).Value(),
		"name":              nil,
		"runs_on":           []any{},
		"if":                nil,
		"permissions":       nil,
		"continue_on_error": nil,
		"env":               map[string]any{},
		"env_expression":    nil,
		"defaults":          nil,
		"uses":              nil,
		"with":              map[string]any{},
		"matrix":            false,
		"matrix_values":     nil,
		"steps":             []any{},
	}
	jobEnv := map[string]envVal{}
	jd := runDefaults{}
	var steps *yaml.Node
	var matrix map[string][]string
	windows := false
	for _, kv := range pairs(v) {
		key, val := kv[0], kv[1]
		switch key.Value {
		case "name":
			out["name"] = b.str(val)
		case "runs-on":
			labels := b.runsOn(val)
			out["runs_on"] = labels
			for _, l := range labels {
				if s, _ := l.(map[string]any)["value"].(string); strings.Contains(strings.ToLower(s), "windows") {
					windows = true
				}
			}
		case "if":
			out["if"] = b.cond(val)
		case "permissions":
			out["permissions"] = b.permissions(key, val)
		case "continue-on-error":
			out["continue_on_error"] = b.continueOnError(val)
		case "env":
			out["env"], out["env_expression"], jobEnv = b.env(val, "job_env")
		case "defaults":
			out["defaults"], jd = b.defaults(key, val)
		case "uses":
			out["uses"] = b.uses(val)
		case "with":
			out["with"], _ = b.with(val)
		case "strategy":
			for _, s := range pairs(val) {
				if s[0].Value == "matrix" {
					out["matrix"] = true
					if mv := matrixValues(s[1]); mv != nil {
						matrix = mv
						out["matrix_values"] = matrixValue(mv)
					}
				}
			}
		case "steps":
			steps = val
		}
	}
	if !jd.hasShell {
		jd.shell, jd.shellLoc, jd.hasShell = wfDefaults.shell, wfDefaults.shellLoc, wfDefaults.hasShell
		if jd.hasShell {
			jd.shellSource = "workflow"
		}
	} else {
		jd.shellSource = "job"
	}
	if !jd.hasWorkdir {
		jd.workdir, jd.hasWorkdir = wfDefaults.workdir, wfDefaults.hasWorkdir
	}
	env := mergeEnv(wfEnv, jobEnv)
	list := []any{}
	if d := deref(steps); d != nil && d.Kind == yaml.SequenceNode {
		for i, s := range d.Content {
			list = append(list, b.step(i, s, env, jd, windows, matrix))
		}
	}
	out["steps"] = list
	return out
}

func (b *builder) runsOn(v *yaml.Node) []any {
	d := deref(v)
	if d != nil && d.Kind == yaml.MappingNode {
		for _, kv := range pairs(d) {
			if kv[0].Value == "labels" {
				return b.stringList(kv[1])
			}
		}
		return []any{}
	}
	return b.stringList(v)
}

// normWorkdir makes a working-directory repository-relative.
func normWorkdir(raw string) (string, bool) {
	p := workspaceExpr().ReplaceAllString(raw, workspaceSentinel)
	p = strings.TrimPrefix(strings.TrimPrefix(p, workspaceSentinel), "/")
	if p == "" {
		return ".", true
	}
	if strings.Contains(p, "${{") || strings.Contains(p, "$") || path.IsAbs(p) {
		return "", false
	}
	p = path.Clean(p)
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", false
	}
	return p, true
}

func (b *builder) step(i int, node *yaml.Node, jobEnv map[string]envVal, jd runDefaults, windows bool, matrix map[string][]string) map[string]any {
	out := map[string]any{
		"index":             i,
		"id":                nil,
		"name":              nil,
		"location":          b.t.loc(node).Value(),
		"if":                nil,
		"continue_on_error": nil,
		"env":               map[string]any{},
		"env_expression":    nil,
		"uses":              nil,
		"with":              map[string]any{},
		"run":               nil,
		"trivy_scans":       []any{},
	}
	var usesKey, usesVal, runKey, runVal, shellVal, wdVal *yaml.Node
	var ins map[string]input
	stepEnv := map[string]envVal{}
	for _, kv := range pairs(node) {
		key, val := kv[0], kv[1]
		switch key.Value {
		case "id":
			out["id"] = b.str(val)
		case "name":
			out["name"] = b.str(val)
		case "if":
			out["if"] = b.cond(val)
		case "continue-on-error":
			out["continue_on_error"] = b.continueOnError(val)
		case "env":
			out["env"], out["env_expression"], stepEnv = b.env(val, "step_env")
		case "uses":
			usesKey, usesVal = key, val
			out["uses"] = b.uses(val)
		case "with":
			out["with"], ins = b.with(val)
		case "run":
			runKey, runVal = key, val
		case "shell":
			shellVal = val
		case "working-directory":
			wdVal = val
		}
	}
	var entry document.Location
	switch {
	case usesKey != nil:
		entry = b.t.entryLoc(usesKey, usesVal)
	case runKey != nil:
		entry = b.t.entryLoc(runKey, runVal)
	default:
		entry = b.t.loc(node)
	}
	out["location"] = entry.Value()
	env := mergeEnv(jobEnv, stepEnv)
	sc := stepCtx{loc: entry, env: env, dir: rootDir, matrix: matrix}
	scans := []any{}
	if usesVal != nil {
		if d := deref(usesVal); d != nil {
			switch u := parseUses(d.Value); {
			case u.is("aquasecurity", "trivy-action"):
				scans = append(scans, b.actionScan(sc, ins, d.Value))
			case u.kind == "docker" && trivycli.IsImage(u.image):
				if scan := b.dockerActionScan(sc, ins, d.Value); scan != nil {
					scans = append(scans, scan)
				}
			}
		}
	}
	if runVal != nil {
		out["run"] = b.run(runKey, runVal, shellVal, wdVal, jd, windows, &sc, &scans)
	}
	out["trivy_scans"] = scans
	return out
}

const (
	maxCommands = 1000
	maxScans    = 100
)

func (b *builder) run(k, v, shellVal, wdVal *yaml.Node, jd runDefaults, windows bool, sc *stepCtx, scans *[]any) map[string]any {
	d := deref(v)
	script := ""
	if d != nil {
		script = d.Value
	}
	var sh shellInfo
	var shellLoc document.Location
	switch {
	case shellVal != nil && deref(shellVal) != nil:
		shellLoc = b.t.loc(shellVal)
		sh = resolveShell(deref(shellVal).Value, "step", &shellLoc, windows)
	case jd.hasShell:
		if jd.shellLoc != nil {
			shellLoc = *jd.shellLoc
		}
		sh = resolveShell(jd.shell, jd.shellSource, jd.shellLoc, windows)
	default:
		sh = resolveShell("", "default", nil, windows)
	}
	if shellLoc.IsZero() {
		shellLoc = sc.loc
	}
	var wd any
	rawWD, hasWD := jd.workdir, jd.hasWorkdir
	if wdVal != nil && deref(wdVal) != nil {
		rawWD, hasWD = deref(wdVal).Value, true
	}
	if hasWD {
		wd = rawWD
		sc.dir.dir, sc.dir.ok = normWorkdir(rawWD)
		if !sc.dir.ok {
			sc.dir.why = fmt.Sprintf("`working-directory: %s` is not known statically or is outside the repository", rawWD)
		}
	}
	out := map[string]any{
		"script":            script,
		"location":          b.t.keyLoc(k).Value(),
		"value_location":    b.t.loc(v).Value(),
		"shell":             sh.value(),
		"working_directory": wd,
		"parse_error":       "",
		"commands":          []any{},
	}
	if !sh.supported || d == nil {
		return out
	}
	if b.shell == nil {
		b.shell = newShellParser()
	}
	s := parseScript(b.shell, script, newPosMap(b.t, d))
	var deep *shell.NestingError
	if errors.As(s.err, &deep) {
		if b.fatal == nil {
			b.fatal = &document.ParseError{Path: b.path, Location: b.t.keyLoc(k), Message: "cannot read the run: script: " + s.err.Error()}
		}
		out["parse_error"] = s.err.Error()
		return out
	}
	if s.err != nil {
		out["parse_error"] = s.err.Error()
		return out
	}
	co := newCollector(s, sc.env, sc.loc, sc.dir)
	co.matrix = sc.matrix
	co.stmts(s.file.Stmts)
	cmds := []any{}
	for _, site := range co.sites {
		if len(cmds) < maxCommands {
			words := make([]any, len(site.words))
			for i, w := range site.words {
				words[i] = w.value
			}
			name := site.words[0].value
			if site.words[0].resolved {
				name = shell.Base(name)
			}
			cmds = append(cmds, map[string]any{"name": name, "words": words, "location": co.loc(site.call.Pos(), site.call.End()).Value()})
		}
		if len(*scans) >= maxScans {
			continue
		}
		if inv := co.detect(site); inv != nil {
			*scans = append(*scans, b.cliScan(inv, s, co, *sc, sh, shellLoc))
		}
	}
	out["commands"] = cmds
	return out
}

// matrixValue is matrix values as the document holds them.
func matrixValue(vals map[string][]string) map[string]any {
	out := make(map[string]any, len(vals))
	for k, list := range vals {
		items := make([]any, len(list))
		for i, s := range list {
			items[i] = s
		}
		out[k] = items
	}
	return out
}
