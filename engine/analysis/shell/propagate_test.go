package shell

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"mvdan.cc/sh/v3/syntax"
)

// propagate parses script and evaluates every call that runs `scan` (after
// unwrapping), returning "propagation" or "propagation kind `text`".
func propagate(t *testing.T, script string, opts Options) []string {
	t.Helper()
	f, err := syntax.NewParser().Parse(strings.NewReader(script), "")
	if err != nil {
		t.Fatalf("parsing %q: %v", script, err)
	}
	var targets []*syntax.CallExpr
	syntax.Walk(f, func(n syntax.Node) bool {
		if ce, ok := n.(*syntax.CallExpr); ok && len(ce.Args) > 0 {
			words := make([]string, len(ce.Args))
			for i, w := range ce.Args {
				words[i] = w.Lit()
			}
			if c, _ := Unwrap(words); c.Name == "scan" {
				targets = append(targets, ce)
			}
		}
		return true
	})
	var out []string
	for _, target := range targets {
		prop, d := Propagate(f, target, opts)
		switch {
		case d == nil:
			out = append(out, string(prop))
		case d.Shell:
			out = append(out, fmt.Sprintf("%s %s (shell)", prop, d.Kind))
		default:
			out = append(out, fmt.Sprintf("%s %s `%s`", prop, d.Kind, script[d.Start.Offset():d.End.Offset()]))
		}
	}
	return out
}

func TestPropagate(t *testing.T) {
	e := Options{Errexit: true}
	pf := Options{Errexit: true, Pipefail: true}
	none := Options{}
	for _, tc := range []struct {
		script string
		opts   Options
		want   []string
	}{
		{"scan x", e, []string{"fails_step"}},
		{"scan x || true", e, []string{"ignored or `|| true`"}},
		{"scan x || exit 1", e, []string{"fails_step"}},
		{"scan x || exit $?", e, []string{"fails_step"}},
		{"scan x | tee o", e, []string{"ignored pipe `| tee o`"}},
		{"scan x | tee o", pf, []string{"fails_step"}},
		{"set -o pipefail\nscan x | tee o", e, []string{"fails_step"}},
		{"scan x; true", none, []string{"ignored errexit_off (shell)"}},
		{"scan x", none, []string{"fails_step"}},
		{"set +e\nscan x\necho done", e, []string{"ignored errexit_off `set +e`"}},
		{"set +e\nscan x\nrc=$?\nset -e\nexit $rc", e, []string{"fails_step"}},
		{"if scan x; then echo ok; fi", e, []string{"ignored condition `if`"}},
		{"! scan x", e, []string{"ignored negated `!`"}},
		{"scan x &\nwait", e, []string{"ignored background `&`"}},
		{"scan x && echo ok\necho done", e, []string{"ignored errexit_ignored `&& echo ok`"}},
		{"echo \"$(scan x)\"", e, []string{"ignored command_substitution `$(scan x)`"}},
		{"f() { scan x || return 0; }\nf", e, []string{"ignored or `|| return 0`"}},
		{"exit 0\nscan x", e, []string{"not_reached"}},
		{"if [ -f x ]; then scan x; fi", e, []string{"unknown"}},
		{"scan x | tee o\nexit ${PIPESTATUS[0]}", e, []string{"unknown"}},
		// wrappers run the target: their failure is its failure
		{"sudo -u builder scan x || true", e, []string{"ignored or `|| true`"}},
		{"timeout -s KILL 60 scan x", e, []string{"fails_step"}},
		{"env -i PATH=/x nice -n 10 scan x | cat", e, []string{"ignored pipe `| cat`"}},
		{"scan a || true\nstdbuf -oL scan b", e, []string{"ignored or `|| true`", "fails_step"}},
	} {
		t.Run(strings.ReplaceAll(tc.script, "\n", "; "), func(t *testing.T) {
			if diff := cmp.Diff(tc.want, propagate(t, tc.script, tc.opts)); diff != "" {
				t.Errorf("options %+v (-want +got):\n%s", tc.opts, diff)
			}
		})
	}
}

func TestCmdSubsts(t *testing.T) {
	f, err := syntax.NewParser().Parse(strings.NewReader("echo \"$(a $(b))\" `c`"), "")
	if err != nil {
		t.Fatal(err)
	}
	args := f.Stmts[0].Cmd.(*syntax.CallExpr).Args
	if n := len(CmdSubsts(args[1])) + len(CmdSubsts(args[2])); n != 2 {
		t.Errorf("found %d outermost command substitutions, want 2", n)
	}
}
