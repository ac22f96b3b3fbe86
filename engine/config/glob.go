package config

import (
	"fmt"
	"path"
	"strings"
)

// Globs in the configuration match slash-separated paths relative to the
// configuration file's directory. A segment is matched with path.Match
// (`*`, `?`, `[...]`, never crossing a slash); a `**` segment matches any
// number of directories, none included. A pattern that matches a directory
// matches everything below it, so `legacy`, `legacy/` and `legacy/**` all
// cover the whole legacy directory.

// validGlob reports why a pattern cannot be used.
func validGlob(pattern string) error {
	if strings.HasPrefix(pattern, "/") {
		return fmt.Errorf("%q must be relative to the configuration file's directory", pattern)
	}
	for _, seg := range splitGlob(pattern) {
		if seg == "**" {
			continue
		}
		if strings.Contains(seg, "**") {
			return fmt.Errorf("%q: ** must be a whole path segment, as in a/**/b", pattern)
		}
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("%q is not a valid glob: %w", pattern, err)
		}
	}
	return nil
}

// splitGlob cleans a pattern (a leading ./ or a trailing / changes nothing)
// and splits it into segments.
func splitGlob(pattern string) []string {
	p := strings.TrimSuffix(strings.TrimPrefix(pattern, "./"), "/")
	if p == "" || p == "." {
		return []string{"**"}
	}
	return strings.Split(p, "/")
}

// matchGlob reports whether the slash-separated relative path name, or one
// of its parent directories, matches pattern.
func matchGlob(pattern, name string) bool {
	return matchSegments(splitGlob(pattern), strings.Split(path.Clean(name), "/"))
}

// matchSegments matches pattern segments against a prefix of the name's
// segments (a matched directory covers what is below it).
func matchSegments(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			for i := 0; i <= len(name); i++ {
				if matchSegments(rest, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return true
}
