package selfcheck

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/devflow/dwf-policy/engine/config"
	"github.com/devflow/dwf-policy/internal/cli"
)

var update = flag.Bool("update", false, "rewrite deploy/*.yaml from the Helm chart (make deploy-manifests)")

// chartDir is the Helm chart, relative to the repository root.
const chartDir = "deploy/helm/dwf-policy"

// handWritten are the files of deploy/ that the chart does not render:
// `helm install --create-namespace` makes the namespace.
var handWritten = []string{"namespace.yaml"}

// helm returns the helm binary the test tools install (.tools/bin/helm,
// pinned by scripts/install-test-tools.sh), $HELM, or helm on PATH.
func helm(t *testing.T) string {
	t.Helper()
	if h := os.Getenv("HELM"); h != "" {
		return h
	}
	if h := filepath.Join(repoRoot(t), ".tools", "bin", "helm"); fileExists(h) {
		return h
	}
	return requireTool(t, "helm")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// renderChart runs `helm template dwf-policy` in the dwf-policy namespace,
// as deploy/ is rendered, with extra arguments (--set ...).
func renderChart(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helm(t), append([]string{"template", "dwf-policy", chartDir, "--namespace", "dwf-policy"}, args...)...)
	cmd.Dir = repoRoot(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", &renderError{err: err, stderr: stderr.String()}
	}
	return string(out), nil
}

type renderError struct {
	err    error
	stderr string
}

func (e *renderError) Error() string { return e.err.Error() + ": " + e.stderr }

// byTemplate splits helm template's output into the documents of each
// template, in output order, without their `# Source:` lines.
func byTemplate(t *testing.T, out string) (map[string][]string, []string) {
	t.Helper()
	docs := map[string][]string{}
	var order []string
	for doc := range strings.SplitSeq(out, "---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		src, body, ok := strings.Cut(doc, "\n")
		name, found := strings.CutPrefix(src, "# Source: dwf-policy/templates/")
		if !ok || !found {
			t.Fatalf("a rendered document without its # Source: line:\n%s", doc)
		}
		if _, seen := docs[name]; !seen {
			order = append(order, name)
		}
		docs[name] = append(docs[name], body)
	}
	return docs, order
}

// manifestFile is deploy/NAME as rendered from templates/NAME.
func manifestFile(name string, docs []string) string {
	return "# Rendered from " + chartDir + "/templates/" + name + " with the chart's\n" +
		"# default values by `make deploy-manifests`: edit the chart, not this file.\n" +
		strings.Join(docs, "---\n")
}

