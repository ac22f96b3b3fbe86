package bake

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// The types below are what buildx's HCL evaluator (bake/hclparser) decodes
// blocks into. They mirror buildx's own Group and Target for the attributes
// dwf-policy reads or that other blocks commonly reference (`target.x.tags`);
// like buildx, attributes not listed are ignored, not errors.

// config is the top level of a bake file.
type config struct {
	Groups  []*group  `hcl:"group,block" cty:"group"`
	Targets []*target `hcl:"target,block" cty:"target"`
}

type group struct {
	Name        string   `hcl:"name,label" cty:"name"`
	Description string   `hcl:"description,optional" cty:"description"`
	Targets     []string `hcl:"targets" cty:"targets"`

	blocks []*hcl.Block
}

// SetBlockSource records the block a group came from.
func (g *group) SetBlockSource(b *hcl.Block) { g.blocks = append(g.blocks, b) }

// Merge adds the targets of a second block of the same name, as buildx does.
func (g *group) Merge(g2 *group) {
	for _, t := range g2.Targets {
		if !contains(g.Targets, t) {
			g.Targets = append(g.Targets, t)
		}
	}
	g.blocks = append(g.blocks, g2.blocks...)
}

// GetName refuses `name` and `matrix` in groups, with buildx's messages.
func (g *group) GetName(_ *hcl.EvalContext, block *hcl.Block, _ func(hcl.Expression) hcl.Diagnostics) (string, error) {
	content, _, diags := block.Body.PartialContent(&hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "name"}, {Name: "matrix"}},
	})
	if diags.HasErrors() {
		return "", diags
	}
	if _, ok := content.Attributes["name"]; ok {
		return "", fmt.Errorf("name is not supported for groups")
	}
	if _, ok := content.Attributes["matrix"]; ok {
		return "", fmt.Errorf("matrix is not supported for groups")
	}
	return block.Labels[0], nil
}

type target struct {
	Name        string `hcl:"name,label" cty:"name"`
	Description string `hcl:"description,optional" cty:"description"`

	Inherits         []string           `hcl:"inherits,optional" cty:"inherits"`
	Annotations      []string           `hcl:"annotations,optional" cty:"annotations"`
	Context          *string            `hcl:"context,optional" cty:"context"`
	Contexts         map[string]string  `hcl:"contexts,optional" cty:"contexts"`
	Dockerfile       *string            `hcl:"dockerfile,optional" cty:"dockerfile"`
	DockerfileInline *string            `hcl:"dockerfile-inline,optional" cty:"dockerfile-inline"`
	Args             map[string]*string `hcl:"args,optional" cty:"args"`
	Labels           map[string]*string `hcl:"labels,optional" cty:"labels"`
	Tags             []string           `hcl:"tags,optional" cty:"tags"`
	CacheFrom        *entryList         `hcl:"cache-from,optional" cty:"cache-from"`
	CacheTo          *entryList         `hcl:"cache-to,optional" cty:"cache-to"`
	Target           *string            `hcl:"target,optional" cty:"target"`
	Platforms        []string           `hcl:"platforms,optional" cty:"platforms"`
	Outputs          *entryList         `hcl:"output,optional" cty:"output"`
	Pull             *bool              `hcl:"pull,optional" cty:"pull"`
	NoCache          *bool              `hcl:"no-cache,optional" cty:"no-cache"`
	NetworkMode      *string            `hcl:"network,optional" cty:"network"`
	NoCacheFilter    []string           `hcl:"no-cache-filter,optional" cty:"no-cache-filter"`
	ShmSize          *string            `hcl:"shm-size,optional" cty:"shm-size"`
	Ulimits          []string           `hcl:"ulimits,optional" cty:"ulimits"`
	Call             *string            `hcl:"call,optional" cty:"call"`
	Entitlements     []string           `hcl:"entitlements,optional" cty:"entitlements"`
	ExtraHosts       map[string]*string `hcl:"extra-hosts,optional" cty:"extra-hosts"`

	// parts are the blocks (one per file or repeated block) that define
	// this target, in evaluation order, with the matrix values of this
	// expansion.
	parts []part
	// matrix holds the values this expansion was evaluated with.
	matrix map[string]string
}

// part is one block that contributed to a target.
type part struct {
	val   *target // the values this block decoded to
	block *hcl.Block
	attrs hcl.Attributes // the attributes the block sets, by name
}

// trackedAttrs are the attributes whose positions a document carries.
var trackedAttrs = []string{"inherits", "context", "dockerfile", "dockerfile-inline", "target", "platforms", "output", "cache-from", "cache-to", "matrix", "name"}

