package admission

import (
	"errors"
	"testing"
)

// TestCause: the reason an image could not be verified keeps the
// registry's words and drops what the message says already (the
// reference) or what only lengthens it (request URLs).
func TestCause(t *testing.T) {
	const ref = "ghcr.io/team/app:1"
	for in, want := range map[string]string{
		"loading image ghcr.io/team/app:1: registry error: fetching manifest: GET https://ghcr.io/v2/team/app/manifests/1: TOOMANYREQUESTS: slow down": "registry error: fetching manifest: TOOMANYREQUESTS: slow down",
		`loading image ghcr.io/team/app:1: fetching config sha256:ab: Get "https://cdn.example/blob?sig=x": dial tcp: refused`:                         "fetching config sha256:ab: dial tcp: refused",
		"loading image other:1: not found\nmore detail":                                                        "loading image other:1: not found",
		"loading image ghcr.io/team/app@sha256:0123: registry error: fetching config sha256:ab: UNKNOWN: down": "registry error: fetching config sha256:ab: UNKNOWN: down",
		"the registry did not answer within the review's deadline":                                             "the registry did not answer within the review's deadline",
	} {
		if got := cause(ref, errors.New(in)); got != want {
			t.Errorf("cause(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}