// TestChartRendersDeployManifests: deploy/*.yaml, which `kubectl apply -f
// deploy/` installs, is the chart rendered with its default values (`go
// test -update`, i.e. `make deploy-manifests`, rewrites them), and helm
// lint passes.
func TestChartRendersDeployManifests(t *testing.T) {
	root := repoRoot(t)
	out, err := renderChart(t)
	if err != nil {
		t.Fatal(err)
	}
	docs, order := byTemplate(t, out)
	want := map[string]string{}
	for _, name := range order {
		want[name] = manifestFile(name, docs[name])
	}
	if *update {
		for name, content := range want {
			if err := os.WriteFile(filepath.Join(root, "deploy", name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join(root, "deploy", "*.yaml"))
	for _, f := range files {
		name := filepath.Base(f)
		if slices.Contains(handWritten, name) {
			continue
		}
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		w, ok := want[name]
		switch {
		case !ok:
			t.Errorf("deploy/%s is not rendered by the chart: remove it, or add a template", name)
		case string(got) != w:
			t.Errorf("deploy/%s is stale: run make deploy-manifests\n--- deploy/%s\n%s\n--- rendered\n%s", name, name, got, w)
		}
		delete(want, name)
	}
	for name := range want {
		t.Errorf("the chart renders templates/%s, which deploy/ lacks: run make deploy-manifests", name)
	}

	lint := exec.Command(helm(t), "lint", "--strict", chartDir)
	lint.Dir = root
	if out, err := lint.CombinedOutput(); err != nil {
		t.Errorf("helm lint --strict: %v\n%s", err, out)
	}
}

// renderedObjects are the objects of a rendering, by kind and name.
func renderedObjects(t *testing.T, out string) map[string]map[string]any {
	t.Helper()
	objs := map[string]map[string]any{}
	dec := yaml.NewDecoder(strings.NewReader(out))
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			break
		}
		if obj == nil {
			continue
		}
		meta, _ := obj["metadata"].(map[string]any)
		objs[obj["kind"].(string)+"/"+meta["name"].(string)] = obj
	}
	return objs
}

// dig follows keys (strings) and list indexes (ints) through decoded YAML.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// TestChartValues renders the chart's optional parts: each rendering passes
// the Kubernetes rules at every severity, and its configuration file is
// valid under the strict schema with the values in its webhook: section.
func TestChartValues(t *testing.T) {
	caBundle := "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, objs map[string]map[string]any, cfg *config.Config)
	}{
		{"defaults", nil, func(t *testing.T, objs map[string]map[string]any, cfg *config.Config) {
			w := cfg.Webhook
			if w.Mode != "enforce" || w.OnError != "deny" || w.FailOn != "error" || w.PullSecrets == nil || !*w.PullSecrets ||
				!slices.Equal(w.ExemptNamespaces, []string{"kube-system", "kube-node-lease", "dwf-policy"}) {
				t.Errorf("webhook section: %+v", w)
			}
			if objs["Service/dwf-policy-gate"] != nil || objs["ClusterRole/dwf-policy-pull-secrets"] == nil {
				t.Error("the defaults render a gate, or no pull-secret RBAC")
			}
		}},
		{"gate, events token, Docker config, policy settings", []string{
			"--set", "gate.enabled=true", "--set", "gate.upstream=http://registry.registry.svc:5000",
			"--set", "gate.eventsToken.secretName=registry-events", "--set", "gate.mode=warn", "--set", "gate.exempt={mirror/*}",
			"--set", "webhook.dockerConfigSecret=regcred", "--set", "webhook.ruleModes.DWF603=warn",
			"--set", "webhook.allowedRegistries={registry.internal:5000,*.example.com}",
			"--set", "webhook.onError=allow", "--set", "webhook.failurePolicy=Ignore", "--set", "config.uid=2000",
		}, func(t *testing.T, objs map[string]map[string]any, cfg *config.Config) {
			w := cfg.Webhook
			if w.OnError != "allow" || w.RuleModes["DWF603"] != "warn" || w.DockerConfig != "/var/run/dwf-policy/registry/config.json" ||
				w.Gate.Mode != "warn" || !slices.Equal(w.Gate.Exempt, []string{"mirror/*"}) || len(w.AllowedRegistries) != 2 {
				t.Errorf("webhook section: %+v", w)
			}
			if cfg.Data()["uid"] != 2000 {
				t.Errorf("config.uid did not reach the file: %v", cfg.Data()["uid"])
			}
			d := objs["Deployment/dwf-policy"]
			args, _ := json.Marshal(dig(d, "spec", "template", "spec", "containers", 0, "args"))
			for _, want := range []string{"--registry-gate=http://registry.registry.svc:5000", "--gate-listen=:5443", "--events-token-file=/var/run/dwf-policy/events/token"} {
				if !strings.Contains(string(args), want) {
					t.Errorf("args lack %s: %s", want, args)
				}
			}
			if dig(objs["Service/dwf-policy-gate"], "spec", "ports", 0, "port") != 443 {
				t.Errorf("gate Service: %v", objs["Service/dwf-policy-gate"])
			}
			names, _ := json.Marshal(dig(objs["Certificate/dwf-policy-tls"], "spec", "dnsNames"))
			if !strings.Contains(string(names), "dwf-policy-gate.dwf-policy.svc") {
				t.Errorf("the certificate does not cover the gate's Service: %s", names)
			}
			if dig(objs["ValidatingWebhookConfiguration/dwf-policy"], "webhooks", 0, "failurePolicy") != "Ignore" {
				t.Error("webhook.failurePolicy=Ignore not rendered")
			}
		}},
		{"manual certificate, no pull secrets", []string{"--set", "certificate.certManager=false", "--set", "certificate.caBundle=" + caBundle, "--set", "webhook.pullSecrets=false"},
			func(t *testing.T, objs map[string]map[string]any, cfg *config.Config) {
				vwc := objs["ValidatingWebhookConfiguration/dwf-policy"]
				if dig(vwc, "webhooks", 0, "clientConfig", "caBundle") != caBundle || dig(vwc, "metadata", "annotations") != nil {
					t.Errorf("manual certificate: %v", vwc)
				}
				for k := range objs {
					if strings.HasPrefix(k, "Certificate/") || strings.HasPrefix(k, "Issuer/") || strings.HasPrefix(k, "ClusterRole") {
						t.Errorf("rendered %s", k)
					}
				}
				if dig(objs["Deployment/dwf-policy"], "spec", "template", "spec", "automountServiceAccountToken") != false {
					t.Error("the service account token is mounted without pull secrets")
				}
			}},
	}
	root := repoRoot(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := renderChart(t, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "rendered.yaml")
			if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			if stdout, stderr, code := run(t, root, "check", "--fail-on", "note", file); code != cli.ExitOK {
				t.Errorf("check of the rendering: exit %d\n%s%s", code, stdout, stderr)
			}
			objs := renderedObjects(t, out)
			raw, _ := dig(objs["ConfigMap/dwf-policy"], "data", "dwf-policy.yaml").(string)
			cfg, err := config.Decode("dwf-policy.yaml", "/etc/dwf-policy", []byte(raw))
			if err != nil {
				t.Fatalf("the chart's configuration file:\n%s\n%v", raw, err)
			}
			tc.check(t, objs, cfg)
		})
	}

	// Values that cannot work are refused with the value to fix.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--set", "gate.enabled=true"}, "gate.upstream"},
		{[]string{"--set", "certificate.certManager=false"}, "certificate.caBundle"},
		{[]string{"--set", "webhook.failurePolicy=Never"}, "webhook.failurePolicy"},
		{[]string{"--set", "config.webhook.mode=warn"}, "config.webhook"},
	} {
		if _, err := renderChart(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v; want an error naming %s", tc.args, err, tc.want)
		}
	}
}

