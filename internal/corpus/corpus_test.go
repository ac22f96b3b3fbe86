package corpus

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/devflow/dwf-policy/engine/input/kubernetes"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, 150); err != nil {
		t.Fatal(err)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "*", "*", "Dockerfile"))
	if len(matches) != 150 {
		t.Fatalf("wrote %d files, want 150", len(matches))
	}
	first := Dockerfile(7)
	if again := Dockerfile(7); first != again || first == Dockerfile(8) {
		t.Error("corpus must be deterministic and varied")
	}
	if out := os.Getenv("DWF_CORPUS_OUT"); out != "" {
		if _, err := Write(out, 2000); err != nil {
			t.Fatal(err)
		}
	}
}

// TestManifests: the manifest corpus parses: every Kubernetes file is a
// document without DWF000, and the other YAML is not taken for Kubernetes.
func TestManifests(t *testing.T) {
	kube, other := 0, 0
	for i := range 300 {
		name, content := Manifest(i)
		if !kubernetes.Sniff([]byte(content)) {
			other++
			continue
		}
		kube++
		doc, err := kubernetes.Parse(name, []byte(content), kubernetes.Options{})
		if err != nil {
			t.Fatalf("manifest %d (%s): %v\n%s", i, name, err, content)
		}
		if ws, _ := doc.Input["workloads"].([]any); len(ws) == 0 {
			t.Errorf("manifest %d (%s) has no workload:\n%s", i, name, content)
		}
	}
	if kube < 150 || other < 50 {
		t.Errorf("%d Kubernetes and %d other files, want a mix", kube, other)
	}
	dir := t.TempDir()
	if _, err := WriteManifests(dir, 120); err != nil {
		t.Fatal(err)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "*", "*", "*"))
	if len(matches) != 120 {
		t.Errorf("wrote %d files, want 120", len(matches))
	}
}
