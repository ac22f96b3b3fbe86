package registrygate

import (
	"strings"
	"testing"

	"github.com/devflow/dwf-policy/engine/finding"
)

// TestVerdictCacheBytes: verdicts are bounded by the memory they hold, not
// only by their count: the verdict of an image with a 5,000-vulnerability
// report does not fit a 1 MiB budget, and pushes the older verdicts out of
// a larger one.
func TestVerdictCacheBytes(t *testing.T) {
	small := &Verdict{Digest: "sha256:small", PolicyHash: "h", Compliant: true}
	big := &Verdict{Digest: "sha256:big", PolicyHash: "h", Findings: make([]finding.Finding, 5000)}
	for i := range big.Findings {
		big.Findings[i] = finding.Finding{RuleID: "DWF401", Message: strings.Repeat("m", 200)}
	}
	c := newVerdictCache(100, 1<<20)
	c.put(small)
	c.put(big)
	if _, ok := c.get("sha256:big", "h"); ok {
		t.Error("a verdict larger than the whole budget was kept")
	}
	if _, ok := c.get("sha256:small", "h"); !ok {
		t.Error("the small verdict was evicted by one that was not kept")
	}
	c = newVerdictCache(100, 4<<20)
	c.put(small)
	for _, d := range []string{"sha256:big1", "sha256:big2"} {
		v := *big
		v.Digest = d
		c.put(&v)
	}
	if _, ok := c.get("sha256:big1", "h"); ok {
		t.Error("two verdicts of ~2.3 MB each were kept within 4 MiB")
	}
	if _, ok := c.get("sha256:big2", "h"); !ok {
		t.Error("the newest verdict was not kept")
	}
	if n := c.c.Len(); n != 1 {
		t.Errorf("%d verdicts kept, want 1 (the small one was the least recently used)", n)
	}
}
