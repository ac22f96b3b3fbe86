package engine

import (
	"encoding/json"
	"reflect"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
)

// resultValue leaves a query result's bindings as Rego values instead of
// converting them to JSON values whole: a deny of a report's thousands of
// findings became a map each, only for decodeFinding to read five fields
// of it. decodeDeny reads them from the Rego values.
func resultValue(t *ast.Term, _ *rego.EvalContext) (any, error) {
	return t.Value, nil
}

// jsonValue is a binding as OPA would have returned it: the JSON value of
// its Rego value (nil for a missing binding).
func jsonValue(binding any) (any, error) {
	v, ok := binding.(ast.Value)
	if !ok {
		return nil, nil
	}
	return ast.JSON(v)
}

// pkgAndType are a result's package name and deny's type name.
func pkgAndType(bindings map[string]any) (pkg, typ string, err error) {
	x, err := jsonValue(bindings["pkg"])
	if err != nil {
		return "", "", err
	}
	pkg, _ = x.(string)
	if x, err = jsonValue(bindings["type"]); err != nil {
		return "", "", err
	}
	typ, _ = x.(string)
	return pkg, typ, nil
}

// internMax is the most findings a deny may have for their messages to be
// interned: messages repeat across files, a few findings each, while a
// report's thousands of findings each have a message of their own, and
// interning them only cost time.
const internMax = 64

// lazyObjectType is the type of ast.LazyObject's objects, whose JSON value
// is the Go map they wrap: decodeDeny converts them whole, as before.
var lazyObjectType = reflect.TypeOf(ast.LazyObject(nil))

// decodeDeny appends to out the findings of a package's deny, a Rego
// value of type typ: what decodeFinding makes of each element denied
// returns of its JSON value. The elements of a set that are objects OPA
// built (every finding a rule writes as an object) are read field by
// field (objectDecoder) instead of being converted to a map each.
func decodeDeny(out []finding.Finding, typ string, deny any, rule *finding.Rule, doc *document.Document) ([]finding.Finding, error) {
	set, ok := deny.(ast.Set)
	if !ok || typ != "set" {
		x, err := jsonValue(deny)
		if err != nil {
			return out, err
		}
		for _, v := range denied(typ, x) {
			f, err := decodeFinding(v, rule, doc, true)
			if err != nil {
				return out, err
			}
			out = append(out, f)
		}
		return out, nil
	}
	intern := set.Len() <= internMax
	dec := newObjectDecoder()
	err := set.Iter(func(t *ast.Term) error { // the order of ast.JSON's
		var f finding.Finding
		var err error
		if o, ok := t.Value.(ast.Object); ok && reflect.TypeOf(o) != lazyObjectType {
			f, err = dec.decode(o, rule, doc, intern)
		} else {
			var v any
			if v, err = ast.JSON(t.Value); err == nil {
				f, err = decodeFinding(v, rule, doc, intern)
			}
		}
		if err != nil {
			return err
		}
		out = append(out, f)
		return nil
	})
	return out, err
}

// objectDecoder reads finding objects OPA built, as decodeFinding reads
// their JSON values but without converting them: one pass over each
// object, and over its location object. Its visitors are made once per
// deny, not once per finding.
type objectDecoder struct {
	ff                   findingFields
	err                  error
	visit, visitLocation func(k, v *ast.Term)
}

func newObjectDecoder() *objectDecoder {
	d := &objectDecoder{}
	d.visit = d.field
	d.visitLocation = d.locationField
	return d
}

// decode is decodeFinding of ast.JSON(o).
func (d *objectDecoder) decode(o ast.Object, rule *finding.Rule, doc *document.Document, intern bool) (finding.Finding, error) {
	d.ff, d.err = findingFields{}, nil
	o.Foreach(d.visit)
	if d.err != nil {
		return finding.Finding{}, d.err
	}
	return d.ff.finding(rule, doc, intern)
}

// field records one field, its value as its JSON value reads (a string
// key is the only kind whose JSON is a field's name).
func (d *objectDecoder) field(k, v *ast.Term) {
	key, ok := k.Value.(ast.String)
	if !ok {
		return
	}
	ff := &d.ff
	s, isString := v.Value.(ast.String)
	switch key {
	case "msg":
		ff.msg = string(s)
	case "path":
		ff.path = string(s)
	case "subject":
		ff.subject = string(s)
	case "suppressed_by":
		ff.suppressedBy = string(s)
	case "fingerprint":
		ff.fingerprint = string(s)
	case "severity":
		ff.severity = string(s)
	case "security_severity":
		if n, ok := v.Value.(ast.Number); ok {
			ff.score, ff.hasScore = string(n), true
		} else if isString {
			ff.securitySeverity = string(s)
		}
	case "location":
		o, ok := v.Value.(ast.Object)
		if !ok {
			return
		}
		if reflect.TypeOf(o) == lazyObjectType {
			// A lazily converted input object: its JSON value is the Go map
			// it wraps, read as decodeFinding reads it.
			x, err := ast.JSON(o)
			if err != nil {
				d.err = err
				return
			}
			if l, ok := x.(map[string]any); ok {
				ff.location = document.Location{Line: intOf(l["line"]), Column: intOf(l["column"]), EndLine: intOf(l["end_line"]), EndColumn: intOf(l["end_column"])}
			}
			return
		}
		o.Foreach(d.visitLocation)
	}
}

// locationField records one number of a location object as intOf reads
// its JSON value.
func (d *objectDecoder) locationField(k, v *ast.Term) {
	key, ok := k.Value.(ast.String)
	if !ok {
		return
	}
	n := 0
	if num, ok := v.Value.(ast.Number); ok {
		n = intOf(json.Number(num))
	}
	l := &d.ff.location
	switch key {
	case "line":
		l.Line = n
	case "column":
		l.Column = n
	case "end_line":
		l.EndLine = n
	case "end_column":
		l.EndColumn = n
	}
}
