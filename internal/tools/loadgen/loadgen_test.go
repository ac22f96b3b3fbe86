package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 99, 0},
		{"one", ms(7), 50, 7 * time.Millisecond},
		{"median of 4 is the 2nd", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of 100 is the 99th", ms(hundred...), 99, 99 * time.Millisecond},
		{"p99 of 10 is the max", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"p100 is the max", ms(1, 5, 9), 100, 9 * time.Millisecond},
		{"p0 is the min", ms(1, 5, 9), 0, time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.sorted, tc.p); got != tc.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tc.sorted, tc.p, got, tc.want)
			}
		})
	}
}

func TestSummarizeSkipsErrors(t *testing.T) {
	boom := errors.New("boom")
	s := []sample{{lat: 3 * time.Millisecond}, {err: boom}, {lat: time.Millisecond}, {lat: 2 * time.Millisecond, err: boom}}
	l := summarize(s)
	if l.N != 2 || l.P50 != time.Millisecond || l.Max != 3*time.Millisecond {
		t.Errorf("summarize = %+v, want 2 samples, p50 1ms, max 3ms", l)
	}
	if n, first := errorCounts(s); n != 2 || first != "boom" {
		t.Errorf("errorCounts = %d, %q; want 2, boom", n, first)
	}
}

const exposition = `# HELP dwf_admission_cache_total Cache lookups.
# TYPE dwf_admission_cache_total counter
dwf_admission_cache_total{cache="decision",result="hit"} 290
dwf_admission_cache_total{cache="decision",result="miss"} 10
dwf_admission_cache_total{cache="podspec",result="miss"} 7
dwf_admission_cache_total{cache="tag",result="hit"} 297
dwf_admission_cache_total{cache="tag",result="miss"} 3
dwf_admission_cache_totally_other 5
dwf_admission_reviews_total{decision="allow"} 100
`

func TestParseCountersAndHitRatio(t *testing.T) {
	after := parseCounters([]byte(exposition), "dwf_admission_cache_total")
	want := map[string]float64{
		`{cache="decision",result="hit"}`:  290,
		`{cache="decision",result="miss"}`: 10,
		`{cache="podspec",result="miss"}`:  7,
		`{cache="tag",result="hit"}`:       297,
		`{cache="tag",result="miss"}`:      3,
	}
	if d := cmp.Diff(want, after); d != "" {
		t.Fatalf("parseCounters (-want +got):\n%s", d)
	}
	before := map[string]float64{`{cache="decision",result="hit"}`: 90, `{cache="decision",result="miss"}`: 10, `{cache="tag",result="miss"}`: 3}
	hits, misses, ok := hitRatio(before, after)
	if !ok || hits != 200+297 || misses != 0 {
		t.Errorf("hitRatio = %v hits, %v misses, %v; want 497, 0, true", hits, misses, ok)
	}
	if _, _, ok := hitRatio(after, after); ok {
		t.Error("hitRatio of no lookups is ok")
	}
}

func TestParseStatus(t *testing.T) {
	good := "Name:\tdwf-policy\nVmPeak:\t 1000 kB\nVmHWM:\t   54321 kB\nVmRSS:\t   49152 kB\nThreads:\t9\n"
	m, err := parseStatus([]byte(good))
	if err != nil || m != (memory{RSS: 49152, HWM: 54321}) {
		t.Errorf("parseStatus = %+v, %v; want RSS 49152, HWM 54321", m, err)
	}
	for _, bad := range []string{"Name:\tx\n", "VmRSS:\t12 MB\n", "VmRSS:\tlots kB\n"} {
		if _, err := parseStatus([]byte(bad)); err == nil {
			t.Errorf("parseStatus(%q) succeeded", bad)
		}
	}
}

func TestParseStat(t *testing.T) {
	// utime 150 and stime 50 ticks: 2s; the command name has spaces and a ')'.
	stat := "4242 (dwf policy) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 150 50 0 0 20 0 9 0 1234 1000000 12000 18446744073709551615"
	got, err := parseStat([]byte(stat))
	if err != nil || got != 2*time.Second {
		t.Errorf("parseStat = %v, %v; want 2s", got, err)
	}
	for _, bad := range []string{"4242 dwf S 1", "4242 (dwf) S 1 2 3", "4242 (dwf) S 1 4242 4242 0 -1 4194560 900 0 0 0 x 50 0"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) succeeded", bad)
		}
	}
}

func TestSummarizeRSS(t *testing.T) {
	mib := func(v ...int64) []memory {
		var out []memory
		for _, x := range v {
			out = append(out, memory{RSS: x << 10, HWM: 200 << 10})
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		series  []memory
		bounded bool
	}{
		{"flat", mib(50, 52, 51, 52, 51, 52), true},
		{"levels off after warm-up", mib(40, 60, 62, 61, 62, 63), true},
		{"grows", mib(50, 60, 70, 80, 90, 100), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := summarizeRSS(tc.series, time.Second)
			if r.Bounded != tc.bounded {
				t.Errorf("bounded = %v, want %v (%s)", r.Bounded, tc.bounded, r)
			}
			if r.Samples != len(tc.series) || r.Start != tc.series[0].RSS || r.End != tc.series[len(tc.series)-1].RSS || r.HWM != 200<<10 {
				t.Errorf("summary %+v does not match the series", r)
			}
		})
	}
}

