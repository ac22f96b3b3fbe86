package config

import (
	"encoding/json"
	"regexp"
)

// spec describes one value of the configuration file. The decoder checks a
// file against it and Schema renders it as JSON Schema, so the two cannot
// disagree about which keys and types are valid.
type spec struct {
	typ         valueType
	description string
	fields      []field // typeObject: the keys allowed, in documentation order
	values      *spec   // typeMap: the value of every key
	keyPattern  *regexp.Regexp
	keyExample  string // typeMap: shown in messages about a bad key
	items       *spec  // typeList
	enum        []string
	minimum     *int
	nonEmpty    bool // strings and lists
}

type field struct {
	key      string
	required bool
	spec     *spec
}

type valueType int

const (
	typeInt valueType = iota
	typeString
	typeDate // YYYY-MM-DD, quoted or not
	typeGlob // a string checked as a glob pattern
	typeList
	typeObject
	typeMap
)

var (
	// RuleIDPattern matches a rule ID as the engine accepts it.
	ruleIDPattern = regexp.MustCompile(`^[A-Z][A-Z0-9_-]*[0-9]+$`)
	zero          = 0
)

// fileSpec is the whole .dwf-policy.yaml.
var fileSpec = &spec{
	typ:         typeObject,
	description: "dwf-policy configuration (.dwf-policy.yaml). Paths and globs are relative to the directory of this file.",
	fields: []field{
		{key: "uid", spec: &spec{typ: typeInt, minimum: &zero,
			description: "The UID images must run as (data.dwf.config.uid). Default 1001."}},
		{key: "user", spec: &spec{typ: typeString, nonEmpty: true,
			description: "The user name images must run as (data.dwf.config.user). Default dwfuser."}},
		{key: "init", spec: &spec{typ: typeList,
			description: "Init binaries accepted as PID 1, by base name (data.dwf.config.init). Default [tini].",
			items:       &spec{typ: typeString, nonEmpty: true}}},
		{key: "trivy", spec: &spec{typ: typeObject,
			description: "Settings of the Trivy rules.",
			fields: []field{
				{key: "severities", spec: &spec{typ: typeList, nonEmpty: true,
					description: "Severities a Trivy scan must fail on (data.dwf.config.trivy_severities). Default [CRITICAL, HIGH].",
					items:       &spec{typ: typeString, enum: []string{"CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"}}}},
			}}},
		{key: "rules", spec: &spec{typ: typeMap,
			description: "Severity overrides by rule ID; off turns a rule off.",
			keyPattern:  ruleIDPattern, keyExample: "DWF104",
			values: &spec{typ: typeString, enum: []string{"off", "note", "warning", "error"}}}},
		{key: "exclude", spec: &spec{typ: typeList,
			description: "Globs of paths never checked. ** matches any number of directories; a pattern that matches a directory excludes everything below it.",
			items:       &spec{typ: typeGlob, nonEmpty: true}}},
		{key: "policies", spec: &spec{typ: typeList,
			description: "Directories of custom .rego policies or OPA bundle files (.tar.gz), loaded after the built-in rules.",
			items:       &spec{typ: typeString, nonEmpty: true}}},
		{key: "exceptions", spec: &spec{typ: typeList,
			description: "Findings of one rule that do not count in the given paths, with the reason and an optional expiry date.",
			items: &spec{typ: typeObject, fields: []field{
				{key: "rule", required: true, spec: &spec{typ: typeString, nonEmpty: true,
					description: "The rule ID, e.g. DWF104."}},
				{key: "paths", required: true, spec: &spec{typ: typeList, nonEmpty: true,
					description: "Globs of the files the exception covers.",
					items:       &spec{typ: typeGlob, nonEmpty: true}}},
				{key: "reason", required: true, spec: &spec{typ: typeString, nonEmpty: true,
					description: "Why the findings are accepted; shown as the suppression's justification in SARIF."}},
				{key: "expires", spec: &spec{typ: typeDate,
					description: "YYYY-MM-DD: from this day (UTC) on the exception no longer applies and DWF001 reports it."}},
			}}}},
	},
}

// Schema returns the JSON Schema (draft 2020-12) of the configuration file,
// for editors and `dwf-policy config schema`.
func Schema() []byte {
	s := fileSpec.jsonSchema()
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = "https://github.com/devflow/dwf-policy/dwf-policy.schema.json"
	s["title"] = ".dwf-policy.yaml"
	out, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		panic(err) // only maps, strings and numbers: cannot fail
	}
	return append(out, '\n')
}

func (s *spec) jsonSchema() map[string]any {
	out := map[string]any{}
	if s.description != "" {
		out["description"] = s.description
	}
	switch s.typ {
	case typeInt:
		out["type"] = "integer"
		if s.minimum != nil {
			out["minimum"] = *s.minimum
		}
	case typeString, typeGlob:
		out["type"] = "string"
		if s.nonEmpty {
			out["minLength"] = 1
		}
		if len(s.enum) > 0 {
			out["enum"] = s.enum
		}
	case typeDate:
		out["type"] = "string"
		out["format"] = "date"
		out["pattern"] = `^[0-9]{4}-[0-9]{2}-[0-9]{2}$`
	case typeList:
		out["type"] = "array"
		out["items"] = s.items.jsonSchema()
		if s.nonEmpty {
			out["minItems"] = 1
		}
	case typeObject:
		out["type"] = "object"
		props := map[string]any{}
		var required []string
		for _, f := range s.fields {
			props[f.key] = f.spec.jsonSchema()
			if f.required {
				required = append(required, f.key)
			}
		}
		out["properties"] = props
		if len(required) > 0 {
			out["required"] = required
		}
		out["additionalProperties"] = false
	case typeMap:
		out["type"] = "object"
		out["propertyNames"] = map[string]any{"pattern": s.keyPattern.String()}
		out["additionalProperties"] = s.values.jsonSchema()
	}
	return out
}
