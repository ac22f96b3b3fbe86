package bundle

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
)

// memFS is a read-only file system of a bundle's files, keyed by clean
// slash-separated paths; directories are implied by the paths. It is what
// the engine walks for .rego files, like a directory on disk.
//
// The directory listings are built once, in time linear in the total
// length of the paths, so opening or listing anything is a map look-up
// whatever the number of files or directories.
type memFS struct {
	files map[string][]byte
	dirs  map[string][]fs.DirEntry // sorted by name; "." is always there
}

var (
	_ fs.ReadDirFS  = (*memFS)(nil)
	_ fs.ReadFileFS = (*memFS)(nil)
)

// newMemFS indexes files, whose names must be valid fs paths (clean,
// relative, without . or .. elements). A name that is also a directory of
// another name is refused: a file system cannot hold both.
func newMemFS(files map[string][]byte) (*memFS, error) {
	m := &memFS{files: files, dirs: map[string][]fs.DirEntry{".": nil}}
	for name, data := range files {
		if !fs.ValidPath(name) || name == "." {
			return nil, fmt.Errorf("%q is not a valid file name in a bundle", name)
		}
		// List the file in its directory, and each directory that did not
		// exist yet in its parent: the walk up stops at the first directory
		// that already existed, so each path element is visited once over
		// all the files.
		child := fs.FileInfoToDirEntry(info{name: path.Base(name), size: int64(len(data))})
		for dir := path.Dir(name); ; dir = path.Dir(dir) {
			_, existed := m.dirs[dir]
			m.dirs[dir] = append(m.dirs[dir], child)
			if existed {
				break
			}
			child = fs.FileInfoToDirEntry(info{name: path.Base(dir), dir: true})
		}
	}
	for name := range files {
		if _, ok := m.dirs[name]; ok {
			return nil, fmt.Errorf("%q is both a file and a directory in the bundle", name)
		}
	}
	for _, entries := range m.dirs {
		slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	}
	return m, nil
}

// Open implements fs.FS.
func (m *memFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if data, ok := m.files[name]; ok {
		return &memFile{info: info{name: path.Base(name), size: int64(len(data))}, r: bytes.NewReader(data)}, nil
	}
	entries, ok := m.dirs[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &memDir{info: info{name: path.Base(name), dir: true}, entries: entries}, nil
}

// ReadFile implements fs.ReadFileFS.
func (m *memFS) ReadFile(name string) ([]byte, error) {
	data, ok := m.files[name]
	if !ok || !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrNotExist}
	}
	return slices.Clone(data), nil
}

// ReadDir implements fs.ReadDirFS.
func (m *memFS) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, ok := m.dirs[name]
	if !ok || !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	return slices.Clone(entries), nil
}

type info struct {
	name string
	size int64
	dir  bool
}

func (i info) Name() string       { return i.name }
func (i info) Size() int64        { return i.size }
func (i info) ModTime() time.Time { return time.Time{} }
func (i info) IsDir() bool        { return i.dir }
func (i info) Sys() any           { return nil }
func (i info) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}

type memFile struct {
	info info
	r    *bytes.Reader
}

func (f *memFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *memFile) Read(b []byte) (int, error) { return f.r.Read(b) }
func (f *memFile) Close() error               { return nil }

type memDir struct {
	info    info
	entries []fs.DirEntry
	off     int
}

func (d *memDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *memDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: fs.ErrInvalid}
}
func (d *memDir) Close() error { return nil }

// ReadDir implements fs.ReadDirFile.
func (d *memDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.off:]
	if n <= 0 {
		d.off = len(d.entries)
		return slices.Clone(rest), nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	rest = rest[:min(n, len(rest))]
	d.off += len(rest)
	return slices.Clone(rest), nil
}
