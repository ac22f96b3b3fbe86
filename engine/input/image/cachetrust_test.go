package image

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPoisonedCache plants resolved-user records that claim dwfuser is
// 1001 in a root image, in every way a cache entry may be untrusted: none
// may change the verdict, and none may hang the load.
func TestPoisonedCache(t *testing.T) {
	img, _, _ := rootImage(t)
	reg := newRegistry(t, nil)
	digest := reg.push(t, reg.ref("team/app:1"), img)
	ref := reg.ref("team/app@" + digest.String())
	cacheDir := t.TempDir()
	usersDir := filepath.Join(cacheDir, cacheFormat, "users", "sha256")
	configName, _ := img.ConfigName()

	run := func(t *testing.T) map[string]any {
		t.Helper()
		o := reg.options()
		o.CacheDir = cacheDir
		o.Timeout = 10 * time.Second
		done := make(chan map[string]any, 1)
		go func() {
			docs, err := Load(context.Background(), ref, o)
			if err != nil {
				t.Errorf("Load: %v", err)
				done <- nil
				return
			}
			done <- userOf(t, docs[0].Input, "linux/amd64")
		}()
		select {
		case u := <-done:
			return u
		case <-time.After(15 * time.Second):
			t.Fatal("Load hangs on a cache entry")
			return nil
		}
	}
	if u := run(t); u["resolved_uid"] != 0 {
		t.Fatalf("cold: user = %v, want resolved to 0", u)
	}
	entries, err := os.ReadDir(usersDir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("users records: %v, %v; want one", entries, err)
	}
	recordPath := filepath.Join(usersDir, entries[0].Name())
	real, err := os.ReadFile(recordPath)
	if err != nil {
		t.Fatal(err)
	}
	// poison is the real record with dwfuser moved to 1001 and change
	// applied to its JSON object.
	poison := func(change func(map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(real, &m); err != nil {
			t.Fatal(err)
		}
		pw := m["passwd"].(map[string]any)
		pw["UID"], pw["GID"] = 1001, 1001
		if change != nil {
			change(m)
		}
		return mustJSON(t, m)
	}
	write := func(p string, b []byte, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	elsewhere := filepath.Join(t.TempDir(), "poison.json")
	write(elsewhere, poison(nil), 0o600)
	configEntry := filepath.Join(cacheDir, cacheFormat, "configs", "sha256", configName.Hex)

	for _, tc := range []struct {
		name  string
		plant func(t *testing.T)
	}{
		{"symlink to a poisoned record", func(t *testing.T) {
			if err := os.Symlink(elsewhere, recordPath); err != nil {
				t.Fatal(err)
			}
		}},
		{"fifo", func(t *testing.T) {
			if err := syscall.Mkfifo(recordPath, 0o600); err != nil {
				t.Skip("no FIFOs here:", err)
			}
		}},
		{"fifo instead of a config blob", func(t *testing.T) {
			write(recordPath, real, 0o600)
			_ = os.Remove(configEntry)
			if err := syscall.Mkfifo(configEntry, 0o600); err != nil {
				t.Skip("no FIFOs here:", err)
			}
			t.Cleanup(func() { _ = os.Remove(configEntry) })
		}},
		{"larger than the cap", func(t *testing.T) {
			write(recordPath, append(poison(nil), bytes.Repeat([]byte(" "), maxRecordBytes)...), 0o600)
		}},
		{"writable by others", func(t *testing.T) {
			write(recordPath, poison(nil), 0o666)
		}},
		{"bound to another config", func(t *testing.T) {
			write(recordPath, poison(func(m map[string]any) {
				m["config"] = sha256Hash([]byte("another config")).String()
			}), 0o600)
		}},
		{"bound to other layers", func(t *testing.T) {
			write(recordPath, poison(func(m map[string]any) {
				m["layers"] = []string{sha256Hash([]byte("another layer")).String()}
			}), 0o600)
		}},
		{"keyed by the config digest alone", func(t *testing.T) {
			write(filepath.Join(usersDir, configName.Hex+".json"), poison(nil), 0o600)
			_ = os.Remove(recordPath)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entries, _ := os.ReadDir(usersDir)
			for _, e := range entries {
				_ = os.Remove(filepath.Join(usersDir, e.Name()))
			}
			tc.plant(t)
			if u := run(t); u["resolved_uid"] != 0 {
				t.Errorf("user = %v, want dwfuser resolved to 0 whatever the cache says", u)
			}
		})
	}
	// A record as Load writes it is still a hit (the checks above are not
	// refusing every record).
	_ = os.Remove(filepath.Join(usersDir, configName.Hex+".json"))
	o := reg.options()
	o.CacheDir = cacheDir
	if u := userOf(t, load(t, ref, o), "linux/amd64"); u["resolved_uid"] != 0 || o.Stats.LayersRead.Load() != 0 {
		t.Errorf("warm: user = %v after reading %d layers, want 0 from the cache", u, o.Stats.LayersRead.Load())
	}
}

// TestReadEntry checks the cache's file checks on their own.
func TestReadEntry(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	if err := os.WriteFile(good, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := readEntry(good, 4, true); err != nil || string(b) != "data" {
		t.Errorf("regular file: %q, %v", b, err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		path  string
		limit int64
		want  string
	}{
		"symlink":   {link, 100, "not a regular file"},
		"too large": {good, 3, "larger than 3 bytes"},
		"directory": {dir, 100, "not a regular file"},
		"missing":   {filepath.Join(dir, "nope"), 100, "no such file"},
	} {
		if _, err := readEntry(tc.path, tc.limit, false); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
	}
}
