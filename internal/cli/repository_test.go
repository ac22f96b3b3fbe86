package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// scanWorkflow is a workflow that scans an image with Trivy, on a daily
// schedule or not.
func scanWorkflow(daily bool) string {
	on := "on:\n  push:\n    branches: [main]\n"
	if daily {
		on += "  schedule:\n    - cron: '0 3 * * *'\n"
	}
	return "name: wf\n" + on + `permissions:
  contents: read
jobs:
  scan:
    runs-on: ubuntu-latest
    steps:
      - uses: aquasecurity/trivy-action@0123456789abcdef0123456789abcdef01234567
        with:
          image-ref: ghcr.io/acme/app:latest
          exit-code: '1'
          severity: CRITICAL,HIGH
`
}

// TestRepositoryRulesSeeTheWholeRepository: a hook passes some files, but
// DWF206 judges all the repository's workflows, and is reported only when
// a file passed is involved.
func TestRepositoryRulesSeeTheWholeRepository(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		".git/HEAD":                     "ref: refs/heads/main\n",
		".github/workflows/build.yml":   scanWorkflow(false),
		".github/workflows/nightly.yml": scanWorkflow(true),
		"Dockerfile":                    "FROM alpine:3.20\nUSER 1001\nENTRYPOINT [\"tini\", \"--\"]\n",
	})
	check := func(args ...string) string {
		t.Helper()
		out, stderr, code := run(t, dir, append([]string{"check", "--fail-on", "none"}, args...)...)
		if code != ExitOK {
			t.Fatalf("check %v: exit %d\n%s%s", args, code, out, stderr)
		}
		return out
	}
	// The nightly workflow scans daily: one batch with only build.yml
	// (pre-commit splitting its files) has no DWF206.
	if out := check(".github/workflows/build.yml"); strings.Contains(out, "DWF206") {
		t.Errorf("a false DWF206 from half of the workflows:\n%s", out)
	}
	if out := check("."); strings.Contains(out, "DWF206") {
		t.Errorf("DWF206 over the whole repository:\n%s", out)
	}

	// Without a daily scan anywhere, DWF206 is reported when a workflow
	// is passed, even one that is not where the finding is...
	writeTree(t, dir, map[string]string{".github/workflows/nightly.yml": scanWorkflow(false)})
	for _, args := range [][]string{{".github/workflows/build.yml"}, {".github/workflows/nightly.yml"}, {"."}} {
		if out := check(args...); strings.Count(out, "DWF206") != 1 || !strings.Contains(out, ".github/workflows/build.yml:2:1: note DWF206 Trivy scans images in `.github/workflows/build.yml` and 1 other workflow(s)") {
			t.Errorf("check %v: want one DWF206 at build.yml:\n%s", args, out)
		}
	}
	// ... and not when only a Dockerfile is.
	if out := check("Dockerfile"); strings.Contains(out, "DWF206") {
		t.Errorf("DWF206 when no workflow is involved:\n%s", out)
	}
	// The workflows not passed are not checked themselves.
	if err := os.WriteFile(filepath.Join(dir, ".github/workflows/broken.yml"), []byte("on: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := check(".github/workflows/build.yml"); strings.Contains(out, "broken.yml") || !strings.Contains(out, "in 1 file") {
		t.Errorf("a workflow not passed was reported or counted:\n%s", out)
	}
}