// readmeBlock returns the fenced block after `<!-- snippet: name -->` in
// README.md, unindented (a snippet may sit in a list item).
func readmeBlock(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(raw), "<!-- snippet: "+name+" -->\n")
	if !ok {
		t.Fatalf("README.md has no snippet %q", name)
	}
	fence, body, _ := strings.Cut(rest, "\n")
	indent := fence[:len(fence)-len(strings.TrimLeft(fence, " "))]
	block, _, ok := strings.Cut(body, indent+"```")
	if !ok {
		t.Fatalf("snippet %q has no closing fence", name)
	}
	var b strings.Builder
	for line := range strings.Lines(block) {
		b.WriteString(strings.TrimPrefix(line, indent))
	}
	return b.String()
}

// fakeBin writes an executable script NAME into dir.
func fakeBin(t *testing.T, dir, name, script string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/bash\nset -eu\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// runSnippet runs a README shell snippet with bash in a directory where
// deploy/ is the repository's, kubectl only records its arguments, and
// `helm install` is `helm template` (the same rendering, no cluster). It
// returns what kubectl was asked and what helm rendered.
func runSnippet(t *testing.T, snippet string, files map[string]string) (kubectl, rendered string) {
	t.Helper()
	dir, bin := t.TempDir(), t.TempDir()
	if err := os.Symlink(filepath.Join(repoRoot(t), "deploy"), filepath.Join(dir, "deploy")); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fakeBin(t, bin, "kubectl", `echo "kubectl $*" >> "$SNIPPET_LOG"`+"\n")
	fakeBin(t, bin, "helm", `[ "$1" = install ] || { echo "helm $1: only install is expected" >&2; exit 1; }
shift
args=()
for a in "$@"; do [ "$a" = --create-namespace ] || args+=("$a"); done
exec "$REAL_HELM" template "${args[@]}" > "$SNIPPET_RENDERED"
`)
	log, out := filepath.Join(dir, "kubectl.log"), filepath.Join(dir, "rendered.yaml")
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", snippet)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"REAL_HELM="+helm(t), "SNIPPET_LOG="+log, "SNIPPET_RENDERED="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the snippet failed: %v\n%s\n%s", err, snippet, b)
	}
	k, _ := os.ReadFile(log)
	r, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("the snippet ran no helm install: %v", err)
	}
	return string(k), string(r)
}

