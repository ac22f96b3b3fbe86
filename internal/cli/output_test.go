package cli

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestWriteFile: --output replaces a regular file atomically and keeps its
// mode, writes into what is not a regular file instead of replacing it,
// follows a link, and leaves no temporary file behind.
func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	hello := func(w io.Writer) error { _, err := io.WriteString(w, "hello\n"); return err }
	leftovers := func(t *testing.T) {
		t.Helper()
		m, _ := filepath.Glob(filepath.Join(dir, ".dwf-policy-*"))
		if len(m) > 0 {
			t.Errorf("temporary files left: %v", m)
		}
	}

	t.Run("missing directory names the path given", func(t *testing.T) {
		p := filepath.Join(dir, "missing", "out.sarif")
		err := writeFile(p, hello)
		if err == nil || strings.Contains(err.Error(), ".dwf-policy-") || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("err = %v, want the path %s and that its directory does not exist", err, p)
		}
	})
	t.Run("new file", func(t *testing.T) {
		p := filepath.Join(dir, "new.sarif")
		if err := writeFile(p, hello); err != nil {
			t.Fatal(err)
		}
		if info, _ := os.Stat(p); info.Mode().Perm() != 0o644 {
			t.Errorf("mode %v", info.Mode())
		}
		leftovers(t)
	})
	t.Run("an existing report keeps its mode", func(t *testing.T) {
		p := filepath.Join(dir, "kept.sarif")
		if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := writeFile(p, hello); err != nil {
			t.Fatal(err)
		}
		info, _ := os.Stat(p)
		data, _ := os.ReadFile(p)
		if info.Mode().Perm() != 0o600 || string(data) != "hello\n" {
			t.Errorf("mode %v, content %q", info.Mode(), data)
		}
	})
	t.Run("a link stays a link", func(t *testing.T) {
		target := filepath.Join(dir, "target.sarif")
		link := filepath.Join(dir, "link.sarif")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		if err := writeFile(link, hello); err != nil {
			t.Fatal(err)
		}
		if info, _ := os.Lstat(link); info.Mode()&os.ModeSymlink == 0 {
			t.Error("the link was replaced by a file")
		}
		if data, _ := os.ReadFile(target); string(data) != "hello\n" {
			t.Errorf("target %q", data)
		}
	})
	t.Run("a device stays a device", func(t *testing.T) {
		// A private null device, not the system's /dev/null: if a bug
		// replaced it, the whole machine would suffer.
		null := filepath.Join(dir, "null")
		if err := syscall.Mknod(null, syscall.S_IFCHR|0o666, 1<<8|3 /* makedev(1, 3): the null device */); err != nil {
			t.Skipf("cannot make a device node (not root?): %v", err)
		}
		if err := writeFile(null, hello); err != nil {
			t.Fatal(err)
		}
		if info, err := os.Stat(null); err != nil || info.Mode()&os.ModeCharDevice == 0 {
			t.Fatalf("the device was replaced: %v %v", info.Mode(), err)
		}
	})
	t.Run("a FIFO is written to, not replaced", func(t *testing.T) {
		fifo := filepath.Join(dir, "fifo")
		if err := syscall.Mkfifo(fifo, 0o644); err != nil {
			t.Fatal(err)
		}
		got := make(chan string)
		go func() {
			f, err := os.Open(fifo)
			if err != nil {
				got <- err.Error()
				return
			}
			defer f.Close()
			data, _ := io.ReadAll(f)
			got <- string(data)
		}()
		if err := writeFile(fifo, hello); err != nil {
			t.Fatal(err)
		}
		if s := <-got; s != "hello\n" {
			t.Errorf("read %q from the FIFO", s)
		}
		if info, _ := os.Lstat(fifo); info.Mode()&os.ModeNamedPipe == 0 {
			t.Error("the FIFO was replaced")
		}
		leftovers(t)
	})
	t.Run("a directory is an error", func(t *testing.T) {
		if err := writeFile(dir, hello); err == nil || !strings.Contains(err.Error(), "is a directory") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("a failed write leaves the old report and no temporary file", func(t *testing.T) {
		p := filepath.Join(dir, "kept.sarif")
		err := writeFile(p, func(w io.Writer) error { io.WriteString(w, "half"); return io.ErrUnexpectedEOF })
		if err == nil {
			t.Fatal("no error")
		}
		if data, _ := os.ReadFile(p); string(data) != "hello\n" {
			t.Errorf("the old report was replaced by %q", data)
		}
		leftovers(t)
	})
}
