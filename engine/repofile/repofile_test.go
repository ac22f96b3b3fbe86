package repofile

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const secret = "TOKEN-5f1c9a-do-not-print"

// tree makes a repository with a regular file, a FIFO, a symlink to a
// secret outside it, a symlink to /proc/self/environ and to /dev/zero.
func tree(t *testing.T) (repo string) {
	t.Helper()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "credentials"), []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	repo = t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(repo, "policy"), 0o755))
	must(os.WriteFile(filepath.Join(repo, "policy", "ok.rego"), []byte("package ok\n"), 0o644))
	must(os.WriteFile(filepath.Join(repo, "big"), make([]byte, 2048), 0o644))
	must(syscall.Mkfifo(filepath.Join(repo, "policy", "fifo.rego"), 0o644))
	must(os.Symlink(filepath.Join(outside, "credentials"), filepath.Join(repo, "policy", "leak.rego")))
	must(os.Symlink("/proc/self/environ", filepath.Join(repo, "policy", "environ.rego")))
	must(os.Symlink("/dev/zero", filepath.Join(repo, "zero")))
	must(os.Symlink("policy/ok.rego", filepath.Join(repo, "inside-link")))
	return repo
}

// within fails the test when f blocks, as reading a FIFO would.
func within(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("blocked: a FIFO or device was read")
	}
}

func TestReadIn(t *testing.T) {
	repo := tree(t)
	tests := []struct {
		name, file, want string // want: "" for success, else part of the error
	}{
		{"regular file", "policy/ok.rego", ""},
		{"a link that stays inside", "inside-link", ""},
		{"a link out of the repository", "policy/leak.rego", "leads outside the repository"},
		{"a link to /proc", "policy/environ.rego", "leads outside the repository"},
		{"dot-dot", "../x", "leads outside the repository"},
		{"a FIFO", "policy/fifo.rego", "not a regular file (a FIFO)"},
		{"over the cap", "big", "larger than the 1024-byte limit"},
		{"a directory", "policy", "is a directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			within(t, func() {
				data, err := ReadIn(repo, tc.file, 1024)
				switch {
				case tc.want == "" && err != nil:
					t.Errorf("err = %v", err)
				case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
					t.Errorf("err = %v, want %q", err, tc.want)
				}
				if err != nil && strings.Contains(err.Error(), secret) || strings.Contains(string(data), secret) {
					t.Errorf("the secret was read: %q %v", data, err)
				}
			})
		})
	}
}

func TestReadFileRefusesWhatIsNotAFile(t *testing.T) {
	repo := tree(t)
	for file, want := range map[string]string{
		filepath.Join(repo, "policy", "fifo.rego"): "not a regular file (a FIFO)",
		filepath.Join(repo, "zero"):                "not a regular file (a character device)",
		"/dev/zero":                                "not a regular file (a character device)",
		filepath.Join(repo, "big"):                 "larger than the 1024-byte limit",
		filepath.Join(repo, "missing"):             "no such file or directory",
	} {
		within(t, func() {
			if _, err := ReadFile(file, 1024); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: err = %v, want %q", file, err, want)
			}
		})
	}
	if data, err := ReadFile(filepath.Join(repo, "policy", "ok.rego"), 1024); err != nil || string(data) != "package ok\n" {
		t.Errorf("regular file: %q, %v", data, err)
	}
}

func TestFS(t *testing.T) {
	repo := tree(t)
	fsys, closeFS, err := FS(repo, filepath.Join(repo, "policy"))
	if err != nil {
		t.Fatal(err)
	}
	defer closeFS()
	within(t, func() {
		if data, err := fs.ReadFile(fsys, "ok.rego"); err != nil || string(data) != "package ok\n" {
			t.Errorf("ok.rego: %q, %v", data, err)
		}
		for name, want := range map[string]string{
			"fifo.rego":    "not a regular file",
			"leak.rego":    "leads outside the repository",
			"environ.rego": "leads outside the repository",
		} {
			_, err := fs.ReadFile(fsys, name)
			if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), secret) {
				t.Errorf("%s: err = %v, want %q", name, err, want)
			}
		}
		entries, err := fs.ReadDir(fsys, ".")
		if err != nil || len(entries) != 4 {
			t.Errorf("ReadDir: %d entries, %v", len(entries), err)
		}
	})
	if _, _, err := FS(repo, t.TempDir()); err == nil {
		t.Error("FS of a directory outside root must fail")
	}
}

func TestOpenRegular(t *testing.T) {
	repo := tree(t)
	within(t, func() {
		for file, want := range map[string]string{
			filepath.Join(repo, "policy", "fifo.rego"): "not a regular file (a FIFO)",
			"/dev/zero":                   "not a regular file (a character device)",
			filepath.Join(repo, "policy"): "is a directory",
		} {
			if f, err := OpenRegular(file); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: err = %v, want %q", file, err, want)
				if f != nil {
					f.Close()
				}
			}
		}
	})
	f, err := OpenRegular(filepath.Join(repo, "inside-link"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}
