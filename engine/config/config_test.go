package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
)

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // every line of the error, after "invalid config: "
	}{
		{"unknown key with suggestion", "uid: 1001\nexlude: [a]\n",
			[]string{`c.yaml:2:1: unknown key "exlude" (did you mean "exclude"?)`}},
		{"unknown key far from any lists them", "colour: red\n",
			[]string{`c.yaml:1:1: unknown key "colour"; valid keys: uid, user, init, trivy, vulnerabilities, bake, scans, rules, exclude, policies, exceptions, webhook`}},
		{"unknown nested key", "trivy:\n  severity: [HIGH]\n",
			[]string{`c.yaml:2:3: unknown key "severity" in trivy (did you mean "severities"?)`}},
		{"unknown exception key", "exceptions:\n  - rule: DWF104\n    path: [a]\n    reason: r\n",
			[]string{
				`c.yaml:3:5: unknown key "path" in exceptions[0] (did you mean "paths"?)`,
				`c.yaml:2:5: exceptions[0] lacks the required key "paths"`,
			}},
		{"wrong type: string for int", "uid: \"1001\"\n",
			[]string{`c.yaml:1:6: uid must be an integer, not the string "1001"`}},
		{"wrong type: number for string", "user: 1001\n",
			[]string{`c.yaml:1:7: user must be a string, not the number 1001 (quote it: "1001")`}},
		{"wrong type: scalar for list", "init: tini\n",
			[]string{`c.yaml:1:7: init must be a list, not the string "tini"`}},
		{"wrong type: list item", "init: [tini, [x]]\n",
			[]string{`c.yaml:1:14: init[1] must be a string, not a list`}},
		{"negative uid", "uid: -1\n", []string{`c.yaml:1:6: uid must be at least 0`}},
		{"bad severity with suggestion", "rules:\n  DWF104: warn\n",
			[]string{`c.yaml:2:11: rules.DWF104: "warn" is not one of off, note, warning, error (did you mean "warning"?)`}},
		{"bad rule key", "rules:\n  dwf104: off\n",
			[]string{`c.yaml:2:3: rules: "dwf104" is not a rule ID like DWF104`}},
		{"bad trivy severity", "trivy:\n  severities: [CRITICAL, HIHG]\n",
			[]string{`c.yaml:2:26: trivy.severities[1]: "HIHG" is not one of CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN (did you mean "HIGH"?)`}},
		{"missing reason", "exceptions:\n  - rule: DWF104\n    paths: [a]\n",
			[]string{`c.yaml:2:5: exceptions[0] lacks the required key "reason"`}},
		{"empty reason", "exceptions:\n  - rule: DWF104\n    paths: [a]\n    reason: \"  \"\n",
			[]string{`c.yaml:4:13: exceptions[0].reason must not be empty`}},
		{"bad date", "exceptions:\n  - rule: DWF104\n    paths: [a]\n    reason: r\n    expires: 2025-13-01\n",
			[]string{`c.yaml:5:14: exceptions[0].expires: "2025-13-01" is not a date YYYY-MM-DD`}},
		{"date with time", "exceptions:\n  - rule: DWF104\n    paths: [a]\n    reason: r\n    expires: \"2025-01-01T10:00:00Z\"\n",
			[]string{`c.yaml:5:14: exceptions[0].expires: "2025-01-01T10:00:00Z" is not a date YYYY-MM-DD`}},
		{"empty paths", "exceptions:\n  - rule: DWF104\n    paths: []\n    reason: r\n",
			[]string{`c.yaml:3:12: exceptions[0].paths must not be empty`}},
		{"bad glob", "exclude: [\"a/[b\"]\n",
			[]string{`c.yaml:1:11: exclude[0]: "a/[b" is not a valid glob: syntax error in pattern`}},
		{"absolute glob", "exclude: [/etc]\n",
			[]string{`c.yaml:1:11: exclude[0]: "/etc" must be relative to the configuration file's directory`}},
		{"partial double star", "exclude: [a**/b]\n",
			[]string{`c.yaml:1:11: exclude[0]: "a**/b": ** must be a whole path segment, as in a/**/b`}},
		{"duplicate key", "uid: 1\nuid: 2\n", []string{`c.yaml:2:1: duplicate key "uid"`}},
		{"top level not a mapping", "- uid\n",
			[]string{`c.yaml:1:1: the configuration must be a mapping of uid, user, init, trivy, vulnerabilities, bake, scans, rules, exclude, policies, exceptions, webhook, not a list`}},
		{"several problems are all reported", "uid: x\nuser: [a]\n",
			[]string{`c.yaml:1:6: uid must be an integer, not the string "x"`, `c.yaml:2:7: user must be a string, not a list`}},
		{"yaml syntax error", "uid: 1\n  user: x\n", []string{`c.yaml:2: mapping values are not allowed in this context`}},
		{"two documents", "uid: 1\n---\nuid: 2\n", []string{`c.yaml:2: only one YAML document is allowed`}},
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

func TestAliasBombIsRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 8; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	b.WriteString("init: *a7\n")
	if _, err := Decode("c.yaml", "/repo", []byte(b.String())); err == nil {
		t.Fatal("an alias bomb decoded without error")
	}
}

