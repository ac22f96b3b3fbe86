package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// writeFile writes what write produces to file (-o, --output) without
// surprises:
//   - a regular file (or a new one) is replaced atomically through a
//     temporary file in the same directory, so a failed or interrupted run
//     never leaves half a report for an upload step, and the temporary file
//     is removed whatever happens; an existing file keeps its mode;
//   - anything else that exists (/dev/null, /dev/stdout, a FIFO, a process
//     substitution) is written to directly: replacing a device node with a
//     regular file, as a rename would, breaks the system for everyone;
//   - a symbolic link is followed, so the link stays a link.
func writeFile(file string, write func(io.Writer) error) error {
	given := file
	file, err := followLinks(file)
	if err != nil {
		return err
	}
	info, err := os.Stat(file)
	switch {
	case err == nil && info.IsDir():
		return fmt.Errorf("%s is a directory", file)
	case err == nil && !info.Mode().IsRegular():
		return writeInPlace(file, write)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	mode := fs.FileMode(0o644)
	if err == nil {
		mode = info.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".dwf-policy-*")
	if err != nil {
		// Name the file the user gave, not the temporary file.
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("creating %s: the directory %s does not exist", given, filepath.Dir(given))
		}
		if pe, ok := errors.AsType[*fs.PathError](err); ok {
			return fmt.Errorf("creating %s: %w", given, pe.Err)
		}
		return fmt.Errorf("creating %s: %w", given, err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}

// writeInPlace writes to a file that is not a regular file, as a shell
// redirection would.
func writeInPlace(file string, write func(io.Writer) error) error {
	f, err := os.OpenFile(file, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// followLinks resolves file while it is a symbolic link, even to a target
// that does not exist yet (the report it will become).
func followLinks(file string) (string, error) {
	for range 40 {
		info, err := os.Lstat(file)
		if err != nil || info.Mode()&fs.ModeSymlink == 0 {
			return file, nil
		}
		target, err := os.Readlink(file)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(file), target)
		}
		file = target
	}
	return "", fmt.Errorf("%s: too many levels of symbolic links", file)
}
