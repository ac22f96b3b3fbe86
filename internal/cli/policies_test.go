package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// customRule returns a rule package with METADATA over the Dockerfile
// schema.
func customRule(pkg, id, body string) string {
	return fmt.Sprintf(`# METADATA
# title: Custom rule %[2]s
# schemas:
#   - input: schema.dockerfile
# custom:
#   id: %[2]s
#   severity: warning
#   kind: dockerfile
package %[1]s

%[3]s
`, pkg, id, body)
}

// writeTree writes files below dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		file := filepath.Join(dir, filepath.FromSlash(name))
		mustMkdir(t, filepath.Dir(file))
		if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const goodDockerfile = "FROM alpine:3.20\nUSER 1001\nENTRYPOINT [\"/sbin/tini\", \"--\"]\n"

// TestCustomPolicies loads --policy directories through the CLI: findings
// of a new rule, and every load error with the user's file and line.
func TestCustomPolicies(t *testing.T) {
	httpRule := customRule("dwf.dockerfile.remote", "ACME2", `deny contains {"msg": "x"} if {
	resp := http.send({"method": "GET", "url": "http://127.0.0.1:1"})
	resp.status_code == 200
}`)
	tests := []struct {
		name   string
		files  map[string]string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"new rule without a location is at line 1",
			map[string]string{"p/a.rego": customRule("dwf.dockerfile.always", "ACME1", `deny contains {"msg": "custom finding"} if true`)},
			[]string{"check", "--policy", "p", "Dockerfile"}, ExitOK,
			"Dockerfile:1:1: warning ACME1 custom finding\n1 problem in 1 file: 0 errors, 1 warning, 0 notes\n", ""},
		{"severity override from the config applies to custom rules",
			map[string]string{"p/a.rego": customRule("dwf.dockerfile.always", "ACME1", `deny contains {"msg": "custom finding"} if true`),
				".dwf-policy.yaml": "rules: {ACME1: error}\n"},
			[]string{"check", "--policy", "./p/", "Dockerfile"}, ExitFindings,
			"Dockerfile:1:1: error ACME1 custom finding\n", ""},
		{"rules list custom rules",
			map[string]string{"p/a.rego": customRule("dwf.dockerfile.always", "ACME1", `deny contains {"msg": "x"} if true`)},
			[]string{"rules", "--policy", "p"}, ExitOK,
			"ACME1   warning   dockerfile    dockerfile/always", ""},
		{"metadata missing",
			map[string]string{"p/a.rego": "package dwf.dockerfile.bare\n\ndeny contains {\"msg\": \"x\"} if true\n"},
			[]string{"check", "--policy", "p", "Dockerfile"}, ExitError, "",
			"dwf-policy: reading rule metadata: p/a.rego:1: package dwf.dockerfile.bare has no METADATA annotation with custom.id, custom.severity and custom.kind\n"},
		{"ID clash with a built-in rule",
			map[string]string{"p/a.rego": customRule("dwf.dockerfile.mine", "DWF101", `deny contains {"msg": "x"} if false`)},
			[]string{"check", "--policy", "p", "Dockerfile"}, ExitError, "",
			"dwf-policy: reading rule metadata: p/a.rego:9: rule ID DWF101 is already used by policies/dockerfile/non_root_user.rego"},
		{"ID clash between two directories",
			map[string]string{
				"p/a.rego": customRule("dwf.dockerfile.one", "ACME1", `deny contains {"msg": "x"} if false`),
				"q/b.rego": customRule("dwf.dockerfile.two", "ACME1", `deny contains {"msg": "x"} if false`)},
			[]string{"check", "--policy", "p", "--policy", "q", "Dockerfile"}, ExitError, "",
			"dwf-policy: reading rule metadata: q/b.rego:9: rule ID ACME1 is already used by p/a.rego:9"},
		{"compile error points at the user's file",
			map[string]string{"p/a.rego": customRule("dwf.dockerfile.typo", "ACME1", `deny contains {"msg": "x"} if input.final.usr`)},
			[]string{"check", "--policy", "p", "Dockerfile"}, ExitError, "",
			"dwf-policy: compiling policies: 1 error occurred: p/a.rego:11: rego_type_error: undefined ref: input.final.usr"},
		{"syntax error points at the user's file",
			map[string]string{"p/a.rego": customRule("dwf.dockerfile.typo", "ACME1", `deny contains {"msg": "x"} if {`)},
			[]string{"check", "--policy", "p", "Dockerfile"}, ExitError, "",
			"dwf-policy: parsing policies: 1 error occurred: p/a.rego:12: rego_parse_error"},
		{"http.send refused without --allow-net",
			map[string]string{"p/a.rego": httpRule},
			[]string{"check", "--policy", "p", "Dockerfile"}, ExitError, "",
			"dwf-policy: compiling policies: 1 error occurred: p/a.rego:12: rego_type_error: undefined function http.send\nhttp.send: policies run in a sandbox without network and environment builtins; pass --allow-net to allow them\n"},
		{"http.send compiles with --allow-net",
			map[string]string{"p/a.rego": httpRule},
			[]string{"rules", "--allow-net", "--policy", "p"}, ExitOK, "ACME2", ""},
		{"policies from the config, relative to its directory",
			map[string]string{"cfg/p/a.rego": customRule("dwf.dockerfile.always", "ACME1", `deny contains {"msg": "custom finding"} if true`),
				"cfg/dwf.yaml": "policies: [p]\n"},
			[]string{"check", "--config", "cfg/dwf.yaml", "Dockerfile"}, ExitOK,
			"Dockerfile:1:1: warning ACME1 custom finding\n", ""},
		{"a single .rego file is not a policy source",
			map[string]string{"p/a.rego": customRule("dwf.dockerfile.always", "ACME1", `deny contains {"msg": "x"} if true`)},
			[]string{"check", "--policy", "p/a.rego", "Dockerfile"}, ExitError, "",
			"dwf-policy: --policy p/a.rego: give the directory holding the .rego file, or a bundle .tar.gz\n"},
		{"missing --policy directory",
			nil, []string{"check", "--policy", "nope", "Dockerfile"}, ExitError, "", "dwf-policy: --policy nope: no such file or directory\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tc.files)
			writeTree(t, dir, map[string]string{"Dockerfile": goodDockerfile})
			out, stderr, code := run(t, dir, tc.args...)
			if code != tc.code {
				t.Errorf("exit code = %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, stderr)
			}
			if !strings.Contains(out, tc.stdout) {
				t.Errorf("stdout %q does not contain %q", out, tc.stdout)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tc.stderr)
			}
		})
	}
}

