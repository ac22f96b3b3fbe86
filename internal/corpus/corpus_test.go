package corpus

import (
	"os"
	"path/filepath"
	"testing"
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
