package admission

import (
	"errors"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestCause: the reason an image could not be verified keeps the
// registry's words and drops what the message says already (the
// reference, in whatever form the image package wrote it) or what only
// lengthens it (request URLs).
func TestCause(t *testing.T) {
	for _, tc := range []struct{ ref, err, want string }{
		{"ghcr.io/team/app:1",
			"loading image ghcr.io/team/app:1: registry error: fetching manifest: GET https://ghcr.io/v2/team/app/manifests/1: TOOMANYREQUESTS: slow down",
			"registry error: fetching manifest: TOOMANYREQUESTS: slow down"},
		{"ghcr.io/team/app:1",
			`loading image ghcr.io/team/app:1: fetching config sha256:ab: Get "https://cdn.example/blob?sig=x": dial tcp: refused`,
			"fetching config sha256:ab: dial tcp: refused"},
		{"ghcr.io/team/app:1",
			"loading image ghcr.io/team/app@sha256:0123: registry error: fetching config sha256:ab: UNKNOWN: down",
			"registry error: fetching config sha256:ab: UNKNOWN: down"},
		{"nginx:1",
			"loading image index.docker.io/library/nginx:1: not found: MANIFEST_UNKNOWN",
			"not found: MANIFEST_UNKNOWN"},
		{"nginx:1",
			"loading image index.docker.io/library/nginx@sha256:0123: timed out",
			"timed out"},
		{"ghcr.io/team/app:1", "loading image other:1: not found\nmore detail", "loading image other:1: not found"},
		{"ghcr.io/team/app:1", "the registry did not answer within the review's deadline", "the registry did not answer within the review's deadline"},
	} {
		if got := cause(tc.ref, errors.New(tc.err)); got != tc.want {
			t.Errorf("cause(%q, %q)\n got %q\nwant %q", tc.ref, tc.err, got, tc.want)
		}
	}
}

// A pod's author picks the registry: the lookup metric names a bounded
// number of them, whatever the pods name.
func TestRegistryLabelsBounded(t *testing.T) {
	f := newFixture(t, Options{})
	for i := range 3 * maxRegistryLabels {
		f.wh.countLookup(fmt.Sprintf("registry-%d.example", i), nil)
	}
	if n := testutil.CollectAndCount(f.wh.metrics.registry); n != maxRegistryLabels+1 {
		t.Errorf("%d series, want %d (and \"other\")", n, maxRegistryLabels+1)
	}
	if got := testutil.ToFloat64(f.wh.metrics.registry.WithLabelValues("other", "ok")); got != 2*maxRegistryLabels {
		t.Errorf("other = %v, want %d", got, 2*maxRegistryLabels)
	}
}