// TestRegoTests runs `dwf-policy test` over users' test files.
func TestRegoTests(t *testing.T) {
	rule := customRule("dwf.dockerfile.always", "ACME1", `import data.dwf.lib.dockerfile

deny contains {"msg": sprintf("uid %d", [dockerfile.config_uid])} if true`)
	tests := []struct {
		name   string
		files  map[string]string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"passing tests use data.dwf.lib and data.dwf.config from the config",
			map[string]string{"p/a.rego": rule, ".dwf-policy.yaml": "uid: 2000\n", "p/a_test.rego": `package dwf.dockerfile.always_test

import data.dwf.dockerfile.always

test_uid_from_config if {
	always.deny == {{"msg": "uid 2000"}}
}
`},
			[]string{"test", "p"}, ExitOK, "1 passed, 0 failed\n", ""},
		{"a failing test is listed with file and line",
			map[string]string{"p/a.rego": rule, "p/a_test.rego": "package dwf.dockerfile.always_test\n\ntest_ok if true\n\ntest_wrong if {\n\tprint(\"looking\")\n\tfalse\n}\n"},
			[]string{"test", "p"}, ExitFindings,
			"FAIL  p/a_test.rego:5: data.dwf.dockerfile.always_test.test_wrong\n      looking\n1 passed, 1 failed\n", ""},
		{"--run selects tests, --verbose lists passes",
			map[string]string{"p/a.rego": rule, "p/a_test.rego": "package dwf.dockerfile.always_test\n\ntest_ok if true\n\ntest_wrong if false\n"},
			[]string{"test", "--verbose", "--run", "test_ok", "p"}, ExitOK,
			"PASS  p/a_test.rego:3: data.dwf.dockerfile.always_test.test_ok\n1 passed, 0 failed\n", ""},
		{"the config's policies are tested when no DIR is given",
			map[string]string{"p/a.rego": rule, "p/a_test.rego": "package dwf.dockerfile.always_test\n\ntest_ok if true\n", ".dwf-policy.yaml": "policies: [p]\n"},
			[]string{"test"}, ExitOK, "1 passed, 0 failed\n", ""},
		{"an evaluation error fails the test",
			map[string]string{"p/a.rego": rule, "p/a_test.rego": "package dwf.dockerfile.always_test\n\ntest_div if 1 / 0\n"},
			[]string{"test", "p"}, ExitFindings, "ERROR p/a_test.rego:3: data.dwf.dockerfile.always_test.test_div: ", ""},
		{"no tests found",
			map[string]string{"p/a.rego": rule},
			[]string{"test", "p"}, ExitFindings, "0 passed, 0 failed\n", "dwf-policy: no tests found in p\n"},
		{"a compile error in a test is exit 2 with the file and line",
			map[string]string{"p/a.rego": rule, "p/a_test.rego": "package dwf.dockerfile.always_test\n\ntest_x if undefined_function(1)\n"},
			[]string{"test", "p"}, ExitError, "", "p/a_test.rego:3: rego_type_error: undefined function undefined_function"},
		{"metadata is checked as for check",
			map[string]string{"p/a.rego": "package dwf.dockerfile.bare\n\ndeny contains {\"msg\": \"x\"} if true\n"},
			[]string{"test", "p"}, ExitError, "", "p/a.rego:1: package dwf.dockerfile.bare has no METADATA"},
		{"bad --run", nil, []string{"test", "--run", "(", "p"}, ExitError, "", "dwf-policy: --run: error parsing regexp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tc.files)
			out, stderr, code := run(t, dir, tc.args...)
			if code != tc.code {
				t.Errorf("exit code = %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, stderr)
			}
			if !strings.Contains(out, tc.stdout) {
				t.Errorf("stdout %q does not contain %q", out, tc.stdout)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tc.stderr)
			}
		})
	}
}

