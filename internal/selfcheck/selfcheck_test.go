package selfcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/devflow/dwf-policy/engine/input"
	"github.com/devflow/dwf-policy/internal/cli"
	"github.com/devflow/dwf-policy/internal/sarifvalidate"
)

func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func run(t *testing.T, wd string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Command{Stdout: &out, Stderr: &errOut, WorkDir: wd}.Main(context.Background(), append([]string{"dwf-policy"}, args...))
	return out.String(), errOut.String(), code
}

// TestSelfCheck is `make self-check` in-process: the repository passes every
// built-in rule at every severity, and the SARIF the CI job uploads is valid.
func TestSelfCheck(t *testing.T) {
	root := repoRoot(t)
	sarif := filepath.Join(t.TempDir(), "self.sarif")
	_, stderr, code := run(t, root, "check", "--config", ".dwf-policy-self-check.yaml", "--fail-on", "note", "--format", "sarif", "--output", sarif, ".")
	if code != cli.ExitOK {
		out, _, _ := run(t, root, "check", "--config", ".dwf-policy-self-check.yaml", ".")
		t.Fatalf("self-check: exit %d\n%s%s", code, out, stderr)
	}
	sarifvalidate.Validate(t, sarif)

	// The self-check must cover the files that ship, not silently nothing.
	out, _, _ := run(t, root, "check", "--config", ".dwf-policy-self-check.yaml", "--format", "json", ".")
	var rep struct {
		Summary struct{ Files int } `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	shipped, _ := filepath.Glob(filepath.Join(root, ".github", "workflows", "*.yml"))
	manifests, _ := filepath.Glob(filepath.Join(root, "deploy", "*.yaml"))
	if want := len(shipped) + 2 + len(manifests); rep.Summary.Files != want { // + Dockerfile.devflow, docker-bake.hcl
		t.Errorf("self-check covered %d files, want %d (Dockerfile.devflow, docker-bake.hcl, %d workflows and %d manifests in deploy/)", rep.Summary.Files, want, len(shipped), len(manifests))
	}
}

// snippet returns the fenced block after `<!-- snippet: name -->` in README.md.
func snippet(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(raw), "<!-- snippet: "+name+" -->\n")
	if !ok {
		t.Fatalf("README.md has no snippet %q", name)
	}
	_, body, _ := strings.Cut(rest, "```yaml\n")
	block, _, ok := strings.Cut(body, "```")
	if !ok {
		t.Fatalf("snippet %q is not a yaml block", name)
	}
	return block
}

// TestREADMEWorkflowSnippetIsTheSelfCheckedJob: the CI snippet users copy is
// exactly the job of ci.yml that the self-check checks.
func TestREADMEWorkflowSnippetIsTheSelfCheckedJob(t *testing.T) {
	ci, err := os.ReadFile(filepath.Join(repoRoot(t), ".github", "workflows", "ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if s := snippet(t, "ci"); !strings.Contains(string(ci), s) {
		t.Errorf("the README's CI snippet is not part of .github/workflows/ci.yml:\n%s", s)
	}
}

// TestActionInputs: the composite action declares what the README documents
// and hands inputs to its script through the environment only.
func TestActionInputs(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var action struct {
		Inputs  map[string]any `yaml:"inputs"`
		Outputs map[string]any `yaml:"outputs"`
		Runs    struct {
			Using string `yaml:"using"`
			Steps []struct {
				Run string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(raw, &action); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"paths", "config", "fail-on", "sarif-file"} {
		if _, ok := action.Inputs[in]; !ok {
			t.Errorf("action.yml lacks input %q", in)
		}
	}
	if _, ok := action.Outputs["sarif-file"]; !ok || action.Runs.Using != "composite" {
		t.Errorf("action.yml: outputs %v, using %q", action.Outputs, action.Runs.Using)
	}
	check := ""
	for _, st := range action.Runs.Steps {
		if strings.Contains(st.Run, "${{") {
			t.Errorf("a run script interpolates an expression (script injection risk):\n%s", st.Run)
		}
		if strings.Contains(st.Run, "args=(check ") {
			check = st.Run
		}
	}
	// The job log shows why a step failed: annotations on standard output
	// (--report github=-) and, because the SARIF goes to --output, the
	// text report on standard error (no --quiet).
	for _, want := range []string{"--format sarif", `--output "$DWF_SARIF"`, "--report github=-"} {
		if !strings.Contains(check, want) {
			t.Errorf("the action's check step lacks %s:\n%s", want, check)
		}
	}
	if strings.Contains(check, "--quiet") || strings.Contains(check, " -q") {
		t.Errorf("the action's check step silences the text report:\n%s", check)
	}
}

// requireTool returns the path of a tool the test setup installs: missing
// is a skip on a developer machine and a failure in CI.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; make tools installs it", name)
		}
		t.Skipf("%s is not installed; run make tools", name)
	}
	return p
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestPreCommitHook runs the hook with the real pre-commit, twice: the
// README snippet (pointing at a clone of this repository's HEAD) with
// `pre-commit run`, and `pre-commit try-repo` on this working tree.
func TestPreCommitHook(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the hook with pre-commit; skipped with -short")
	}
	preCommit := requireTool(t, "pre-commit")
	root := repoRoot(t)
	tmp := t.TempDir()

	// pre-commit clones `repo` at `rev`: use a clone of HEAD so the test
	// does not depend on uncommitted changes.
	hookRepo := filepath.Join(tmp, "dwf-policy")
	git(t, tmp, "clone", "--quiet", "--no-hardlinks", root, hookRepo)
	rev := git(t, hookRepo, "rev-parse", "HEAD")

	sample := filepath.Join(tmp, "sample")
	files := map[string]string{
		"Dockerfile":               "FROM python:latest\nRUN pip install flask\nENTRYPOINT python app.py\n",
		"services/api/Dockerfile":  "FROM debian:12\nUSER 1001\nENTRYPOINT [\"/usr/bin/tini\", \"--\"]\n",
		".github/workflows/ci.yml": "on: push\npermissions:\n  contents: read\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ok\n",
		"docs/notes.md":            "FROM not-a-dockerfile\n",
		// DWF206 is judged over both workflows, however pre-commit splits
		// the files: nightly.yml scans the image daily.
		".github/workflows/build.yml":   scanWorkflow(false),
		".github/workflows/nightly.yml": scanWorkflow(true),
	}
	for name, content := range files {
		p := filepath.Join(sample, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := strings.Replace(snippet(t, "pre-commit"), "https://github.com/devflow/dwf-policy", hookRepo, 1)
	cfg = strings.Replace(cfg, "rev: v0.1.0", "rev: "+rev, 1)
	if err := os.WriteFile(filepath.Join(sample, ".pre-commit-config.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, sample, "init", "--quiet")
	git(t, sample, "add", ".")
	git(t, sample, "commit", "--quiet", "-m", "sample")

	gomodcache, _ := exec.Command("go", "env", "GOMODCACHE").Output()
	env := append(os.Environ(),
		"PRE_COMMIT_HOME="+filepath.Join(tmp, "pre-commit-home"),
		// pre-commit gives the hook its own GOPATH; reuse the module cache
		// so the build needs no download.
		"GOMODCACHE="+strings.TrimSpace(string(gomodcache)),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
	)
	preCommitRun := func(args ...string) (string, int) {
		cmd := exec.Command(preCommit, args...)
		cmd.Dir = sample
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("pre-commit %v: %v\n%s", args, err, out)
		}
		return string(out), code
	}

	out, code := preCommitRun("run", "--all-files")
	if code != 1 {
		t.Fatalf("pre-commit run: exit %d, want 1 (the root Dockerfile is not compliant)\n%s", code, out)
	}
	for _, want := range []string{"Dockerfile:1:1: error DWF101", "Dockerfile:3:1: error DWF103", "5 files"} {
		if !strings.Contains(out, want) {
			t.Errorf("pre-commit output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "notes.md") {
		t.Errorf("the hook was given a file its `files` pattern must not match:\n%s", out)
	}
	if strings.Contains(out, "DWF206") || strings.Count(out, " problems in ") != 1 {
		t.Errorf("the hook ran in more than one batch, or judged half of the workflows:\n%s", out)
	}

	// Fix the file: the hook passes.
	if err := os.WriteFile(filepath.Join(sample, "Dockerfile"), []byte(files["services/api/Dockerfile"]), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := preCommitRun("try-repo", root, "dwf-policy", "--all-files"); code != 0 {
		t.Fatalf("pre-commit try-repo after the fix: exit %d\n%s", code, out)
	}

	// dwf-policy-system runs the dwf-policy on PATH: no build.
	bin := filepath.Join(tmp, "bin")
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "dwf-policy"), "./cmd/dwf-policy")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(sample, "Dockerfile"), []byte(files["Dockerfile"]), 0o644); err != nil {
		t.Fatal(err)
	}
	env = append(env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, code = preCommitRun("try-repo", root, "dwf-policy-system", "--all-files")
	if code != 1 || !strings.Contains(out, "Dockerfile:1:1: error DWF101") || strings.Contains(out, "DWF206") {
		t.Errorf("pre-commit try-repo dwf-policy-system: exit %d, want 1 with DWF101\n%s", code, out)
	}
	if strings.Contains(out, "Installing environment") {
		t.Errorf("dwf-policy-system built something:\n%s", out)
	}
}

// scanWorkflow is a workflow that scans an image with Trivy on push, and
// daily when asked.
func scanWorkflow(daily bool) string {
	on := "on:\n  push:\n    branches: [main]\n"
	if daily {
		on += "  schedule:\n    - cron: '0 3 * * *'\n"
	}
	return "name: wf\n" + on + "permissions:\n  contents: read\njobs:\n  scan:\n    runs-on: ubuntu-latest\n    steps:\n" +
		"      - uses: aquasecurity/trivy-action@0123456789abcdef0123456789abcdef01234567\n" +
		"        with:\n          image-ref: ghcr.io/acme/app:latest\n          exit-code: '1'\n          severity: CRITICAL,HIGH\n"
}

// TestREADMERuleSummariesAgreeWithRules: the README's rule table is a
// summary of docs/rules.md, so a verdict it states must be the rule's. The
// cases are the ones a reader tests first: the levels that look read-only.
func TestREADMERuleSummariesAgreeWithRules(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := func(id string) string {
		for _, line := range strings.Split(string(raw), "\n") {
			if strings.HasPrefix(line, "| "+id+" |") {
				return line
			}
		}
		t.Fatalf("README.md has no rule-table row for %s", id)
		return ""
	}
	// DWF201 rejects read-all and write-all at the root, which have no
	// `write` scope written out; the summary must not let them pass.
	for _, s := range []string{"`read-all`", "`write-all`", "`{}`"} {
		if r := row("DWF201"); !strings.Contains(r, s) {
			t.Errorf("the README's DWF201 summary does not say what happens to %s:\n%s", s, r)
		}
	}
}

// TestPreCommitPatternAgreesWithDetection: the pre-commit hook passes
// exactly the files `check` detects by name (pre-commit names them
// explicitly, so a file the pattern lets through that the walk would skip,
// such as Dockerfile.dockerignore, would be checked as a Dockerfile).
func TestPreCommitPatternAgreesWithDetection(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), ".pre-commit-hooks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	type hook struct {
		ID            string `yaml:"id"`
		Files         string `yaml:"files"`
		Exclude       string `yaml:"exclude"`
		Language      string `yaml:"language"`
		Entry         string `yaml:"entry"`
		RequireSerial bool   `yaml:"require_serial"`
	}
	var hooks []hook
	if err := yaml.Unmarshal(raw, &hooks); err != nil {
		t.Fatalf("reading .pre-commit-hooks.yaml: %v", err)
	}
	i := slices.IndexFunc(hooks, func(h hook) bool { return h.ID == "dwf-policy" })
	if i < 0 {
		t.Fatal(".pre-commit-hooks.yaml has no dwf-policy hook")
	}
	// The hook with the installed binary passes the same files, serially.
	j := slices.IndexFunc(hooks, func(h hook) bool { return h.ID == "dwf-policy-system" })
	if j < 0 || hooks[j].Files != hooks[i].Files || hooks[j].Exclude != hooks[i].Exclude || hooks[j].Language != "system" || hooks[j].Entry != hooks[i].Entry {
		t.Errorf("dwf-policy-system is not dwf-policy with language: system")
	}
	for _, h := range hooks {
		if !h.RequireSerial {
			t.Errorf("hook %s lacks require_serial: true (pre-commit would split its files into batches)", h.ID)
		}
	}
	files := regexp.MustCompile(hooks[i].Files)
	exclude := regexp.MustCompile("^$")
	if hooks[i].Exclude != "" {
		exclude = regexp.MustCompile(hooks[i].Exclude)
	}
	for _, name := range []string{
		"Dockerfile", "dockerfile", "build/Containerfile", "Dockerfile.devflow", "Dockerfile-prod", "svc/Dockerfile.prod",
		"api.Dockerfile", "api.dockerfile", "api.Containerfile", ".github/workflows/ci.yml", "x/.github/workflows/a.yaml",
		"Dockerfile.dockerignore", "app/Dockerfile.dockerignore", "Dockerfile.md", "Dockerfile-prod.md", "Dockerfile.json",
		"Dockerfile.yaml", "Containerfile.txt", "Dockerfile.sh", "Dockerfile.j2", "Dockerfile.template", "Dockerfile.in",
		"Dockerfiles", "README.md", "ci.yml", "engine/dockerfile.go", "policies/lib/dockerfile.rego", "dockerfile.md", ".github/workflows/sub/a.yml", "docs/dockerfile-guide.md",
		"docker-bake.hcl", "docker-bake.json", "docker-bake.override.hcl", "ci/docker-bake.prod.json", "app.bake.hcl", "docker-bake.yaml", "bake.hcl",
	} {
		passed := files.MatchString(name) && !exclude.MatchString(name)
		if detected := input.KindOf(name) != ""; passed != detected {
			t.Errorf("%s: the pre-commit pattern passes it: %v; check detects it by name: %v", name, passed, detected)
		}
	}
}

// TestDeployManifests: the manifests users apply pass the Kubernetes rules
// at every severity, on their own (no --config, so nothing is excluded),
// and the Deployment is the hardened one the README promises.
func TestDeployManifests(t *testing.T) {
	root := repoRoot(t)
	manifests, _ := filepath.Glob(filepath.Join(root, "deploy", "*.yaml"))
	// The files, not the directory: the Helm chart's templates below it are
	// checked as rendered (TestChartValues).
	out, stderr, code := run(t, root, append([]string{"check", "--fail-on", "note", "--format", "json"}, manifests...)...)
	if code != cli.ExitOK {
		t.Fatalf("check deploy: exit %d\n%s%s", code, out, stderr)
	}
	var rep struct {
		Summary struct{ Files int } `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Files != len(manifests) || len(manifests) < 7 {
		t.Errorf("checked %d files of %d manifests", rep.Summary.Files, len(manifests))
	}
	raw, err := os.ReadFile(filepath.Join(root, "deploy", "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	kinds := map[string]map[string]any{}
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			break
		}
		kinds[obj["kind"].(string)] = obj
	}
	d, ok := kinds["Deployment"]
	if !ok || kinds["PodDisruptionBudget"] == nil {
		t.Fatalf("deploy/deployment.yaml lacks the Deployment or its PodDisruptionBudget: %v", kinds)
	}
	spec := d["spec"].(map[string]any)
	pod := spec["template"].(map[string]any)["spec"].(map[string]any)
	c := pod["containers"].([]any)[0].(map[string]any)
	sc := c["securityContext"].(map[string]any)
	if spec["replicas"] != 3 || pod["affinity"] == nil || sc["readOnlyRootFilesystem"] != true || sc["runAsUser"] != 1001 {
		t.Errorf("the Deployment is not 3 replicas with anti-affinity, UID 1001 and a read-only root filesystem: %v", d)
	}
	if cmd := c["command"].([]any); cmd[0] != "/usr/bin/tini" {
		t.Errorf("the webhook does not run under tini: %v", cmd)
	}

	// The README's install snippet applies files that exist.
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "<!-- snippet: admission-install -->\n```sh\n")
	block, _, _ := strings.Cut(rest, "```")
	if !ok || !strings.Contains(block, "kubectl apply -f deploy/\n") {
		t.Fatalf("README.md has no admission-install snippet applying deploy/: %q", block)
	}
	for line := range strings.Lines(block) {
		f, ok := strings.CutPrefix(strings.TrimSpace(line), "kubectl apply -f ")
		if !ok {
			t.Errorf("unexpected snippet line %q", line)
			continue
		}
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("the snippet applies %s: %v", f, err)
		}
	}
}
