// Package astcodec stores parsed Rego modules in a compact binary form that
// decodes several times faster than OPA parses the source, with a fraction
// of the allocations: a check of one Dockerfile would otherwise spend a
// quarter of its run parsing the built-in policies it compiles.
//
// A decoded module equals the parsed one: the same package, imports, rules,
// expressions, terms and locations (the locations' text is a slice of the
// source, as the parser's is). It carries no comments and no annotations,
// which compilation does not read; the engine parses a file whose METADATA
// it needs. The parser's private rego.v1 bookkeeping (which keywords a rule
// was written with, whether its body or value was implied) is not kept:
// only the parser's own rego.v1 checks and the formatter read it.
//
// The encoding is this package's own: it is written by Encode and read by
// Decode of the same build, never exchanged.
package astcodec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
)

// version changes with the encoding; Decode refuses another.
const version = 1

// value kinds
const (
	kindNil byte = iota
	kindNull
	kindFalse
	kindTrue
	kindNumber
	kindString
	kindVar
	kindRef
	kindArray
	kindObject
	kindSet
	kindCall
	kindArrayComprehension
	kindObjectComprehension
	kindSetComprehension
	kindTemplateString
)

// hasLocation is or'ed into a term's kind when the term has a location.
const hasLocation byte = 0x80

// expression forms
const (
	exprTerm byte = iota
	exprCall
	exprSome
	exprEvery
)

// flag bits
const (
	flagNegated = 1 << iota
	flagGenerated
	flagDefault
	flagElse
	flagAssign
	flagLocation
	flagMultiLine
)

// Encode returns the encoding of m, parsed from src (the locations' text is
// encoded as offsets into it). It fails on a node it does not know, so that
// a new construct in OPA's AST is not silently dropped.
func Encode(m *ast.Module, src []byte) ([]byte, error) {
	e := &encoder{src: src, strings: map[string]int{}}
	e.module(m)
	if e.err != nil {
		return nil, e.err
	}
	// The string table goes first, so that the decoder has it before the
	// body that refers to it; the counts let it allocate terms and
	// locations at once.
	out := binary.AppendUvarint(nil, version)
	out = binary.AppendUvarint(out, uint64(len(e.table)))
	for _, s := range e.table {
		out = binary.AppendUvarint(out, uint64(len(s)))
		out = append(out, s...)
	}
	out = binary.AppendUvarint(out, uint64(e.terms))
	out = binary.AppendUvarint(out, uint64(e.locations))
	out = binary.AppendUvarint(out, uint64(e.exprs))
	return append(out, e.buf...), nil
}

type encoder struct {
	src     []byte
	buf     []byte
	strings map[string]int
	table   []string
	terms   int
	exprs   int
	// locations counts the locations written, for the decoder's slab.
	locations int
	err       error
}

func (e *encoder) fail(format string, args ...any) {
	if e.err == nil {
		e.err = fmt.Errorf(format, args...)
	}
}

func (e *encoder) uint(n int) {
	if n < 0 {
		e.fail("astcodec: negative number %d", n)
		n = 0
	}
	e.buf = binary.AppendUvarint(e.buf, uint64(n))
}

func (e *encoder) byte(b byte) { e.buf = append(e.buf, b) }

func (e *encoder) string(s string) {
	i, ok := e.strings[s]
	if !ok {
		i = len(e.table)
		e.strings[s] = i
		e.table = append(e.table, s)
	}
	e.uint(i)
}

func (e *encoder) bool(b bool) {
	if b {
		e.byte(1)
	} else {
		e.byte(0)
	}
}

func (e *encoder) module(m *ast.Module) {
	span := m.RegoVersionSpan()
	e.uint(span.Min().Int())
	e.uint(span.Max().Int())
	e.location(m.Package.Location)
	e.termList(m.Package.Path)
	e.uint(len(m.Imports))
	for _, imp := range m.Imports {
		e.term(imp.Path)
		e.string(string(imp.Alias))
		e.location(imp.Location)
		e.location(imp.AliasLocation)
	}
	e.uint(len(m.Rules))
	for _, r := range m.Rules {
		e.rule(r)
	}
}

