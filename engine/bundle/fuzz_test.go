package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// FuzzRead: any bytes read as a bundle give a bundle or an error, never a
// panic.
func FuzzRead(f *testing.F) {
	var b bytes.Buffer
	if err := Build(&b, fstest.MapFS{"a.rego": {Data: []byte(rule)}}, BuildOptions{}); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add([]byte{0x1f, 0x8b, 0x08, 0x00})
	f.Add([]byte("not a bundle"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if bnd, err := Read(data, ReadOptions{}); err == nil && bnd.FS == nil {
			t.Fatal("nil FS without an error")
		}
	})
}

// FuzzBundlePaths: whatever the archive's entry names (one per line; a name
// ending in / is a directory entry), reading the bundle gives an error or a
// file system whose walk ends, holds only clean relative paths below its
// root, each the clean form of an entry name, and passes fstest.TestFS.
func FuzzBundlePaths(f *testing.F) {
	for _, names := range []string{
		"./\n./x.rego\n./sub/\n./sub/y.rego",
		"x.rego\n./x.rego",
		"a.rego\na.rego/b.rego",
		"../../etc/x.rego\n/abs/y.rego\na/./b/../c.rego",
		"a//b.rego\n.\n..\n/\n.rego",
		"./.manifest\n./.signatures.json\n./data.json",
	} {
		f.Add(names)
	}
	f.Fuzz(func(t *testing.T, names string) {
		lines := strings.Split(names, "\n")
		if len(lines) > 64 {
			return
		}
		data, ok := tarOfNames(lines)
		if !ok {
			return // tar cannot write one of the names
		}
		b, err := Read(data, ReadOptions{})
		if err != nil {
			return
		}
		want := map[string]bool{}
		for _, n := range lines {
			want[cleanName(n)] = true
		}
		var files []string
		visited := 0
		err = fs.WalkDir(b.FS, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if visited++; visited > 64*len(names)+1 {
				t.Fatalf("the walk visited more than %d entries: the file system loops", visited-1)
			}
			if !fs.ValidPath(p) || strings.HasPrefix(p, "../") || strings.HasPrefix(p, "/") {
				t.Fatalf("path %q is not a clean relative path", p)
			}
			if !d.IsDir() {
				if !want[p] {
					t.Fatalf("file %q is not the clean name of any entry in %q", p, lines)
				}
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// fs.WalkDir visits each directory's entries in lexical order, so
		// the files come sorted component by component ("a/x" before
		// "a.b"), not as whole strings.
		if !slices.IsSortedFunc(files, func(a, b string) int {
			return slices.Compare(strings.Split(a, "/"), strings.Split(b, "/"))
		}) {
			t.Fatalf("walk order %q is not sorted", files)
		}
		// fstest also tests fs.Sub of each directory, and the standard
		// library's Sub joins the directory into Glob patterns unescaped:
		// a directory named "[" makes every pattern malformed. The bundle's
		// file system is not at fault there, so names with glob
		// metacharacters skip that part.
		if strings.ContainsAny(names, "[]*?") {
			return
		}
		if err := fstest.TestFS(b.FS, files...); err != nil {
			t.Fatal(err)
		}
	})
}

// tarOfNames writes a bundle whose entries have the given names: a
// directory entry for a name ending in /, a one-line policy otherwise.
func tarOfNames(names []string) ([]byte, bool) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	body := []byte("package dwf.fuzz\n")
	for _, n := range names {
		h := &tar.Header{Name: n, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}
		content := body
		if strings.HasSuffix(n, "/") {
			h.Mode, h.Size, h.Typeflag, content = 0o755, 0, tar.TypeDir, nil
		}
		if tw.WriteHeader(h) != nil {
			return nil, false
		}
		if _, err := tw.Write(content); err != nil {
			return nil, false
		}
	}
	if tw.Close() != nil || gz.Close() != nil {
		return nil, false
	}
	return buf.Bytes(), true
}
