package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/devflow/dwf-policy/internal/sarifvalidate"
)

// frozen is the clock of every test that involves exceptions.
var frozen = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// runAt executes the CLI in-process in wd with the clock frozen.
func runAt(t testing.TB, wd string, now time.Time, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Command{Stdout: &stdout, Stderr: &stderr, Stdin: strings.NewReader(""), WorkDir: wd, Now: func() time.Time { return now }}.
		Main(context.Background(), append([]string{"dwf-policy"}, args...))
	return stdout.String(), stderr.String(), code
}

// TestConfigExample runs the README's worked example (testdata/config-example):
// a configuration with an exclude, a custom policy directory, a severity
// override and an exception, and a Dockerfile with inline suppressions
// above a line, at the end of a line, with two IDs and with the wrong rule.
func TestConfigExample(t *testing.T) {
	root := repoRoot(t)
	dir := filepath.Join(root, "testdata", "config-example")
	tests := []struct {
		name   string
		args   []string
		code   int
		golden string
	}{
		{"text", []string{"check"}, ExitOK, "config-example.txt"},
		{"text with suppressed", []string{"check", "--show-suppressed"}, ExitOK, "config-example-suppressed.txt"},
		{"warnings fail with fail-on warning", []string{"check", "--fail-on", "warning"}, ExitFindings, "config-example.txt"},
		{"json", []string{"check", "--format", "json"}, ExitOK, "config-example.json"},
		{"sarif", []string{"check", "--format", "sarif"}, ExitOK, "config-example.sarif"},
		{"test runs the custom policy's tests", []string{"test", "--verbose"}, ExitOK, "config-example-test.txt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := runAt(t, dir, frozen, tc.args...)
			if code != tc.code {
				t.Fatalf("exit code = %d, want %d; stderr: %s", code, tc.code, stderr)
			}
			if strings.HasSuffix(tc.golden, ".sarif") {
				out = sarifResultsOnly(t, normalizeVersion(out))
			}
			golden(t, filepath.Join(root, "testdata", "golden", tc.golden), out)
		})
	}
}