// location writes a location: absent, or its row, column, offset, where
// its text starts before the offset, the text's length and tabs. Every location of a module is in its file.
func (e *encoder) location(loc *ast.Location) {
	if loc == nil {
		e.byte(0)
		return
	}
	e.byte(1)
	e.locations++
	e.uint(loc.Row)
	e.uint(loc.Col)
	e.uint(loc.Offset)
	// The text starts at the offset, or before it when the parser took in
	// the parentheses around an expression: "(a | b)" has the offset of a.
	back := 0
	for ; back <= loc.Offset; back++ {
		start := loc.Offset - back
		if start+len(loc.Text) <= len(e.src) && string(e.src[start:start+len(loc.Text)]) == string(loc.Text) {
			break
		}
	}
	if back > loc.Offset {
		e.fail("astcodec: %s:%d:%d: the location's text is not in the source before offset %d", loc.File, loc.Row, loc.Col, loc.Offset)
	}
	e.uint(back)
	e.uint(len(loc.Text))
	if loc.Tabs == nil {
		e.byte(0)
	} else {
		e.byte(1)
		e.uint(len(loc.Tabs))
		for _, t := range loc.Tabs {
			e.uint(t)
		}
	}
}

func (e *encoder) rule(r *ast.Rule) {
	var flags int
	if r.Default {
		flags |= flagDefault
	}
	if r.Else != nil {
		flags |= flagElse
	}
	e.uint(flags)
	e.location(r.Location)
	e.head(r.Head)
	e.body(r.Body)
	if r.Else != nil {
		e.rule(r.Else)
	}
}

func (e *encoder) head(h *ast.Head) {
	var flags int
	if h.Assign {
		flags |= flagAssign
	}
	e.uint(flags)
	e.string(string(h.Name))
	e.optionalTermList(h.Reference)
	e.optionalTermList(h.Args)
	e.term(h.Key)
	e.term(h.Value)
	e.location(h.Location)
}

// optionalTermList tells a nil list (0) from an empty one (1).
func (e *encoder) optionalTermList(ts []*ast.Term) {
	if ts == nil {
		e.uint(0)
		return
	}
	e.uint(len(ts) + 1)
	for _, t := range ts {
		e.term(t)
	}
}

func (e *encoder) termList(ts []*ast.Term) {
	e.uint(len(ts))
	for _, t := range ts {
		e.term(t)
	}
}

func (e *encoder) body(b ast.Body) {
	e.uint(len(b))
	for _, x := range b {
		e.expr(x)
	}
}

func (e *encoder) expr(x *ast.Expr) {
	e.exprs++
	var flags int
	if x.Negated {
		flags |= flagNegated
	}
	if x.Generated {
		flags |= flagGenerated
	}
	e.uint(flags)
	e.uint(x.Index)
	e.location(x.Location)
	e.uint(len(x.With))
	for _, w := range x.With {
		e.term(w.Target)
		e.term(w.Value)
		e.location(w.Location)
	}
	switch ts := x.Terms.(type) {
	case *ast.Term:
		e.byte(exprTerm)
		e.term(ts)
	case []*ast.Term:
		e.byte(exprCall)
		e.termList(ts)
	case *ast.SomeDecl:
		e.byte(exprSome)
		e.termList(ts.Symbols)
		e.location(ts.Location)
	case *ast.Every:
		e.byte(exprEvery)
		e.term(ts.Key)
		e.term(ts.Value)
		e.term(ts.Domain)
		e.body(ts.Body)
		e.location(ts.Location)
	default:
		e.fail("astcodec: expression of type %T", x.Terms)
	}
}

func (e *encoder) term(t *ast.Term) {
	if t == nil {
		e.byte(kindNil)
		return
	}
	kind := e.kind(t.Value)
	if t.Location != nil {
		kind |= hasLocation
	}
	e.byte(kind)
	if t.Location != nil {
		e.location(t.Location)
	}
	e.terms++
	switch v := t.Value.(type) {
	case ast.Null, ast.Boolean:
	case ast.Number:
		e.string(string(v))
	case ast.String:
		e.string(string(v))
	case ast.Var:
		e.string(string(v))
	case ast.Ref:
		e.optionalTermList(v)
	case *ast.Array:
		e.uint(v.Len())
		for i := range v.Len() {
			e.term(v.Elem(i))
		}
	case ast.Object:
		// The keys in insertion order, which NewObject keeps.
		e.uint(v.Len())
		v.Foreach(func(k, val *ast.Term) {
			e.term(k)
			e.term(val)
		})
	case ast.Set:
		e.uint(v.Len())
		v.Foreach(func(x *ast.Term) { e.term(x) })
	case ast.Call:
		e.termList(v)
	case *ast.ArrayComprehension:
		e.term(v.Term)
		e.body(v.Body)
	case *ast.ObjectComprehension:
		e.term(v.Key)
		e.term(v.Value)
		e.body(v.Body)
	case *ast.SetComprehension:
		e.term(v.Term)
		e.body(v.Body)
	case *ast.TemplateString:
		e.bool(v.MultiLine)
		e.uint(len(v.Parts))
		for _, p := range v.Parts {
			switch p := p.(type) {
			case *ast.Expr:
				e.byte(0)
				e.expr(p)
			case *ast.Term:
				e.byte(1)
				e.term(p)
			default:
				e.fail("astcodec: template string part of type %T", p)
			}
		}
	}
}

