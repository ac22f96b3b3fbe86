package config

import (
	"path"
	"strings"
	"testing"
	"time"
)

// TestGlobManyDoubleStars: matching is linear in the pattern and the path,
// so a pattern of many ** segments against a long path that does not match
// answers at once (the old backtracking matcher was exponential: 12 ** took
// 50 s and 16 never finished).
func TestGlobManyDoubleStars(t *testing.T) {
	pattern := strings.Repeat("**/", 24) + "nomatch"
	name := strings.Repeat("a/", 200) + "Dockerfile"
	done := make(chan bool, 1)
	go func() { done <- matchGlob(pattern, name) }()
	select {
	case got := <-done:
		if got {
			t.Errorf("matchGlob(%q, %q) = true, want false", pattern, name)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("matchGlob with 24 ** segments did not return within 10s")
	}
	// The same pattern still matches when the last segment is there.
	if !matchGlob(pattern, strings.Repeat("a/", 200)+"nomatch/Dockerfile") {
		t.Error("the many-** pattern must match a path containing its last segment")
	}
}

// referenceMatch is the plain backtracking definition of the glob semantics
// (see glob.go): a ** segment matches any number of segments, a pattern that
// matches a directory matches everything below it. Exponential, so only for
// short inputs.
func referenceMatch(pat, name []string) bool {
	if len(pat) == 0 {
		return true
	}
	if pat[0] == "**" {
		for i := 0; i <= len(name); i++ {
			if referenceMatch(pat[1:], name[i:]) {
				return true
			}
		}
		return false
	}
	if len(name) == 0 {
		return false
	}
	ok, _ := path.Match(pat[0], name[0])
	return ok && referenceMatch(pat[1:], name[1:])
}

// FuzzGlobMatch: the matcher agrees with the backtracking reference on
// short inputs and never panics on any input.
func FuzzGlobMatch(f *testing.F) {
	for _, tc := range [][2]string{
		{"legacy/**", "legacy/a/Dockerfile"},
		{"**/Dockerfile.dev", "a/b/Dockerfile.dev"},
		{"a/**/b", "a/x/y/c"},
		{"a/**/**/b/**/c", "a/b/x/b/c/d"},
		{"svc-[ab]/*.Docker?ile", "svc-a/x.Dockerfile"},
		{"./legacy/", "legacy"},
		{"../shared/**", "../shared/Dockerfile"},
		{"a/[", "a/["},
		{"", "x"},
	} {
		f.Add(tc[0], tc[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		got := matchGlob(pattern, name)
		pat := splitGlob(pattern)
		segs := strings.Split(path.Clean(name), "/")
		if len(pat) > 12 || len(segs) > 12 {
			return
		}
		if want := referenceMatch(pat, segs); got != want {
			t.Fatalf("matchGlob(%q, %q) = %v, reference says %v", pattern, name, got, want)
		}
	})
}
