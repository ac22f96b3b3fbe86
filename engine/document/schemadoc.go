package document

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// WriteSchemaMarkdown renders the input schemas as the field reference in
// docs/inputs.md, so the document custom policies read is described from
// the same schemas the compiler type-checks against.
func WriteSchemaMarkdown(w io.Writer, intro string) error {
	schemas, err := Schemas()
	if err != nil {
		return err
	}
	names := make([]string, 0, len(schemas))
	for n := range schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(intro)
	for _, name := range names {
		s, _ := schemas[name].(map[string]any)
		fmt.Fprintf(&b, "\n## `%s`\n\n", name)
		if d := str(s["description"]); d != "" {
			fmt.Fprintf(&b, "%s\n\n", d)
		}
		fmt.Fprintf(&b, "Declare it in a policy with `schemas: [{input: schema.%s}]`.\n\n", name)
		b.WriteString("| field | type | description |\n|---|---|---|\n")
		defs, _ := s["definitions"].(map[string]any)
		walkSchema(&b, "input", s, defs, map[string]bool{})
	}
	_, err = io.WriteString(w, b.String())
	return err
}

func walkSchema(b *strings.Builder, path string, s map[string]any, defs map[string]any, seen map[string]bool) {
	props, _ := s["properties"].(map[string]any)
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p, _ := props[k].(map[string]any)
		field := path + "." + k
		resolved, ref := resolve(p, defs)
		desc := str(p["description"])
		if desc == "" {
			desc = str(resolved["description"])
		}
		typ := typeOf(resolved)
		if items, ok := resolved["items"].(map[string]any); ok && typ == "array" {
			it, iref := resolve(items, defs)
			typ = "array of " + typeOf(it)
			if str(it["description"]) != "" && desc == "" {
				desc = str(it["description"])
			}
			fmt.Fprintf(b, "| `%s` | %s | %s |\n", field, typ, cell(desc))
			if _, has := it["properties"]; has && !seen[iref] {
				walkSchema(b, field+"[_]", it, defs, mark(seen, iref))
			}
			continue
		}
		fmt.Fprintf(b, "| `%s` | %s | %s |\n", field, typ, cell(desc))
		if _, has := resolved["properties"]; has && !seen[ref] {
			walkSchema(b, field, resolved, defs, mark(seen, ref))
		}
	}
}

// mark returns seen plus ref, so recursive definitions stop.
func mark(seen map[string]bool, ref string) map[string]bool {
	if ref == "" {
		return seen
	}
	c := make(map[string]bool, len(seen)+1)
	for k := range seen {
		c[k] = true
	}
	c[ref] = true
	return c
}

func resolve(p map[string]any, defs map[string]any) (map[string]any, string) {
	ref := str(p["$ref"])
	if ref == "" {
		return p, ""
	}
	d, _ := defs[strings.TrimPrefix(ref, "#/definitions/")].(map[string]any)
	if d == nil {
		return p, ref
	}
	return d, ref
}

func typeOf(s map[string]any) string {
	if c, ok := s["const"]; ok {
		b, _ := json.Marshal(c)
		return "`" + string(b) + "`"
	}
	if e, ok := s["enum"].([]any); ok {
		var parts []string
		for _, v := range e {
			b, _ := json.Marshal(v)
			parts = append(parts, "`"+string(b)+"`")
		}
		return strings.Join(parts, " \\| ")
	}
	switch t := s["type"].(type) {
	case string:
		return t
	case []any:
		var parts []string
		for _, v := range t {
			parts = append(parts, str(v))
		}
		return strings.Join(parts, " or ")
	}
	return "any"
}

func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", "\\|"), "\n", " ")
}

func str(v any) string { s, _ := v.(string); return s }
