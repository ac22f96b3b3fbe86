package config

import (
	"encoding/json"
	"regexp"
	"strconv"
	"sync"

	"github.com/devflow/dwf-policy/engine/finding"
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
	keyWhat     string // typeMap: what a key is ("a rule ID"), for messages
	items       *spec  // typeList
	enum        []string
	// pattern, when set, is what a string must match, and patternWhat
	// says what it is in messages ("a file name without `/`").
	pattern     *regexp.Regexp
	patternWhat string
	minimum     *int
	nonEmpty    bool // strings and lists
	// maxItems, when not 0, bounds a list whose every entry is matched
	// against every file or branch a run sees.
	maxItems int
}

// maxScanListItems bounds scans.lockfiles and scans.default_branches:
// each lockfile glob is matched against every file name of the
// repository walk, each branch against every branch filter, so ten
// thousand of them made a check of 2,000 files take 25 times as long.
const maxScanListItems = 256

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
	typeBool
	typeDuration // 7d, 36h, 90m: days, hours, minutes
)

var zero = 0

// fileSpec is the whole .dwf-policy.yaml. It and the sections it holds are
// made when a configuration is first read: most checks have none.
var fileSpec = sync.OnceValue(func() *spec {
	// fileNamePattern is a file name: no directory separator.
	fileNamePattern := regexp.MustCompile(`^[^/\\]+$`)
	return &spec{
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
			{key: "vulnerabilities", spec: vulnerabilitiesSpec()},
			{key: "bake", spec: &spec{typ: typeObject,
				description: "Settings of the bake rules (DWF501-DWF503).",
				fields: []field{
					{key: "platforms", spec: &spec{typ: typeList, nonEmpty: true,
						description: "Platforms every image-building bake target must build (data.dwf.config.bake_platforms). Default [linux/amd64, linux/arm64].",
						items:       &spec{typ: typeString, nonEmpty: true}}},
					{key: "compression", spec: &spec{typ: typeString, enum: []string{"zstd", "gzip", "estargz", "uncompressed"},
						description: "The layer compression image outputs must ask for (data.dwf.config.bake_compression). Default zstd."}},
					{key: "cache_mode", spec: &spec{typ: typeString, enum: []string{"max", "min"},
						description: "The mode a registry or gha cache-to must use (data.dwf.config.bake_cache_mode). Default max."}},
				}}},
			{key: "scans", spec: &spec{typ: typeObject,
				description: "Settings of the scanning-layer rules (DWF207-DWF210).",
				fields: []field{
					{key: "lockfiles", spec: &spec{typ: typeList, nonEmpty: true, maxItems: maxScanListItems,
						description: "File names (globs over the base name: * and ? as in a shell, [] classes) of the lockfiles whose change must trigger an image scan when they sit at the repository root or next to a Dockerfile (DWF210; data.dwf.config.scan_lockfiles); at most " + strconv.Itoa(maxScanListItems) + ". Default " + defaultLockfilesText + ".",
						items:       &spec{typ: typeGlob, nonEmpty: true, pattern: fileNamePattern, patternWhat: "a file name without `/`"}}},
					{key: "default_branches", spec: &spec{typ: typeList, nonEmpty: true, maxItems: maxScanListItems,
						description: "Branch names any of which may be the repository's default branch, which CodeQL must scan on push (DWF207; data.dwf.config.default_branches); at most " + strconv.Itoa(maxScanListItems) + ". Default [main, master].",
						items:       &spec{typ: typeString, nonEmpty: true}}},
				}}},
			{key: "rules", spec: &spec{typ: typeMap,
				description: "Severity overrides by rule ID; off turns a rule off.",
				keyPattern:  finding.RuleIDPattern, keyExample: "DWF104", keyWhat: "a rule ID",
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
			{key: "webhook", spec: webhookSpec()},
		},
	}
})

// severities are Trivy's, most severe first.
var severities = []string{"CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"}

// vulnerabilitiesSpec is the `vulnerabilities:` section: what Trivy
// reports may contain (DWF401-DWF404).
var vulnerabilitiesSpec = sync.OnceValue(func() *spec {
	return &spec{typ: typeObject,
		description: "Thresholds for Trivy vulnerability reports (DWF401-DWF404). The blocked severities are trivy.severities.",
		fields: []field{
			{key: "ignore_unfixed", spec: &spec{typ: typeBool,
				description: "Vulnerabilities without a fixed version do not count (as trivy --ignore-unfixed). Default false."}},
			{key: "max", spec: &spec{typ: typeMap,
				description: "How many vulnerabilities of a blocked severity are tolerated, by severity: `HIGH: 3` lets up to three HIGH ones pass. Default 0 for every severity.",
				keyPattern:  regexp.MustCompile(`^(CRITICAL|HIGH|MEDIUM|LOW|UNKNOWN)$`), keyExample: "HIGH", keyWhat: "a severity",
				values: &spec{typ: typeInt, minimum: &zero}}},
			{key: "unknown_as", spec: &spec{typ: typeString, enum: severities[:4],
				description: "The severity a vulnerability of UNKNOWN severity is treated as. Default HIGH."}},
			{key: "max_age", spec: &spec{typ: typeDuration,
				description: "How old a report may be before DWF402 reports it stale: a number of days (7d), hours (36h) or minutes (90m). Default 7d."}},
			{key: "require_report", spec: &spec{typ: typeBool,
				description: "An image checked with `dwf-policy image` must have a Trivy report (DWF404). Default false."}},
			{key: "ignore", spec: &spec{typ: typeList,
				description: "Vulnerabilities accepted with a reason and an expiry, as in .trivyignore.yaml: the findings are kept, marked suppressed with the reason.",
				items: &spec{typ: typeObject, fields: []field{
					{key: "id", required: true, spec: &spec{typ: typeString, nonEmpty: true,
						description: "The vulnerability ID, e.g. CVE-2024-3094."}},
					{key: "packages", spec: &spec{typ: typeList, nonEmpty: true,
						description: "Package names the entry is limited to; default every package.",
						items:       &spec{typ: typeString, nonEmpty: true}}},
					{key: "paths", spec: &spec{typ: typeList, nonEmpty: true,
						description: "Globs of the targets or package paths inside the scanned artifact (as Trivy's paths) the entry is limited to; default all.",
						items:       &spec{typ: typeGlob, nonEmpty: true}}},
					{key: "reason", required: true, spec: &spec{typ: typeString, nonEmpty: true,
						description: "Why the vulnerability is accepted; shown as the suppression's justification in SARIF."}},
					{key: "expires", spec: &spec{typ: typeDate,
						description: "YYYY-MM-DD: from this day (UTC) on the entry no longer applies and DWF001 reports it."}},
				}}}},
		}}
})

// SchemaURL is where the schema is published (docs/dwf-policy.schema.json,
// generated by `make docs`); editors read it from a comment in the file:
// `# yaml-language-server: $schema=<SchemaURL>`.
const SchemaURL = "https://raw.githubusercontent.com/devflow/dwf-policy/main/docs/dwf-policy.schema.json"

// Schema returns the JSON Schema of the configuration file (draft-07, which
// editors support best), for editors and `dwf-policy config schema`.
func Schema() []byte {
	s := fileSpec().jsonSchema()
	s["$schema"] = "http://json-schema.org/draft-07/schema#"
	s["$id"] = SchemaURL
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
		if s.pattern != nil {
			out["pattern"] = s.pattern.String()
		}
	case typeBool:
		out["type"] = "boolean"
	case typeDuration:
		out["type"] = "string"
		out["pattern"] = durationPattern().String()
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
		if s.maxItems > 0 {
			out["maxItems"] = s.maxItems
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