func TestOpenLoop(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var sent [5]bool
	samples, _ := openLoop(ctx, 10, 5, 10, func(ctx context.Context, i int) error {
		sent[i] = true
		if i == 1 {
			time.Sleep(20 * time.Millisecond)
			return errors.New("slow and wrong")
		}
		if i == 2 {
			cancel() // the run is interrupted: nothing after this is sent
		}
		return ctx.Err()
	})
	if len(samples) != 5 {
		t.Fatalf("%d samples, want 5", len(samples))
	}
	if samples[0].err != nil || samples[1].err == nil || samples[3].err == nil || samples[4].err == nil {
		t.Errorf("errors %v %v %v %v; want only 1, 3 and 4 to fail", samples[0].err, samples[1].err, samples[3].err, samples[4].err)
	}
	if sent[3] || sent[4] {
		t.Error("requests due after the context ended were sent")
	}
	// Latency counts from the time a request was due, so it can never be
	// less than the time send took.
	if samples[1].lat < 20*time.Millisecond {
		t.Errorf("latency %v of a 20ms request", samples[1].lat)
	}
}

func TestWithUID(t *testing.T) {
	body, err := review("warm", [3]string{"r/a:1", "r/b:1", "r/c:1"})
	if err != nil {
		t.Fatal(err)
	}
	a, b := withUID(body, 1), withUID(body, 0xabc)
	var got struct {
		Request struct {
			UID string `json:"uid"`
		} `json:"request"`
	}
	for _, tc := range []struct {
		body []byte
		want string
	}{{a, "00000000-0000-4000-8000-000000000001"}, {b, "00000000-0000-4000-8000-000000000abc"}, {body, uidPlaceholder}} {
		if err := json.Unmarshal(tc.body, &got); err != nil {
			t.Fatal(err)
		}
		if got.Request.UID != tc.want {
			t.Errorf("uid %q, want %q", got.Request.UID, tc.want)
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.json"), []byte(`{"request":{"uid":"1"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readBodies([]string{dir}); err == nil || !strings.Contains(err.Error(), "x.json") {
		t.Errorf("readBodies of a review without the placeholder uid: %v, want an error naming x.json", err)
	}
}

// TestSetup pushes the images of 2 cold pods and the warm one to an
// in-process registry and checks what a run needs: the certificate, one
// review per pod naming its 3 images, and the index with an attestation.
func TestSetup(t *testing.T) {
	reg := httptest.NewServer(registry.New())
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"setup", "-registry", host, "-dir", dir, "-cold", "2"}, &out, &errOut); code != 0 {
		t.Fatalf("setup: exit %d: %s", code, errOut.String())
	}
	for _, f := range []string{"tls.crt", "tls.key", "warm.json", "cold/s000.json", "cold/s001.json", "pull-ref"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "cold", "s001.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rv struct {
		Request struct {
			Object struct {
				Spec struct {
					Template struct {
						Spec struct {
							Containers []struct{ Image string }
						}
					}
				}
			}
		}
	}
	if err := json.Unmarshal(raw, &rv); err != nil {
		t.Fatal(err)
	}
	var images []string
	for _, c := range rv.Request.Object.Spec.Template.Spec.Containers {
		images = append(images, c.Image)
	}
	want := []string{host + "/bench/app:s001", host + "/bench/sidecar:s001", host + "/bench/logger:s001"}
	if d := cmp.Diff(want, images); d != "" {
		t.Errorf("images of cold pod s001 (-want +got):\n%s", d)
	}
	ref, err := os.ReadFile(filepath.Join(dir, "pull-ref"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(host+"/"+strings.TrimSpace(string(ref)), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	for _, d := range m.Manifests {
		platforms = append(platforms, d.Platform.String())
	}
	if d := cmp.Diff([]string{"linux/amd64", "linux/arm64", "unknown/unknown"}, platforms); d != "" {
		t.Errorf("platforms of the app index (-want +got):\n%s", d)
	}
}

func TestTableGolden(t *testing.T) {
	hit := 0.9987
	rs := []result{
		{Label: "cold", Target: "errors<=0 p99<300ms", Pass: ptr(false), Rate: 10, Achieved: 9.9, Sent: 100, P50: 120, P90: 250, P99: 320.5, Max: 330, Load: "1.00 2.00 3.00"},
		{Label: "warm", Target: "errors<=0 p99<5ms hits>=99%", Pass: ptr(true), Rate: 1000, Achieved: 999.6, Sent: 30000, Errors: 1, FirstError: "503 Service Unavailable",
			P50: 0.61, P90: 1.2, P99: 3.3, Max: 9, HitRatio: &hit, ServerCPU: 0.42, LoadgenCPU: 0.15, Load: "1.50 1.20 1.10",
			RSS: summarizeRSS([]memory{{RSS: 50 << 10, HWM: 60 << 10}, {RSS: 51 << 10, HWM: 60 << 10}}, 5*time.Second)},
	}
	var buf bytes.Buffer
	if err := writeTable(&buf, rs); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "table.golden")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), buf.String()); d != "" {
		t.Errorf("table (-want +got):\n%s", d)
	}
}

func ptr[T any](v T) *T { return &v }

// TestWithName: -unique-objects renames the object and the request, and
// leaves the labels (which the selector must match) alone.
func TestWithName(t *testing.T) {
	body, err := review("warm", [3]string{"r/a:1", "r/b:1", "r/c:1"})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Request struct {
			Name   string `json:"name"`
			Object struct {
				Metadata struct {
					Name   string            `json:"name"`
					Labels map[string]string `json:"labels"`
				} `json:"metadata"`
			} `json:"object"`
		} `json:"request"`
	}
	if err := json.Unmarshal(withName(body, 0x1f), &got); err != nil {
		t.Fatal(err)
	}
	if got.Request.Name != "web-1f-warm" || got.Request.Object.Metadata.Name != "web-1f-warm" {
		t.Errorf("names %q and %q, want web-1f-warm", got.Request.Name, got.Request.Object.Metadata.Name)
	}
	if l := got.Request.Object.Metadata.Labels["app.kubernetes.io/name"]; l != "web-warm" {
		t.Errorf("label %q, want web-warm unchanged", l)
	}
}
