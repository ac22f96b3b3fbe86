package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeWebhook(t *testing.T) {
	src := `uid: 1001
webhook:
  mode: warn
  rule_modes:
    DWF603: audit
  fail_on: warning
  on_error: allow
  exempt_namespaces: [kube-system, dwf-policy]
  allowed_registries: [registry.internal:5000, "*.example.com"]
  insecure_registries: [registry.internal:5000]
  pull_secrets: true
  docker_config: secrets/config.json
  gate:
    mode: enforce
    exempt: [mirror/*]
    only: [team/*]
`
	cfg, err := Decode("c.yaml", "/etc/dwf-policy", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	want := Webhook{
		Mode: "warn", FailOn: "warning", OnError: "allow",
		RuleModes:          map[string]string{"DWF603": "audit"},
		ExemptNamespaces:   []string{"kube-system", "dwf-policy"},
		AllowedRegistries:  []string{"registry.internal:5000", "*.example.com"},
		InsecureRegistries: []string{"registry.internal:5000"},
		PullSecrets:        &yes,
		DockerConfig:       "/etc/dwf-policy/secrets/config.json",
		Gate:               GateSettings{Mode: "enforce", Exempt: []string{"mirror/*"}, Only: []string{"team/*"}},
	}
	if diff := cmp.Diff(want, cfg.Webhook); diff != "" {
		t.Errorf("Webhook (-want +got):\n%s", diff)
	}
	// The section is serve's: policies see nothing of it.
	if _, ok := cfg.Data()["webhook"]; ok {
		t.Error("data.dwf.config has the webhook section")
	}
	// A rule ID under rule_modes is checked like one under rules.
	if err := cfg.CheckRuleIDs([]string{"DWF601"}); err == nil || !strings.Contains(err.Error(), "c.yaml:5:5: unknown rule DWF603") {
		t.Errorf("CheckRuleIDs: %v", err)
	}

	// Unset is unset, not false or empty: serve keeps its defaults.
	cfg, err = Decode("c.yaml", "/repo", []byte("webhook: {gate: {}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Webhook{}, cfg.Webhook); diff != "" {
		t.Errorf("empty section (-want +got):\n%s", diff)
	}
	cfg, err = Decode("c.yaml", "/repo", []byte("webhook:\n  docker_config: /run/secrets/config.json\n  pull_secrets: false\n"))
	if err != nil {
		t.Fatal(err)
	}
	if w := cfg.Webhook; w.DockerConfig != "/run/secrets/config.json" || w.PullSecrets == nil || *w.PullSecrets {
		t.Errorf("absolute docker_config and pull_secrets false: %+v", w)
	}
}

func TestDecodeWebhookErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"misspelt key", "webhook:\n  on_eror: allow\n",
			[]string{`c.yaml:2:3: unknown key "on_eror" in webhook (did you mean "on_error"?)`}},
		{"bad mode", "webhook:\n  mode: enforcing\n",
			[]string{`c.yaml:2:9: webhook.mode: "enforcing" is not one of enforce, warn, audit (did you mean "enforce"?)`}},
		{"bad rule mode", "webhook:\n  rule_modes:\n    DWF603: off\n",
			[]string{`c.yaml:3:13: webhook.rule_modes.DWF603: "off" is not one of enforce, warn, audit`}},
		{"bad rule ID", "webhook:\n  rule_modes: {dwf603: warn}\n",
			[]string{`c.yaml:2:16: webhook.rule_modes: "dwf603" is not a rule ID like DWF603`}},
		{"fail_on off", "webhook:\n  fail_on: off\n",
			[]string{`c.yaml:2:12: webhook.fail_on: "off" is not one of error, warning, note`}},
		{"namespaces as string", "webhook:\n  exempt_namespaces: kube-system\n",
			[]string{`c.yaml:2:22: webhook.exempt_namespaces must be a list, not the string "kube-system"`}},
		{"pull_secrets as string", "webhook:\n  pull_secrets: \"yes\"\n",
			[]string{`c.yaml:2:17: webhook.pull_secrets must be true or false, not the string "yes"`}},
		{"unknown gate key", "webhook:\n  gate:\n    upstream: http://r:5000\n",
			[]string{`c.yaml:3:5: unknown key "upstream" in webhook.gate; valid keys: mode, exempt, only`}},
		{"empty registry", "webhook:\n  allowed_registries: [\"\"]\n",
			[]string{`c.yaml:2:24: webhook.allowed_registries[0] must not be empty`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode("c.yaml", "/repo", []byte(tc.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			got := strings.Split(strings.TrimPrefix(err.Error(), "invalid config: "), "\n")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("error lines (-want +got):\n%s", diff)
			}
		})
	}
}
