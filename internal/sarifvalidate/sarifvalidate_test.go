package sarifvalidate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// binary returns the multitool or skips (fails on CI) like Validate does.
func binary(t *testing.T) string {
	t.Helper()
	bin, err := Binary()
	if errors.Is(err, ErrNotInstalled) && os.Getenv("CI") == "" {
		t.Skipf("%v; install it with %s", err, InstallCommand)
	}
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func check(t *testing.T, bin string, data []byte) []Problem {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "in.sarif")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	problems, err := Check(t.Context(), bin, path, dir)
	if err != nil {
		t.Fatal(err)
	}
	return problems
}

func TestCheckAcceptsValidFile(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	data, err := os.ReadFile("testdata/valid.sarif")
	if err != nil {
		t.Fatal(err)
	}
	if problems := check(t, bin, data); len(problems) != 0 {
		t.Errorf("valid.sarif: want no problems, got:\n%s", join(problems))
	}
}

// A validator that cannot fail is worthless: every case breaks valid.sarif
// in one way and must be reported under the expected rule.
func TestCheckCatchesBrokenFiles(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	valid, err := os.ReadFile("testdata/valid.sarif")
	if err != nil {
		t.Fatal(err)
	}
	rule := func(m map[string]any) map[string]any { return at(m, "runs", 0, "tool", "driver", "rules", 0) }
	result := func(m map[string]any) map[string]any { return at(m, "runs", 0, "results", 0) }
	physical := func(m map[string]any) map[string]any {
		return at(result(m), "locations", 0, "physicalLocation")
	}
	tests := []struct {
		name     string
		mutate   func(m map[string]any) // nil: use raw
		raw      string
		wantRule string
	}{
		{
			name:     "missing region",
			mutate:   func(m map[string]any) { delete(physical(m), "region") },
			wantRule: "GH1003",
		},
		{
			name:     "null region",
			mutate:   func(m map[string]any) { physical(m)["region"] = nil },
			wantRule: "JSON1001",
		},
		{
			name: "null suppression fields",
			mutate: func(m map[string]any) {
				result(m)["suppressions"] = []any{map[string]any{"kind": "inSource", "location": nil, "guid": nil}}
			},
			wantRule: "JSON1001",
		},
		{
			name:     "unencoded space in uri",
			mutate:   func(m map[string]any) { at(physical(m), "artifactLocation")["uri"] = "dir with space/file.txt" },
			wantRule: "SARIF1002",
		},
		{
			name: "absolute file uri",
			mutate: func(m map[string]any) {
				physical(m)["artifactLocation"] = map[string]any{"uri": "file:///src/file.txt"}
			},
			wantRule: "GH1006",
		},
		{
			name:     "missing location",
			mutate:   func(m map[string]any) { delete(result(m), "locations") },
			wantRule: "GH1001",
		},
		{
			name: "message without text",
			mutate: func(m map[string]any) {
				result(m)["message"] = map[string]any{"id": "default", "arguments": []any{"x"}}
			},
			wantRule: "GH1007",
		},
		{
			name:     "rule without help",
			mutate:   func(m map[string]any) { delete(rule(m), "help") },
			wantRule: "GH2012",
		},
		{
			name:     "run without results",
			mutate:   func(m map[string]any) { delete(at(m, "runs", 0), "results") },
			wantRule: "GH1014",
		},
		{
			name:     "not JSON",
			raw:      `{"version": "2.1.0", "runs": [`,
			wantRule: "JSON0001",
		},
		{
			name:     "empty file",
			raw:      "",
			wantRule: "ERR997.NoValidAnalysisTargets",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := []byte(tt.raw)
			if tt.mutate != nil {
				var m map[string]any
				if err := json.Unmarshal(valid, &m); err != nil {
					t.Fatal(err)
				}
				tt.mutate(m)
				var err error // not the parent's: subtests run in parallel
				if data, err = json.MarshalIndent(m, "", "  "); err != nil {
					t.Fatal(err)
				}
			}
			problems := check(t, bin, data)
			for _, p := range problems {
				if p.RuleID == tt.wantRule {
					return
				}
			}
			t.Errorf("want a %s problem, got %d:\n%s", tt.wantRule, len(problems), join(problems))
		})
	}
}

// recordingTB captures what Validate reports instead of failing the test.
type recordingTB struct {
	testing.TB
	errors []string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestValidateReportsProblemsToT(t *testing.T) {
	t.Parallel()
	binary(t)
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.sarif")
	data, err := os.ReadFile("testdata/valid.sarif")
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.Replace(string(data), `"security-severity": "5.0"`, `"security-severity": 5.0`, 1))
	if err := os.WriteFile(broken, data, 0o644); err != nil {
		t.Fatal(err)
	}

	rec := &recordingTB{TB: t}
	Validate(rec, "testdata/valid.sarif")
	if len(rec.errors) != 0 {
		t.Errorf("Validate(valid.sarif) reported:\n%s", strings.Join(rec.errors, "\n"))
	}
	rec = &recordingTB{TB: t}
	Validate(rec, broken)
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "security-severity") {
		t.Errorf("Validate(broken.sarif): want one security-severity error, got:\n%s", strings.Join(rec.errors, "\n"))
	}
}

