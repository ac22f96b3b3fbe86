package config

import (
	"path/filepath"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/devflow/dwf-policy/engine/finding"
)

// Webhook is the `webhook:` section: the settings of `dwf-policy serve`
// that belong in a file rather than on a command line (listeners and
// certificates stay flags). The zero value sets nothing; serve's flags
// override whatever it sets.
type Webhook struct {
	// Mode, FailOn and OnError are as written; "" when unset.
	Mode, FailOn, OnError string
	// RuleModes gives rules their own admission mode, by rule ID.
	RuleModes map[string]string
	// ExemptNamespaces, AllowedRegistries and InsecureRegistries are nil
	// when unset; a list written replaces serve's default.
	ExemptNamespaces   []string
	AllowedRegistries  []string
	InsecureRegistries []string
	// PullSecrets is nil when unset.
	PullSecrets *bool
	// DockerConfig is the Docker config file with static registry
	// credentials, made absolute against the configuration's directory;
	// "" when unset.
	DockerConfig string
	// Gate is `webhook.gate:`, the registry gate's own settings.
	Gate GateSettings
}

// GateSettings is `webhook.gate:`.
type GateSettings struct {
	// Mode is the gate's mode when it differs from the webhook's; "" when
	// unset.
	Mode string
	// Exempt and Only are repository globs (path.Match); nil when unset.
	Exempt, Only []string
}

var modes = []string{"enforce", "warn", "audit"}

// webhookSpec is the `webhook:` section.
var webhookSpec = sync.OnceValue(func() *spec {
	return &spec{typ: typeObject,
		description: "Settings of `dwf-policy serve` (the admission webhook and the registry gate), read once at start. A flag given on the command line overrides the setting here; listeners and certificates are flags only.",
		fields: []field{
			{key: "mode", spec: &spec{typ: typeString, enum: modes,
				description: "What a non-compliant image gets (--mode): enforce (refused), warn (allowed with a warning) or audit (allowed, logged). Default enforce."}},
			{key: "rule_modes", spec: &spec{typ: typeMap,
				description: "Admission modes of single rules, by rule ID (--rule-mode ID=MODE): a warn rule never denies, an audit rule is only logged.",
				keyPattern:  finding.RuleIDPattern, keyExample: "DWF603", keyWhat: "a rule ID",
				values: &spec{typ: typeString, enum: modes}}},
			{key: "fail_on", spec: &spec{typ: typeString, enum: []string{"error", "warning", "note"},
				description: "Refuse images with a finding at or above this severity (--fail-on). Default error."}},
			{key: "on_error", spec: &spec{typ: typeString, enum: []string{"deny", "allow"},
				description: "What an image that cannot be judged in time gets (--on-error): deny (fail-closed) or allow (fail-open, with a warning and a metric). Default deny."}},
			{key: "exempt_namespaces", spec: &spec{typ: typeList,
				description: "Namespaces never judged (--exempt-namespace); replaces the default [kube-system, kube-node-lease], so add the webhook's own.",
				items:       &spec{typ: typeString, nonEmpty: true}}},
			{key: "allowed_registries", spec: &spec{typ: typeList,
				description: "Admit only images from these registries, by host or glob (--allowed-registry); a host named exactly may be at a private address.",
				items:       &spec{typ: typeString, nonEmpty: true}}},
			{key: "insecure_registries", spec: &spec{typ: typeList,
				description: "Registries reached over plain HTTP, by host and port (--insecure-registry).",
				items:       &spec{typ: typeString, nonEmpty: true}}},
			{key: "pull_secrets", spec: &spec{typ: typeBool,
				description: "Pull images with each pod's imagePullSecrets and its service account's, read through the Kubernetes API (--pull-secrets). Default false."}},
			{key: "docker_config", spec: &spec{typ: typeString, nonEmpty: true,
				description: "A Docker config.json whose `auths` give static registry credentials, used after the pods' pull secrets (--docker-config); relative to this file's directory. Default none: serve never reads ~/.docker/config.json."}},
			{key: "gate", spec: &spec{typ: typeObject,
				description: "Settings of the registry gate (--registry-gate).",
				fields: []field{
					{key: "mode", spec: &spec{typ: typeString, enum: modes,
						description: "The gate's mode when it is not webhook.mode: enforce, warn or audit (--mode sets both)."}},
					{key: "exempt", spec: &spec{typ: typeList,
						description: "Repositories passed unjudged, by glob (path.Match, e.g. mirror/*; --gate-exempt).",
						items:       &spec{typ: typeString, nonEmpty: true}}},
					{key: "only", spec: &spec{typ: typeList,
						description: "Judge only the repositories matching these globs (--gate-only). Default all.",
						items:       &spec{typ: typeString, nonEmpty: true}}},
				}}},
		}}
})

func (cfg *Config) fillWebhook(c *checker, n *yaml.Node) {
	w := &cfg.Webhook
	for k, v := range pairs(c, n) {
		switch k.Value {
		case "mode":
			w.Mode = v.Value
		case "rule_modes":
			w.RuleModes = map[string]string{}
			for id, m := range pairs(c, v) {
				w.RuleModes[id.Value] = m.Value
				cfg.ruleRefs = append(cfg.ruleRefs, ruleRef{id.Value, id.Line, id.Column})
			}
		case "fail_on":
			w.FailOn = v.Value
		case "on_error":
			w.OnError = v.Value
		case "exempt_namespaces":
			w.ExemptNamespaces = stringList(c, v)
		case "allowed_registries":
			w.AllowedRegistries = stringList(c, v)
		case "insecure_registries":
			w.InsecureRegistries = stringList(c, v)
		case "pull_secrets":
			b := v.Value == "true"
			w.PullSecrets = &b
		case "docker_config":
			w.DockerConfig = v.Value
			if !filepath.IsAbs(v.Value) {
				w.DockerConfig = filepath.Join(cfg.Dir, v.Value)
			}
		case "gate":
			for k2, v2 := range pairs(c, v) {
				switch k2.Value {
				case "mode":
					w.Gate.Mode = v2.Value
				case "exempt":
					w.Gate.Exempt = stringList(c, v2)
				case "only":
					w.Gate.Only = stringList(c, v2)
				}
			}
		}
	}
}
