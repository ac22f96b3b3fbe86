// Package depcheck holds a test that keeps the package imports pointing one
// way, as the architecture guide lays out: parsers never see the engine,
// reporters never see the engine or the CLI, the models stay stdlib-only.
package depcheck

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/devflow/dwf-policy"

// forbidden maps a package (or a prefix ending in "/...") to module
// packages it must not import, directly or indirectly.
var forbidden = map[string][]string{
	"engine/document":  {"engine", "engine/finding", "engine/input", "engine/report", "engine/config", "internal/cli", "policies"},
	"engine/finding":   {"engine", "engine/input", "engine/report", "engine/config", "internal/cli", "policies"},
	"engine/input/...": {"engine", "engine/report", "engine/config", "internal/cli", "policies", "webhook"},
	"engine/report":    {"engine", "engine/input", "internal/cli", "policies"},
	"engine":           {"engine/input", "engine/report", "engine/check", "engine/policyset", "internal/cli", "policies"},
	"policies":         {"engine", "engine/document", "engine/finding", "engine/input", "engine/report", "internal/cli"},
	// The service layer and everything under it serve every front door:
	// none of them may lean on one.
	"engine/...":      {"internal/cli", "webhook"},
	"engine/repopath": {"engine", "engine/document", "engine/finding", "engine/input", "engine/config"},
	// The servers are front doors beside the command line, not under it;
	// the listener base knows no policy, the doors no flags.
	"webhook/...":          {"internal/cli"},
	"webhook/server":       {"engine", "engine/check", "engine/policyset", "webhook/registrygate", "internal/cli"},
	"webhook/registrygate": {"webhook", "internal/cli"},
	// The dwf-policy binary runs every check of a pre-commit hook; the
	// servers cost it start-up, so `serve` hands over to
	// dwf-policy-server, the only binary that links them.
	"cmd/dwf-policy": {"webhook", "webhook/admission", "webhook/registrygate", "webhook/server", "internal/serving"},
	"internal/cli":   {"webhook", "webhook/admission", "webhook/registrygate", "webhook/server", "internal/serving"},
}

// notYet are rules about packages that do not exist yet; every other rule
// must match a package, so a rename cannot silently retire it.
var notYet = map[string]bool{}

// selfContained lists packages (or prefixes) that may import no module
// package outside the named tree: the shared analysis packages serve every
// input kind, so they know nothing of documents, the engine or the CLI and
// depend only on the standard library and their parser libraries.
var selfContained = map[string]string{
	"engine/analysis/...": "engine/analysis/",
}

// thirdParty lists dependencies a package must not pull in: the stdlib-only
// models must stay cheap to import.
var thirdParty = map[string][]string{
	"engine/document": {"github.com/", "gopkg.in/", "mvdan.cc/"},
	"engine/finding":  {"github.com/", "gopkg.in/", "mvdan.cc/"},
	"engine/repopath": {"github.com/", "gopkg.in/", "mvdan.cc/"},
	// No flag library and no Kubernetes client under the engine: the
	// service layer takes options structs, and Kubernetes objects are read
	// by schema, so the CLI and the webhook stay the only front doors.
	"engine/...": {"github.com/spf13/cobra", "github.com/spf13/pflag", "k8s.io/", "sigs.k8s.io/"},
	// Flags stay in internal/cli.
	"webhook/...": {"github.com/spf13/cobra", "github.com/spf13/pflag"},
	// What the servers bring: metrics and Kubernetes types.
	"cmd/dwf-policy": {"github.com/prometheus/", "k8s.io/", "sigs.k8s.io/"},
	// The defaults serve --help shows, kept light for the same reason.
	"webhook/defaults": {"github.com/", "gopkg.in/", "k8s.io/"},
}

func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps=false", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := map[string][]string{}
	for _, line := range strings.Split(string(bytes.TrimSpace(out)), "\n") {
		f := strings.Fields(line)
		deps[strings.TrimPrefix(f[0], module+"/")] = f[1:]
	}
	if len(deps) < 5 {
		t.Fatalf("go list found only %d packages", len(deps))
	}
	matched := map[string]bool{}
	for pkg, ds := range deps {
		for rule, bad := range forbidden {
			if !matches(rule, pkg) {
				continue
			}
			matched[rule] = true
			for _, d := range ds {
				for _, b := range bad {
					if d == module+"/"+b {
						t.Errorf("%s imports %s (directly or not); imports must point the other way", pkg, b)
					}
				}
			}
		}
		for rule, allowed := range selfContained {
			if !matches(rule, pkg) {
				continue
			}
			matched[rule] = true
			for _, d := range ds {
				if p, ok := strings.CutPrefix(d, module+"/"); ok && !strings.HasPrefix(p, allowed) {
					t.Errorf("%s imports %s (directly or not); it may only import packages under %s", pkg, p, allowed)
				}
			}
		}
		for rule, bad := range thirdParty {
			if !matches(rule, pkg) {
				continue
			}
			for _, d := range ds {
				for _, b := range bad {
					if strings.HasPrefix(d, b) && !strings.HasPrefix(d, module+"/") {
						t.Errorf("%s depends on %s (directly or not); it must not", pkg, d)
					}
				}
			}
		}
	}
	for rule := range forbidden {
		if !matched[rule] && !notYet[rule] {
			t.Errorf("rule %q matched no package; it names a package that no longer exists", rule)
		}
	}
	for rule := range selfContained {
		if !matched[rule] {
			t.Errorf("rule %q matched no package; it names a package that no longer exists", rule)
		}
	}
}

func matches(rule, pkg string) bool {
	if prefix, ok := strings.CutSuffix(rule, "/..."); ok {
		return pkg == prefix || strings.HasPrefix(pkg, prefix+"/")
	}
	return pkg == rule
}
