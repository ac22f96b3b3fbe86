package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/devflow/dwf-policy/engine/config"
)

func TestInit(t *testing.T) {
	dir := t.TempDir()
	out, stderr, code := run(t, dir, "init")
	if code != ExitOK || out != "wrote .dwf-policy.yaml\n" {
		t.Fatalf("init: exit %d, %q %q", code, out, stderr)
	}
	raw, err := os.ReadFile(filepath.Join(dir, config.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(raw), "# yaml-language-server: $schema=") {
		t.Errorf("no schema line:\n%s", raw)
	}
	// Every top-level key of the schema is in the starter, commented out.
	var schema struct{ Properties map[string]any }
	if err := json.Unmarshal(config.Schema(), &schema); err != nil {
		t.Fatal(err)
	}
	for key := range schema.Properties {
		if !strings.Contains(string(raw), "\n# "+key+":") {
			t.Errorf("the starter does not show %s", key)
		}
	}
	// It is a valid configuration that changes nothing.
	writeTree(t, dir, map[string]string{"Dockerfile": "FROM alpine:3.20\n"})
	withStarter, stderr, _ := run(t, dir, "check", "Dockerfile")
	without, _, _ := run(t, t.TempDir(), "check", filepath.Join(dir, "Dockerfile"))
	if stderr != "" || strings.Count(withStarter, "\n") != strings.Count(without, "\n") {
		t.Errorf("the starter changes the check:\n%s%s\nwithout:\n%s", withStarter, stderr, without)
	}
	// Uncommented, the defaults are valid too.
	var uncommented []string
	for _, l := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(l, "# "); ok && (strings.HasPrefix(rest, " ") || strings.Contains(rest, ": ") || strings.HasSuffix(rest, ":")) && !strings.Contains(l, "yaml-language-server") && !strings.Contains(rest, "'") && !strings.HasPrefix(rest, "The ") && !strings.HasPrefix(rest, "What ") {
			uncommented = append(uncommented, rest)
		}
	}
	if len(uncommented) < 25 {
		t.Errorf("only %d lines of defaults:\n%s", len(uncommented), strings.Join(uncommented, "\n"))
	}
	writeTree(t, dir, map[string]string{"policy/.keep": "", "full.yaml": strings.Join(uncommented, "\n") + "\n"})
	if _, stderr, code := run(t, dir, "check", "--config", "full.yaml", "--fail-on", "none", "Dockerfile"); code != ExitOK {
		t.Errorf("the defaults uncommented are not a valid configuration (exit %d):\n%s\n%s", code, stderr, strings.Join(uncommented, "\n"))
	}

	// Never overwrites.
	if err := os.WriteFile(filepath.Join(dir, config.FileName), []byte("uid: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := run(t, dir, "init"); code != ExitError || !strings.Contains(stderr, ".dwf-policy.yaml exists already") {
		t.Errorf("init over a file: exit %d %q", code, stderr)
	}
	if raw, _ := os.ReadFile(filepath.Join(dir, config.FileName)); string(raw) != "uid: 1\n" {
		t.Errorf("init overwrote the file")
	}
	if out, _, code := run(t, dir, "init", "sub"); code != ExitError {
		t.Errorf("init into a missing directory: exit %d %q", code, out)
	}
}

func TestCompletionAndVersion(t *testing.T) {
	root := repoRoot(t)
	for shell, want := range map[string]string{"bash": "bash completion", "zsh": "#compdef dwf-policy", "fish": "complete -c dwf-policy", "powershell": "Register-ArgumentCompleter"} {
		out, stderr, code := run(t, root, "completion", shell)
		if code != ExitOK || !strings.Contains(out, want) {
			t.Errorf("completion %s: exit %d, %q, stdout lacks %q", shell, code, stderr, want)
		}
	}
	v, _, code := run(t, root, "--version")
	if code != ExitOK || v != "dwf-policy "+version()+"\n" {
		t.Errorf("--version: %d %q", code, v)
	}
	if cmd, _, _ := run(t, root, "version"); cmd != v {
		t.Errorf("version %q and --version %q differ", cmd, v)
	}
}

func TestVersionFrom(t *testing.T) {
	vcs := func(rev, modified string) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}}
	}
	for _, tc := range []struct {
		ldflags string
		bi      *debug.BuildInfo
		want    string
	}{
		{"v1.2.3", vcs("3f2a1b9c4d5e6f708192a3b4c5d6e7f801234567", "false"), "v1.2.3"},
		{"", &debug.BuildInfo{Main: debug.Module{Version: "v0.3.0"}}, "v0.3.0"},
		{"", vcs("3f2a1b9c4d5e6f708192a3b4c5d6e7f801234567", "false"), "0.0.0-dev+3f2a1b9c4d5e"},
		{"", vcs("3f2a1b9c4d5e6f708192a3b4c5d6e7f801234567", "true"), "0.0.0-dev+3f2a1b9c4d5e.dirty"},
		{"", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
		{"", nil, "dev"},
	} {
		if got := versionFrom(tc.ldflags, tc.bi); got != tc.want {
			t.Errorf("versionFrom(%q, %v) = %q, want %q", tc.ldflags, tc.bi, got, tc.want)
		}
	}
}