func TestDecode(t *testing.T) {
	src := `# comment
uid: 2000
user: app
init: [tini, dumb-init]
trivy:
  severities: [CRITICAL]
rules:
  DWF104: off
  DWF105: error
exclude: ["legacy/**", vendor]
policies: [policy/, org.tar.gz]
defaults: &paths ["old/**"]
exceptions:
  - rule: DWF101
    paths: *paths
    reason: runs as root until the base image moves
    expires: 2025-06-30
  - rule: DWF105
    paths: ["**/Dockerfile.dev"]
    reason: dev images follow upstream
bake:
  platforms: [linux/amd64, linux/arm64, linux/riscv64]
  compression: zstd
  cache_mode: max
scans:
  lockfiles: [go.sum, "requirements*.txt"]
  default_branches: [trunk]
`
	// `defaults` is not a key: the anchor must live under a real one.
	src = strings.Replace(src, "defaults: &paths [\"old/**\"]\n", "", 1)
	src = strings.Replace(src, "paths: *paths", `paths: ["old/**"]`, 1)
	cfg, err := Decode("c.yaml", "/repo", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	wantData := map[string]any{
		"uid": 2000, "user": "app", "init": []any{"tini", "dumb-init"}, "trivy_severities": []any{"CRITICAL"},
		"vulnerabilities": Default()["vulnerabilities"],
		"bake_platforms":  []any{"linux/amd64", "linux/arm64", "linux/riscv64"}, "bake_compression": "zstd", "bake_cache_mode": "max",
		"scan_lockfiles": []any{"go.sum", "requirements*.txt"}, "default_branches": []any{"trunk"},
	}
	if diff := cmp.Diff(wantData, cfg.Data()); diff != "" {
		t.Errorf("Data (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]finding.Severity{"DWF104": finding.SeverityNone, "DWF105": finding.SeverityError}, cfg.Rules); diff != "" {
		t.Errorf("Rules (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"go.sum", "requirements*.txt"}, cfg.Lockfiles()); diff != "" {
		t.Errorf("Lockfiles (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(DefaultLockfiles, (*Config)(nil).Lockfiles()); diff != "" {
		t.Errorf("default Lockfiles (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"legacy/**", "vendor"}, cfg.Exclude); diff != "" {
		t.Errorf("Exclude (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"policy/", "org.tar.gz"}, cfg.Policies); diff != "" {
		t.Errorf("Policies (-want +got):\n%s", diff)
	}
	want := []Exception{
		{Rule: "DWF101", Paths: []string{"old/**"}, Reason: "runs as root until the base image moves",
			Expires:  time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC),
			Location: document.Location{Line: 16, Column: 5, EndLine: 16, EndColumn: 23}},
		{Rule: "DWF105", Paths: []string{"**/Dockerfile.dev"}, Reason: "dev images follow upstream",
			Location: document.Location{Line: 17, Column: 5, EndLine: 17, EndColumn: 5}},
	}
	if diff := cmp.Diff(want, cfg.Exceptions); diff != "" {
		t.Errorf("Exceptions (-want +got):\n%s", diff)
	}
}

func TestDecodeAliases(t *testing.T) {
	cfg, err := Decode("c.yaml", "/repo", []byte("init: &i [tini]\npolicies: *i\n"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"tini"}, cfg.Policies); diff != "" {
		t.Error(diff)
	}
}

func TestEmptyConfigIsDefault(t *testing.T) {
	for _, src := range []string{"", "# only a comment\n", "---\n"} {
		cfg, err := Decode("c.yaml", "/repo", []byte(src))
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if diff := cmp.Diff(Default(), cfg.Data()); diff != "" {
			t.Errorf("%q: %s", src, diff)
		}
	}
	var none *Config
	if diff := cmp.Diff(Default(), none.Data()); diff != "" {
		t.Error(diff)
	}
}

func TestCheckRuleIDs(t *testing.T) {
	cfg, err := Decode("c.yaml", "/repo", []byte("rules:\n  DWF104: off\n  DWF1O5: off\nexceptions:\n  - {rule: DWF999, paths: [a], reason: r}\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.CheckRuleIDs([]string{"DWF104", "DWF105"})
	want := "invalid config: c.yaml:3:3: unknown rule DWF1O5 (did you mean \"DWF105\"?)\nc.yaml:5:12: unknown rule DWF999"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"legacy/**", "legacy/a/Dockerfile", true},
		{"legacy/**", "legacy", true},
		{"legacy", "legacy/a/Dockerfile", true},
		{"legacy/", "legacy/Dockerfile", true},
		{"./legacy", "legacy/Dockerfile", true},
		{"legacy", "legacyx/Dockerfile", false},
		{"**/Dockerfile.dev", "Dockerfile.dev", true},
		{"**/Dockerfile.dev", "a/b/Dockerfile.dev", true},
		{"**/Dockerfile.dev", "a/b/Dockerfile.prod", false},
		{"a/**/b", "a/b", true},
		{"a/**/b", "a/x/y/b", true},
		{"a/**/b", "a/x/y/c", false},
		{"*.Dockerfile", "app.Dockerfile", true},
		{"*.Dockerfile", "sub/app.Dockerfile", false}, // anchored: use **/
		{"svc-?/Dockerfile", "svc-a/Dockerfile", true},
		{"svc-[ab]/Dockerfile", "svc-c/Dockerfile", false},
		{"**", "anything/at/all", true},
		{"../shared/**", "../shared/Dockerfile", true},
	}
	for _, tc := range tests {
		if got := matchGlob(tc.pattern, tc.path); got != tc.want {
			t.Errorf("matchGlob(%q, %q) = %v, want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
}

func TestApplyExceptions(t *testing.T) {
	src := `exceptions:
  - rule: DWF104
    paths: ["legacy/**"]
    reason: legacy build, replaced in Q3
    expires: 2025-07-01
  - rule: DWF105
    paths: ["**/Dockerfile.dev"]
    reason: dev images follow upstream
  - rule: DWF101
    paths: [svc/Dockerfile]
    reason: migrated
    expires: 2025-06-01
`
	cfg, err := Decode(".dwf-policy.yaml", "/repo", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	findings := func() []finding.Finding {
		return []finding.Finding{
			{RuleID: "DWF104", Path: "legacy/a/Dockerfile"},
			{RuleID: "DWF104", Path: "app/Dockerfile"},
			{RuleID: "DWF105", Path: "legacy/a/Dockerfile"},
			{RuleID: "DWF105", Path: "x/Dockerfile.dev"},
			{RuleID: "DWF101", Path: "svc/Dockerfile"},
			{RuleID: "DWF104", Path: "../legacy/b/Dockerfile"},
		}
	}
	ext := func(reason string) []finding.Suppression {
		return []finding.Suppression{{Kind: "external", Justification: reason}}
	}
	expired := finding.Finding{
		RuleID: "DWF001", Severity: finding.SeverityWarning, Path: ".dwf-policy.yaml",
		Message:  "the exception for DWF101 in svc/Dockerfile expired on 2025-06-01 and no longer suppresses its findings: fix them, or renew the exception with a new date and reason",
		Location: document.Location{Line: 12, Column: 5, EndLine: 12, EndColumn: 23},
	}
	tests := []struct {
		name    string
		now     time.Time
		workDir string
		want    []finding.Finding
	}{
		{"before both expiry dates", time.Date(2025, 5, 31, 23, 59, 0, 0, time.UTC), "/repo", []finding.Finding{
			{RuleID: "DWF104", Path: "legacy/a/Dockerfile", Suppressions: ext("legacy build, replaced in Q3")},
			{RuleID: "DWF104", Path: "app/Dockerfile"},
			{RuleID: "DWF105", Path: "legacy/a/Dockerfile"},
			{RuleID: "DWF105", Path: "x/Dockerfile.dev", Suppressions: ext("dev images follow upstream")},
			{RuleID: "DWF101", Path: "svc/Dockerfile", Suppressions: ext("migrated")},
			{RuleID: "DWF104", Path: "../legacy/b/Dockerfile"}, // outside the config's directory
		}},
		{"on the expiry day the exception has expired", time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), "/repo", []finding.Finding{
			{RuleID: "DWF104", Path: "legacy/a/Dockerfile", Suppressions: ext("legacy build, replaced in Q3")},
			{RuleID: "DWF104", Path: "app/Dockerfile"},
			{RuleID: "DWF105", Path: "legacy/a/Dockerfile"},
			{RuleID: "DWF105", Path: "x/Dockerfile.dev", Suppressions: ext("dev images follow upstream")},
			{RuleID: "DWF101", Path: "svc/Dockerfile"},
			{RuleID: "DWF104", Path: "../legacy/b/Dockerfile"},
			expired,
		}},
		{"paths relative to a working directory below the config", time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC), "/repo/svc", []finding.Finding{
			{RuleID: "DWF104", Path: "legacy/a/Dockerfile"}, // svc/legacy/a/Dockerfile
			{RuleID: "DWF104", Path: "app/Dockerfile"},
			{RuleID: "DWF105", Path: "legacy/a/Dockerfile"},
			{RuleID: "DWF105", Path: "x/Dockerfile.dev", Suppressions: ext("dev images follow upstream")},
			{RuleID: "DWF101", Path: "svc/Dockerfile"}, // svc/svc/Dockerfile
			{RuleID: "DWF104", Path: "../legacy/b/Dockerfile", Suppressions: ext("legacy build, replaced in Q3")},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := cfg.ApplyExceptions(findings(), ApplyOptions{Now: tc.now, WorkDir: tc.workDir, ExpiredSeverity: finding.SeverityWarning})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("DWF001 turned off", func(t *testing.T) {
		got := cfg.ApplyExceptions(findings(), ApplyOptions{Now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), WorkDir: "/repo"})
		for _, f := range got {
			if f.RuleID == "DWF001" || (f.RuleID != "DWF105" && f.Suppressed()) {
				t.Errorf("unexpected %+v", f)
			}
		}
	})
}

func TestExcluder(t *testing.T) {
	cfg, err := Decode("c.yaml", "/repo", []byte("exclude: [\"legacy/**\", \"**/*.bak\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	ex := cfg.Excluder("/repo/svc")
	for p, want := range map[string]bool{
		"Dockerfile":            false,
		"../legacy/Dockerfile":  true, // reported relative to /repo/svc
		"legacy/Dockerfile":     false,
		"x/Dockerfile.bak":      true,
		"/repo/legacy/a/b/Dock": true,
	} {
		if got := ex(p); got != want {
			t.Errorf("exclude(%q) = %v, want %v", p, got, want)
		}
	}
	if (&Config{}).Excluder("/repo") != nil {
		t.Error("no exclude globs must give a nil excluder")
	}
}

func TestFind(t *testing.T) {
	root := t.TempDir()
	repo := filepath.Join(root, "repo")
	deep := filepath.Join(repo, "a", "b")
	mustMkdir(t, filepath.Join(repo, ".git"))
	mustMkdir(t, deep)
	// Above the repository: must never be found from inside it.
	mustWrite(t, filepath.Join(root, FileName), "uid: 1\n")

	got, err := Find(deep)
	if err != nil || got != "" {
		t.Fatalf("Find without a config in the repo = %q, %v; want none", got, err)
	}
	mustWrite(t, filepath.Join(repo, FileName), "uid: 2\n")
	if got, _ := Find(deep); got != filepath.Join(repo, FileName) {
		t.Errorf("Find from a subdirectory = %q, want the repository's", got)
	}
	mustWrite(t, filepath.Join(repo, "a", FileName), "uid: 3\n")
	if got, _ := Find(deep); got != filepath.Join(repo, "a", FileName) {
		t.Errorf("Find = %q, want the nearest", got)
	}
	// Outside a repository only the directory itself counts.
	outside := filepath.Join(root, "plain", "sub")
	mustMkdir(t, outside)
	if got, _ := Find(outside); got != "" {
		t.Errorf("Find outside a repository = %q, want none", got)
	}
	if got, _ := Find(root); got != filepath.Join(root, FileName) {
		t.Errorf("Find in the directory itself = %q", got)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, FileName)
	mustWrite(t, file, "uid: 7\n")
	cfg, err := Load(file, "shown.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "shown.yaml" || cfg.Dir != dir || cfg.Data()["uid"] != 7 || string(cfg.Source) != "uid: 7\n" {
		t.Errorf("cfg = %+v", cfg)
	}
	mustWrite(t, file, strings.Repeat("#", maxFileBytes+1))
	if _, err := Load(file, "big.yaml"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized config: err = %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml"), "missing.yaml"); err == nil {
		t.Error("missing config: no error")
	}
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, file, data string) {
	t.Helper()
	if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
