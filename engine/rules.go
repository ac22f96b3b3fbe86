package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/url"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unique"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/engine/repofile"
)

// maxPolicyFileBytes caps one .rego file; policies are small, and a huge
// file is more likely a mistake than a rule set.
const maxPolicyFileBytes = 4 << 20

// readPolicyFile reads one policy file, capped on what is read: the file
// system decides what may be opened (a policy directory opened through
// engine/repofile refuses FIFOs, devices and links out of the repository).
func readPolicyFile(fsys fs.FS, p string) ([]byte, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, repofile.Cause(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if st, err := f.Stat(); err == nil && st.Size() > 0 && st.Size() <= maxPolicyFileBytes {
		buf.Grow(int(st.Size()) + bytes.MinRead) // one read, and the one that sees the end
	}
	if _, err := buf.ReadFrom(io.LimitReader(f, maxPolicyFileBytes+1)); err != nil {
		return nil, err
	}
	raw := buf.Bytes()
	if len(raw) > maxPolicyFileBytes {
		return nil, fmt.Errorf("policy file larger than %d bytes", maxPolicyFileBytes)
	}
	return raw, nil
}

// maxExcerpt bounds the source a parse error quotes. A "policy" may be a
// link to a file full of secrets with no line breaks (/proc/self/environ);
// the error must point at the problem, not print the file.
const maxExcerpt = 60

// shortenExcerpts cuts the source line OPA quotes under each parse error to
// a short window around the error's column.
func shortenExcerpts(err error) error {
	var errs ast.Errors
	if !errors.As(err, &errs) {
		return err
	}
	for _, e := range errs {
		if len(e.Message) > 2*maxExcerpt {
			e.Message = e.Message[:2*maxExcerpt] + "…"
		}
		d, ok := e.Details.(*ast.ParserErrorDetail)
		if !ok || len(d.Line) <= maxExcerpt {
			continue
		}
		start := max(0, min(d.Idx-maxExcerpt/2, len(d.Line)-maxExcerpt))
		line := d.Line[start : start+maxExcerpt]
		e.Details = &ast.ParserErrorDetail{Line: line, Idx: d.Idx - start}
	}
	return errs
}

// LoadModules parses every .rego file of the sources, tests included, for
// `dwf-policy test`.
func LoadModules(sources []PolicySource) (map[string]*ast.Module, error) {
	files, err := readPolicyFiles(sources, true, true)
	if err != nil {
		return nil, err
	}
	modules := make(map[string]*ast.Module, len(files))
	for _, f := range files {
		modules[f.name] = f.module
	}
	return modules, nil
}

// compile compiles the modules. Policies are type-checked against the
// input schemas, so a misspelt input field fails here instead of silently
// never matching — but only when some policy is not built in: the built-in
// policies are compiled with every check, schemas included, by their own
// tests (policies/rego_test.go), so for them the compiler skips the stages
// that only check, or rewrite what the built-ins do not need
// (builtinCheckStages), and runs only those that rewrite and index what
// evaluation uses. Every pre-commit run pays the difference.
func compile(modules map[string]*ast.Module, caps *ast.Capabilities, typeCheck bool) (*ast.Compiler, error) {
	var c *ast.Compiler
	if typeCheck {
		var err error
		if c, err = NewCompiler(caps); err != nil {
			return nil, err
		}
	} else {
		c = newBaseCompiler(caps).WithSkipStages(builtinCheckStages...)
	}
	if c.Compile(modules); c.Failed() {
		return nil, fmt.Errorf("compiling policies: %w", c.Errors)
	}
	return c, nil
}

// builtinCheckStages are the compiler stages the built-ins are compiled
// without. Most only report errors (or compute what is reported, like the
// required capabilities, or the dependency graph only the recursion and
// type checks read) and change nothing evaluation reads: the built-in
// policies pass them in their tests. The others rewrite what the built-ins
// do not use (print and rego.metadata calls) or, for CheckSafetyRuleBodies,
// reorder bodies the built-ins write in an order that needs none (each
// variable bound before it is read), which TestSkippedStagesRewriteNothing
// checks.
var builtinCheckStages = []ast.StageID{
	ast.StageRewritePrintCalls,
	ast.StageParseMetadataBlocks,
	ast.StageRewriteRegoMetadataCalls,
	ast.StageSetGraph,
	ast.StageCheckRuleConflicts,
	ast.StageCheckSafetyRuleBodies,
	ast.StageCheckUnusedImports,
	ast.StageCheckKeywordOverrides,
	ast.StageCheckDuplicateImports,
	ast.StageCheckVoidCalls,
	ast.StageCheckUndefinedFuncs,
	ast.StageCheckSafetyRuleHeads,
	ast.StageCheckRecursion,
	ast.StageCheckTypes,
	ast.StageCheckUnsafeBuiltins,
	ast.StageCheckDeprecatedBuiltins,
	ast.StageBuildRequiredCapabilities,
}

// NewCompiler returns a compiler set up the way the engine compiles
// policies: input schemas, type-checking annotations and the sandbox.
func NewCompiler(caps *ast.Capabilities) (*ast.Compiler, error) {
	schemas, err := document.Schemas()
	if err != nil {
		return nil, err
	}
	ss := ast.NewSchemaSet()
	for name, s := range schemas {
		ss.Put(ast.SchemaRootRef.Append(ast.StringTerm(name)), s) // schema["trivy-report"]: names may hold dashes
	}
	return newBaseCompiler(caps).WithSchemas(ss).WithUseTypeCheckAnnotations(true), nil
}

// newBaseCompiler is the compiler without the input schemas. Whatever the
// capabilities, policies get no builtin that reads host files, and a
// schema in their METADATA may not refer outside itself.
func newBaseCompiler(caps *ast.Capabilities) *ast.Compiler {
	if caps == nil {
		caps = SandboxCapabilities()
	} else {
		caps = withoutHostFileBuiltins(caps)
	}
	return ast.NewCompiler().WithCapabilities(caps).WithDefaultRegoVersion(ast.RegoV1).
		WithStageAfterID(ast.StageSetAnnotationSet, ast.CompilerStageDefinition{
			Name: "CheckSchemaReferences", MetricName: "compile_stage_check_schema_references", Stage: checkSchemaReferences,
		})
}

// sandboxed reports whether a builtin is refused in the sandbox: policies
// decide over the document they are given, they do not reach the network,
// the environment or the files of the process running them.
func sandboxed(name string) bool {
	switch name {
	case "http.send", "opa.runtime", "providers.aws.sign_req":
		return true
	}
	return strings.HasPrefix(name, "net.") || ReadsHostFiles(name)
}

// ReadsHostFiles reports whether a builtin is refused to policies whatever
// the capabilities, because it reads host files: json.verify_schema and
// json.match_schema resolve a schema's "$ref": "file:///..." by reading the
// file (OPA's schema loader limits remote references to allow_net but has
// no switch for files), so a policy could learn whether a file exists, read
// it through validation errors, or exhaust memory on /dev/zero. They are
// refused even with --allow-net, which allows the network, not the file
// system (so a hint to pass --allow-net must not name them).
func ReadsHostFiles(name string) bool {
	return name == "json.verify_schema" || name == "json.match_schema"
}

// SandboxCapabilities returns OPA's capabilities without the builtins that
// reach the network, the environment or host files.
func SandboxCapabilities() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	caps.Builtins = slices.DeleteFunc(caps.Builtins, func(b *ast.Builtin) bool { return sandboxed(b.Name) })
	caps.AllowNet = []string{}
	return caps
}