// sarifResultsOnly drops the rule catalogue and rule indexes from a SARIF
// log, so the golden holds the results (locations, suppressions,
// fingerprints) and does not change with every new built-in rule;
// TestDemoGoldens covers the catalogue.
func sarifResultsOnly(t *testing.T, out string) string {
	t.Helper()
	var log map[string]any
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	for _, r := range log["runs"].([]any) {
		run := r.(map[string]any)
		delete(run["tool"].(map[string]any)["driver"].(map[string]any), "rules")
		for _, res := range run["results"].([]any) {
			delete(res.(map[string]any), "ruleIndex")
		}
	}
	b, err := json.MarshalIndent(log, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// TestConfigExampleSARIF checks what GitHub code scanning needs of
// suppressed findings: they stay in the log with kind and justification,
// and the log passes the SARIF multitool.
func TestConfigExampleSARIF(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "testdata", "config-example")
	out, stderr, code := runAt(t, dir, frozen, "check", "--format", "sarif")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	file := filepath.Join(t.TempDir(), "example.sarif")
	if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	sarifvalidate.Validate(t, file)

	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct{ ID string } `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }    `json:"artifactLocation"`
						Region           struct{ StartLine int } `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
				Suppressions []struct{ Kind, Status, Justification string } `json:"suppressions"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatal(err)
	}
	type sup struct{ Kind, Justification string }
	got := map[string][]sup{}
	for _, r := range log.Runs[0].Results {
		pl := r.Locations[0].PhysicalLocation
		key := r.RuleID + " " + pl.ArtifactLocation.URI + ":" + string(rune('0'+pl.Region.StartLine))
		for _, s := range r.Suppressions {
			if s.Status != "accepted" {
				t.Errorf("%s: suppression status %q", key, s.Status)
			}
			got[key] = append(got[key], sup{s.Kind, s.Justification})
		}
	}
	want := map[string][]sup{
		"DWF104 testdata/config-example/app/Dockerfile:3":    {{"inSource", "one small package; a cache mount is not worth it"}},
		"DWF104 testdata/config-example/app/Dockerfile:4":    {{"inSource", "the health check needs curl"}},
		"ACME101 testdata/config-example/app/Dockerfile:4":   {{"inSource", "the health check needs curl"}},
		"DWF104 testdata/config-example/legacy/Dockerfile:2": {{"external", "legacy images build without BuildKit until the Q3 migration"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("suppressions (-want +got):\n%s", diff)
	}
	found := false
	for _, r := range log.Runs[0].Tool.Driver.Rules {
		found = found || r.ID == "ACME101"
	}
	if !found {
		t.Error("the custom rule ACME101 is not described in tool.driver.rules")
	}
	rules, _, code := runAt(t, dir, frozen, "rules")
	if code != ExitOK || !strings.Contains(rules, "ACME101  warning   dockerfile    dockerfile/no-curl") {
		t.Errorf("rules (exit %d) does not list the custom rule:\n%s", code, rules)
	}
}

// TestReadmeShowsTheExample keeps the README's worked example the files
// the tests run.
func TestReadmeShowsTheExample(t *testing.T) {
	root := repoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{".dwf-policy.yaml", "app/Dockerfile", "policy/no_curl.rego", "policy/no_curl_test.rego"} {
		src, err := os.ReadFile(filepath.Join(root, "testdata", "config-example", f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(readme, src) {
			t.Errorf("README.md does not show testdata/config-example/%s verbatim", f)
		}
	}
}

// TestExceptionsAndExclude covers exceptions by glob and expiry with a
// frozen clock, exclude globs relative to the configuration file, and
// configuration discovery from a subdirectory.
func TestExceptionsAndExclude(t *testing.T) {
	repo := t.TempDir()
	mustMkdir(t, filepath.Join(repo, ".git"))
	write := func(name, data string) {
		t.Helper()
		mustMkdir(t, filepath.Dir(filepath.Join(repo, name)))
		if err := os.WriteFile(filepath.Join(repo, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(".dwf-policy.yaml", `exclude: ["gen/**"]
exceptions:
  - rule: DWF105
    paths: ["svc/**/Dockerfile"]
    reason: base images follow upstream
    expires: 2026-12-01
  - rule: DWF104
    paths: ["svc/a/*"]
    reason: expired already
    expires: 2026-11-24
`)
	write("svc/a/Dockerfile", "FROM alpine\nRUN apk add curl\nUSER 1001\nENTRYPOINT [\"tini\"]\n")
	write("gen/Dockerfile", "FROM alpine\n")
	tests := []struct {
		name string
		wd   string
		now  time.Time
		want string
	}{
		{"exception live, the other expired on its day", repo, frozen, `.dwf-policy.yaml:10:5: warning DWF001 the exception for DWF104 in svc/a/* expired on 2026-11-24 and no longer suppresses its findings: fix them, or renew the exception with a new date and reason
svc/a/Dockerfile:1:1: warning DWF105 The base image ` + "`alpine`" + ` has no tag, so it pulls whatever ` + "`latest`" + ` is at build time; pin a version tag or a digest, e.g. ` + "`alpine:<version>`" + ` or ` + "`alpine@sha256:<digest>`" + `. (suppressed: base images follow upstream)
svc/a/Dockerfile:2:1: warning DWF104 This RUN installs packages with ` + "`apk add`" + ` without a cache mount, so every build starts from an empty cache; add ` + "`--mount=type=cache,target=/var/cache/apk`" + ` to the RUN.
2 problems in 1 file: 0 errors, 2 warnings, 0 notes (1 suppressed)
`},
		{"the day before, both apply", repo, frozen.AddDate(0, 0, -1), `svc/a/Dockerfile:1:1: warning DWF105 The base image ` + "`alpine`" + ` has no tag, so it pulls whatever ` + "`latest`" + ` is at build time; pin a version tag or a digest, e.g. ` + "`alpine:<version>`" + ` or ` + "`alpine@sha256:<digest>`" + `. (suppressed: base images follow upstream)
svc/a/Dockerfile:2:1: warning DWF104 This RUN installs packages with ` + "`apk add`" + ` without a cache mount, so every build starts from an empty cache; add ` + "`--mount=type=cache,target=/var/cache/apk`" + ` to the RUN. (suppressed: expired already)
0 problems in 1 file: 0 errors, 0 warnings, 0 notes (2 suppressed)
`},
		{"from a subdirectory, paths stay relative to the config", filepath.Join(repo, "svc"), frozen.AddDate(1, 0, 0), `../.dwf-policy.yaml:6:5: warning DWF001 the exception for DWF105 in svc/**/Dockerfile expired on 2026-12-01 and no longer suppresses its findings: fix them, or renew the exception with a new date and reason
../.dwf-policy.yaml:10:5: warning DWF001 the exception for DWF104 in svc/a/* expired on 2026-11-24 and no longer suppresses its findings: fix them, or renew the exception with a new date and reason
a/Dockerfile:1:1: warning DWF105 The base image ` + "`alpine`" + ` has no tag, so it pulls whatever ` + "`latest`" + ` is at build time; pin a version tag or a digest, e.g. ` + "`alpine:<version>`" + ` or ` + "`alpine@sha256:<digest>`" + `.
a/Dockerfile:2:1: warning DWF104 This RUN installs packages with ` + "`apk add`" + ` without a cache mount, so every build starts from an empty cache; add ` + "`--mount=type=cache,target=/var/cache/apk`" + ` to the RUN.
4 problems in 1 file: 0 errors, 4 warnings, 0 notes
`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := runAt(t, tc.wd, tc.now, "check", "--show-suppressed", "--fail-on", "error")
			if code != ExitOK {
				t.Fatalf("exit %d, stderr %s", code, stderr)
			}
			if diff := cmp.Diff(tc.want, out); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestConfigErrors: a broken configuration stops the check with exit 2 and
// a message naming the file, line and what to write instead.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name, config string
		args         []string
		want         string
	}{
		{"unknown key with suggestion", "uid: 1001\nexlude: [a]\n", nil,
			`dwf-policy: invalid config: .dwf-policy.yaml:2:1: unknown key "exlude" (did you mean "exclude"?)`},
		{"wrong type", "uid: 1001\ninit: tini\n", nil,
			`dwf-policy: invalid config: .dwf-policy.yaml:2:7: init must be a list, not the string "tini"`},
		{"missing reason", "exceptions:\n  - rule: DWF104\n    paths: [\"**\"]\n", nil,
			`dwf-policy: invalid config: .dwf-policy.yaml:2:5: exceptions[0] lacks the required key "reason"`},
		{"unknown rule ID", "rules:\n  DWF1O4: off\n", nil,
			`dwf-policy: invalid config: .dwf-policy.yaml:2:3: unknown rule DWF1O4 (did you mean "DWF104"?)`},
		{"missing policy directory", "policies: [nope]\n", nil,
			`dwf-policy: .dwf-policy.yaml: policies: nope: no such file or directory`},
		{"--config names the file", "", []string{"--config", "other.yaml"},
			"dwf-policy: reading config other.yaml: no such file or directory\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, ".dwf-policy.yaml"), []byte(tc.config), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, cmd := range []string{"check", "rules", "test"} {
				_, stderr, code := runAt(t, dir, frozen, append([]string{cmd}, tc.args...)...)
				if code != ExitError || !strings.HasPrefix(stderr, tc.want) {
					t.Errorf("%s: exit %d, stderr %q; want 2 and %q", cmd, code, stderr, tc.want)
				}
			}
		})
	}
}

func TestConfigSchema(t *testing.T) {
	root := repoRoot(t)
	out, _, code := run(t, root, "config", "schema")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	// The published copy editors point at; `make docs` writes it.
	golden(t, filepath.Join(root, "docs", "dwf-policy.schema.json"), out)
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestUnusedException: an exception whose paths match no file of a run over
// the whole repository is a DWF002 note at the exception, like an unused
// inline suppression; a run over some files only reports nothing, as the
// files the exception covers may not be part of it.
func TestUnusedException(t *testing.T) {
	repo := t.TempDir()
	mustMkdir(t, filepath.Join(repo, ".git"))
	mustMkdir(t, filepath.Join(repo, "svc"))
	for name, data := range map[string]string{
		".dwf-policy.yaml": `exceptions:
  - rule: DWF104
    paths: ["old/Dockerfile"]
    reason: the directory was renamed since
  - rule: DWF105
    paths: ["svc/*"]
    reason: base images follow upstream
`,
		"svc/Dockerfile": "FROM alpine:3.20\nUSER 1001\nENTRYPOINT [\"tini\", \"--\"]\n",
	} {
		if err := os.WriteFile(filepath.Join(repo, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, stderr, code := runAt(t, repo, frozen, "check", "--fail-on", "error")
	want := ".dwf-policy.yaml:2:5: note DWF002 the exception for DWF104 matches no file checked in this run over the whole repository (paths: old/Dockerfile), so it suppresses nothing: correct its paths, or remove it\n"
	if code != ExitOK || !strings.HasPrefix(out, want) || strings.Count(out, "DWF002") != 1 {
		t.Errorf("whole repository: exit %d, stderr %s, out:\n%s\nwant first:\n%s", code, stderr, out, want)
	}
	out, _, _ = runAt(t, repo, frozen, "check", "svc/Dockerfile")
	if strings.Contains(out, "DWF002") {
		t.Errorf("one file: an exception was reported unused:\n%s", out)
	}
}

// TestMarkersInJSONStringsSuppressNothing: JSON has no comments, so a
// "# dwf-policy:ignore" inside a string of it is the string's author's, not
// a suppression: a file path an image author chose in a Trivy report, a
// pod's command. The findings next to them still fail the check.
func TestMarkersInJSONStringsSuppressNothing(t *testing.T) {
	root := repoRoot(t)
	for _, tc := range []struct{ file, rule string }{
		{"testdata/rules/DWF401/suppression-marker-in-a-json-string/trivy.json", "DWF401"},
		{"testdata/rules/DWF603/suppression-marker-in-a-json-string/pod.json", "DWF603"},
	} {
		raw, err := os.ReadFile(filepath.Join(root, tc.file))
		if err != nil || !bytes.Contains(raw, []byte(" # dwf-policy:ignore "+tc.rule+" ")) {
			t.Fatalf("%s has no marker for %s: %v", tc.file, tc.rule, err)
		}
		out, stderr, code := runAt(t, root, frozen, "check", "--format", "json", tc.file)
		if code != ExitFindings {
			t.Errorf("%s: exit %d, want 1: %s", tc.file, code, stderr)
		}
		var rep struct {
			Findings []struct {
				RuleID       string `json:"rule_id"`
				Suppressions []any  `json:"suppressions"`
			} `json:"findings"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, f := range rep.Findings {
			if f.RuleID == tc.rule {
				found = true
				if len(f.Suppressions) > 0 {
					t.Errorf("%s: %s suppressed by a string: %v", tc.file, tc.rule, f.Suppressions)
				}
			}
			if f.RuleID == "DWF002" {
				t.Errorf("%s: a string read as a suppression (DWF002)", tc.file)
			}
		}
		if !found {
			t.Errorf("%s: no %s finding:\n%s", tc.file, tc.rule, out)
		}
	}
}
