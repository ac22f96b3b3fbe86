package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/devflow/dwf-policy/internal/sarifvalidate"
)

var update = flag.Bool("update", false, "rewrite golden files and generated docs")

// repoRoot is the repository root, two levels above this package.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// run executes the CLI in-process in wd and returns stdout, stderr and the
// exit code.
func run(t testing.TB, wd string, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Command{Stdout: &stdout, Stderr: &stderr, Stdin: strings.NewReader(""), WorkDir: wd}.Main(context.Background(), append([]string{"dwf-policy"}, args...))
	return stdout.String(), stderr.String(), code
}

// golden compares got with the file, or rewrites it with -update. JSON
// files are compared as parsed JSON.
func golden(t *testing.T, file, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("reading golden (run go test ./internal/cli -update): %v", err)
	}
	if strings.HasSuffix(file, ".json") || strings.HasSuffix(file, ".sarif") {
		var w, g any
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatalf("golden %s: %v", file, err)
		}
		if err := json.Unmarshal([]byte(got), &g); err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, got)
		}
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("%s mismatch (-want +got); run with -update if intended:\n%s", file, diff)
		}
		return
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got); run with -update if intended:\n%s", file, diff)
	}
}

func TestDemoGoldens(t *testing.T) {
	root := repoRoot(t)
	for _, format := range []string{"text", "json", "sarif", "github", "junit", "gitlab"} {
		t.Run(format, func(t *testing.T) {
			out, stderr, code := run(t, root, "check", "--format", format, "testdata/demo")
			if code != ExitFindings {
				t.Fatalf("exit code = %d, want %d (the demo has errors); stderr: %s", code, ExitFindings, stderr)
			}
			switch format {
			case "sarif":
				out = normalizeVersion(out)
			case "junit":
				out = normalizeJUnit(out)
			}
			golden(t, filepath.Join(root, "testdata", "golden", "demo."+map[string]string{"text": "txt", "json": "json", "sarif": "sarif", "github": "github", "junit": "junit.xml", "gitlab": "gitlab.json"}[format]), out)
			if format == "sarif" {
				f := filepath.Join(t.TempDir(), "demo.sarif")
				if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				sarifvalidate.Validate(t, f)
			}
		})
	}
}

// normalizeJUnit keeps goldens independent of the time and the version.
func normalizeJUnit(s string) string {
	s = regexp.MustCompile(`timestamp="[^"]*"`).ReplaceAllString(s, `timestamp="2000-01-01T00:00:00"`)
	return strings.ReplaceAll(s, `value="dwf-policy `+version()+`"`, `value="dwf-policy GOLDEN"`)
}

// normalizeVersion keeps goldens independent of the build's version.
func normalizeVersion(s string) string {
	return strings.ReplaceAll(s, `"version": "`+version()+`"`, `"version": "GOLDEN"`)
}

func TestExitCodesAndFlags(t *testing.T) {
	root := repoRoot(t)
	hardened := "testdata/demo/worker/Dockerfile.hardened"
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // substring
		stderr string // substring
	}{
		{"clean file passes", []string{"check", hardened}, ExitOK, "0 problems in 1 file", ""},
		{"errors fail by default", []string{"check", "testdata/demo/worker/Dockerfile"}, ExitFindings, "error DWF101", ""},
		{"fail-on none never fails", []string{"check", "--fail-on", "none", "testdata/demo"}, ExitOK, "DWF101", ""},
		{"warnings pass with fail-on error", []string{"check", "--target", "build", "testdata/demo/Dockerfile"}, ExitFindings, "", ""},
		{"unknown format", []string{"check", "--format", "xml", hardened}, ExitError, "", `--format: unknown format "xml"`},
		{"unknown fail-on", []string{"check", "--fail-on", "fatal", hardened}, ExitError, "", `--fail-on: unknown severity "fatal"`},
		{"unknown kind", []string{"check", "--kind", "helm", hardened}, ExitError, "", `--kind: unknown kind "helm"`},
		{"unknown flag", []string{"check", "--frobnicate"}, ExitError, "", "unknown flag: --frobnicate"},
		{"missing path still checks the others", []string{"check", "no/such/Dockerfile", "testdata/demo/worker/Dockerfile"}, ExitError, "DWF101", "dwf-policy: no/such/Dockerfile: no such file or directory"},
		{"version", []string{"version"}, ExitOK, "dwf-policy ", ""},
		{"rules", []string{"rules"}, ExitOK, "DWF101", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := run(t, root, tc.args...)
			if code != tc.code {
				t.Errorf("exit code = %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			if !strings.Contains(out, tc.stdout) {
				t.Errorf("stdout %q does not contain %q", out, tc.stdout)
			}
			if !strings.Contains(errOut, tc.stderr) {
				t.Errorf("stderr %q does not contain %q", errOut, tc.stderr)
			}
		})
	}
}