func (e *encoder) kind(v ast.Value) byte {
	switch v := v.(type) {
	case ast.Null:
		return kindNull
	case ast.Boolean:
		if v {
			return kindTrue
		}
		return kindFalse
	case ast.Number:
		return kindNumber
	case ast.String:
		return kindString
	case ast.Var:
		return kindVar
	case ast.Ref:
		return kindRef
	case *ast.Array:
		return kindArray
	case ast.Object:
		return kindObject
	case ast.Set:
		return kindSet
	case ast.Call:
		return kindCall
	case *ast.ArrayComprehension:
		return kindArrayComprehension
	case *ast.ObjectComprehension:
		return kindObjectComprehension
	case *ast.SetComprehension:
		return kindSetComprehension
	case *ast.TemplateString:
		return kindTemplateString
	}
	e.fail("astcodec: value of type %T", v)
	return kindNull
}

// errCorrupt is what Decode returns for data Encode did not write.
var errCorrupt = errors.New("astcodec: corrupt module encoding")

// Decode returns the module that data encodes; file names its locations and
// src is the source it was parsed from (the locations' text is sliced from
// it, not copied). Data that Encode did not write gives an error, not a
// panic.
func Decode(data []byte, file string, src []byte) (m *ast.Module, err error) {
	d := &decoder{data: data, file: file, src: src}
	if v := d.uint(); v != version {
		return nil, fmt.Errorf("astcodec: encoding version %d, want %d", v, version)
	}
	n := d.count()
	d.table = make([]string, n)
	for i := range d.table {
		l := d.count()
		d.table[i] = string(d.bytes(l))
	}
	d.termSlab = make([]ast.Term, d.count())
	d.locSlab = make([]ast.Location, d.count())
	d.exprSlab = make([]ast.Expr, d.count())
	m = d.module()
	if d.err != nil {
		return nil, d.err
	}
	if d.pos != len(d.data) {
		return nil, errCorrupt
	}
	return m, nil
}

type decoder struct {
	data []byte
	pos  int
	file string
	src  []byte
	err  error

	table    []string
	termSlab []ast.Term
	locSlab  []ast.Location
	exprSlab []ast.Expr
	// tabs is the last location's tabs, shared with the next location when
	// equal, as the parser's are on one line.
	tabs    []int
	scratch []int
	// depth bounds recursion on corrupt data.
	depth int
}

func (d *decoder) corrupt() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.pos = len(d.data)
}

func (d *decoder) uint() int {
	v, n := binary.Uvarint(d.data[d.pos:])
	if n <= 0 || v > 1<<31 {
		d.corrupt()
		return 0
	}
	d.pos += n
	return int(v)
}

// count reads a length, which cannot exceed the bytes left: every counted
// item takes at least one.
func (d *decoder) count() int {
	n := d.uint()
	if n > len(d.data)-d.pos {
		d.corrupt()
		return 0
	}
	return n
}

func (d *decoder) byte() byte {
	if d.pos >= len(d.data) {
		d.corrupt()
		return 0
	}
	b := d.data[d.pos]
	d.pos++
	return b
}

func (d *decoder) bytes(n int) []byte {
	if n > len(d.data)-d.pos {
		d.corrupt()
		return nil
	}
	b := d.data[d.pos : d.pos+n]
	d.pos += n
	return b
}

func (d *decoder) string() string {
	i := d.uint()
	if i >= len(d.table) {
		d.corrupt()
		return ""
	}
	return d.table[i]
}