// withoutHostFileBuiltins returns a copy of caps without the builtins that
// read host files.
func withoutHostFileBuiltins(caps *ast.Capabilities) *ast.Capabilities {
	out := *caps
	out.Builtins = slices.DeleteFunc(slices.Clone(caps.Builtins), func(b *ast.Builtin) bool { return ReadsHostFiles(b.Name) })
	return &out
}

// checkSchemaReferences refuses a schema written inline in a policy's
// METADATA (schemas: - input: {...}) that refers outside itself. The type
// checker compiles such a schema with OPA's schema loader, which reads a
// "$ref", "$schema" or base "$id" naming a file:// URI from the host (and
// fetches http(s) ones when allow_net permits); a policy is not trusted to
// read host files, so only references within the schema ("#/...") are
// allowed. Schemas the engine itself puts in the compiler's schema set are
// not annotations and are not affected.
func checkSchemaReferences(c *ast.Compiler) *ast.Error {
	for _, m := range c.Modules {
		for _, a := range m.Annotations {
			for _, s := range a.Schemas {
				if s.Definition == nil {
					continue
				}
				if bad, ok := externalSchemaReference(*s.Definition); ok {
					return ast.NewError(ast.TypeErr, a.Location,
						"schema for %v: %s refers outside the schema; policies may only use references within it (\"#/...\")", s.Path, bad)
				}
			}
		}
	}
	return nil
}

