package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoSilentPasses: a path that leads to nothing checked is reported on
// standard error; --strict-paths makes it exit 2.
func TestNoSilentPasses(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		".dwf-policy.yaml":  "exclude:\n  - legacy/**\n",
		"legacy/Dockerfile": "FROM alpine:3.20\n",
		"docs/README.md":    "# docs\n",
		"app/Dockerfile":    "FROM alpine:3.20\nUSER 1001\nENTRYPOINT [\"tini\", \"--\"]\n",
	})
	out, stderr, code := run(t, dir, "check", "--ignore", "DWF105", "legacy/Dockerfile", "docs", "app")
	if code != ExitOK {
		t.Errorf("exit %d, want 0 without --strict-paths\n%s%s", code, out, stderr)
	}
	for _, want := range []string{
		"dwf-policy: warning: legacy/Dockerfile: not checked: the configuration .dwf-policy.yaml excludes it\n",
		"dwf-policy: warning: docs: no file to check in it (none of the kinds bake, dockerfile, kubernetes, trivy-report, workflow)\n",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "app") {
		t.Errorf("a path with a checked file is reported:\n%s", stderr)
	}
	_, stderr, code = run(t, dir, "check", "--strict-paths", "--ignore", "DWF105", "legacy/Dockerfile", "app")
	if code != ExitError || !strings.Contains(stderr, "--strict-paths: 1 of the paths given led to nothing checked") {
		t.Errorf("--strict-paths: exit %d\n%s", code, stderr)
	}
	_, stderr, code = run(t, dir, "check", "--strict-paths", "--ignore", "DWF105", "app")
	if code != ExitOK || stderr != "" {
		t.Errorf("--strict-paths with every path checked: exit %d\n%s", code, stderr)
	}

	// An empty directory: never "0 problems in 0 files" alone.
	empty := t.TempDir()
	out, stderr, _ = run(t, empty, "check")
	if !strings.Contains(out, "0 problems in 0 files") || !strings.Contains(stderr, "warning: .: no file to check") {
		t.Errorf("empty directory: stdout %q, stderr %q", out, stderr)
	}
}

// TestRuleSwitches: --ignore and --rule change rules for one run, over the
// configuration, and name only rules that exist.
func TestRuleSwitches(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		".dwf-policy.yaml": "rules:\n  DWF105: note\n",
		"Dockerfile":       "FROM alpine:latest\nUSER 1001\nENTRYPOINT [\"tini\", \"--\"]\n",
	})
	out, _, code := run(t, dir, "check", "Dockerfile")
	if code != ExitOK || !strings.Contains(out, "note DWF105") {
		t.Fatalf("the configuration's severity: exit %d\n%s", code, out)
	}
	out, _, code = run(t, dir, "check", "--rule", "dwf105=ERROR", "Dockerfile")
	if code != ExitFindings || !strings.Contains(out, "error DWF105") {
		t.Errorf("--rule DWF105=error: exit %d\n%s", code, out)
	}
	out, _, code = run(t, dir, "check", "--ignore", "DWF105", "--fail-on", "note", "Dockerfile")
	if code != ExitOK || strings.Contains(out, "DWF105") {
		t.Errorf("--ignore DWF105: exit %d\n%s", code, out)
	}
	out, _, _ = run(t, dir, "rules", "--rule", "DWF105=warning")
	if !strings.Contains(out, "DWF105  warning") {
		t.Errorf("rules shows the run's severity:\n%s", out)
	}
	for _, tc := range []struct{ args, stderr string }{
		{"--ignore DWF999", "unknown rule DWF999"},
		{"--rule DWF105", `--rule "DWF105": want ID=SEVERITY`},
		{"--rule DWF105=fatal", `--rule "DWF105=fatal": unknown severity "fatal"`},
	} {
		_, stderr, code := run(t, dir, append([]string{"check"}, append(strings.Fields(tc.args), "Dockerfile")...)...)
		if code != ExitError || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("%s: exit %d, stderr %q", tc.args, code, stderr)
		}
	}
}

