package workflow

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Filter patterns carry their negation and regular expression; a matrix
// carries its values, for `${{ matrix.NAME }}` in a step.
func TestFiltersAndMatrixValues(t *testing.T) {
	src := []byte(`on:
  push:
    branches: [main]
    paths:
      - '**/Dockerfile'
      - '!docs/**'
      - 'bad['
  pull_request:
    paths-ignore: ['*.md']
permissions: {}
jobs:
  scan:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        mode: [fs, config, fs]
        os: [ubuntu-latest]
        include:
          - mode: image
            extra: [1, 2]
        exclude:
          - mode: rootfs
    steps:
      - run: echo
  expr:
    runs-on: ubuntu-latest
    strategy:
      matrix: ${{ fromJSON(needs.x.outputs.m) }}
    steps:
      - run: echo
  plain:
    runs-on: ubuntu-latest
    steps:
      - run: echo
`)
	doc, err := Parse(".github/workflows/ci.yml", src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := doc.Input
	events := in["on"].(map[string]any)["events"].([]any)
	type pat struct {
		Value   string
		Negated bool
		Regex   any
	}
	read := func(list any) []pat {
		var out []pat
		for _, e := range list.([]any) {
			m := e.(map[string]any)
			out = append(out, pat{m["value"].(string), m["negated"].(bool), m["regex"]})
		}
		return out
	}
	push := events[0].(map[string]any)
	if diff := cmp.Diff([]pat{
		{"**/Dockerfile", false, `^(?:.*/)?Dockerfile$`},
		{"!docs/**", true, `^docs/.*$`},
		{"bad[", false, nil},
	}, read(push["paths"])); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]pat{{"main", false, `^main$`}}, read(push["branches"])); diff != "" {
		t.Errorf("branches (-want +got):\n%s", diff)
	}
	pr := events[1].(map[string]any)
	if diff := cmp.Diff([]pat{{"*.md", false, `^[^/]*\.md$`}}, read(pr["paths_ignore"])); diff != "" {
		t.Errorf("paths_ignore (-want +got):\n%s", diff)
	}
	jobs := in["jobs"].([]any)
	want := map[string]any{
		"mode": []any{"fs", "config", "image"},
		"os":   []any{"ubuntu-latest"},
	}
	got := jobs[0].(map[string]any)["matrix_values"]
	// extra's value is a list, not a scalar: the variable has none.
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("matrix_values (-want +got):\n%s", diff)
	}
	for i, name := range []string{"expr", "plain"} {
		if v := jobs[i+1].(map[string]any)["matrix_values"]; v != nil {
			t.Errorf("%s: matrix_values = %v, want null", name, v)
		}
	}
}

// A scan whose subcommand a matrix sets is a scan: the CLI's and the
// action's, with the subcommands the matrix values make it (values that do
// not scan left out).
func TestMatrixDrivenScans(t *testing.T) {
	src := []byte(`on: pull_request
permissions: {}
jobs:
  scan:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        mode: [fs, config, version]
        include:
          - mode: repo
    steps:
      - run: trivy ${{ matrix.mode }} --exit-code 1 --severity CRITICAL,HIGH .
      - run: docker run aquasec/trivy:0.58.1 ${{ matrix.mode }} --exit-code 1 .
      - uses: aquasecurity/trivy-action@0123456789abcdef0123456789abcdef01234567
        with:
          scan-type: ${{ matrix.mode }}
      - uses: aquasecurity/trivy-action@0123456789abcdef0123456789abcdef01234567
        with:
          scan-type: ${{ matrix.other }}
      - run: trivy ${{ matrix.other }} .
      - run: trivy image app
`)
	doc, err := Parse(".github/workflows/ci.yml", src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	type scan struct {
		Sub, Raw string
		Subs     []any
	}
	var got []scan
	for _, s := range doc.Input["jobs"].([]any)[0].(map[string]any)["steps"].([]any) {
		for _, sc := range s.(map[string]any)["trivy_scans"].([]any) {
			m := sc.(map[string]any)
			got = append(got, scan{m["subcommand"].(string), m["subcommand_raw"].(string), m["subcommands"].([]any)})
		}
	}
	want := []scan{
		{"", "${{ matrix.mode }}", []any{"filesystem", "config", "repository"}},
		{"", "${{ matrix.mode }}", []any{"filesystem", "config", "repository"}},
		{"", "${{ matrix.mode }}", []any{"filesystem", "config", "repository"}},
		{"", "${{ matrix.other }}", []any{}},
		{"image", "image", []any{"image"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("scans (-want +got):\n%s", diff)
	}
}