// externalSchemaReference finds a reference in a JSON schema that leaves
// it: a "$ref" that is not a fragment ("#..."), or a "$schema", "$id" or
// "id" naming a file:// URI. It returns the keyword, not the value: the
// value may name a host file, which an error should not echo.
func externalSchemaReference(v any) (string, bool) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			child := v[k]
			if str, isStr := child.(string); isStr {
				switch k {
				case "$ref":
					if !strings.HasPrefix(str, "#") {
						return `"$ref"`, true
					}
				case "$schema", "$id", "id":
					if u, err := url.Parse(str); err != nil || strings.EqualFold(u.Scheme, "file") {
						return strconv.Quote(k), true
					}
				}
			}
			if bad, ok := externalSchemaReference(child); ok {
				return bad, true
			}
		}
	case []any:
		for _, child := range v {
			if bad, ok := externalSchemaReference(child); ok {
				return bad, true
			}
		}
	}
	return "", false
}

// ruleInfo is a catalogue entry plus what the engine needs to know about the
// package.
type ruleInfo struct {
	finding.Rule
	hasDeny bool
	// inputs are the document kinds a repository rule reads (custom.inputs);
	// nil means every kind.
	inputs []document.Kind
}

// readRules reads the package METADATA of every rule package. Packages
// under dwf.lib are helpers; every other package under dwf must describe
// itself, and IDs must be unique.
func readRules(files []*policyFile, sources []PolicySource) ([]ruleInfo, error) {
	builtinPrefix := map[string]bool{}
	for _, s := range sources {
		if s.Builtin {
			builtinPrefix[s.Name+"/"] = true
		}
	}
	byName := make(map[string]moduleHeader, len(files))
	names := make([]string, 0, len(files))
	for _, f := range files {
		byName[f.name] = f.header
		names = append(names, f.name)
	}
	// Sources in the order given (built-ins first), then by file name, so
	// an ID clash blames the later source: a custom rule reusing DWF101,
	// not the built-in rule.
	rank := func(name string) int {
		best, bestLen := len(sources), -1
		for i, s := range sources {
			if prefix := path.Clean(s.Name) + "/"; strings.HasPrefix(name, prefix) && len(prefix) > bestLen {
				best, bestLen = i, len(prefix)
			}
		}
		return best
	}
	sort.Slice(names, func(i, j int) bool {
		if ri, rj := rank(names[i]), rank(names[j]); ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})

	var errs []error
	byID := map[string]string{} // id -> file
	var out []ruleInfo
	for _, name := range names {
		h := byName[name]
		pkgPath := h.pkg() // data.dwf.dockerfile.x
		segs := h.path
		hasDeny := h.hasDeny
		if len(segs) < 2 || segs[0] != "dwf" {
			if hasDeny {
				errs = append(errs, fmt.Errorf("%s:%d: package %s defines deny but is not under dwf.<kind>: its rules would never run", name, h.row, strings.TrimPrefix(pkgPath, "data.")))
			}
			continue
		}
		if segs[1] == "lib" || segs[1] == "config" {
			continue
		}
		ann := h.ann
		loc := fmt.Sprintf("%s:%d", name, h.row)
		if ann == nil {
			if hasDeny {
				errs = append(errs, fmt.Errorf("%s: package %s has no METADATA annotation with custom.id, custom.severity and custom.kind", loc, strings.TrimPrefix(pkgPath, "data.")))
			}
			continue
		}
		if len(segs) != 3 {
			errs = append(errs, fmt.Errorf("%s: rule package %s must be dwf.<kind>.<rule_name>", loc, strings.TrimPrefix(pkgPath, "data.")))
			continue
		}
		r, err := ruleFromAnnotations(ann, segs, hasDeny)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", loc, err))
			continue
		}
		r.Package = pkgPath
		for p := range builtinPrefix {
			if strings.HasPrefix(name, p) {
				r.Builtin = true
			}
		}
		if prev, dup := byID[r.ID]; dup {
			errs = append(errs, fmt.Errorf("%s: rule ID %s is already used by %s", loc, r.ID, prev))
			continue
		}
		byID[r.ID] = loc
		inputs, err := declaredInputs(ann)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", loc, err))
			continue
		}
		out = append(out, ruleInfo{Rule: r, hasDeny: hasDeny, inputs: inputs})
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("reading rule metadata: %w", errors.Join(errs...))
	}
	return out, nil
}

