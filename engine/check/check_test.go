package check_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/engine/input"
	"github.com/devflow/dwf-policy/engine/policyset"
)

// repo writes files into a new repository directory.
func repo(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files[".git/HEAD"] = "ref: refs/heads/main\n"
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type got struct {
	Rule       string
	Line       int
	Suppressed string // the suppression kind, "" when it counts
}

func summarise(fs []finding.Finding) []got {
	out := make([]got, 0, len(fs))
	for _, f := range fs {
		g := got{Rule: f.RuleID, Line: f.Location.Line}
		if f.Suppressed() {
			g.Suppressed = f.Suppressions[0].Kind
		}
		out = append(out, g)
	}
	return out
}

// A Dockerfile that breaks DWF101 (no USER), DWF103 (no tini) and DWF104
// (apk add without a cache mount).
const dockerfile = `FROM alpine:3.20
# dwf-policy:ignore DWF104 the cache mount waits for BuildKit on the old runners
RUN apk add curl
CMD ["/app"]
`

const configFile = `exceptions:
  - rule: DWF103
    paths: ["svc/**"]
    reason: tini arrives with the base image migration
    expires: 2030-01-01
`

// TestDocumentAppliesExceptionsAndSuppressions evaluates one parsed
// document through the checker, as a server would, and sees the
// configuration's exception and the inline suppression applied.
func TestDocumentAppliesExceptionsAndSuppressions(t *testing.T) {
	dir := repo(t, map[string]string{".dwf-policy.yaml": configFile})
	set, err := policyset.Open(context.Background(), policyset.Options{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if set.Config == nil {
		t.Fatal("the configuration was not found")
	}
	doc, err := input.Parse(document.KindDockerfile, "svc/Dockerfile", []byte(dockerfile), input.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC) }
	res := check.New(set, check.Options{Now: now}).Document(context.Background(), doc)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := []got{
		{Rule: "DWF101", Line: 1},
		{Rule: "DWF103", Line: 1, Suppressed: "external"},
		{Rule: "DWF104", Line: 3, Suppressed: "inSource"},
	}
	if diff := cmp.Diff(want, summarise(res.Findings)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	svc, _ := res.Source("svc/Dockerfile")
	if cfg, _ := res.Source(".dwf-policy.yaml"); string(svc) != dockerfile || string(cfg) != configFile {
		t.Errorf("sources: %v", res.Sources)
	}

	// Once the exception has expired, DWF103 counts again and DWF001
	// points into the configuration.
	later := func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }
	res = check.New(set, check.Options{Now: later}).Document(context.Background(), doc)
	want = []got{
		{Rule: "DWF001", Line: 5},
		{Rule: "DWF101", Line: 1},
		{Rule: "DWF103", Line: 1},
		{Rule: "DWF104", Line: 3, Suppressed: "inSource"},
	}
	if diff := cmp.Diff(want, summarise(res.Findings)); diff != "" {
		t.Errorf("after expiry (-want +got):\n%s", diff)
	}
}

// TestCheckerIsSafeForConcurrentUse runs Files and Document from many
// goroutines at once (go test -race watches).
func TestCheckerIsSafeForConcurrentUse(t *testing.T) {
	dir := repo(t, map[string]string{
		".dwf-policy.yaml":         configFile,
		"svc/Dockerfile":           dockerfile,
		".github/workflows/ci.yml": "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n",
	})
	set, err := policyset.Open(context.Background(), policyset.Options{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	c := check.New(set, check.Options{Now: func() time.Time { return time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC) }})
	first := c.Files(context.Background(), nil, check.FilesOptions{})
	if first.Err != nil || first.Checked != 2 {
		t.Fatalf("Files: checked %d, err %v", first.Checked, first.Err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			res := c.Files(context.Background(), nil, check.FilesOptions{})
			if diff := cmp.Diff(summarise(first.Findings), summarise(res.Findings)); diff != "" {
				t.Errorf("a concurrent Files differs (-first +this):\n%s", diff)
			}
		})
	}
	wg.Wait()
}

// TestFilesReportsMissingPathsAndChecksTheRest: a typo in one path is an
// error naming it as typed; the other paths are still checked.
func TestFilesReportsMissingPathsAndChecksTheRest(t *testing.T) {
	dir := repo(t, map[string]string{"svc/Dockerfile": dockerfile})
	set, err := policyset.Open(context.Background(), policyset.Options{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	res := check.New(set, check.Options{}).Files(context.Background(), []string{"svc/Dockerfil", "svc"}, check.FilesOptions{})
	if res.Err == nil || res.Err.Error() != "svc/Dockerfil: no such file or directory" {
		t.Errorf("Err = %v", res.Err)
	}
	if res.Checked != 1 || len(res.Findings) == 0 {
		t.Errorf("checked %d files, %d findings", res.Checked, len(res.Findings))
	}
	if res.URIBase == nil || res.URIBase("svc/Dockerfile") != "svc/Dockerfile" {
		t.Errorf("URIBase does not map to repository-relative paths")
	}
}

// TestFilesKeepsOnlyContentItCannotReadAgain: a check keeps the content of
// files with suppression comments (and standard input), and leaves the
// others to be read again when a report needs them, so that its memory
// does not grow with the number of files.
func TestFilesKeepsOnlyContentItCannotReadAgain(t *testing.T) {
	plain := "FROM alpine\nUSER root\n"
	dir := repo(t, map[string]string{"svc/Dockerfile": dockerfile, "plain/Dockerfile": plain})
	set, err := policyset.Open(context.Background(), policyset.Options{WorkDir: dir, Deferred: true})
	if err != nil {
		t.Fatal(err)
	}
	stdin := "FROM alpine\n"
	res := check.New(set, check.Options{}).Files(context.Background(), []string{".", "-"}, check.FilesOptions{Stdin: []byte(stdin)})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	for p, want := range map[string]bool{"svc/Dockerfile": true, "stdin": true, "plain/Dockerfile": false} {
		src, ok := res.Sources[p]
		if !ok || (src != nil) != want {
			t.Errorf("Sources[%s] = %q, %t; want it kept: %t", p, src, ok, want)
		}
	}
	for p, want := range map[string]string{"svc/Dockerfile": dockerfile, "stdin": stdin, "plain/Dockerfile": plain} {
		if got, ok := res.Source(p); !ok || string(got) != want {
			t.Errorf("Source(%s) = %q, %t; want %q", p, got, ok, want)
		}
	}
	if _, ok := res.Source("nothing/Dockerfile"); ok {
		t.Error("Source of a path not checked")
	}
}

// repositoryRule is a custom repository rule: ACME900 fires on every
// repository document; inputs, when set, is its custom.inputs.
func repositoryRule(pkg, id, inputs string) string {
	meta := ""
	if inputs != "" {
		meta = "#   inputs: " + inputs + "\n"
	}
	return "# METADATA\n# title: Acme repository rule\n# custom:\n#   id: " + id + "\n#   severity: warning\n#   kind: repository\n" + meta +
		"package dwf.repository." + pkg + "\n\ndeny contains {\"msg\": \"seen\", \"path\": \"Dockerfile\"} if input.kind == \"repository\"\n"
}

// trivyReportJSON is a Trivy report without vulnerabilities: a .json file
// whose kind only its content tells.
const trivyReportJSON = `{"SchemaVersion": 2, "CreatedAt": "2026-05-31T12:00:00Z", "ArtifactName": "app", "Results": []}`

// TestRepositoryRulesRunOnlyWithTheirInputs: a directory of Dockerfiles
// alone builds no repository document for rules that declared they read
// workflows (nothing to judge; the pre-commit and one-file case compiles
// less), while a rule that declares no inputs still judges it, and one
// workflow brings the declaring rule back.
func TestRepositoryRulesRunOnlyWithTheirInputs(t *testing.T) {
	for _, tc := range []struct {
		name     string
		files    map[string]string
		inputs   string
		wantRule bool
	}{
		{"declares workflow, Dockerfiles only", map[string]string{"Dockerfile": dockerfile}, "[workflow]", false},
		{"declares nothing, Dockerfiles only", map[string]string{"Dockerfile": dockerfile}, "", true},
		// A file whose content decides its kind counts as the kind it
		// turned out to be, once loaded.
		{"declares workflow, a Trivy report", map[string]string{"Dockerfile": dockerfile, "trivy.json": trivyReportJSON}, "[workflow]", false},
		{"declares nothing, a Trivy report", map[string]string{"trivy.json": trivyReportJSON}, "", true},
		{"declares workflow, a workflow present", map[string]string{"Dockerfile": dockerfile,
			".github/workflows/ci.yml": "on: push\npermissions:\n  contents: read\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n"}, "[workflow]", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.files["policy/acme.rego"] = repositoryRule("acme", "ACME900", tc.inputs)
			dir := repo(t, tc.files)
			set, err := policyset.Open(context.Background(), policyset.Options{WorkDir: dir, Policies: []string{"policy"}, Deferred: true})
			if err != nil {
				t.Fatal(err)
			}
			res := check.New(set, check.Options{}).Files(context.Background(), []string{"."}, check.FilesOptions{})
			if err := res.Err; err != nil {
				t.Fatal(err)
			}
			fired := false
			for _, f := range res.Findings {
				fired = fired || f.RuleID == "ACME900"
			}
			if fired != tc.wantRule {
				t.Errorf("ACME900 fired: %v, want %v (findings %v)", fired, tc.wantRule, summarise(res.Findings))
			}
		})
	}
}