func TestBuiltinRegoTestsPass(t *testing.T) {
	out, stderr, code := run(t, t.TempDir(), "test")
	if code != ExitOK || !strings.HasSuffix(out, " passed, 0 failed\n") {
		t.Errorf("dwf-policy test without policies: exit %d\n%s\n%s", code, out, stderr)
	}
}

// TestEvalLimits: a custom rule past --eval-timeout is an error naming it
// (exit 2), and the other files are still reported; bad limits are usage
// errors.
func TestEvalLimits(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"policy/slow.rego": `# METADATA
# title: Slow
# custom:
#   id: ACME9
#   severity: warning
#   kind: dockerfile
package dwf.dockerfile.slow

deny contains {"msg": "never"} if count({i | some i in numbers.range(1, 20000); some j in numbers.range(1, 20000); i * j == -1}) > 0
`,
		"a/Dockerfile": "FROM alpine:3.20\nUSER dwfuser\n",
	})
	out, stderr, code := run(t, dir, "check", "--policy", "policy", "--eval-timeout", "100ms", "a/Dockerfile")
	if code != ExitError || !strings.Contains(stderr, "rule ACME9 (dwf.dockerfile.slow) did not finish within the 100ms evaluation deadline") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(out, "1 file") {
		t.Errorf("the report is still written: %q", out)
	}
	for _, args := range [][]string{{"--eval-timeout", "0s"}, {"--memory-budget", "0"}} {
		if _, stderr, code := run(t, dir, append([]string{"check"}, args...)...); code != ExitError || !strings.Contains(stderr, args[0]+": must be") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}