// TestREADMEHelmSnippets: the README's Helm install installs what deploy/
// holds, and its manual-certificate path gives the webhook configuration
// the CA of the certificate in the Secret the pods mount.
func TestREADMEHelmSnippets(t *testing.T) {
	_, rendered := runSnippet(t, readmeBlock(t, "admission-helm"), nil)
	want, err := renderChart(t)
	if err != nil {
		t.Fatal(err)
	}
	if rendered != want {
		t.Errorf("the README's helm install renders something else than deploy/ holds:\n%s", rendered)
	}

	ca := "-----BEGIN CERTIFICATE-----\nMIIB (a test CA)\n-----END CERTIFICATE-----\n"
	kubectl, rendered := runSnippet(t, readmeBlock(t, "admission-helm-manual-certificate"),
		map[string]string{"ca.crt": ca, "tls.crt": "cert", "tls.key": "key"})
	if !strings.Contains(kubectl, "kubectl create namespace dwf-policy\n") ||
		!strings.Contains(kubectl, "create secret tls dwf-policy-tls --cert=tls.crt --key=tls.key") {
		t.Errorf("the manual-certificate snippet does not create the namespace and the TLS secret:\n%s", kubectl)
	}
	objs := renderedObjects(t, rendered)
	if got := dig(objs["ValidatingWebhookConfiguration/dwf-policy"], "webhooks", 0, "clientConfig", "caBundle"); got != base64.StdEncoding.EncodeToString([]byte(ca)) {
		t.Errorf("caBundle %v, want ca.crt in base64", got)
	}
	if got := dig(objs["Deployment/dwf-policy"], "spec", "template", "spec", "volumes", 0, "secret", "secretName"); got != "dwf-policy-tls" {
		t.Errorf("the pods mount the certificate from %v, not the secret the snippet creates", got)
	}
	for k := range objs {
		if strings.HasPrefix(k, "Certificate/") || strings.HasPrefix(k, "Issuer/") {
			t.Errorf("the manual-certificate install renders %s", k)
		}
	}
}

// TestREADMEWebhookConfigSnippet: the webhook: section the README shows
// is valid under the strict schema and sets every key it shows.
func TestREADMEWebhookConfigSnippet(t *testing.T) {
	cfg, err := config.Decode(".dwf-policy.yaml", "/etc/dwf-policy", []byte(readmeBlock(t, "webhook-config")))
	if err != nil {
		t.Fatal(err)
	}
	w := cfg.Webhook
	if w.Mode == "" || w.FailOn == "" || w.OnError == "" || len(w.RuleModes) == 0 || w.ExemptNamespaces == nil || w.AllowedRegistries == nil ||
		w.InsecureRegistries == nil || w.PullSecrets == nil || w.DockerConfig != "/etc/dwf-policy/registry/config.json" ||
		w.Gate.Mode == "" || w.Gate.Exempt == nil || w.Gate.Only == nil {
		t.Errorf("the README's webhook section leaves keys unset: %+v", w)
	}
}
