package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCheckResolveImages: a Deployment that sets no securityContext and no
// command fails on its own (DWF601), and passes with --resolve-images when
// its image runs as dwfuser (UID 1001 by /etc/passwd) under tini on every
// platform; an image that cannot be loaded is reported and exits 2.
func TestCheckResolveImages(t *testing.T) {
	reg := baseRegistry(t)
	manifest := func(ref string) string {
		return "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: " + ref + "\n"
	}
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"deploy/web.yaml": manifest(reg.ref("devflow/base:1")), "notes.yaml": "title: not a manifest\n"})

	t.Run("off by default: no network", func(t *testing.T) {
		out, stderr, code, n := runNet(t, dir, nil, "check", "--format", "json", ".")
		if code != ExitFindings || n != 0 {
			t.Fatalf("exit %d, %d requests; want 1 and none; stderr %q", code, n, stderr)
		}
		var ids []string
		for _, f := range jsonFindings(t, out) {
			ids = append(ids, f.RuleID+" "+f.Path)
		}
		if diff := cmp.Diff([]string{"DWF601 deploy/web.yaml"}, ids); diff != "" {
			t.Errorf("findings (-want +got):\n%s", diff)
		}
	})
	t.Run("resolved: passes", func(t *testing.T) {
		out, stderr, code, _ := runNet(t, dir, nil, "check", "--resolve-images", "--no-cache", ".")
		if code != ExitOK || stderr != "" {
			t.Fatalf("exit %d, stdout %s, stderr %q", code, out, stderr)
		}
	})
	t.Run("an image that cannot be loaded: stderr, exit 2", func(t *testing.T) {
		d := t.TempDir()
		writeTree(t, d, map[string]string{"pod.json": `{"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "a", "image": "` + reg.ref("devflow/missing:1") + `"}]}}`})
		_, stderr, code, _ := runNet(t, d, nil, "check", "--resolve-images", "--no-cache", "--format", "json", ".")
		if code != ExitError || !strings.Contains(stderr, "container image of pod.json: loading image "+reg.ref("devflow/missing:1")+": not found") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
}

// TestCheckStdin: `-` reads standard input, recognised by its content, and
// findings name it stdin; the other paths are still checked.
func TestCheckStdin(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"Dockerfile": "FROM alpine:3.20\n"})
	manifest := "# Source: chart/templates/pod.yaml\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: app\n      image: registry.example/app:1\n      securityContext:\n        runAsUser: 0\n"
	var stdout, stderr bytes.Buffer
	code := Command{Stdout: &stdout, Stderr: &stderr, Stdin: strings.NewReader(manifest), WorkDir: dir}.Main(context.Background(), []string{"dwf-policy", "check", "-", "Dockerfile"})
	out := stdout.String()
	if code != ExitFindings || !strings.Contains(out, "stdin:11:") || !strings.Contains(out, "DWF601") || !strings.Contains(out, "Dockerfile:1:1") {
		t.Errorf("exit %d\n%s%s", code, out, stderr.String())
	}
}
