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
	"engine":           {"engine/input", "engine/report", "internal/cli", "policies"},
	"policies":         {"engine", "engine/document", "engine/finding", "engine/input", "engine/report", "internal/cli"},
}

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
	checked := 0
	for pkg, ds := range deps {
		for rule, bad := range forbidden {
			if !matches(rule, pkg) {
				continue
			}
			checked++
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
			checked++
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
						t.Errorf("%s depends on %s; it must stay standard-library only", pkg, d)
					}
				}
			}
		}
	}
	if checked < len(forbidden)+len(selfContained) {
		t.Errorf("only %d rules matched a package; a rule names a package that no longer exists", checked)
	}
}

func matches(rule, pkg string) bool {
	if prefix, ok := strings.CutSuffix(rule, "/..."); ok {
		return pkg == prefix || strings.HasPrefix(pkg, prefix+"/")
	}
	return pkg == rule
}