// githubProblems needs no multitool; Validate's test above shows its
// problems reach t.
func TestGitHubProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		properties string
		want       []string // substrings, one per problem
	}{
		{"valid", `{"tags": ["security"], "security-severity": "8.0"}`, nil},
		{"no properties", `null`, nil},
		{"boundaries", `{"security-severity": "0"}`, nil},
		{"number", `{"security-severity": 8.0}`, []string{`must be a string such as "8.0", not 8.0`}},
		{"not a number", `{"security-severity": "high"}`, []string{`"high" is not a number`}},
		{"out of range", `{"security-severity": "10.5"}`, []string{`"10.5" is not a number from 0.0 to 10.0`}},
		{"tags not strings", `{"tags": "security"}`, []string{"tags must be an array of strings"}},
	}
	for _, tt := range tests {
		data := `{"runs": [{"tool": {"driver": {"name": "x", "rules": [{"id": "A"}, {"id": "B", "properties": ` + tt.properties + `}]}}}]}`
		got := githubProblems([]byte(data))
		if len(got) != len(tt.want) {
			t.Errorf("%s: want %d problems, got:\n%s", tt.name, len(tt.want), join(got))
			continue
		}
		for i, p := range got {
			if !strings.Contains(p.Message, tt.want[i]) || !strings.HasPrefix(p.Message, "runs[0].tool.driver.rules[1].properties: ") {
				t.Errorf("%s: problem %d = %q, want it about rules[1] and containing %q", tt.name, i, p.Message, tt.want[i])
			}
		}
	}
}

func TestParseVerdict(t *testing.T) {
	t.Parallel()
	// Shaped like the multitool's output: levels may be omitted and then
	// come from the rule's default (or are "warning"); messages may be an
	// id and arguments into the rule's messageStrings.
	const out = `{"runs": [{
	  "tool": {"driver": {"name": "Sarif.Multitool", "rules": [
	    {"id": "JSON1001", "defaultConfiguration": {"level": "error"},
	     "messageStrings": {"default": {"text": "{0}: wrong type '{1}' {{sic}}"}}},
	    {"id": "SARIF2017"},
	    {"id": "GH1003", "messageStrings": {"MissingRegion": {"text": "{0}: no region"}}}
	  ]}},
	  "invocations": [{"executionSuccessful": true, "toolExecutionNotifications": [
	    {"level": "note", "message": {"text": "fine"}, "descriptor": {"id": "INF1"}},
	    {"level": "error", "message": {"text": "could not read"}, "descriptor": {"id": "ERR1"}}
	  ]}],
	  "results": [
	    {"ruleId": "JSON1001", "ruleIndex": 0, "message": {"id": "default", "arguments": ["runs[0]", "Null"]},
	     "locations": [{"physicalLocation": {"region": {"startLine": 3, "startColumn": 7}}}]},
	    {"ruleId": "SARIF2017", "ruleIndex": 1, "message": {"text": "advice"}},
	    {"ruleId": "GH1003", "ruleIndex": 2, "level": "warning", "message": {"id": "MissingRegion", "arguments": ["runs[0].results[0]"]}},
	    {"ruleId": "SARIF2002", "level": "note", "message": {"text": "a note"}}
	  ]
	}]}`
	got, err := parseVerdict([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := []Problem{
		{RuleID: "ERR1", Level: "error", Message: "could not read"},
		{RuleID: "JSON1001", Level: "error", Message: "runs[0]: wrong type 'Null' {sic}", Line: 3, Column: 7},
		{RuleID: "GH1003", Level: "warning", Message: "runs[0].results[0]: no region"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseVerdict (-want +got):\n%s", diff)
	}
}

func TestFormatMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		args []string
		want string
	}{
		{"plain", nil, "plain"},
		{"{0} and {1}", []string{"a", "b"}, "a and b"},
		{"{{literal}} {0}", []string{"x"}, "{literal} x"},
		{"missing {2}", []string{"a"}, "missing {2}"},
		{"unclosed {0", []string{"a"}, "unclosed {0"},
	}
	for _, tt := range tests {
		if got := formatMessage(tt.text, tt.args); got != tt.want {
			t.Errorf("formatMessage(%q, %q) = %q, want %q", tt.text, tt.args, got, tt.want)
		}
	}
}

func TestCheckWithoutOutputIsAnError(t *testing.T) {
	t.Parallel()
	// A "multitool" that writes nothing must not pass as a clean verdict.
	dir := t.TempDir()
	fake := filepath.Join(dir, "fake-multitool")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Check(context.Background(), fake, "testdata/valid.sarif", dir); err == nil {
		t.Error("Check with a tool that writes no output log: want an error, got none")
	}
}

// at walks a decoded JSON value by keys and indexes to an object.
func at(v any, path ...any) map[string]any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v.(map[string]any)
}

func join(ps []Problem) string {
	var sb strings.Builder
	for _, p := range ps {
		sb.WriteString(p.String())
		sb.WriteByte('\n')
	}
	return sb.String()
}
