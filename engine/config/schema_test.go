package config

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/rego"
	"gopkg.in/yaml.v3"
)

// The configuration keys of issue 4: a contract with users' files.
var contractKeys = []string{
	"bake", "bake.cache_mode", "bake.compression", "bake.platforms",
	"exceptions", "exceptions[].expires", "exceptions[].paths", "exceptions[].reason", "exceptions[].rule",
	"exclude", "init", "policies", "rules", "trivy", "trivy.severities", "uid", "user",
	// issue 13
	"vulnerabilities", "vulnerabilities.ignore", "vulnerabilities.ignore[].expires", "vulnerabilities.ignore[].id",
	"vulnerabilities.ignore[].packages", "vulnerabilities.ignore[].paths", "vulnerabilities.ignore[].reason",
	"vulnerabilities.ignore_unfixed", "vulnerabilities.max", "vulnerabilities.max_age",
	"vulnerabilities.require_report", "vulnerabilities.unknown_as",
	// issue 11: serve's settings
	"webhook", "webhook.allowed_registries", "webhook.docker_config", "webhook.exempt_namespaces", "webhook.fail_on",
	"webhook.gate", "webhook.gate.exempt", "webhook.gate.mode", "webhook.gate.only", "webhook.insecure_registries",
	"webhook.mode", "webhook.on_error", "webhook.pull_secrets", "webhook.rule_modes",
	// issue 19
	"scans", "scans.default_branches", "scans.lockfiles",
}

// TestSchemaListsTheDecoderKeys: the published schema names exactly the
// keys the decoder accepts, which are the contract's.
func TestSchemaListsTheDecoderKeys(t *testing.T) {
	contractKeys := slices.Sorted(slices.Values(contractKeys))
	var schema map[string]any
	if err := json.Unmarshal(Schema(), &schema); err != nil {
		t.Fatal(err)
	}
	var got []string
	var walk func(prefix string, s map[string]any)
	walk = func(prefix string, s map[string]any) {
		if props, ok := s["properties"].(map[string]any); ok {
			for k, v := range props {
				got = append(got, prefix+k)
				walk(prefix+k+".", v.(map[string]any))
			}
		}
		if items, ok := s["items"].(map[string]any); ok {
			walk(prefix[:len(prefix)-1]+"[].", items)
		}
	}
	walk("", schema)
	sort.Strings(got)
	if diff := cmp.Diff(contractKeys, got); diff != "" {
		t.Errorf("schema keys (-contract +schema):\n%s", diff)
	}
	var decoderKeys []string
	var walkSpec func(prefix string, s *spec)
	walkSpec = func(prefix string, s *spec) {
		for _, f := range s.fields {
			decoderKeys = append(decoderKeys, prefix+f.key)
			walkSpec(prefix+f.key+".", f.spec)
		}
		if s.items != nil {
			walkSpec(prefix[:len(prefix)-1]+"[].", s.items)
		}
	}
	walkSpec("", fileSpec())
	sort.Strings(decoderKeys)
	if diff := cmp.Diff(contractKeys, decoderKeys); diff != "" {
		t.Errorf("decoder keys (-contract +decoder):\n%s", diff)
	}
}

