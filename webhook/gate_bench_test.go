package webhook_test

import (
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/devflow/dwf-policy/internal/imagetest"
	"github.com/devflow/dwf-policy/webhook/registrygate"
)

// BenchmarkPullThroughGate measures a manifest pull by digest with a
// cached verdict through the gate and directly from the real registry,
// alternating the two in one run on loopback, and reports p50 and p99 of
// each and of the time each gated pull added to the direct one before it
// (scripts/registry.sh run -- go test ./webhook -run '^$' -bench Pull).
func BenchmarkPullThroughGate(b *testing.B) {
	upstream := imagetest.RealRegistry(b, "./webhook")
	g := startGate(b, "http://"+upstream, registrygate.Options{})
	img := unique(b, "1001")
	if err := remote.Write(ref(b, g.addr+"/bench/app:1"), img); err != nil {
		b.Fatal(err)
	}
	d := digestOf(b, img).String()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}, Timeout: 10 * time.Second}
	get := func(host string) time.Duration {
		req, _ := http.NewRequest(http.MethodGet, "http://"+host+"/v2/bench/app/manifests/"+d, nil)
		req.Header.Set("Accept", string(types.OCIManifestSchema1))
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("GET via %s: %s", host, resp.Status)
		}
		return took
	}
	for range 50 { // warm connections and the verdict
		get(upstream)
		get(g.addr)
	}
	var direct, gated []time.Duration
	b.ResetTimer()
	for b.Loop() {
		direct = append(direct, get(upstream))
		gated = append(gated, get(g.addr))
	}
	b.StopTimer()
	pct := func(ds []time.Duration, p float64) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(s[int(float64(len(s)-1)*p)].Microseconds())
	}
	// Each gated pull minus the direct pull just before it: on a busy
	// machine the pair shares the same moment's load, so the differences
	// say more about the gate than the two tails apart.
	added := make([]time.Duration, len(direct))
	for i := range direct {
		added[i] = gated[i] - direct[i]
	}
	b.ReportMetric(pct(added, .50), "added-p50-µs")
	b.ReportMetric(pct(added, .99), "added-p99-µs")
	b.ReportMetric(pct(direct, .50), "direct-p50-µs")
	b.ReportMetric(pct(direct, .99), "direct-p99-µs")
	b.ReportMetric(pct(gated, .50), "gate-p50-µs")
	b.ReportMetric(pct(gated, .99), "gate-p99-µs")
}
