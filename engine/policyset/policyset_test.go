package policyset

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const customRule = `# METADATA
# title: No curl
# custom:
#   id: ACME1
#   severity: warning
#   kind: dockerfile
package dwf.dockerfile.no_curl

deny contains {"msg": "curl"} if false
`

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		".git/HEAD":        "ref: refs/heads/main\n",
		".dwf-policy.yaml": "policies: [policy/]\nrules:\n  ACME1: error\n",
		"policy/a.rego":    customRule,
		"sub/.keep":        "",
	})
	ctx := context.Background()

	set, err := Open(ctx, Options{WorkDir: filepath.Join(dir, "sub")})
	if err != nil {
		t.Fatal(err)
	}
	if set.Config == nil || set.Config.Name != "../.dwf-policy.yaml" {
		t.Fatalf("config found from a subdirectory: %+v", set.Config)
	}
	if len(set.Sources) != 2 || set.Sources[1].File != filepath.Join(dir, "policy") || set.Sources[1].Name != "../policy" {
		t.Errorf("sources: %+v", set.Sources)
	}
	if r, ok := set.Engine.Rule("ACME1"); !ok || r.Severity.String() != "error" {
		t.Errorf("ACME1 with the configured severity: %+v, %v", r, ok)
	}
	if !set.Sandboxed() {
		t.Error("policies must run in the sandbox by default")
	}

	// A server has no meaningful working directory: it reads only the
	// configuration it is given.
	set, err = Open(ctx, Options{WorkDir: dir, NoConfigSearch: true})
	if err != nil {
		t.Fatal(err)
	}
	if set.Config != nil || len(set.Sources) != 1 {
		t.Errorf("NoConfigSearch read %+v, %d sources", set.Config, len(set.Sources))
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"policy/a.rego":      customRule,
		"net/a.rego":         strings.Replace(customRule, "if false", `if http.send({"method": "GET", "url": "http://127.0.0.1"})`, 1),
		"schema/a.rego":      strings.Replace(customRule, "if false", `if json.match_schema({}, {})[0]`, 1),
		"unsigned.tar.gz":    "not a bundle",
		"bad.dwf-policy.yml": "uid: [\n",
	})
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"missing policy directory", Options{Policies: []string{"nope"}}, "--policy nope: no such file or directory"},
		{"a .rego file instead of its directory", Options{Policies: []string{"policy/a.rego"}}, "give the directory holding the .rego file"},
		{"missing verification key", Options{VerificationKeyFile: "key.pem"}, "--verification-key key.pem: no such file or directory"},
		{"broken configuration names its file", Options{ConfigFile: "bad.dwf-policy.yml"}, "bad.dwf-policy.yml:"},
		{"sandboxed builtin explained", Options{Policies: []string{"net"}}, "http.send: policies run in a sandbox"},
		{"host-file builtin explained", Options{Policies: []string{"schema"}, AllowNet: true}, "json.match_schema: not available to policies, with or without --allow-net"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.WorkDir = dir
			_, err := Open(context.Background(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestHashFollowsPolicies(t *testing.T) {
	dir := t.TempDir()
	open := func() string {
		t.Helper()
		s, err := Load(Options{WorkDir: dir, NoConfigSearch: true, Policies: []string{"custom"}})
		if err != nil {
			t.Fatal(err)
		}
		h, err := s.Hash()
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	if err := os.MkdirAll(filepath.Join(dir, "custom"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "custom", "x.rego"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("package x\n")
	a, b := open(), open()
	if a != b {
		t.Errorf("same policies, different hashes: %s, %s", a, b)
	}
	write("package x\n\ny := 1\n")
	if c := open(); c == a {
		t.Errorf("a changed policy kept the hash %s", a)
	}
}
