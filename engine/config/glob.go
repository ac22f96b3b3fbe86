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
//
// It runs in O(len(pat)·len(name)) segment matches, whatever the pattern:
// at[j] records whether the pattern segments consumed so far can match
// name[:j], so each pattern segment is one pass over the name. (Backtracking
// over every way of splitting the name among the ** segments, as an earlier
// version did, is exponential in the number of ** segments.)
func matchSegments(pat, name []string) bool {
	at := make([]bool, len(name)+1)
	at[0] = true
	for _, seg := range pat {
		reached := false
		if seg == "**" {
			// ** matches any number of segments: every position at or
			// after the first reachable one is reachable.
			for j := range at {
				reached = reached || at[j]
				at[j] = reached
			}
		} else {
			// One segment: position j+1 is reachable when j was and the
			// segment matches name[j]. Walk down so at[j] is still the
			// value before this segment when it is read.
			for j := len(name) - 1; j >= 0; j-- {
				ok := false
				if at[j] {
					ok, _ = path.Match(seg, name[j])
				}
				at[j+1] = ok
				reached = reached || ok
			}
			at[0] = false
		}
		if !reached {
			return false
		}
	}
	// The pattern is used up: it matched name[:j] for some j, a directory
	// of name or name itself.
	return true
}
