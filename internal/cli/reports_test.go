package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devflow/dwf-policy/internal/sarifvalidate"
)

// TestOutputFileAlsoWritesTextToStderr: with --output, the job log still
// shows the findings and the summary, unless --quiet.
func TestOutputFileAlsoWritesTextToStderr(t *testing.T) {
	root := repoRoot(t)
	out := filepath.Join(t.TempDir(), "report.sarif")
	stdout, stderr, code := run(t, root, "check", "--format", "SARIF", "--output", out, "testdata/demo/worker")
	if code != ExitFindings || stdout != "" {
		t.Fatalf("code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	text, _, _ := run(t, root, "check", "testdata/demo/worker")
	if stderr != text {
		t.Errorf("stderr is not the text report:\n%s\nwant:\n%s", stderr, text)
	}
	sarifvalidate.Validate(t, out)

	_, stderr, code = run(t, root, "check", "--quiet", "--format", "sarif", "--output", out, "testdata/demo/worker")
	if code != ExitFindings || stderr != "" {
		t.Errorf("--quiet: code %d, stderr %q", code, stderr)
	}
	// A text report on standard output already: not twice.
	stdout, stderr, _ = run(t, root, "check", "--format", "sarif", "--output", out, "--report", "text=-", "testdata/demo/worker")
	if stderr != "" || stdout != text {
		t.Errorf("--report text=-: stdout %q, stderr %q", stdout, stderr)
	}
}

// TestSeveralReports: one run writes every report it is asked for.
func TestSeveralReports(t *testing.T) {
	root := repoRoot(t)
	dir := t.TempDir()
	sarif, js := filepath.Join(dir, "r.sarif"), filepath.Join(dir, "r.json")
	stdout, stderr, code := run(t, root, "check", "--format", "github", "--report", "sarif="+sarif, "--report", "JSON="+js, "testdata/demo/worker")
	if code != ExitFindings || stderr != "" {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
	if !strings.HasPrefix(stdout, "::error file=testdata/demo/worker/Dockerfile,line=") {
		t.Errorf("stdout is not the github report:\n%s", stdout)
	}
	sarifvalidate.Validate(t, sarif)
	raw, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct{ Findings []any }
	if err := json.Unmarshal(raw, &rep); err != nil || len(rep.Findings) == 0 {
		t.Errorf("json report: %v, %d findings", err, len(rep.Findings))
	}

	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"--report", "sarif"}, `--report "sarif": want FORMAT=FILE`},
		{[]string{"--report", "xml=x.xml"}, `--report "xml=x.xml": unknown format "xml"`},
		{[]string{"--report", "json=-"}, "more than one report goes to standard output"},
		{[]string{"-o", "a.json", "--report", "sarif=a.json"}, "more than one report goes to a.json"},
	} {
		_, stderr, code := run(t, root, append(append([]string{"check"}, tc.args...), "testdata/demo/worker")...)
		if code != ExitError || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("%v: code %d, stderr %q, want %q", tc.args, code, stderr, tc.stderr)
		}
	}
}
