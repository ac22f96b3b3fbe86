package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestServeConfigPrecedence(t *testing.T) {
	wd := t.TempDir()
	cfg := `webhook:
  mode: audit
  fail_on: warning
  on_error: allow
  exempt_namespaces: [ops]
  allowed_registries: [registry.internal:5000]
  insecure_registries: [registry.internal:5000]
  pull_secrets: true
  docker_config: /run/secrets/config.json
  rule_modes: {DWF603: warn, DWF301: audit}
  gate: {mode: enforce, exempt: [mirror/*], only: [team/*]}
`
	if err := os.WriteFile(filepath.Join(wd, "c.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	fromFile := serveFlags{mode: "audit", failOn: "warning", onError: "allow", exemptNamespaces: []string{"ops"},
		allowedRegistries: []string{"registry.internal:5000"}, pullSecrets: true, dockerConfig: "/run/secrets/config.json",
		ruleModes: []string{"DWF301=audit", "DWF603=warn"}, gateMode: "enforce", gateExempt: []string{"mirror/*"}, gateOnly: []string{"team/*"}}
	fromFile.insecure = []string{"registry.internal:5000"}
	fromFile.config = "c.yaml"
	for _, tc := range []struct {
		name    string
		flags   serveFlags
		changed []string
		want    serveFlags
	}{
		{"the file fills what no flag gives", serveFlags{mode: "enforce", failOn: "error", onError: "deny"}, nil, fromFile},
		{"flags win", serveFlags{mode: "warn", failOn: "error", onError: "deny", exemptNamespaces: []string{"x"}, pullSecrets: false, ruleModes: []string{"DWF603=enforce"}},
			[]string{"mode", "fail-on", "exempt-namespace", "pull-secrets", "rule-mode"},
			func() serveFlags {
				w := fromFile
				// --mode sets both the webhook's and the gate's mode.
				w.mode, w.failOn, w.exemptNamespaces, w.pullSecrets, w.ruleModes, w.gateMode = "warn", "error", []string{"x"}, false, []string{"DWF603=enforce"}, ""
				return w
			}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fl := tc.flags
			fl.config = "c.yaml"
			changed := func(f string) bool { return strings.Contains(" "+strings.Join(tc.changed, " ")+" ", " "+f+" ") }
			if err := (Command{WorkDir: wd}).serveConfig(&fl, changed); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, fl, cmp.AllowUnexported(serveFlags{}, policyFlags{}, registryFlags{}), cmpopts.IgnoreFields(serveFlags{}, "fromConfig")); diff != "" {
				t.Errorf("flags (-want +got):\n%s", diff)
			}
		})
	}
}