func (d *decoder) newTerm() *ast.Term {
	if len(d.termSlab) == 0 {
		return new(ast.Term) // corrupt counts; the error is reported at the end
	}
	t := &d.termSlab[0]
	d.termSlab = d.termSlab[1:]
	return t
}

func (d *decoder) newExpr() *ast.Expr {
	if len(d.exprSlab) == 0 {
		return new(ast.Expr)
	}
	x := &d.exprSlab[0]
	d.exprSlab = d.exprSlab[1:]
	return x
}

func (d *decoder) module() *ast.Module {
	m := &ast.Module{}
	lo, err1 := ast.RegoVersionFromIntStrict(d.uint())
	hi, err2 := ast.RegoVersionFromIntStrict(d.uint())
	if err1 != nil || err2 != nil {
		d.corrupt()
	}
	span := ast.RegoVersionSpanOf(lo)
	if hi != lo {
		var err error
		if span, err = ast.NewRegoVersionSpan(lo, hi); err != nil {
			d.corrupt()
		}
	}
	m.SetRegoVersionSpan(span)
	m.Package = &ast.Package{Location: d.location()}
	m.Package.Path = ast.Ref(d.terms())
	if n := d.count(); n > 0 {
		m.Imports = make([]*ast.Import, n)
		for i := range m.Imports {
			imp := &ast.Import{Path: d.requiredTerm()}
			imp.Alias = ast.Var(d.string())
			imp.Location = d.location()
			imp.AliasLocation = d.location()
			m.Imports[i] = imp
		}
	}
	if n := d.count(); n > 0 {
		m.Rules = make([]*ast.Rule, n)
		for i := range m.Rules {
			m.Rules[i] = d.rule(m)
		}
	}
	return m
}

func (d *decoder) location() *ast.Location {
	if d.byte() == 0 {
		return nil
	}
	var loc *ast.Location
	if len(d.locSlab) > 0 {
		loc = &d.locSlab[0]
		d.locSlab = d.locSlab[1:]
	} else {
		loc = new(ast.Location)
	}
	loc.File = d.file
	loc.Row = d.uint()
	loc.Col = d.uint()
	loc.Offset = d.uint()
	start := loc.Offset - d.uint()
	n := d.uint()
	if start < 0 || start > len(d.src) || n > len(d.src)-start {
		d.corrupt()
		return loc
	}
	loc.Text = d.src[start : start+n : start+n]
	if d.byte() == 1 {
		d.scratch = d.scratch[:0]
		for range d.count() {
			d.scratch = append(d.scratch, d.uint())
		}
		if d.tabs == nil || !slices.Equal(d.tabs, d.scratch) {
			d.tabs = slices.Clone(d.scratch)
			if d.tabs == nil {
				d.tabs = []int{}
			}
		}
		loc.Tabs = d.tabs
	}
	return loc
}

func (d *decoder) enter() bool {
	d.depth++
	if d.depth > 10000 {
		d.corrupt()
		return false
	}
	return true
}

func (d *decoder) rule(m *ast.Module) *ast.Rule {
	if !d.enter() {
		return &ast.Rule{Head: &ast.Head{}, Module: m}
	}
	defer func() { d.depth-- }()
	flags := d.uint()
	r := &ast.Rule{Module: m, Default: flags&flagDefault != 0}
	r.Location = d.location()
	r.Head = d.head()
	r.Body = d.body()
	if flags&flagElse != 0 {
		r.Else = d.rule(m)
	}
	return r
}

func (d *decoder) head() *ast.Head {
	flags := d.uint()
	h := &ast.Head{Assign: flags&flagAssign != 0}
	h.Name = ast.Var(d.string())
	h.Reference = d.optionalTerms()
	if args := d.optionalTerms(); args != nil {
		h.Args = ast.Args(args)
	}
	h.Key = d.term()
	h.Value = d.term()
	h.Location = d.location()
	return h
}

func (d *decoder) optionalTerms() []*ast.Term {
	n := d.count()
	if n == 0 {
		return nil
	}
	ts := make([]*ast.Term, n-1)
	for i := range ts {
		ts[i] = d.requiredTerm()
	}
	return ts
}

func (d *decoder) terms() []*ast.Term {
	ts := make([]*ast.Term, d.count())
	for i := range ts {
		ts[i] = d.requiredTerm()
	}
	return ts
}

