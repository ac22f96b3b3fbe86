package workflow

import (
	"fmt"
	"strings"
	"testing"

	"github.com/devflow/dwf-policy/engine/document"
)

// get walks doc along keys (string) and indexes (int).
func get(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not an object at %q", path, k)
			}
			v = m[k]
		case int:
			s, ok := v.([]any)
			if !ok || k >= len(s) {
				t.Fatalf("%v: no index %d", path, k)
			}
			v = s[k]
		}
	}
	return v
}

func locOf(t *testing.T, v any) string {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("not a location: %v", v)
	}
	return fmt.Sprintf("%d:%d-%d:%d", m["line"], m["column"], m["end_line"], m["end_column"])
}

const jobs = "jobs:\n  a:\n    runs-on: x\n    steps:\n"

func TestPositions(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		path []any
		want string // line:col-endline:endcol
	}{
		{"on key", "on: push\n" + jobs + "      - run: make\n", []any{"on", "location"}, "1:1-1:2"},
		{"quoted on key", "'on': push\n" + jobs + "      - run: make\n", []any{"on", "location"}, "1:1-1:4"},
		{"root flow mapping on key", "{ \"on\": push, jobs: {a: {runs-on: x, steps: [{run: make}]}}}\n", []any{"on", "location"}, "1:3-1:6"},
		{"event in list", "on: [push, pull_request]\n" + jobs + "      - run: make\n", []any{"on", "events", 1, "location"}, "1:12-1:23"},
		{"permissions flow mapping", "on: push\npermissions: { contents: read }\n" + jobs + "      - run: make\n", []any{"permissions", "location"}, "2:14-2:31"},
		{"permissions flow mapping over lines", "on: push\npermissions: {\n  contents: read,   # why\n  }\n" + jobs + "      - run: make\n", []any{"permissions", "location"}, "2:14-4:3"},
		{"permissions empty flow mapping", "on: push\npermissions: {  }\n" + jobs + "      - run: make\n", []any{"permissions", "location"}, "2:14-2:17"},
		{"permissions block mapping", "on: push\npermissions:\n  contents: read\n  issues: write # x\n" + jobs + "      - run: make\n", []any{"permissions", "location"}, "3:3-4:15"},
		{"permissions scope entry", "on: push\npermissions:\n  contents: read\n  issues: write # x\n" + jobs + "      - run: make\n", []any{"permissions", "scopes", "issues", "location"}, "4:3-4:15"},
		{"quoted scope entry", "on: push\n\"permissions\": {\"contents\": \"read\"}\n" + jobs + "      - run: make\n", []any{"permissions", "scopes", "contents", "location"}, "2:17-2:34"},
		{"permissions scalar", "on: push\npermissions: read-all   # all\n" + jobs + "      - run: make\n", []any{"permissions", "location"}, "2:14-2:21"},
		{"permissions double-quoted", "on: push\npermissions: \"read-all\"\n" + jobs + "      - run: make\n", []any{"permissions", "location"}, "2:14-2:23"},
		{"permissions key", "on: push\npermissions: read-all\n" + jobs + "      - run: make\n", []any{"permissions", "key_location"}, "2:1-2:11"},
		{"anchored permissions", "on: push\npermissions: &p\n  contents: read\njobs:\n  a:\n    runs-on: x\n    permissions: *p\n    steps: [{run: make}]\n", []any{"permissions", "location"}, "2:14-3:16"},
		{"aliased job permissions", "on: push\npermissions: &p\n  contents: read\njobs:\n  a:\n    runs-on: x\n    permissions: *p\n    steps: [{run: make}]\n", []any{"jobs", 0, "permissions", "location"}, "7:18-7:19"},
		{"aliased scope keeps anchor position", "on: push\npermissions: &p\n  contents: read\njobs:\n  a:\n    runs-on: x\n    permissions: *p\n    steps: [{run: make}]\n", []any{"jobs", 0, "permissions", "scopes", "contents", "location"}, "3:3-3:16"},
		{"job id", "on: push\njobs:\n  'build-it':\n    runs-on: x\n    steps: [{run: make}]\n", []any{"jobs", 0, "location"}, "3:3-3:12"},
		{"step uses entry", "on: push\n" + jobs + "      - uses: actions/checkout@v4 # v4.2.2\n", []any{"jobs", 0, "steps", 0, "location"}, "6:9-6:33"},
		{"step uses value", "on: push\n" + jobs + "      - uses: 'actions/checkout@v4'\n", []any{"jobs", 0, "steps", 0, "uses", "location"}, "6:15-6:35"},
		{"step flow mapping", "on: push\n" + jobs + "      - {name: x, uses: actions/checkout@v4}\n", []any{"jobs", 0, "steps", 0, "location"}, "6:19-6:43"},
		{"step run block entry", "on: push\n" + jobs + "      - run: |\n          make\n          make test\n", []any{"jobs", 0, "steps", 0, "location"}, "6:9-6:11"},
		{"run block value", "on: push\n" + jobs + "      - run: |\n          make\n          make test\n\n", []any{"jobs", 0, "steps", 0, "run", "value_location"}, "6:14-8:19"},
		{"run folded value", "on: push\n" + jobs + "      - run: >-\n          make\n          test\n      - run: x\n", []any{"jobs", 0, "steps", 0, "run", "value_location"}, "6:14-8:14"},
		{"run plain over lines", "on: push\n" + jobs + "      - run: make\n          test # c\n", []any{"jobs", 0, "steps", 0, "run", "value_location"}, "6:14-7:14"},
		{"with quoted value", "on: push\n" + jobs + "      - uses: a/b@v1\n        with:\n          exit-code: '1'\n", []any{"jobs", 0, "steps", 0, "with", "exit-code", "location"}, "8:22-8:24"},
		{"with doubled quote", "on: push\n" + jobs + "      - uses: a/b@v1\n        with:\n          args: 'it''s'\n", []any{"jobs", 0, "steps", 0, "with", "args", "location"}, "8:17-8:23"},
		{"with escaped double quote", "on: push\n" + jobs + "      - uses: a/b@v1\n        with:\n          args: \"a\\\"b\"\n", []any{"jobs", 0, "steps", 0, "with", "args", "location"}, "8:17-8:22"},
		{"with empty value", "on: push\n" + jobs + "      - uses: a/b@v1\n        with:\n          exit-code:\n", []any{"jobs", 0, "steps", 0, "with", "exit-code", "location"}, "8:11-8:19"},
		{"with anchored value", "on: push\n" + jobs + "      - uses: a/b@v1\n        with:\n          exit-code: &one 1\n          x: *one\n", []any{"jobs", 0, "steps", 0, "with", "x", "location"}, "9:14-9:17"},
		{"unicode before value", "on: push\nenv: {NAME: \"héllo wörld\", B: x}\n" + jobs + "      - run: make\n", []any{"env", "B", "location"}, "2:31-2:31"},
		{"crlf", strings.ReplaceAll("on: push\npermissions: { contents: read }\n"+jobs+"      - run: make\n", "\n", "\r\n"), []any{"permissions", "location"}, "2:14-2:31"},
		{"schedule cron", "on:\n  schedule:\n    - cron: '0 3 * * *'\n" + jobs + "      - run: make\n", []any{"on", "schedules", 0, "location"}, "3:13-3:23"},
		{"trivy call in block", "on: push\n" + jobs + "      - run: |\n          echo é\n          trivy image --exit-code 1 app\n", []any{"jobs", 0, "steps", 0, "trivy_scans", 0, "location"}, "8:11-8:39"},
		{"flag in block", "on: push\n" + jobs + "      - run: |\n          echo é && trivy image --exit-code 0 app\n", []any{"jobs", 0, "steps", 0, "trivy_scans", 0, "exit_code", "location"}, "7:33-7:45"},
		{"neutraliser after tab", "on: push\n" + jobs + "      - run: |\n          trivy image --exit-code 1 app\t|| true\n", []any{"jobs", 0, "steps", 0, "trivy_scans", 0, "neutralised", "location"}, "7:41-7:47"},
		{"neutraliser on continuation line", "on: push\n" + jobs + "      - run: |\n          trivy image --exit-code 1 \\\n            app || true\n", []any{"jobs", 0, "steps", 0, "trivy_scans", 0, "neutralised", "location"}, "8:17-8:23"},
		{"neutraliser in single-quoted run", "on: push\n" + jobs + "      - run: 'trivy image --exit-code 1 app || true'\n", []any{"jobs", 0, "steps", 0, "trivy_scans", 0, "neutralised", "location"}, "6:45-6:51"},
		{"neutraliser in double-quoted run", "on: push\n" + jobs + "      - run: \"trivy image --exit-code 1 app || true\"\n", []any{"jobs", 0, "steps", 0, "trivy_scans", 0, "neutralised", "location"}, "6:45-6:51"},
		{"escaped run falls back to the step", "on: push\n" + jobs + "      - run: \"echo \\\"x\\\"; trivy image --exit-code 1 app || true\"\n", []any{"jobs", 0, "steps", 0, "trivy_scans", 0, "neutralised", "location"}, "6:9-6:64"},
		{"folded run falls back to the step", "on: push\n" + jobs + "      - run: >\n          trivy image --exit-code 1 app || true\n", []any{"jobs", 0, "steps", 0, "trivy_scans", 0, "location"}, "6:9-6:11"},
		{"expression in script keeps columns", "on: push\n" + jobs + "      - run: |\n          trivy image --exit-code 1 ${{ inputs.image }} || true\n", []any{"jobs", 0, "steps", 0, "trivy_scans", 0, "neutralised", "location"}, "7:57-7:63"},
		{"indentation indicator", "on: push\n" + jobs + "      - run: |2\n            trivy image app\n", []any{"jobs", 0, "steps", 0, "trivy_scans", 0, "location"}, "7:13-7:27"},
		{"shell location", "on: push\n" + jobs + "      - shell: bash -l {0}\n        run: make\n", []any{"jobs", 0, "steps", 0, "run", "shell", "location"}, "6:16-6:26"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse("ci.yml", []byte(tc.src), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := locOf(t, get(t, doc.Input, tc.path...)); got != tc.want {
				t.Errorf("%v = %s, want %s", tc.path, got, tc.want)
			}
		})
	}
}

// TestLocationsAreValid checks every location in the fixtures' documents:
// 1-based, end not before start, within the file.
func TestLocationsAreValid(t *testing.T) {
	for _, src := range fixtureSources(t) {
		doc, err := Parse("ci.yml", src, Options{})
		if err != nil {
			continue
		}
		lines := strings.Count(string(src), "\n") + 1
		walkLocations(doc.Input, func(path string, l document.Location) {
			if l.Line < 1 || l.Column < 1 || l.EndLine < l.Line || (l.EndLine == l.Line && l.EndColumn < l.Column) || l.EndLine > lines {
				t.Errorf("%s: invalid location %+v", path, l)
			}
		})
	}
}

func walkLocations(v any, fn func(string, document.Location)) {
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if _, ok := v["end_column"]; ok {
				fn(path, document.Location{Line: v["line"].(int), Column: v["column"].(int), EndLine: v["end_line"].(int), EndColumn: v["end_column"].(int)})
				return
			}
			for k, c := range v {
				walk(path+"."+k, c)
			}
		case []any:
			for i, c := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), c)
			}
		}
	}
	walk("input", v)
}
