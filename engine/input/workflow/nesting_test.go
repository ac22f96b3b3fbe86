package workflow

import (
	"strings"
	"testing"
)

// TestDeepRunScripts: a run: script nested beyond shell.MaxNesting makes the
// workflow a ParseError at the run: key, naming the limit, instead of
// overflowing the Go stack in the shell parser (100,000 nested $(( killed
// the process).
func TestDeepRunScripts(t *testing.T) {
	for name, script := range map[string]string{
		"arithmetic":            strings.Repeat("$((", 100_000) + "1" + strings.Repeat("))", 100_000),
		"command substitutions": strings.Repeat("echo $(", 10<<10/7) + "x" + strings.Repeat(")", 10<<10/7),
		"subshells":             strings.Repeat("(", 100_000) + "true" + strings.Repeat(")", 100_000),
		"in an expression mask": "echo ${{ inputs.x }}; " + strings.Repeat("{ ", 1000) + "true" + strings.Repeat("; }", 1000),
	} {
		t.Run(name, func(t *testing.T) {
			src := "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n      - name: deep\n        run: |\n          " + script + "\n"
			pe := parseError(t, src, Options{})
			if pe.Location.Line != 8 || pe.Location.Column != 9 || !strings.Contains(pe.Message, "run: script") || !strings.Contains(pe.Message, "more than") {
				t.Errorf("got %q at %+v, want 8:9 and the limit", pe.Message, pe.Location)
			}
		})
	}
}