// ruleFromAnnotations builds a catalogue entry. A rule's name is derived
// from its package (dwf.dockerfile.non_root_user -> dockerfile/non-root-user).
// Packages without a deny rule describe findings the engine emits itself
// (DWF000, DWF001, ...); they may name themselves with custom.name and live
// outside their kind's namespace, since data.dwf.config is taken by the
// configuration.
func ruleFromAnnotations(a *ast.Annotations, segs []string, hasDeny bool) (finding.Rule, error) {
	str := func(k string) string {
		s, _ := a.Custom[k].(string)
		return strings.TrimSpace(s)
	}
	r := finding.Rule{
		ID:          str("id"),
		Title:       strings.TrimSpace(a.Title),
		Description: strings.TrimSpace(a.Description),
		Help:        strings.TrimSpace(str("help")),
		Kind:        document.Kind(str("kind")),
		Name:        segs[1] + "/" + strings.ReplaceAll(segs[2], "_", "-"),
	}
	if name := str("name"); name != "" && !hasDeny {
		r.Name = name
	}
	var missing []string
	if r.ID == "" {
		missing = append(missing, "custom.id")
	}
	if str("severity") == "" {
		missing = append(missing, "custom.severity")
	}
	if r.Kind == "" {
		missing = append(missing, "custom.kind")
	}
	if r.Title == "" {
		missing = append(missing, "title")
	}
	if len(missing) > 0 {
		return r, fmt.Errorf("METADATA lacks %s", strings.Join(missing, ", "))
	}
	if !finding.RuleIDPattern.MatchString(r.ID) {
		return r, fmt.Errorf("rule ID %q must be uppercase letters followed by digits, like DWF101 or ACME7", r.ID)
	}
	sev, err := finding.ParseSeverity(str("severity"))
	if err != nil || sev == finding.SeverityNone {
		return r, fmt.Errorf("custom.severity %q must be error, warning or note", str("severity"))
	}
	r.Severity = sev
	if hasDeny && kindSegment(r.Kind) != segs[1] {
		return r, fmt.Errorf("custom.kind %q does not match the package namespace dwf.%s", r.Kind, segs[1])
	}
	if r.Anchor, err = anchorOf(a, r.Kind); err != nil {
		return r, err
	}
	return r, nil
}

// anchorOf reads custom.anchor: the Dockerfile instruction an image
// finding is placed at when the image is checked with its Dockerfile.
func anchorOf(a *ast.Annotations, kind document.Kind) (finding.Anchor, error) {
	raw, ok := a.Custom["anchor"]
	if !ok {
		return "", nil
	}
	s, _ := raw.(string)
	switch anchor := finding.Anchor(s); {
	case kind != document.KindImage:
		return "", fmt.Errorf("custom.anchor is only for image rules (custom.kind: image)")
	case anchor == finding.AnchorFrom || anchor == finding.AnchorUser || anchor == finding.AnchorEntrypoint:
		return anchor, nil
	}
	return "", fmt.Errorf("custom.anchor %v must be user, entrypoint or from", raw)
}

