package admission

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestCacheByteBudget: the decision cache keeps what fits its byte
// budget, however few entries it has: a budget below one image's verdict
// judges the image again on every review.
func TestCacheByteBudget(t *testing.T) {
	for _, tc := range []struct {
		name      string
		bytes     int64
		hit, miss float64
	}{
		{"default budget", 0, 1, 1},
		{"a budget below one verdict", 1024, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Options{CacheBytes: tc.bytes})
			body := reviewJSON(t, deployment("web", podOpts{image: f.good}), reviewOpts{})
			for range 2 {
				if r := f.post(t, body, ""); !r.Allowed {
					t.Fatalf("denied: %s", message(r))
				}
			}
			hit := testutil.ToFloat64(f.wh.metrics.cache.WithLabelValues("decision", "hit"))
			miss := testutil.ToFloat64(f.wh.metrics.cache.WithLabelValues("decision", "miss"))
			if hit != tc.hit || miss != tc.miss {
				t.Errorf("decision cache: %v hits, %v misses; want %v, %v", hit, miss, tc.hit, tc.miss)
			}
			if b := f.wh.decisions.Bytes(); b > max(tc.bytes, DefaultCacheBytes) {
				t.Errorf("the decision cache holds %d bytes", b)
			}
		})
	}
}
