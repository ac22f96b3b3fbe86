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

// TestObjectCachesBounded: what the webhook keeps of the objects it has
// seen (their images, their image references) is bounded by bytes: an
// object naming many images is not kept past the budget, and is judged
// all the same.
func TestObjectCachesBounded(t *testing.T) {
	f := newFixture(t, Options{CacheBytes: 8 << 10}) // 2 KiB for each object cache
	var cs []podOpts
	for range 40 {
		cs = append(cs, podOpts{image: f.good})
	}
	body := reviewJSON(t, deployment("many", cs...), reviewOpts{})
	small := reviewJSON(t, deployment("one", podOpts{image: f.good}), reviewOpts{})
	for _, b := range [][]byte{body, body, small} {
		if r := f.post(t, b, ""); !r.Allowed {
			t.Fatalf("denied: %s", message(r))
		}
	}
	ps := f.wh.policies.Load()
	if n := ps.objects.Len(); n != 1 {
		t.Errorf("%d objects kept, want 1 (the one-container object; the 40-container one is over the budget)", n)
	}
	if b := ps.objects.Bytes(); b > 2<<10 {
		t.Errorf("the objects cache holds %d bytes, over its 2 KiB", b)
	}
	if ps.podSpecRefs != nil && ps.podSpecRefs.Bytes() > 2<<10 {
		t.Errorf("the image references cache holds %d bytes, over its 2 KiB", ps.podSpecRefs.Bytes())
	}
}
