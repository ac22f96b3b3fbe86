package workflow

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/devflow/dwf-policy/engine/analysis/shell"
	"github.com/devflow/dwf-policy/engine/document"
)

// analyse returns, for each Trivy scan in script, "propagation" or
// "propagation kind `text`".
func analyse(t *testing.T, script string, sh shellInfo) []string {
	t.Helper()
	sc := parseScript(nil, script, posMap{})
	if sc.err != nil {
		t.Fatalf("parsing %q: %v", script, sc.err)
	}
	co := newCollector(sc, nil, document.Location{}, rootDir)
	co.stmts(sc.file.Stmts)
	var out []string
	for _, site := range co.sites {
		inv := co.detect(site)
		if inv == nil {
			continue
		}
		prop, d := shell.Propagate(sc.file, inv.call, sh.options())
		switch {
		case d == nil:
			out = append(out, string(prop))
		case d.Shell:
			out = append(out, fmt.Sprintf("%s %s `%s`", prop, d.Kind, sh.command))
		default:
			out = append(out, fmt.Sprintf("%s %s `%s`", prop, d.Kind, sc.text(d.Start, d.End)))
		}
	}
	return out
}

func TestPropagation(t *testing.T) {
	def := resolveShell("", "default", nil, false)      // bash -e {0}
	bash := resolveShell("bash", "step", nil, false)    // -eo pipefail
	noE := resolveShell("bash {0}", "step", nil, false) // no -e
	login := resolveShell("bash -l {0}", "step", nil, false)
	sh := resolveShell("sh", "step", nil, false)
	for _, tc := range []struct {
		script string
		shell  shellInfo
		want   []string
	}{
		{"trivy image x", def, []string{"fails_step"}},
		{"trivy image x || true", def, []string{"ignored or `|| true`"}},
		{"trivy image x || exit 0", def, []string{"ignored or `|| exit 0`"}},
		{"trivy image x || :", def, []string{"ignored or `|| :`"}},
		{"trivy image x || echo 'failed' >&2", def, []string{"ignored or `|| echo 'failed' >&2`"}},
		{"trivy image x || exit 1", def, []string{"fails_step"}},
		{"trivy image x || exit $?", def, []string{"fails_step"}},
		{"trivy image x || { echo failed; exit 1; }", def, []string{"fails_step"}},
		{"trivy image x || echo failed && exit 1", def, []string{"fails_step"}},
		{"trivy image x | tee o", def, []string{"ignored pipe `| tee o`"}},
		{"trivy image x | tee o | cat", def, []string{"ignored pipe `| tee o | cat`"}},
		{"trivy image x | tee o", sh, []string{"ignored pipe `| tee o`"}},
		{"trivy image x | tee o", bash, []string{"fails_step"}},
		{"set -o pipefail\ntrivy image x | tee o", def, []string{"fails_step"}},
		{"set -euo pipefail; trivy image x 2>&1 | tee o", def, []string{"fails_step"}},
		{"cat list | trivy image x", def, []string{"fails_step"}},
		{"trivy image x | tee o\nexit ${PIPESTATUS[0]}", def, []string{"unknown"}},
		{"trivy image x; true", def, []string{"fails_step"}},
		{"trivy image x; exit 0", def, []string{"fails_step"}},
		{"trivy image x; true", noE, []string{"ignored errexit_off `bash {0}`"}},
		{"trivy image x\necho done", login, []string{"ignored errexit_off `bash -l {0}`"}},
		{"trivy image x", noE, []string{"fails_step"}},
		{"set +e\ntrivy image x\necho done", def, []string{"ignored errexit_off `set +e`"}},
		{"set -e; set +o errexit; trivy image x; echo", def, []string{"ignored errexit_off `set +o errexit`"}},
		{"set +e\ntrivy image x", def, []string{"fails_step"}},
		{"set +e\ntrivy image x\nrc=$?\nset -e\nexit $rc", def, []string{"fails_step"}},
		{"set +e\ntrivy image x\nif [ $? -ne 0 ]; then exit 1; fi", def, []string{"fails_step"}},
		{"set +e\ntrivy image x\n[ $? -eq 0 ] || exit 1", def, []string{"fails_step"}},
		{"set +e\ntrivy image x\nrc=$?\nset -e\n[ \"$rc\" = 0 ] || { echo bad; exit \"$rc\"; }", def, []string{"fails_step"}},
		{"set +e\ntrivy image x\nrc=$?\n[[ $rc -gt 0 ]] && exit 2\necho ok", def, []string{"fails_step"}},
		{"set +e\ntrivy image x\nrc=$?\necho \"trivy: $rc\"", def, []string{"ignored errexit_off `set +e`"}},
		{"if trivy image x; then echo ok; fi", def, []string{"ignored condition `if`"}},
		{"if trivy image x; then echo ok; else exit 1; fi", def, []string{"fails_step"}},
		{"if ! trivy image x; then exit 1; fi", def, []string{"fails_step"}},
		{"while ! trivy image x; do sleep 1; done", def, []string{"ignored negated `!`"}},
		{"! trivy image x", def, []string{"ignored negated `!`"}},
		{"trivy image x &\nwait", def, []string{"ignored background `&`"}},
		{"trivy image x && echo ok", def, []string{"fails_step"}},
		{"trivy image x && echo ok\necho done", def, []string{"ignored errexit_ignored `&& echo ok`"}},
		{"(trivy image x)", def, []string{"fails_step"}},
		{"(trivy image x || true)", def, []string{"ignored or `|| true`"}},
		{"{ trivy image x; echo after; } || exit 1", def, []string{"ignored errexit_ignored `|| exit 1`"}},
		{"out=$(trivy image x)", def, []string{"fails_step"}},
		{"echo \"$(trivy image x)\"", def, []string{"ignored command_substitution `$(trivy image x)`"}},
		{"out=$(trivy image x; echo done)", def, []string{"ignored command_substitution `$(trivy image x; echo done)`"}},
		{"local_out=`trivy image x`", def, []string{"fails_step"}},
		{"f() { trivy image \"$1\"; }\nf a", def, []string{"fails_step"}},
		{"f() { trivy image \"$1\" || return 0; }\nf a", def, []string{"ignored or `|| return 0`"}},
		{"f() { trivy image x; }", def, []string{"not_reached"}},
		{"exit 0\ntrivy image x", def, []string{"not_reached"}},
		{"for i in a b; do trivy image $i; done", def, []string{"fails_step"}},
		{"while read -r img; do trivy image \"$img\"; done < list", def, []string{"fails_step"}},
		{"if [ -f x ]; then trivy image x; fi", def, []string{"unknown"}},
		{"case \"$X\" in a) trivy image x;; esac", def, []string{"unknown"}},
		{"case \"$X\" in *) trivy image x;; esac", def, []string{"fails_step"}},
		{"trivy image x || true\n[ -f report ] && cat report", def, []string{"ignored or `|| true`"}},
		{"trivy image a || true\ntrivy image b", def, []string{"ignored or `|| true`", "fails_step"}},
		{"sudo trivy image x | tee log", def, []string{"ignored pipe `| tee log`"}},
		{"docker run --rm aquasec/trivy image --exit-code 1 x || true", def, []string{"ignored or `|| true`"}},
		{"timeout 5m trivy image x", def, []string{"fails_step"}},
		{"time trivy image x", def, []string{"fails_step"}},
	} {
		t.Run(strings.ReplaceAll(tc.script, "\n", "; "), func(t *testing.T) {
			if diff := cmp.Diff(tc.want, analyse(t, tc.script, tc.shell)); diff != "" {
				t.Errorf("shell %q (-want +got):\n%s", tc.shell.command, diff)
			}
		})
	}
}
