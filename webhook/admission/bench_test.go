package admission

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/devflow/dwf-policy/internal/imagetest"
)

// BenchmarkReviewWarm measures whole reviews over HTTP on loopback of a
// Deployment with 3 containers (3 images, each 2 platforms) whose images
// are cached: decode, the kubernetes document, the tag and decision
// caches, DWF601-DWF603 in Rego, the response. It reports the p50 and p99
// latency of the reviews, sent by 8 clients at once.
func BenchmarkReviewWarm(b *testing.B) {
	send := warmSender(b)
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(4) // 4 × GOMAXPROCS clients
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			mine = append(mine, send())
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	reportLatency(b, lat)
}

// BenchmarkReviewWarmAt200PerSecond sends the reviews of
// BenchmarkReviewWarm at a steady 200 per second (b.N of them) instead of
// as fast as possible: latency without queueing behind a saturated CPU.
func BenchmarkReviewWarmAt200PerSecond(b *testing.B) {
	send := warmSender(b)
	lat := make([]time.Duration, b.N)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var wg sync.WaitGroup
	b.ResetTimer()
	for i := range b.N {
		<-tick.C
		wg.Go(func() { lat[i] = send() })
	}
	wg.Wait()
	b.StopTimer()
	reportLatency(b, lat)
}

func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}

// warmSender returns a function that sends one review and returns its
// latency, with the caches warm.
func warmSender(b *testing.B) func() time.Duration {
	f := newFixture(b, Options{})
	refs := []string{f.good}
	for _, name := range []string{"team/sidecar:1", "team/init:1"} {
		ref := f.reg.Ref(name)
		f.reg.PushIndex(b, ref, imagetest.Index(b, imagetest.Spec{}.Images(b)...))
		refs = append(refs, ref)
	}
	body := reviewJSON(b, deployment("web", podOpts{image: refs[0]}, podOpts{image: refs[1]}, podOpts{image: refs[2]}), reviewOpts{})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	send := func() time.Duration {
		start := time.Now()
		resp, err := client.Post(f.srv.URL+"/validate?timeout=3s", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(out, []byte(`"allowed":true`)) {
			b.Fatalf("%s: %s", resp.Status, out)
		}
		return time.Since(start)
	}
	send() // warm the caches
	return send
}

// BenchmarkReviewCompute is one warm review without HTTP: decode the
// AdmissionReview, judge it (caches warm: the same object again, so its
// DWF601-DWF603 findings come from the pod spec cache), encode the answer.
// Its CPU profile (-cpuprofile) shows where a review's time goes without
// the client's share that BenchmarkReviewWarm includes.
func BenchmarkReviewCompute(b *testing.B) {
	benchmarkReviewCompute(b, 1)
}

// BenchmarkReviewComputeNewObject is BenchmarkReviewCompute with another
// object each time (the Deployment's name differs, as pods' generated
// names do): the image caches are warm, DWF601-DWF603 run in Rego.
func BenchmarkReviewComputeNewObject(b *testing.B) {
	benchmarkReviewCompute(b, 2*podSpecCacheSize)
}

// benchmarkReviewCompute cycles through objects distinct objects.
func benchmarkReviewCompute(b *testing.B, objects int) {
	f := newFixture(b, Options{})
	refs := []string{f.good}
	for _, name := range []string{"team/sidecar:1", "team/init:1"} {
		ref := f.reg.Ref(name)
		f.reg.PushIndex(b, ref, imagetest.Index(b, imagetest.Spec{}.Images(b)...))
		refs = append(refs, ref)
	}
	bodies := make([][]byte, objects)
	for i := range bodies {
		bodies[i] = reviewJSON(b, deployment(fmt.Sprintf("web-%d", i), podOpts{image: refs[0]}, podOpts{image: refs[1]}, podOpts{image: refs[2]}), reviewOpts{})
	}
	n := 0
	review := func() {
		body := bodies[n%len(bodies)]
		n++
		rv, err := decodeReview(body)
		if err != nil {
			b.Fatal(err)
		}
		resp, err := f.wh.Review(b.Context(), rv.Request)
		if err != nil || !resp.Allowed {
			b.Fatalf("%v: %+v", err, resp)
		}
		if _, err := json.Marshal(admissionv1.AdmissionReview{TypeMeta: rv.TypeMeta, Response: resp}); err != nil {
			b.Fatal(err)
		}
	}
	review() // warm the caches
	b.ReportAllocs()
	for b.Loop() {
		review()
	}
}

// BenchmarkReviewCold is a review of a Deployment whose 3 images (each an
// index of 2 platforms) the webhook has never seen: tags resolved, every
// manifest and config fetched from the in-process registry, the image
// rules evaluated per image, then the pod spec rules. The images are
// pushed outside the timer.
func BenchmarkReviewCold(b *testing.B) {
	f := newFixture(b, Options{})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		var refs []string
		for _, name := range []string{"app", "sidecar", "init"} {
			ref := f.reg.Ref(fmt.Sprintf("cold/%s:%d", name, i))
			cmd := []string{"/app/server", fmt.Sprint(i)}
			f.reg.PushIndex(b, ref, imagetest.Index(b, imagetest.Spec{PlatformSpec: imagetest.PlatformSpec{Cmd: &cmd}}.Images(b)...))
			refs = append(refs, ref)
		}
		body := reviewJSON(b, deployment("web", podOpts{image: refs[0]}, podOpts{image: refs[1]}, podOpts{image: refs[2]}), reviewOpts{})
		b.StartTimer()
		start := time.Now()
		resp, err := client.Post(f.srv.URL+"/validate?timeout=10s", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(out, []byte(`"allowed":true`)) {
			b.Fatalf("%s: %s", resp.Status, out)
		}
		lat = append(lat, time.Since(start))
	}
	reportLatency(b, lat)
}
