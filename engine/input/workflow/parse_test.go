package workflow

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/devflow/dwf-policy/engine/document"
)

// parseError parses src and requires a *document.ParseError.
func parseError(t *testing.T, src string, opts Options) *document.ParseError {
	t.Helper()
	doc, err := Parse(".github/workflows/ci.yml", []byte(src), opts)
	if doc != nil {
		t.Fatalf("got a document, want a parse error")
	}
	var pe *document.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("got %T %v, want *document.ParseError", err, err)
	}
	if pe.Path != ".github/workflows/ci.yml" {
		t.Errorf("path %q", pe.Path)
	}
	return pe
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		msg       string // substring of the message
		line, col int    // 0: no position
	}{
		{"unclosed flow sequence", "on: [push\njobs:\n", "could not parse as YAML", 2, 5},
		{"tab indentation", "on: push\njobs:\n\tbuild: {}\n", "could not parse as YAML", 3, 0},
		{"bad indentation", "on: push\njobs:\n  a:\n    runs-on: x\n   steps: []\n", "could not parse as YAML", 3, 3},
		{"mapping value in plain scalar", "on: push\njobs:\n  a: b: c\n", "mapping values are not allowed", 3, 7},
		{"empty", "", "workflow is empty", 1, 1},
		{"comments only", "# nothing\n", "workflow is empty", 1, 1},
		{"not a mapping", "- on\n- jobs\n", "invalid workflow", 1, 1},
		{"missing jobs", "on: push\n", `"jobs" section is missing`, 1, 1},
		{"missing on", "jobs:\n  a:\n    runs-on: x\n    steps: [{run: make}]\n", `"on" section is missing`, 1, 1},
		{"unknown top-level key", "on: push\npermision: read-all\njobs:\n  a:\n    runs-on: x\n    steps: [{run: make}]\n", `unexpected key "permision"`, 2, 1},
		{"step without run or uses", "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - name: nothing\n", "step must run script", 6, 9},
		{"merge key", "on: push\njobs:\n  a: &a\n    runs-on: x\n    steps: [{run: make}]\n  b:\n    <<: *a\n", `"steps" section is missing in job "b" (and 3 more problems)`, 6, 3},
		{"recursive alias", "on: push\njobs:\n  a: &a\n    runs-on: x\n    steps: [{run: make}]\n    x: *a\n", "", 0, 0},
		{"duplicate key", "on: push\non: pull_request\njobs:\n  a:\n    runs-on: x\n    steps: [{run: make}]\n", "duplicated", 2, 1},
		{"empty permissions", "on: push\npermissions:\njobs:\n  a:\n    runs-on: x\n    steps: [{run: make}]\n", "`permissions:` has no value, and GitHub refuses", 2, 1},
		{"empty job permissions", "on: push\npermissions: {}\njobs:\n  a:\n    runs-on: x\n    permissions:\n    steps: [{run: make}]\n", "write `permissions: {}` for a token with no scopes", 6, 5},
		{"deep nesting", "on: " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "\njobs: {}\n", "max depth", 0, 0},
		{"continue-on-error string", "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: make\n        continue-on-error: 'yes'\n", "", 7, 28},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pe := parseError(t, tc.src, Options{})
			if !strings.Contains(pe.Message, tc.msg) {
				t.Errorf("message %q does not contain %q", pe.Message, tc.msg)
			}
			if tc.line != 0 && pe.Location.Line != tc.line {
				t.Errorf("line %d, want %d (%s)", pe.Location.Line, tc.line, pe.Message)
			}
			if tc.col != 0 && pe.Location.Column != tc.col {
				t.Errorf("column %d, want %d (%s)", pe.Location.Column, tc.col, pe.Message)
			}
		})
	}
}

func TestParseErrorMentionsMoreProblems(t *testing.T) {
	pe := parseError(t, "on: push\nfoo: 1\nbar: 2\njobs:\n  a:\n    runs-on: x\n    steps: [{run: make}]\n", Options{})
	if !strings.Contains(pe.Message, `unexpected key "foo"`) || !strings.Contains(pe.Message, "(and 1 more problems)") {
		t.Errorf("message %q", pe.Message)
	}
	if pe.Location != (document.Location{Line: 2, Column: 1, EndLine: 2, EndColumn: 3}) {
		t.Errorf("location %+v, want the `foo` key", pe.Location)
	}
}

func TestUnusedAnchorIsNotAnError(t *testing.T) {
	src := "on: push\npermissions: {contents: read}\njobs:\n  a:\n    runs-on: &os ubuntu-latest\n    steps: [{run: make}]\n"
	if _, err := Parse("ci.yml", []byte(src), Options{}); err != nil {
		t.Fatal(err)
	}
}