// decodeFinding reads a finding object produced by a deny rule: msg
// (required), location (optional; missing means line 1 of the file), path
// (optional, for repository rules) and subject (optional). v is the
// finding converted to JSON values; intern keeps one copy of its message
// (see findingFields.finding).
func decodeFinding(v any, rule *finding.Rule, doc *document.Document, intern bool) (finding.Finding, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		if s, isStr := v.(string); isStr {
			obj = map[string]any{"msg": s}
		} else {
			return finding.Finding{}, fmt.Errorf("deny produced %T, want an object with msg", v)
		}
	}
	var ff findingFields
	ff.msg, _ = obj["msg"].(string)
	ff.path, _ = obj["path"].(string)
	ff.subject, _ = obj["subject"].(string)
	ff.suppressedBy, _ = obj["suppressed_by"].(string)
	ff.fingerprint, _ = obj["fingerprint"].(string)
	switch s := obj["security_severity"].(type) {
	case json.Number:
		ff.score, ff.hasScore = string(s), true
	case string:
		ff.securitySeverity = s
	}
	ff.severity, _ = obj["severity"].(string)
	if l, ok := obj["location"].(map[string]any); ok {
		ff.location = document.Location{
			Line:      intOf(l["line"]),
			Column:    intOf(l["column"]),
			EndLine:   intOf(l["end_line"]),
			EndColumn: intOf(l["end_column"]),
		}
	}
	return ff.finding(rule, doc, intern)
}

// findingFields are what a finding object says, as decodeFinding reads
// them from its JSON value: strings ("" for a missing field or another
// type), the security severity's JSON number (score) or string, the
// location's numbers.
type findingFields struct {
	msg, path, subject, suppressedBy, fingerprint, severity string
	score                                                   string // a JSON number
	hasScore                                                bool
	securitySeverity                                        string
	location                                                document.Location
}

// finding is the finding the fields make; intern keeps one copy of the
// message however many files a check reads.
func (ff *findingFields) finding(rule *finding.Rule, doc *document.Document, intern bool) (finding.Finding, error) {
	msg := ff.msg
	if msg == "" {
		return finding.Finding{}, errors.New(`deny produced a finding without a "msg" string`)
	}
	// Messages repeat across files (the same rule, the same fix): one copy
	// of each is kept however many files a check reads, unless the caller
	// knows they do not repeat.
	if intern {
		msg = unique.Make(msg).Value()
	}
	f := finding.Finding{RuleID: rule.ID, Severity: rule.Severity, Message: msg, Path: doc.Path, Subject: ff.subject, Location: ff.location}
	if ff.path != "" {
		f.Path = ff.path
	}
	// A rule may say the configuration accepts the finding (an ignored
	// vulnerability): it is kept, suppressed with that justification.
	if ff.suppressedBy != "" {
		f.Suppressions = append(f.Suppressions, finding.Suppression{Kind: "external", Justification: ff.suppressedBy})
	}
	f.Fingerprint = ff.fingerprint
	if ff.hasScore {
		if n, err := json.Number(ff.score).Float64(); err == nil {
			f.SecuritySeverity = strconv.FormatFloat(n, 'f', 1, 64)
		}
	} else {
		f.SecuritySeverity = ff.securitySeverity
	}
	if ff.severity != "" {
		if sev, err := finding.ParseSeverity(ff.severity); err == nil && sev != finding.SeverityNone && sev < f.Severity {
			f.Severity = sev
		}
	}
	if f.Subject == "" {
		f.Subject = doc.Subject
	}
	if doc.Anchor != nil && f.Path == doc.Path {
		f.Location = *doc.Anchor
	}
	return f, nil
}

func intOf(v any) int {
	switch n := v.(type) {
	case json.Number:
		i, _ := n.Int64()
		return int(i)
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	}
	return 0
}

// declaredInputs reads custom.inputs: the document kinds a repository rule
// reads. The repository document then carries only those kinds, which
// spares keeping every parsed file in memory until the end of the check.
func declaredInputs(a *ast.Annotations) ([]document.Kind, error) {
	raw, ok := a.Custom["inputs"]
	if !ok {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok || len(list) == 0 {
		return nil, fmt.Errorf("custom.inputs must be a non-empty list of input kinds, like [workflow]")
	}
	kinds := make([]document.Kind, 0, len(list))
	for _, v := range list {
		k, ok := v.(string)
		if !ok || k == "" {
			return nil, fmt.Errorf("custom.inputs must list input kinds as strings, got %v", v)
		}
		kinds = append(kinds, document.Kind(k))
	}
	return kinds, nil
}
