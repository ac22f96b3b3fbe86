package image

import (
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestDiskCache(t *testing.T) {
	dir := t.TempDir()
	stats := new(Stats)
	c := newDiskCache(dir, stats)
	b := []byte(`{"schemaVersion":2}`)
	h := sha256Hash(b)

	if _, ok := c.blob("manifests", h); ok {
		t.Fatal("hit in an empty cache")
	}
	c.putBlob("manifests", h, b)
	if got, ok := c.blob("manifests", h); !ok || string(got) != string(b) {
		t.Fatalf("blob = %q, %v", got, ok)
	}
	// Entries are private: configs can hold secrets in their environment.
	p := filepath.Join(dir, cacheFormat, "manifests", "sha256", h.Hex)
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("entry mode = %v, %v; want 0600", fi.Mode(), err)
	}
	if fi, err := os.Stat(filepath.Dir(p)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode = %v, %v; want 0700", fi.Mode(), err)
	}
	// Content that does not match its digest is never stored nor served.
	other := sha256Hash([]byte("other"))
	c.putBlob("manifests", other, b)
	if _, err := os.Stat(filepath.Join(dir, cacheFormat, "manifests", "sha256", other.Hex)); !os.IsNotExist(err) {
		t.Errorf("stored content under the wrong digest: %v", err)
	}
	if err := os.WriteFile(p, []byte("tampered"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.blob("manifests", h); ok {
		t.Error("served a tampered entry")
	}

	// Records.
	type rec struct{ A int }
	if c.record("users", h, &rec{}, nil) {
		t.Error("hit for a missing record")
	}
	c.putRecord("users", h, rec{A: 7})
	var got rec
	if !c.record("users", h, &got, nil) || got.A != 7 {
		t.Errorf("record = %v", got)
	}
	if err := os.WriteFile(filepath.Join(dir, cacheFormat, "users", "sha256", h.Hex+".json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c.record("users", h, &got, nil) {
		t.Error("hit for a corrupt record")
	}

	// Digests that are not safe file names are refused.
	for _, bad := range []v1.Hash{
		{Algorithm: "sha256", Hex: "../../../../etc/passwd"},
		{Algorithm: "../x", Hex: h.Hex},
		{Algorithm: "md5", Hex: "d41d8cd98f00b204e9800998ecf8427e"},
		{Algorithm: "sha256", Hex: "ABCDEF" + h.Hex[6:]},
	} {
		c.putBlob("manifests", bad, b)
		c.putRecord("users", bad, rec{})
		if _, ok := c.blob("manifests", bad); ok {
			t.Errorf("%v: hit", bad)
		}
	}
	if stats.CacheHits.Load() != 2 {
		t.Errorf("%d hits, want 2", stats.CacheHits.Load())
	}
	// Nothing but the expected entries was written.
	var files []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, rel)
		}
		return nil
	})
	if len(files) != 2 {
		t.Errorf("cache holds %v, want the manifest and the record", files)
	}

	// A nil cache caches nothing.
	var none *diskCache
	none.putBlob("manifests", h, b)
	if _, ok := none.blob("manifests", h); ok || newDiskCache("", stats) != nil {
		t.Error("a disabled cache hit")
	}
}