func TestSizeLimit(t *testing.T) {
	src := "on: push\njobs:\n  a:\n    runs-on: x\n    steps: [{run: make}]\n"
	pe := parseError(t, src+strings.Repeat("#", 100), Options{MaxBytes: 100})
	if !strings.Contains(pe.Message, "more than the 100-byte limit") || !pe.Location.IsZero() {
		t.Errorf("got %v", pe)
	}
	if _, err := Parse("ci.yml", []byte(src), Options{MaxBytes: len(src)}); err != nil {
		t.Errorf("a workflow at the limit: %v", err)
	}
	pe = parseError(t, src+strings.Repeat("#", DefaultMaxBytes), Options{})
	if !strings.Contains(pe.Message, fmt.Sprintf("more than the %d-byte limit", DefaultMaxBytes)) {
		t.Errorf("default limit: %v", pe)
	}
}

// billionLaughs nests depth levels of nine aliases: 9^depth nodes expanded.
func billionLaughs(depth int, at string) string {
	var b strings.Builder
	b.WriteString("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n")
	switch at {
	case "matrix":
		b.WriteString("    strategy:\n      matrix:\n")
	case "env":
		b.WriteString("    env:\n")
	}
	b.WriteString("        l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < depth; i++ {
		fmt.Fprintf(&b, "        l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	b.WriteString("    steps: [{run: make}]\n")
	return b.String()
}

func TestYAMLBomb(t *testing.T) {
	for _, at := range []string{"matrix", "env"} {
		t.Run(at, func(t *testing.T) {
			var m0, m1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m0)
			pe := parseError(t, billionLaughs(10, at), Options{})
			runtime.ReadMemStats(&m1)
			if !strings.Contains(pe.Message, "aliases expand") {
				t.Errorf("message %q", pe.Message)
			}
			if pe.Location.Line < 5 {
				t.Errorf("location %+v, want an alias", pe.Location)
			}
			if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 64<<20 {
				t.Errorf("allocated %d MiB on a %d-byte document", alloc>>20, len(billionLaughs(10, at)))
			}
		})
	}
	// A few levels of aliases are fine.
	if _, err := Parse("ci.yml", []byte(billionLaughs(3, "matrix")), Options{}); err != nil {
		t.Errorf("small alias use: %v", err)
	}
}

// bigWorkflow is a realistic workflow repeated up to about size bytes.
func bigWorkflow(size int) []byte {
	var b strings.Builder
	b.WriteString("on: push\npermissions: {contents: read}\njobs:\n")
	for i := 0; b.Len() < size-400; i++ {
		fmt.Fprintf(&b, "  job%d:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: |\n          set -euo pipefail\n          make build-%d\n          trivy image --exit-code 1 --severity CRITICAL,HIGH app:%d | tee out-%d.txt\n", i, i, i, i)
	}
	return []byte(b.String())
}

func TestFiveMegabyteWorkflow(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	src := bigWorkflow(DefaultMaxBytes)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	doc, err := Parse("ci.yml", src, Options{})
	runtime.ReadMemStats(&m1)
	if err != nil {
		t.Fatal(err)
	}
	jobs := doc.Input["jobs"].([]any)
	if len(jobs) < 20000 {
		t.Errorf("%d jobs", len(jobs))
	}
	last := jobs[len(jobs)-1].(map[string]any)["steps"].([]any)[1].(map[string]any)["trivy_scans"].([]any)
	if len(last) != 1 || last[0].(map[string]any)["propagation"] != "fails_step" {
		t.Errorf("last job's scan: %v", last)
	}
	// The document itself is large (a location map per fact); what matters
	// is that the cost is linear and bounded.
	if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 1536<<20 {
		t.Errorf("allocated %d MiB for %d bytes", alloc>>20, len(src))
	}
}

func TestNoPanicOnOddInputs(t *testing.T) {
	for _, src := range []string{
		"\x00\x01\x02",
		"\xff\xfe",
		"on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: \"trivy image \\\"$(\"\n",
		"on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: |\n          trivy image ${{ inputs.x }\n",
		"on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: 'if trivy image x; then'\n",
		"on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - shell: pwsh\n        run: trivy image x || exit 0\n",
		"---\non: push\njobs: {a: {runs-on: x, steps: [{run: make}]}}\n---\nother: doc\n",
		"on: push\njobs: {a: {runs-on: x, steps: [{run: \"f() { f; }; f; trivy image x\"}]}}\n",
	} {
		doc, err := Parse("ci.yml", []byte(src), Options{})
		var pe *document.ParseError
		if err != nil && !errors.As(err, &pe) {
			t.Errorf("%q: %v", src, err)
		}
		if err == nil && doc == nil {
			t.Errorf("%q: no document and no error", src)
		}
	}
}

func TestScriptParseErrorIsRecorded(t *testing.T) {
	doc, err := Parse("ci.yml", []byte(runWorkflow(`"trivy image 'unterminated"`, "")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	run := doc.Input["jobs"].([]any)[0].(map[string]any)["steps"].([]any)[0].(map[string]any)["run"].(map[string]any)
	if run["parse_error"] == "" {
		t.Errorf("no parse_error for an unterminated quote")
	}
}