// SetBlockSource records the block this target value was decoded from and
// the attributes it sets, with their ranges.
func (t *target) SetBlockSource(b *hcl.Block) {
	schema := &hcl.BodySchema{}
	for _, a := range trackedAttrs {
		schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: a})
	}
	content, _, _ := b.Body.PartialContent(schema)
	p := part{val: t, block: b, attrs: hcl.Attributes{}}
	if content != nil {
		p.attrs = content.Attributes
	}
	t.parts = append(t.parts, p)
}

// Merge folds a second block of the same target name into t: buildx
// evaluates repeated blocks (an override file's) as one target, the later
// block's values winning. The raw values are merged later, per part, by
// resolve; only the parts are kept here.
func (t *target) Merge(t2 *target) {
	t.parts = append(t.parts, t2.parts...)
}

// GetEvalContexts expands `matrix` into one evaluation context per
// combination, as buildx does, but refuses a matrix whose combinations
// exceed the bound before building any of them.
func (t *target) GetEvalContexts(ectx *hcl.EvalContext, block *hcl.Block, loadDeps func(hcl.Expression) hcl.Diagnostics) ([]*hcl.EvalContext, error) {
	content, _, diags := block.Body.PartialContent(&hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "matrix"}},
	})
	if diags.HasErrors() {
		return nil, diags
	}
	attr, ok := content.Attributes["matrix"]
	if !ok {
		return []*hcl.EvalContext{ectx}, nil
	}
	if diags := loadDeps(attr.Expr); diags.HasErrors() {
		return nil, diags
	}
	value, diags := attr.Expr.Value(ectx)
	if diags.HasErrors() {
		return nil, diags
	}
	if !value.Type().IsMapType() && !value.Type().IsObjectType() {
		return nil, diagAt(attr.Range, "matrix must be a map")
	}
	if !value.IsWhollyKnown() || value.IsNull() {
		return nil, diagAt(attr.Range, "matrix must be a known map")
	}
	matrix := value.AsValueMap()
	keys := make([]string, 0, len(matrix))
	total := 1
	for k, v := range matrix {
		if !v.CanIterateElements() || v.IsNull() {
			return nil, diagAt(attr.Range, "matrix values must be a list")
		}
		keys = append(keys, k)
		total *= v.LengthInt()
		if total > MaxTargets {
			return nil, diagAt(attr.Range, fmt.Sprintf("matrix of target %q expands to more than %d targets; split it or reduce its values", block.Labels[0], MaxTargets))
		}
	}
	// buildx ranges over a Go map; the order only decides the order of the
	// expansions, never their set. Sorting keeps documents stable.
	sort.Strings(keys)
	ectxs := []*hcl.EvalContext{ectx}
	for _, k := range keys {
		var next []*hcl.EvalContext
		for _, v := range matrix[k].AsValueSlice() {
			for _, e := range ectxs {
				e2 := ectx.NewChild()
				e2.Variables = map[string]cty.Value{}
				if e != ectx {
					for n, vv := range e.Variables {
						e2.Variables[n] = vv
					}
				}
				e2.Variables[k] = v
				next = append(next, e2)
			}
		}
		ectxs = next
	}
	return ectxs, nil
}

// GetName evaluates `name` for a matrix expansion, as buildx does.
func (t *target) GetName(ectx *hcl.EvalContext, block *hcl.Block, loadDeps func(hcl.Expression) hcl.Diagnostics) (string, error) {
	content, _, diags := block.Body.PartialContent(&hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "name"}, {Name: "matrix"}},
	})
	if diags.HasErrors() {
		return "", diags
	}
	attr, ok := content.Attributes["name"]
	if !ok {
		return block.Labels[0], nil
	}
	if _, ok := content.Attributes["matrix"]; !ok {
		return "", diagAt(attr.Range, "name requires matrix")
	}
	if diags := loadDeps(attr.Expr); diags.HasErrors() {
		return "", diags
	}
	value, diags := attr.Expr.Value(ectx)
	if diags.HasErrors() {
		return "", diags
	}
	value, err := convert.Convert(value, cty.String)
	if err != nil || value.IsNull() || !value.IsKnown() {
		return "", diagAt(attr.Range, "target name must be a string")
	}
	if t.matrix == nil {
		t.matrix = map[string]string{}
	}
	for k, v := range ectx.Variables {
		if s, err := convert.Convert(v, cty.String); err == nil && s.IsKnown() && !s.IsNull() {
			t.matrix[k] = s.AsString()
		}
	}
	return value.AsString(), nil
}

// diagAt is an evaluation error at a known place; buildx's evaluator
// passes a *hcl.Diagnostic through unchanged, so the position survives.
func diagAt(rng hcl.Range, msg string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: msg, Subject: rng.Ptr()}
}

