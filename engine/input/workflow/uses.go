package workflow

import (
	"regexp"
	"strings"
	"sync"
)

var (
	fullSHA  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{40}$`) })
	shortSHA = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{7,39}$`) })
	tagLike  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^v?[0-9]+(\.[0-9]+)*([-+.][0-9A-Za-z.+-]*)?$`) })
)

// usesRef is a parsed `uses:` value.
type usesRef struct {
	kind    string // remote, local, docker
	owner   string
	repo    string
	path    string
	ref     string
	refKind string // sha, short_sha, tag, branch, none; docker: digest, tag, none
	image   string
}

// parseUses splits owner/repo[/path]@ref, ./local/path, $/path and
// docker://image. Whether a ref is a tag or a branch cannot be known
// offline: version-like refs (v4, 1.2.3, v0.28.0) count as tags, anything
// else as a branch.
//
// `$/path` is GitHub's self-repository reference (GitHub changelog,
// 2026-07-30): the action or reusable workflow in the workflow's own
// repository at the commit that is running, so it is a local reference like
// ./path, needing no ref. Surrounding whitespace is not part of the
// reference: a block scalar (`uses: |`) ends with a newline that would
// otherwise turn a full commit SHA into an unknown ref.
func parseUses(s string) usesRef {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") || s == "." || strings.HasPrefix(s, "$/"):
		return usesRef{kind: "local", path: s, refKind: "none"}
	case strings.HasPrefix(s, "docker://"):
		img := strings.TrimPrefix(s, "docker://")
		u := usesRef{kind: "docker", image: img, refKind: "none"}
		if i := strings.Index(img, "@"); i >= 0 {
			u.image, u.ref, u.refKind = img[:i], img[i+1:], "digest"
			return u
		}
		if i := strings.LastIndex(img, ":"); i > strings.LastIndex(img, "/") {
			u.image, u.ref, u.refKind = img[:i], img[i+1:], "tag"
		}
		return u
	}
	u := usesRef{kind: "remote", refKind: "none"}
	name := s
	if i := strings.Index(s, "@"); i >= 0 {
		name, u.ref = s[:i], s[i+1:]
		u.refKind = refKind(u.ref)
	}
	parts := strings.SplitN(name, "/", 3)
	u.owner = parts[0]
	if len(parts) > 1 {
		u.repo = parts[1]
	}
	if len(parts) > 2 {
		u.path = parts[2]
	}
	return u
}

func refKind(ref string) string {
	switch {
	case ref == "":
		return "none"
	case fullSHA().MatchString(ref):
		return "sha"
	case tagLike().MatchString(ref):
		return "tag"
	case shortSHA().MatchString(ref):
		return "short_sha"
	}
	return "branch"
}

func (u usesRef) value(raw string) map[string]any {
	return map[string]any{
		"value":    strings.TrimSpace(raw),
		"kind":     u.kind,
		"owner":    u.owner,
		"repo":     u.repo,
		"path":     u.path,
		"ref":      u.ref,
		"ref_kind": u.refKind,
		"image":    u.image,
	}
}

// is reports whether the reference names owner/repo (case-insensitive, as
// GitHub treats them) at its root.
func (u usesRef) is(owner, repo string) bool {
	return u.kind == "remote" && u.path == "" && strings.EqualFold(u.owner, owner) && strings.EqualFold(u.repo, repo)
}