// TestSchemaAgreesWithDecoder validates documents with the JSON Schema (OPA's
// json.match_schema, an independent validator) and with the decoder: both
// must accept the README's example and reject the same mistakes.
func TestSchemaAgreesWithDecoder(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "..", "testdata", "config-example", FileName))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		yaml  string
		valid bool
	}{
		{"README example", string(example), true},
		{"empty mapping", "{}", true},
		{"every key", "uid: 0\nuser: u\ninit: []\ntrivy: {severities: [LOW]}\nrules: {ACME7: off}\nexclude: [a]\npolicies: [p]\nexceptions: [{rule: X1, paths: [a], reason: r, expires: 2030-01-01}]\n", true},
		{"unknown top-level key", "exlude: [a]\n", false},
		{"unknown trivy key", "trivy: {severity: [HIGH]}\n", false},
		{"unknown exception key", "exceptions: [{rule: X1, paths: [a], reason: r, until: 2030-01-01}]\n", false},
		{"missing reason", "exceptions: [{rule: X1, paths: [a]}]\n", false},
		{"missing paths", "exceptions: [{rule: X1, reason: r}]\n", false},
		{"empty reason", "exceptions: [{rule: X1, paths: [a], reason: ''}]\n", false},
		{"empty paths", "exceptions: [{rule: X1, paths: [], reason: r}]\n", false},
		{"uid as string", "uid: '1001'\n", false},
		{"negative uid", "uid: -1\n", false},
		{"user as number", "user: 1001\n", false},
		{"init as string", "init: tini\n", false},
		{"bad severity", "rules: {DWF104: warn}\n", false},
		{"bad rule ID", "rules: {dwf104: off}\n", false},
		{"bad trivy severity", "trivy: {severities: [SEVERE]}\n", false},
		{"empty trivy severities", "trivy: {severities: []}\n", false},
		{"scans", "scans: {lockfiles: [go.sum, 'requirements*.txt'], default_branches: [trunk]}\n", true},
		{"lockfile with a directory", "scans: {lockfiles: [app/go.sum]}\n", false},
		{"empty lockfiles", "scans: {lockfiles: []}\n", false},
		{"unknown scans key", "scans: {lockfile: [go.sum]}\n", false},
		{"default branch as list of numbers", "scans: {default_branches: [1]}\n", false},
		{"256 lockfiles", "scans: {lockfiles: [" + strings.Repeat("a.lock, ", 255) + "a.lock]}\n", true},
		{"257 lockfiles", "scans: {lockfiles: [" + strings.Repeat("a.lock, ", 256) + "a.lock]}\n", false},
		{"257 default branches", "scans: {default_branches: [" + strings.Repeat("b, ", 256) + "b]}\n", false},
		{"bad date", "exceptions: [{rule: X1, paths: [a], reason: r, expires: 'next year'}]\n", false},
		{"webhook section", "webhook: {mode: warn, rule_modes: {DWF603: audit}, fail_on: note, on_error: allow, exempt_namespaces: [a], allowed_registries: [r], insecure_registries: [r], pull_secrets: true, docker_config: c.json, gate: {mode: audit, exempt: [m/*], only: [t/*]}}\n", true},
		{"bad webhook mode", "webhook: {mode: block}\n", false},
		{"bad webhook rule mode", "webhook: {rule_modes: {DWF603: deny}}\n", false},
		{"unknown webhook key", "webhook: {listen: ':8443'}\n", false},
		{"unknown gate key", "webhook: {gate: {upstream: x}}\n", false},
		{"pull_secrets as string", "webhook: {pull_secrets: 'true'}\n", false},
		{"webhook section", "webhook: {mode: warn, rule_modes: {DWF603: audit}, fail_on: note, on_error: allow, exempt_namespaces: [a], allowed_registries: [r], insecure_registries: [r], pull_secrets: true, docker_config: c.json, gate: {mode: audit, exempt: [m/*], only: [t/*]}}\n", true},
		{"bad webhook mode", "webhook: {mode: block}\n", false},
		{"bad webhook rule mode", "webhook: {rule_modes: {DWF603: deny}}\n", false},
		{"unknown webhook key", "webhook: {listen: ':8443'}\n", false},
		{"unknown gate key", "webhook: {gate: {upstream: x}}\n", false},
		{"pull_secrets as string", "webhook: {pull_secrets: 'true'}\n", false},
	}
	ctx := context.Background()
	var schema any
	if err := json.Unmarshal(Schema(), &schema); err != nil {
		t.Fatal(err)
	}
	pq, err := rego.New(rego.Query("result := json.match_schema(input.doc, input.schema)")).PrepareForEval(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, decErr := Decode("c.yaml", "/repo", []byte(tc.yaml))
			if (decErr == nil) != tc.valid {
				t.Errorf("decoder: err = %v, want valid = %v", decErr, tc.valid)
			}
			var doc any
			if err := yaml.Unmarshal([]byte(tc.yaml), &doc); err != nil {
				t.Fatal(err)
			}
			rs, err := pq.Eval(ctx, rego.EvalInput(map[string]any{"doc": jsonable(doc), "schema": schema}))
			if err != nil || len(rs) != 1 {
				t.Fatalf("match_schema: %v %v", rs, err)
			}
			res := rs[0].Bindings["result"].([]any)
			if ok := res[0].(bool); ok != tc.valid {
				t.Errorf("schema: valid = %v, want %v (%v)", ok, tc.valid, res[1])
			}
		})
	}
}

// jsonable turns what yaml.v3 decodes into JSON values: dates become
// YYYY-MM-DD strings, as in the file.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, v := range x {
			out[k] = jsonable(v)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, v := range x {
			out[i] = jsonable(v)
		}
		return out
	case time.Time:
		return x.Format(time.DateOnly)
	}
	return v
}
