// Package repofile reads the files a user's repository or command line
// names without trusting them: only regular files are read (a FIFO, a
// device or a /proc file is refused before it can block or flood), sizes
// are capped on what was actually opened, and files found by discovery are
// read through os.Root so that no symbolic link or ".." leads outside the
// directory they belong to. Error messages name the file and never quote
// its content.
package repofile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// TooLargeError is the error for a file over its size limit.
type TooLargeError struct{ Limit int64 }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("is larger than the %d-byte limit", e.Limit)
}

// ErrNotRegular is the error for a path that is not a regular file (or a
// directory, where one is expected).
var ErrNotRegular = errors.New("not a regular file")

// ReadFile reads a file named by the user, following symbolic links, when
// it is a regular file of at most limit bytes.
func ReadFile(file string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(file, os.O_RDONLY|oNonblock, 0)
	if err != nil {
		return nil, unwrap(err)
	}
	defer f.Close()
	return readRegular(f, limit)
}

// OpenRegular opens a file named by the user, following symbolic links,
// when it is a regular file; a FIFO or a device is refused without
// blocking on it.
func OpenRegular(file string) (*os.File, error) {
	f, err := os.OpenFile(file, os.O_RDONLY|oNonblock, 0)
	if err != nil {
		return nil, unwrap(err)
	}
	info, err := f.Stat()
	if err == nil && info.IsDir() {
		err = errors.New("is a directory")
	} else if err == nil && !info.Mode().IsRegular() {
		err = fmt.Errorf("%w (%s)", ErrNotRegular, describe(info.Mode()))
	}
	if err != nil {
		f.Close()
		return nil, unwrap(err)
	}
	return f, nil
}

// ReadIn reads name (slash-separated, relative to root) through os.Root:
// neither ".." nor a symbolic link can leave root. The file must be
// regular and at most limit bytes.
func ReadIn(root, name string, limit int64) ([]byte, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, unwrap(err)
	}
	defer r.Close()
	f, err := r.OpenFile(filepath.FromSlash(path.Clean(name)), os.O_RDONLY|oNonblock, 0)
	if err != nil {
		return nil, unwrap(err)
	}
	defer f.Close()
	return readRegular(f, limit)
}

// readRegular checks what f is after it was opened (so a symbolic link
// cannot swap a small file for a large one between a check and the read)
// and reads it, capped.
func readRegular(f *os.File, limit int64) ([]byte, error) {
	info, err := f.Stat()
	if err != nil {
		return nil, unwrap(err)
	}
	switch {
	case info.IsDir():
		return nil, errors.New("is a directory")
	case !info.Mode().IsRegular():
		return nil, fmt.Errorf("%w (%s)", ErrNotRegular, describe(info.Mode()))
	case limit > 0 && info.Size() > limit:
		return nil, &TooLargeError{Limit: limit}
	}
	r := io.Reader(f)
	if limit > 0 {
		r = io.LimitReader(f, limit+1)
	}
	// Read into a buffer of the size Stat gives (plus room to see growth),
	// not io.ReadAll's doubling: a 14 MB report is otherwise copied a dozen
	// times.
	buf := bytes.NewBuffer(make([]byte, 0, info.Size()+512))
	_, err = buf.ReadFrom(r)
	if err != nil {
		return nil, unwrap(err)
	}
	data := buf.Bytes()
	// A regular file can still grow between Stat and the read, and some
	// (/proc) report size 0: the cap holds on what was read.
	if limit > 0 && int64(len(data)) > limit {
		return nil, &TooLargeError{Limit: limit}
	}
	return data, nil
}

// FS returns a read-only file system of the directory dir below root,
// through os.Root: nothing it opens leaves root, and it opens only
// directories and regular files. The returned close function releases it.
func FS(root, dir string) (fs.FS, func() error, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, nil, unwrap(err)
	}
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		r.Close()
		return nil, nil, fmt.Errorf("%s is outside %s", dir, root)
	}
	return confined{root: r, dir: filepath.ToSlash(rel)}, r.Close, nil
}

type confined struct {
	root *os.Root
	dir  string
}

func (c confined) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	f, err := c.root.OpenFile(filepath.FromSlash(path.Join(c.dir, name)), os.O_RDONLY|oNonblock, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: unwrap(err)}
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: unwrap(err)}
	}
	if !info.IsDir() && !info.Mode().IsRegular() {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w (%s)", ErrNotRegular, describe(info.Mode()))}
	}
	return f, nil
}

// describe names a file type for messages.
func describe(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "type " + m.Type().String()
}

// Cause drops the *fs.PathError wrapper of err, so that a message names
// the file as the user wrote it rather than as it was opened.
func Cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// unwrap is Cause, with os.Root's refusal said in the user's terms.
func unwrap(err error) error {
	err = Cause(err)
	if err != nil && strings.Contains(err.Error(), "escapes") {
		return errors.New("leads outside the repository (through .. or a symbolic link)")
	}
	return err
}