func TestHelpOnEveryCommand(t *testing.T) {
	for _, cmd := range [][]string{{"check"}, {"rules"}, {"explain"}, {"version"}, {"test"}, {"config"}, {"config", "schema"}, {"bundle"}, {"bundle", "build"}} {
		out, _, code := run(t, repoRoot(t), append(cmd, "--help")...)
		if code != ExitOK || !strings.Contains(out, "Usage:") {
			t.Errorf("%s --help: code %d, output %q", cmd, code, out)
		}
	}
}

func TestOutputFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "report.sarif")
	stdout, stderr, code := run(t, repoRoot(t), "check", "--format", "sarif", "--output", out, "testdata/demo/worker")
	if code != ExitFindings || stdout != "" {
		t.Fatalf("code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	sarifvalidate.Validate(t, out)
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

// TestBadInputs: every broken file is a DWF000 finding at its line, and the
// good file beside them is still checked.
func TestBadInputs(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), data, mode); err != nil {
			t.Fatal(err)
		}
	}
	write("empty.Dockerfile", nil, 0o644)
	write("binary.Dockerfile", []byte("FROM x\n\x00\x01ELF"), 0o644)
	write("utf8.Dockerfile", []byte("FROM alpine:3\nLABEL a=\xff\n"), 0o644)
	write("heredoc.Dockerfile", []byte("FROM alpine:3\nRUN <<EOF\necho\n"), 0o644)
	write("huge.Dockerfile", append([]byte("FROM alpine:3\n"), bytes.Repeat([]byte("# padding padding padding\n"), 5<<20/26+1)...), 0o644)
	// Compliant content: root (as in CI) can read it anyway.
	write("unreadable.Dockerfile", []byte("FROM alpine:3\nUSER 1001\nENTRYPOINT [\"/sbin/tini\", \"--\"]\n"), 0o000)
	write("good.Dockerfile", []byte("FROM alpine:3\nUSER 1001\nENTRYPOINT [\"/sbin/tini\", \"--\"]\n"), 0o644)

	out, stderr, code := run(t, dir, "check", "--format", "json", ".")
	if code != ExitFindings {
		t.Fatalf("exit code %d, stderr %s", code, stderr)
	}
	var rep struct {
		Findings []struct {
			RuleID   string             `json:"rule_id"`
			Path     string             `json:"path"`
			Message  string             `json:"message"`
			Location struct{ Line int } `json:"location"`
		} `json:"findings"`
		Summary struct{ Files int } `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range rep.Findings {
		if f.RuleID == "DWF000" {
			got[f.Path] = f.Message
		} else if f.Path != "good.Dockerfile" {
			t.Errorf("unexpected %s in %s", f.RuleID, f.Path)
		}
	}
	want := map[string]string{
		"empty.Dockerfile":   "empty Dockerfile",
		"binary.Dockerfile":  "binary file",
		"utf8.Dockerfile":    "invalid UTF-8",
		"heredoc.Dockerfile": "unterminated heredoc",
		"huge.Dockerfile":    "larger than",
	}
	if os.Geteuid() != 0 { // root reads any file
		want["unreadable.Dockerfile"] = "permission denied"
	}
	for path, msg := range want {
		if !strings.Contains(got[path], msg) {
			t.Errorf("%s: DWF000 message %q, want it to contain %q", path, got[path], msg)
		}
	}
	if rep.Summary.Files != 7 {
		t.Errorf("files checked = %d, want 7", rep.Summary.Files)
	}
}

func TestDocsAreCurrent(t *testing.T) {
	root := repoRoot(t)
	out, _, code := run(t, root, "rules", "--format", "markdown")
	if code != ExitOK {
		t.Fatalf("rules --format markdown: exit %d", code)
	}
	golden(t, filepath.Join(root, "docs", "rules.md"), out)
}

// TestTargetExplicitAndWalked: --target must name a stage of a Dockerfile
// named on the command line (else exit 2, listing its stages, and the file
// is not checked); in a walk, a Dockerfile without the stage is checked at
// its last stage, with a note on standard error.
func TestTargetExplicitAndWalked(t *testing.T) {
	wd := t.TempDir()
	if err := os.Mkdir(filepath.Join(wd, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"api/Dockerfile":    "FROM alpine:3.20 AS runtime\nUSER 1001\nENTRYPOINT [\"tini\", \"--\"]\nFROM runtime AS debug\nUSER root\n",
		"worker/Dockerfile": "FROM alpine:3.20 AS build\nFROM build AS final\nUSER 1001\nENTRYPOINT [\"tini\", \"--\"]\n",
	} {
		p := filepath.Join(wd, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, stderr, code := run(t, wd, "check", "--target", "runtime", ".")
	if code != ExitOK || stderr != "dwf-policy: note: worker/Dockerfile has no stage \"runtime\" (its stages: build, final); checked its last stage\n" {
		t.Errorf("walk: exit %d, stderr %q, out:\n%s", code, stderr, out)
	}
	out, stderr, code = run(t, wd, "check", "--target", "runtime", "worker/Dockerfile")
	if code != ExitError || !strings.Contains(stderr, "worker/Dockerfile has no stage \"runtime\" (its stages: build, final)") || strings.Contains(out, "DWF000") {
		t.Errorf("explicit: exit %d, stderr %q, out:\n%s", code, stderr, out)
	}
}