// TestStdinFilename: standard input checked as the file it stands for.
func TestStdinFilename(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		".dwf-policy.yaml": "exclude:\n  - third_party/**\nexceptions:\n  - rule: DWF104\n    paths: [\"legacy/**\"]\n    reason: no BuildKit there\n    expires: 2099-01-01\n",
	})
	stdin := func(content string, args ...string) (string, string, int) {
		var stdout, stderr bytes.Buffer
		code := Command{Stdout: &stdout, Stderr: &stderr, Stdin: strings.NewReader(content), WorkDir: dir}.Main(context.Background(), append([]string{"dwf-policy", "check"}, args...))
		return stdout.String(), stderr.String(), code
	}
	const dockerfile = "FROM alpine:3.20\nRUN apk add curl\n"
	// The name gives the kind and names the findings.
	out, stderr, code := stdin(dockerfile, "--stdin-filename", "build/Dockerfile", "-")
	if code != ExitFindings || !strings.Contains(out, "build/Dockerfile:1:1: error DWF101") || strings.Contains(out, "stdin") {
		t.Errorf("exit %d\n%s%s", code, out, stderr)
	}
	// A name that says "workflow" makes YAML a workflow, whatever it holds.
	out, _, _ = stdin("name: x\non: push\njobs: {}\n", "--stdin-filename", ".github/workflows/x.yml", "-")
	if !strings.Contains(out, ".github/workflows/x.yml:") {
		t.Errorf("workflow by name:\n%s", out)
	}
	// Exceptions for the path apply.
	out, _, _ = stdin(dockerfile, "--stdin-filename", "legacy/Dockerfile", "--show-suppressed", "-")
	if !strings.Contains(out, "legacy/Dockerfile:2:1: warning DWF104") || !strings.Contains(out, "(suppressed: no BuildKit there") {
		t.Errorf("exception for the path:\n%s", out)
	}
	// Excluded: not checked, and said so.
	out, stderr, code = stdin(dockerfile, "--stdin-filename", "third_party/Dockerfile", "--strict-paths", "-")
	if code != ExitError || !strings.Contains(stderr, "-: not checked: the configuration .dwf-policy.yaml excludes third_party/Dockerfile") || strings.Contains(out, "DWF101") {
		t.Errorf("excluded: exit %d\n%s%s", code, out, stderr)
	}
	if _, stderr, code := stdin(dockerfile, "--stdin-filename", "Dockerfile", "Dockerfile"); code != ExitError || !strings.Contains(stderr, "give the path - too") {
		t.Errorf("--stdin-filename without -: exit %d %s", code, stderr)
	}
}

// TestConfigFoundFromThePaths: `check services/api` reads the nearest
// configuration above services/api, from anywhere.
func TestConfigFoundFromThePaths(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		".git/HEAD":                     "ref: refs/heads/main\n",
		".dwf-policy.yaml":              "rules:\n  DWF105: note\n",
		"services/api/.dwf-policy.yaml": "rules:\n  DWF105: off\n",
		"services/api/Dockerfile":       "FROM alpine:latest\nUSER 1001\nENTRYPOINT [\"tini\", \"--\"]\n",
		"services/web/Dockerfile":       "FROM alpine:latest\nUSER 1001\nENTRYPOINT [\"tini\", \"--\"]\n",
	})
	for _, tc := range []struct {
		wd, path, want string // want: the DWF105 severity, "" for none
	}{
		{".", "services/api", ""},
		{".", "services/api/Dockerfile", ""},
		{"services/web", "../api", ""},
		{"services/api", ".", ""},
		{".", "services/web", "note"},
		{"services", "web/Dockerfile", "note"},
		// Paths above the working directory keep its configuration.
		{"services/api", "../web", "note"},
		{"services/api", "Dockerfile ../web/Dockerfile", ""},
	} {
		args := append([]string{"check", "--fail-on", "none"}, strings.Fields(tc.path)...)
		out, stderr, code := run(t, filepath.Join(dir, tc.wd), args...)
		if code != ExitOK {
			t.Fatalf("%s: check %s: exit %d\n%s%s", tc.wd, tc.path, code, out, stderr)
		}
		got := ""
		for _, sev := range []string{"note", "warning", "error"} {
			if strings.Contains(out, sev+" DWF105") {
				got = sev
			}
		}
		if got != tc.want {
			t.Errorf("in %s, check %s: DWF105 %q, want %q\n%s", tc.wd, tc.path, got, tc.want, out)
		}
	}
}