// targetNameRE is buildx's rule for target and group names.
var targetNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

func validateTargetName(name string) error {
	if !targetNameRE.MatchString(name) {
		return fmt.Errorf("target name %q is invalid: only letters, digits, `_` and `-` are allowed", name)
	}
	return nil
}

// entryList is an `output`, `cache-from` or `cache-to` value: a list of
// CSV strings (`type=registry,ref=...`) or of objects. It is a capsule for
// buildx's decoder, so both spellings decode.
type entryList struct {
	entries []entry
}

// entry is one output or cache entry.
type entry struct {
	raw   string            // the CSV form as written, or rendered from an object
	typ   string            // the type, after buildx's defaults
	attrs map[string]string // every key but type
}

// FromCtyValue decodes a list of strings or objects; null elements and
// empty strings are skipped, as buildx skips them.
func (l *entryList) FromCtyValue(in cty.Value, p cty.Path) error {
	l.entries = nil
	if in.IsNull() {
		return nil
	}
	if !in.IsKnown() {
		return p.NewErrorf("value is not known")
	}
	if !in.CanIterateElements() || in.Type().IsMapType() || in.Type().IsObjectType() {
		// buildx accepts a single string too.
		if in.Type() == cty.String {
			e, err := parseEntry(in.AsString())
			if err != nil {
				return p.NewError(err)
			}
			if e != nil {
				l.entries = append(l.entries, *e)
			}
			return nil
		}
		return p.NewErrorf("must be a list of strings or objects")
	}
	for it := in.ElementIterator(); it.Next(); {
		_, v := it.Element()
		if v.IsNull() {
			continue
		}
		if !v.IsKnown() {
			return p.NewErrorf("value is not known")
		}
		switch {
		case v.Type() == cty.String:
			e, err := parseEntry(v.AsString())
			if err != nil {
				return p.NewError(err)
			}
			if e != nil {
				l.entries = append(l.entries, *e)
			}
		case v.Type().IsObjectType() || v.Type().IsMapType():
			attrs := map[string]string{}
			for k, av := range v.AsValueMap() {
				if av.IsNull() {
					continue
				}
				s, err := convert.Convert(av, cty.String)
				if err != nil || !s.IsKnown() {
					return p.NewErrorf("%s must be a string", k)
				}
				attrs[k] = s.AsString()
			}
			l.entries = append(l.entries, newEntry(attrs))
		default:
			s, err := convert.Convert(v, cty.String)
			if err != nil || !s.IsKnown() {
				return p.NewErrorf("must be a list of strings or objects")
			}
			e, err := parseEntry(s.AsString())
			if err != nil {
				return p.NewError(err)
			}
			if e != nil {
				l.entries = append(l.entries, *e)
			}
		}
	}
	return nil
}

// ToCtyValue renders the entries as CSV strings, so that another block can
// read `target.x.output`.
func (l *entryList) ToCtyValue() cty.Value {
	if l == nil || len(l.entries) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vals := make([]cty.Value, len(l.entries))
	for i, e := range l.entries {
		vals[i] = cty.StringVal(e.raw)
	}
	return cty.ListVal(vals)
}

// parseEntry reads one CSV entry. A value without `=` is a shorthand, as
// for buildx: a registry reference for a cache, a local directory for an
// output; entryKind sets which is applied later. A blank string is no
// entry.
func parseEntry(s string) (*entry, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if !strings.Contains(s, "=") {
		return &entry{raw: s, attrs: map[string]string{"": s}}, nil
	}
	fields, err := splitCSV(s)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", s, err)
	}
	attrs := map[string]string{}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("%q: field %q is not key=value", s, f)
		}
		attrs[strings.ToLower(strings.TrimSpace(k))] = v
	}
	e := newEntry(attrs)
	e.raw = s
	return &e, nil
}

func newEntry(attrs map[string]string) entry {
	e := entry{attrs: map[string]string{}}
	keys := make([]string, 0, len(attrs))
	for k, v := range attrs {
		if k == "type" {
			e.typ = v
			continue
		}
		e.attrs[k] = v
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	if e.typ != "" {
		b.WriteString("type=" + e.typ)
	}
	for _, k := range keys {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + attrs[k])
	}
	e.raw = b.String()
	return e
}

// splitCSV splits one CSV record, honouring double quotes as buildx's
// csvvalue does.
func splitCSV(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' && quoted && i+1 < len(s) && s[i+1] == '"':
			cur.WriteByte('"')
			i++
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	if quoted {
		return nil, fmt.Errorf("unterminated quote")
	}
	return append(out, cur.String()), nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