// requiredTerm reads a term where the parser always puts one: in a list,
// an object, a call or a reference. Nil there is corrupt data, and would
// panic in OPA.
func (d *decoder) requiredTerm() *ast.Term {
	t := d.term()
	if t == nil {
		d.corrupt()
		return ast.NullTerm()
	}
	return t
}

func (d *decoder) body() ast.Body {
	n := d.count()
	if n == 0 {
		return nil
	}
	b := make(ast.Body, n)
	for i := range b {
		b[i] = d.expr()
	}
	return b
}

func (d *decoder) expr() *ast.Expr {
	x := d.newExpr()
	if !d.enter() {
		return x
	}
	defer func() { d.depth-- }()
	flags := d.uint()
	x.Negated = flags&flagNegated != 0
	x.Generated = flags&flagGenerated != 0
	x.Index = d.uint()
	x.Location = d.location()
	if n := d.count(); n > 0 {
		x.With = make([]*ast.With, n)
		for i := range x.With {
			w := &ast.With{Target: d.requiredTerm()}
			w.Value = d.requiredTerm()
			w.Location = d.location()
			x.With[i] = w
		}
	}
	switch d.byte() {
	case exprTerm:
		x.Terms = d.requiredTerm()
	case exprCall:
		x.Terms = d.terms()
	case exprSome:
		s := &ast.SomeDecl{Symbols: d.terms()}
		s.Location = d.location()
		x.Terms = s
	case exprEvery:
		ev := &ast.Every{Key: d.term()}
		ev.Value = d.requiredTerm()
		ev.Domain = d.requiredTerm()
		ev.Body = d.body()
		ev.Location = d.location()
		x.Terms = ev
	default:
		d.corrupt()
	}
	return x
}

func (d *decoder) term() *ast.Term {
	kind := d.byte()
	if kind == kindNil || d.err != nil {
		return nil
	}
	if !d.enter() {
		return nil
	}
	defer func() { d.depth-- }()
	t := d.newTerm()
	if kind&hasLocation != 0 {
		t.Location = d.location()
		kind &^= hasLocation
	}
	switch kind {
	case kindNull:
		t.Value = ast.NullValue
	case kindFalse:
		t.Value = ast.InternedValue(false)
	case kindTrue:
		t.Value = ast.InternedValue(true)
	case kindNumber:
		t.Value = ast.Number(d.string())
	case kindString:
		t.Value = ast.String(d.string())
	case kindVar:
		t.Value = ast.InternedVarValue(d.string())
	case kindRef:
		t.Value = ast.Ref(d.optionalTerms())
	case kindArray:
		if ts := d.terms(); d.err == nil {
			t.Value = ast.NewArray(ts...)
		}
	case kindObject:
		n := d.count()
		pairs := make([][2]*ast.Term, n)
		for i := range pairs {
			pairs[i][0] = d.requiredTerm()
			pairs[i][1] = d.requiredTerm()
		}
		if d.err == nil {
			t.Value = ast.NewObject(pairs...)
		}
	case kindSet:
		if ts := d.terms(); d.err == nil {
			t.Value = ast.NewSet(ts...)
		}
	case kindCall:
		t.Value = ast.Call(d.terms())
	case kindArrayComprehension:
		c := &ast.ArrayComprehension{Term: d.requiredTerm()}
		c.Body = d.body()
		t.Value = c
	case kindObjectComprehension:
		c := &ast.ObjectComprehension{Key: d.requiredTerm()}
		c.Value = d.requiredTerm()
		c.Body = d.body()
		t.Value = c
	case kindSetComprehension:
		c := &ast.SetComprehension{Term: d.requiredTerm()}
		c.Body = d.body()
		t.Value = c
	case kindTemplateString:
		ts := &ast.TemplateString{MultiLine: d.byte() == 1}
		ts.Parts = make([]ast.Node, d.count())
		for i := range ts.Parts {
			switch d.byte() {
			case 0:
				ts.Parts[i] = d.expr()
			case 1:
				ts.Parts[i] = d.requiredTerm()
			default:
				d.corrupt()
			}
		}
		t.Value = ts
	default:
		d.corrupt()
	}
	if t.Value == nil { // cut short by corrupt data
		t.Value = ast.NullValue
	}
	return t
}
