package policyset

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"strconv"
)

// Hash identifies what the set judges by: every policy file of every
// source (names and contents, in walk order), the configuration's text and
// the sandbox choice. Two sets with the same Hash give the same findings for
// the same document, so a server may cache verdicts by (digest, Hash). It
// reads every policy file; call it once per set.
func (s *Set) Hash() (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "dwf-policy policy set\nsandboxed %t\n", s.Sandboxed())
	if s.Config != nil {
		fmt.Fprintf(h, "config %s %d\n", s.Config.Name, len(s.Config.Source))
		h.Write(s.Config.Source)
	}
	for _, src := range s.Sources {
		fmt.Fprintf(h, "source %s %t\n", strconv.Quote(src.Name), src.Builtin)
		err := fs.WalkDir(src.FS, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			f, err := src.FS.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			fh := sha256.New()
			if _, err := io.Copy(fh, f); err != nil {
				return err
			}
			fmt.Fprintf(h, "file %s %x\n", strconv.Quote(p), fh.Sum(nil))
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("hashing policies %s: %w", src.Name, err)
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
