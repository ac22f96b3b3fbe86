package workflow

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v4"
)

// TestMatrixValues follows GitHub's documented expansion of
// strategy.matrix: combinations, then exclude, then include.
func TestMatrixValues(t *testing.T) {
	for _, tc := range []struct {
		name, matrix string
		want         map[string][]string
	}{
		{"lists", "mode: [fs, config, fs]\nos: [a, b]",
			map[string][]string{"mode": {"fs", "config"}, "os": {"a", "b"}}},
		{"exclude removes a value from every combination", "mode: [fs, image]\nos: [a, b]\nexclude:\n  - mode: fs",
			map[string][]string{"mode": {"image"}, "os": {"a", "b"}}},
		{"exclude of one combination keeps the value elsewhere", "mode: [fs, image]\nos: [a, b]\nexclude:\n  - {mode: fs, os: a}",
			map[string][]string{"mode": {"fs", "image"}, "os": {"a", "b"}}},
		{"exclude of every combination", "mode: [fs]\nexclude:\n  - mode: fs",
			map[string][]string{}},
		{"exclude naming an unknown value", "mode: [fs]\nexclude:\n  - mode: rootfs",
			map[string][]string{"mode": {"fs"}}},
		{"include added to matching combinations", "os: [a, b]\ninclude:\n  - {os: a, mode: image}",
			map[string][]string{"os": {"a", "b"}, "mode": {"image"}}},
		{"include adds to every combination", "os: [a, b]\ninclude:\n  - mode: config",
			map[string][]string{"os": {"a", "b"}, "mode": {"config"}}},
		{"include that would change a value is its own combination", "mode: [fs]\nos: [a]\ninclude:\n  - {mode: image, extra: x}",
			map[string][]string{"mode": {"fs", "image"}, "os": {"a"}, "extra": {"x"}}},
		{"include after exclude brings a value back", "mode: [fs, image]\nexclude:\n  - mode: fs\ninclude:\n  - mode: fs",
			map[string][]string{"mode": {"fs", "image"}}},
		{"include only", "include:\n  - mode: fs\n  - mode: config",
			map[string][]string{"mode": {"fs", "config"}}},
		{"non-scalar values are no value and match no exclude", "mode: [fs, [x]]\nexclude:\n  - mode: [x]",
			map[string][]string{"mode": {"fs"}}},
		{"too many combinations: lists as written, exclude not applied",
			"a: [" + strings.Repeat("1,", 16) + "1]\nb: [" + strings.Repeat("2,", 16) + "2]\nmode: [fs, image]\nexclude:\n  - mode: fs",
			map[string][]string{"a": {"1"}, "b": {"2"}, "mode": {"fs", "image"}}},
		{"too many exclude entries: exclude not applied",
			"mode: [fs, image]\nexclude:\n" + strings.Repeat("  - mode: fs\n", maxMatrixEntries+1),
			map[string][]string{"mode": {"fs", "image"}}},
		{"too many include entries: their values as written",
			"mode: [fs]\ninclude:\n" + strings.Repeat("  - {mode: image, extra: x}\n", maxMatrixEntries+1),
			map[string][]string{"mode": {"fs", "image"}, "extra": {"x"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n yaml.Node
			if err := yaml.Unmarshal([]byte(tc.matrix), &n); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, matrixValues(n.Content[0])); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	var expr yaml.Node
	if err := yaml.Unmarshal([]byte("${{ fromJSON(x) }}"), &expr); err != nil {
		t.Fatal(err)
	}
	if got := matrixValues(expr.Content[0]); got != nil {
		t.Errorf("an expression: %v, want nil", got)
	}
}
