package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// entry is one member of a hand-made archive; a name ending in / is a
// directory.
type entry struct {
	name string
	body string
}

// tarball writes entries as a .tar.gz, the way tar(1) does: directories as
// TypeDir entries, files as regular ones.
func tarball(t testing.TB, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: tar.TypeReg}
		if strings.HasSuffix(e.name, "/") {
			h.Mode, h.Typeflag = 0o755, tar.TypeDir
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// walk lists the files of fsys, failing after limit entries: a directory
// that contains itself must not recurse forever.
func walk(fsys fs.FS, limit int) ([]string, error) {
	var files []string
	seen := 0
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if seen++; seen > limit {
			return fmt.Errorf("walked more than %d entries (at %s): the file system loops", limit, p)
		}
		if !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	return files, err
}

// TestReadTarOfDirectory: a bundle made with `tar czf b.tgz -C dir .`
// names its members ./x.rego and has a ./ directory entry; it loads and
// its policies are found under their clean names (the file system used to
// list "." inside ".", and walking it recursed forever).
func TestReadTarOfDirectory(t *testing.T) {
	data := tarball(t, []entry{
		{"./", ""},
		{"./.manifest", `{"revision": "r1", "roots": ["dwf"]}`},
		{"./x.rego", "package dwf.dockerfile.x\n\ndeny contains {\"msg\": \"x\"} if false\n"},
		{"./sub/", ""},
		{"./sub/deeper/", ""},
		{"./sub/deeper/y.rego", "package dwf.dockerfile.y\n\ndeny contains {\"msg\": \"y\"} if false\n"},
		{"./sub/README.md", "not a policy"},
	})
	b, err := Read(data, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Revision != "r1" {
		t.Errorf("revision = %q", b.Revision)
	}
	files, err := walk(b.FS, 100)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"sub/deeper/y.rego", "x.rego"}, files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if err := fstest.TestFS(b.FS, "x.rego", "sub/deeper/y.rego"); err != nil {
		t.Error(err)
	}
}

func TestReadPathConflicts(t *testing.T) {
	const mod = "package dwf.x\n"
	tests := []struct {
		name    string
		entries []entry
		want    string
	}{
		{"same file twice", []entry{{"x.rego", mod}, {"./x.rego", mod}}, `the bundle holds "x.rego" twice`},
		{"file and directory", []entry{{"a.rego", mod}, {"a.rego/b.rego", mod}}, `"a.rego" is both a file and a directory`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(tarball(t, tc.entries), ReadOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// largeBundle is n one-line policies spread over directories of 300, with
// directory entries and ./ names as tar(1) writes them.
func largeBundle(t testing.TB, n int) []byte {
	entries := []entry{{"./", ""}}
	for i := range n {
		if i%300 == 0 {
			entries = append(entries, entry{fmt.Sprintf("./d%03d/", i/300), ""})
		}
		entries = append(entries, entry{fmt.Sprintf("./d%03d/p%d.rego", i/300, i), fmt.Sprintf("package dwf.p%d\n", i)})
	}
	return tarball(t, entries)
}

// TestReadLargeBundle: the largest bundle accepted, maxPolicyFiles small
// modules, loads in linear time (listing a directory used to scan every
// file of the bundle: 60,000 took 49 s).
func TestReadLargeBundle(t *testing.T) {
	const n = maxPolicyFiles
	data := largeBundle(t, n)
	type result struct {
		files []string
		err   error
	}
	done := make(chan result, 1)
	go func() {
		b, err := Read(data, ReadOptions{})
		if err != nil {
			done <- result{err: err}
			return
		}
		files, err := walk(b.FS, 2*n)
		done <- result{files, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		if files := r.files; len(files) != n || !slices.IsSorted(files) {
			t.Errorf("walked %d files, want %d in order", len(files), n)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("reading a 60k-file bundle did not finish within 60s")
	}
}

// TestPolicyFileCap: a bundle of more .rego files than any real policy set
// holds is refused, naming the limit, before OPA parses them all (60,000
// tiny modules took 850 MB).
func TestPolicyFileCap(t *testing.T) {
	entries := []entry{{"./", ""}}
	for i := range maxPolicyFiles + 1 {
		entries = append(entries, entry{fmt.Sprintf("./p%d.rego", i), fmt.Sprintf("package dwf.p%d\n", i)})
	}
	_, err := Read(tarball(t, entries), ReadOptions{})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("more than %d .rego files", maxPolicyFiles)) {
		t.Fatalf("err = %v, want the policy-file limit named", err)
	}
}

func BenchmarkReadLargeBundle(b *testing.B) {
	data := largeBundle(b, maxPolicyFiles)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		bnd, err := Read(data, ReadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := walk(bnd.FS, 200_000); err != nil {
			b.Fatal(err)
		}
	}
}