// TestFilesThatMustNotBeFollowed: policy and configuration files found
// through the configuration or by discovery are read only inside the
// repository, and only when regular; nothing of what they point at is
// printed. A FIFO named on the command line is refused, not read forever,
// and the other files are still checked.
func TestFilesThatMustNotBeFollowed(t *testing.T) {
	const secret = "GHP_SECRET_TOKEN_0123456789abcdef"
	t.Setenv("DWF_TEST_SECRET", secret)
	outside := t.TempDir()
	writeTree(t, outside, map[string]string{"credentials.yaml": "token: " + secret + "\n"})

	repo := func(t *testing.T, files map[string]string) string {
		dir := t.TempDir()
		files[".git/HEAD"] = "ref: refs/heads/main\n"
		writeTree(t, dir, files)
		return dir
	}
	t.Run("a policy linked to /proc/self/environ", func(t *testing.T) {
		dir := repo(t, map[string]string{"Dockerfile": "FROM alpine:3.20\n", "policy/ok.rego": "package dwf.lib.ok\n"})
		if err := os.Symlink("/proc/self/environ", filepath.Join(dir, "policy", "x.rego")); err != nil {
			t.Fatal(err)
		}
		out, stderr, code := run(t, dir, "check", "--policy", "policy", "Dockerfile")
		if code != ExitError || !strings.Contains(stderr, "x.rego: leads outside the repository") || strings.Contains(out+stderr, secret) {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("a discovered configuration linked to a credentials file", func(t *testing.T) {
		dir := repo(t, map[string]string{"Dockerfile": "FROM alpine:3.20\n"})
		if err := os.Symlink(filepath.Join(outside, "credentials.yaml"), filepath.Join(dir, ".dwf-policy.yaml")); err != nil {
			t.Fatal(err)
		}
		out, stderr, code := run(t, dir, "check", "Dockerfile")
		if code != ExitError || !strings.Contains(stderr, "reading config .dwf-policy.yaml: leads outside the repository") || strings.Contains(out+stderr, secret) {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("a configuration value is quoted only in part", func(t *testing.T) {
		dir := repo(t, map[string]string{"Dockerfile": "FROM alpine:3.20\n", "other.yaml": secret + ": 1\n"})
		_, stderr, code := run(t, dir, "check", "--config", "other.yaml", "Dockerfile")
		if code != ExitError || !strings.Contains(stderr, "unknown key") || strings.Contains(stderr, secret) {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("a FIFO and a device named on the command line", func(t *testing.T) {
		dir := repo(t, map[string]string{"Dockerfile": "FROM alpine:3.20\n"})
		if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		var out, stderr string
		var code int
		go func() {
			out, stderr, code = run(t, dir, "check", "--format", "json", "fifo", "/dev/zero", "Dockerfile")
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("check blocked on a FIFO")
		}
		for _, want := range []string{`"path": "fifo"`, "not a regular file (a FIFO)", "not a regular file (a character device)", `"path": "Dockerfile"`} {
			if !strings.Contains(out, want) {
				t.Errorf("report lacks %q (exit %d, stderr %q):\n%s", want, code, stderr, out)
			}
		}
	})
	t.Run("a verification key that is a device", func(t *testing.T) {
		dir := repo(t, map[string]string{"Dockerfile": "FROM alpine:3.20\n"})
		_, stderr, code := run(t, dir, "check", "--verification-key", "/dev/zero", "Dockerfile")
		if code != ExitError || !strings.Contains(stderr, "--verification-key /dev/zero: not a regular file") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
}

// TestCheckCompilesOnlyTheKindsItMeets: check compiles the rules of the
// kinds of its inputs; a custom workflow rule that does not compile stops a
// check of workflows (exit 2, the error said once, no report written) but
// not a check of a Dockerfile, while rules, which compiles everything,
// reports it.
func TestCheckCompilesOnlyTheKindsItMeets(t *testing.T) {
	broken := strings.ReplaceAll(customRule("dwf.workflow.remote", "ACME2", `deny contains {"msg": "x"} if {
	resp := http.send({"method": "GET", "url": "http://127.0.0.1:1"})
	resp.status_code == 200
}`), "dockerfile", "workflow")
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"p/a.rego":                 broken,
		"Dockerfile":               goodDockerfile,
		".github/workflows/ci.yml": "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n",
	})
	const want = "dwf-policy: compiling policies: 1 error occurred: p/a.rego:12: rego_type_error: undefined function http.send\n"
	if out, stderr, code := run(t, dir, "check", "--policy", "p", "Dockerfile"); code != ExitOK {
		t.Errorf("check Dockerfile: exit %d, want %d\n%s%s", code, ExitOK, out, stderr)
	}
	for _, args := range [][]string{
		{"check", "--policy", "p", "--format", "sarif", "--output", "out.sarif", ".github/workflows/ci.yml"},
		{"check", "--policy", "p", "."},
		{"rules", "--policy", "p"},
	} {
		_, stderr, code := run(t, dir, args...)
		if code != ExitError || strings.Count(stderr, want) != 1 {
			t.Errorf("%v: exit %d, want %d and the compile error once; stderr:\n%s", args, code, ExitError, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out.sarif")); err == nil {
		t.Error("a report was written for a check whose policies do not compile")
	}
	// A report checked in a repository: its workflows are loaded for the
	// repository rules, which read them, but are not judged by the
	// workflow rules, which are not compiled.
	writeTree(t, dir, map[string]string{
		".git/HEAD":   "ref: refs/heads/main\n",
		"report.json": `{"SchemaVersion": 2, "CreatedAt": "2026-11-29T00:00:00Z", "ArtifactName": "x", "Results": []}`,
	})
	if out, stderr, code := run(t, dir, "check", "--policy", "p", "report.json"); code == ExitError || strings.Contains(stderr, "http.send") {
		t.Errorf("check report.json: exit %d, stderr %q\n%s", code, stderr, out)
	}
}

// TestSniffedKindCompileErrorIsReported: a report whose kind only its
// content tells compiles its kind's rules while it is parsed; a custom rule
// of that kind that does not compile still stops the check with the
// compile error.
func TestSniffedKindCompileErrorIsReported(t *testing.T) {
	broken := strings.ReplaceAll(strings.ReplaceAll(customRule("dwf.trivy_report.remote", "ACME3", `deny contains {"msg": "x"} if {
	resp := http.send({"method": "GET", "url": "http://127.0.0.1:1"})
	resp.status_code == 200
}`), "kind: dockerfile", "kind: trivy-report"), "schema.dockerfile", `schema["trivy-report"]`)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"p/a.rego":    broken,
		"report.json": `{"SchemaVersion": 2, "ArtifactName": "x", "ArtifactType": "container_image", "Results": []}`,
	})
	_, stderr, code := run(t, dir, "check", "--policy", "p", ".")
	if code != ExitError || !strings.Contains(stderr, "undefined function http.send") {
		t.Errorf("exit %d, want %d and the compile error; stderr:\n%s", code, ExitError, stderr)
	}
}
