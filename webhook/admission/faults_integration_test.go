package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apiserver/pkg/admission"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/engine/policyset"
	"github.com/devflow/dwf-policy/internal/imagetest"
)

// faultFunc answers a request in the registry's place and returns true, or
// returns false to let the registry answer.
type faultFunc func(w http.ResponseWriter, r *http.Request) bool

// faultProxy is an HTTPS reverse proxy on 127.0.0.1 in front of the real
// docker-registry (plain HTTP on loopback, started by scripts/registry.sh),
// injecting faults.
type faultProxy struct {
	real, host string
	fault      atomic.Pointer[faultFunc]
	// manifests counts the manifest requests that reached the proxy.
	manifests atomic.Int64
	stop      chan struct{} // closed when the test ends: trickles stop
}

func newFaultProxy(t *testing.T) *faultProxy {
	t.Helper()
	p := &faultProxy{real: imagetest.RealRegistry(t, "./webhook/admission"), stop: make(chan struct{})}
	target, err := url.Parse("http://" + p.real)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite:  func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		ErrorLog: log.New(io.Discard, "", 0),
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/manifests/") {
			p.manifests.Add(1)
		}
		if f := p.fault.Load(); f != nil && (*f)(w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(p.stop) }) // first: Close waits for handlers
	p.host = srv.Listener.Addr().String()
	return p
}

// inject makes f answer from now on; nil lets every request through.
func (p *faultProxy) inject(f faultFunc) {
	if f == nil {
		p.fault.Store(nil)
		return
	}
	p.fault.Store(&f)
}

// push writes idx to the real registry as repo:tag (a name of its own per
// test: the registry lives as long as the test run) and returns the
// reference through the proxy.
func (p *faultProxy) push(t *testing.T, repoTag string, idx v1.ImageIndex) string {
	t.Helper()
	repoTag = fmt.Sprintf("faults/%d-%s", time.Now().UnixNano(), repoTag)
	ref, err := name.ParseReference(p.real+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	return p.host + "/" + repoTag
}

// manifestsOnly applies f to manifest requests only.
func manifestsOnly(f faultFunc) faultFunc {
	return func(w http.ResponseWriter, r *http.Request) bool {
		return strings.Contains(r.URL.Path, "/manifests/") && f(w, r)
	}
}

// blobsOnly applies f to blob requests only (configs, layers).
func blobsOnly(f faultFunc) faultFunc {
	return func(w http.ResponseWriter, r *http.Request) bool {
		return strings.Contains(r.URL.Path, "/blobs/") && f(w, r)
	}
}

// registryError answers with a distribution error body.
func registryError(code int, errCode, msg string, header map[string]string) faultFunc {
	return func(w http.ResponseWriter, r *http.Request) bool {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"errors":[{"code":%q,"message":%q}]}`, errCode, msg)
		return true
	}
}

// realWebhook is a webhook as Serve configures it for pods' references
// (untrusted, the proxy trusted by name), with the production retry
// defaults, a clock the test moves, and its own metrics.
type realWebhook struct {
	wh      *Webhook
	srv     *httptest.Server
	metrics *prometheus.Registry
	now     atomic.Int64 // added to the real clock
}

func newRealWebhook(t *testing.T, proxy *faultProxy, o Options) *realWebhook {
	t.Helper()
	set, err := policyset.Open(context.Background(), policyset.Options{WorkDir: t.TempDir(), NoConfigSearch: true})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := set.Hash()
	if err != nil {
		t.Fatal(err)
	}
	rw := &realWebhook{metrics: prometheus.NewRegistry()}
	o.Checker = check.New(set, check.Options{Image: image.Options{
		Transport: imagetest.Transport(), Keychain: authn.NewMultiKeychain(),
		UntrustedReferences: true, TrustedRegistries: []string{proxy.host},
	}})
	o.PolicyHash, o.Registerer = hash, rw.metrics
	o.Now = func() time.Time { return time.Now().Add(time.Duration(rw.now.Load())) }
	if rw.wh, err = New(o); err != nil {
		t.Fatal(err)
	}
	rw.srv = httptest.NewServer(rw.wh)
	t.Cleanup(rw.srv.Close)
	return rw
}

// review sends body with ?timeout= as the apiserver does, and waits for
// the answer no longer than the apiserver would: a webhook that lets the
// apiserver time out fails the test.
func (rw *realWebhook) review(t *testing.T, body []byte, timeout time.Duration) *admissionv1.AdmissionResponse {
	t.Helper()
	client := &http.Client{Timeout: timeout}
	resp, err := client.Post(rw.srv.URL+"/validate?timeout="+timeout.String(), "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("no answer within the apiserver's timeout of %s: %v", timeout, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(b, &out); err != nil || out.Response == nil {
		t.Fatalf("not a review response (%v): %s", err, b)
	}
	return out.Response
}

// lookups is the registry lookup counter for status.
func (rw *realWebhook) lookups(host, status string) float64 {
	return testutil.ToFloat64(rw.wh.metrics.registry.WithLabelValues(host, status))
}

// eventually polls cond for up to a minute (a loaded machine is slow; the
// assertion is the outcome, not the time).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still not %s after a minute", what)
		}
	}
}

// TestIntegrationRegistryFaults: each fault of the registry, injected by a
// proxy in front of the real docker-registry, gets the --on-error outcome
// (denied with "could not verify <image>: <cause>", or admitted with a
// warning, an audit annotation and the fail-open metric), always answered
// within the apiserver's ?timeout=; the lookup is counted by status; and
// only a missing manifest is remembered (for NotFoundTTL): once the fault
// is gone, the next review is judged on the image.
func TestIntegrationRegistryFaults(t *testing.T) {
	imagetest.RealRegistry(t, "./webhook/admission") // skipped here without it, failed in CI
	huge := bytes.Repeat([]byte(" "), 5<<20)
	cases := []struct {
		name    string
		fault   faultFunc
		timeout time.Duration // the apiserver's ?timeout=
		cause   []string      // in the message, after "could not verify <image>: "
		status  string        // of the registry lookup metric
		budget  bool          // the review's deadline came first
		cached  bool          // the failure is remembered for NotFoundTTL
		pinned  bool          // the pod names the image by digest
		// requests is how many manifest requests the first review makes
		// (retries included), 0 for not checked.
		requests int64
	}{{
		name: "401",
		fault: func(w http.ResponseWriter, r *http.Request) bool {
			return registryError(http.StatusUnauthorized, "UNAUTHORIZED", "authentication required",
				map[string]string{"WWW-Authenticate": `Basic realm="registry"`})(w, r)
		},
		timeout: 10 * time.Second, cause: []string{"unauthorized", "UNAUTHORIZED: authentication required"}, status: "unauthorized",
	}, {
		name:    "404",
		fault:   manifestsOnly(registryError(http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown", nil)),
		timeout: 10 * time.Second, cause: []string{"not found", "MANIFEST_UNKNOWN: manifest unknown"}, status: "not_found", cached: true,
	}, {
		name:    "404 by digest",
		fault:   manifestsOnly(registryError(http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown", nil)),
		timeout: 10 * time.Second, cause: []string{"not found", "MANIFEST_UNKNOWN: manifest unknown"}, status: "not_found", cached: true, pinned: true,
	}, {
		name:    "429 with Retry-After",
		fault:   manifestsOnly(registryError(http.StatusTooManyRequests, "TOOMANYREQUESTS", "rate limit exceeded", map[string]string{"Retry-After": "30"})),
		timeout: 10 * time.Second, cause: []string{"registry error", "TOOMANYREQUESTS: rate limit exceeded"}, status: "rate_limited",
		requests: 1, // Retry-After: not asked again by the retries
	}, {
		name:    "500",
		fault:   manifestsOnly(registryError(http.StatusInternalServerError, "UNKNOWN", "storage backend down", nil)),
		timeout: 10 * time.Second, cause: []string{"registry error", "UNKNOWN: storage backend down"}, status: "error",
		requests: 3, // retried twice
	}, {
		name:    "oversized manifest",
		timeout: 10 * time.Second, cause: []string{"manifest larger than 4194304 bytes"}, status: "error",
		fault: manifestsOnly(func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
			w.Header().Set("Content-Length", strconv.Itoa(len(huge)+2))
			w.Write([]byte("{}"))
			w.Write(huge)
			return true
		}),
	}, {
		// The tag resolves; loading the image (its config) fails.
		name:    "500 on blobs",
		fault:   blobsOnly(registryError(http.StatusInternalServerError, "UNKNOWN", "blob store down", nil)),
		timeout: 10 * time.Second, cause: []string{"registry error", "UNKNOWN: blob store down"}, status: "error",
	}, {
		name:    "oversized config",
		timeout: 10 * time.Second, cause: []string{"fetching config sha256:", "larger than 8388608 bytes"}, status: "error",
		fault: blobsOnly(func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Content-Length", strconv.Itoa(9<<20))
			w.WriteHeader(http.StatusOK)
			if r.Method == http.MethodGet {
				w.Write(bytes.Repeat(huge[:1<<20], 9))
			}
			return true
		}),
	}, {
		name:    "429 on blobs",
		fault:   blobsOnly(registryError(http.StatusTooManyRequests, "TOOMANYREQUESTS", "slow down", map[string]string{"Retry-After": "30"})),
		timeout: 10 * time.Second, cause: []string{"registry error", "TOOMANYREQUESTS: slow down"}, status: "rate_limited",
	}}
	for _, tc := range cases {
		for _, onError := range []OnError{Deny, Allow} {
			t.Run(tc.name+" "+string(onError), func(t *testing.T) {
				proxy := newFaultProxy(t)
				idx := imagetest.Index(t, imagetest.Spec{}.Images(t)...)
				good := proxy.push(t, "good:1", idx)
				if tc.pinned {
					d, err := idx.Digest()
					if err != nil {
						t.Fatal(err)
					}
					good = strings.TrimSuffix(good, ":1") + "@" + d.String()
				}
				// A minute, and a clock the test moves: a slow machine
				// does not see the entry expire between two reviews.
				rw := newRealWebhook(t, proxy, Options{OnError: onError, NotFoundTTL: time.Minute})
				body := reviewJSON(t, deployment("web", podOpts{image: good}), reviewOpts{})

				proxy.inject(tc.fault)
				r := rw.review(t, body, tc.timeout)
				if n := proxy.manifests.Load(); tc.requests != 0 && n != tc.requests {
					t.Errorf("%d manifest requests, want %d", n, tc.requests)
				}
				checkUnverified(t, rw, r, onError, "could not verify "+good+": ", tc.cause)
				if got := rw.lookups(proxy.host, tc.status); got != 1 {
					t.Errorf("registry lookups with status %s: %v, want 1", tc.status, got)
				}
				if got := testutil.ToFloat64(rw.wh.metrics.budgetExceeded); got != 0 {
					t.Errorf("budget exceeded %v times, want 0", got)
				}

				proxy.inject(nil)
				before := proxy.manifests.Load()
				r = rw.review(t, body, tc.timeout)
				if tc.cached {
					if r.Allowed != (onError == Allow) || proxy.manifests.Load() != before {
						t.Errorf("within NotFoundTTL: allowed %v after %d more manifest requests, want the cached outcome and none", r.Allowed, proxy.manifests.Load()-before)
					}
					rw.now.Add(int64(time.Minute + time.Second))
					r = rw.review(t, body, tc.timeout)
				}
				if !r.Allowed || len(r.Warnings) != 0 {
					t.Errorf("the registry back: allowed %v, warnings %q, %s", r.Allowed, r.Warnings, message(r))
				}
				if got := rw.lookups(proxy.host, "ok"); got == 0 {
					t.Error("no successful lookup counted")
				}
			})
		}
	}
}

// checkUnverified checks the --on-error outcome of a review whose image
// could not be verified.
func checkUnverified(t *testing.T, rw *realWebhook, r *admissionv1.AdmissionResponse, onError OnError, prefix string, cause []string) {
	t.Helper()
	text := message(r)
	if onError == Allow {
		text = strings.Join(r.Warnings, "\n")
	}
	line := ""
	for l := range strings.SplitSeq(text, "\n") {
		if i := strings.Index(l, prefix); i >= 0 {
			line = l[i+len(prefix):]
		}
	}
	if line == "" {
		t.Fatalf("allowed %v; no %q line in %q", r.Allowed, prefix, text)
	}
	t.Logf("allowed %v: ...%s%s", r.Allowed, prefix, line)
	for _, c := range cause {
		if !strings.Contains(line, c) {
			t.Errorf("cause %q lacks %q", line, c)
		}
	}
	decision := "error-deny"
	if onError == Allow {
		decision = "error-allow"
		if !r.Allowed || !strings.Contains(r.AuditAnnotations["unverified-images"], prefix) {
			t.Errorf("fail-open: allowed %v, audit annotations %v", r.Allowed, r.AuditAnnotations)
		}
		if got := testutil.ToFloat64(rw.wh.metrics.failOpen); got != 1 {
			t.Errorf("fail-open count %v, want 1", got)
		}
	} else {
		if r.Allowed || r.Result.Code != http.StatusForbidden {
			t.Errorf("fail-closed: allowed %v, result %+v", r.Allowed, r.Result)
		}
		if got := testutil.ToFloat64(rw.wh.metrics.failOpen); got != 0 {
			t.Errorf("fail-open count %v with --on-error deny", got)
		}
	}
	if got := testutil.ToFloat64(rw.wh.metrics.reviews.WithLabelValues(decision, "CREATE", "Deployment", "false")); got != 1 {
		t.Errorf("reviews with decision %s: %v, want 1", decision, got)
	}
}

// trickle sends a manifest's headers, then a byte every 100ms until the
// client or the test gives up.
func (p *faultProxy) trickle(w http.ResponseWriter, r *http.Request) bool {
	w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
	w.Header().Set("Content-Length", "4096")
	for range 4096 {
		if _, err := w.Write([]byte(" ")); err != nil {
			return true
		}
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			return true
		case <-p.stop:
			return true
		case <-time.After(100 * time.Millisecond):
		}
	}
	return true
}

// TestIntegrationTricklingRegistry: a registry that sends a manifest a
// byte at a time does not hold the review past its deadline: the
// --on-error outcome comes back within the apiserver's ?timeout=, the
// budget metric counts it, the lookup ends in the background (counted as a
// timeout, bounded by LookupTimeout) and is not cached.
func TestIntegrationTricklingRegistry(t *testing.T) {
	imagetest.RealRegistry(t, "./webhook/admission") // skipped here without it, failed in CI
	for _, onError := range []OnError{Deny, Allow} {
		t.Run(string(onError), func(t *testing.T) {
			proxy := newFaultProxy(t)
			good := proxy.push(t, "good:1", imagetest.Index(t, imagetest.Spec{}.Images(t)...))
			rw := newRealWebhook(t, proxy, Options{OnError: onError, LookupTimeout: 6 * time.Second})
			body := reviewJSON(t, deployment("web", podOpts{image: good}), reviewOpts{})
			proxy.inject(manifestsOnly(proxy.trickle))
			// The budget is 4s of the 5s: the lookup (6s) outlives it.
			r := rw.review(t, body, 5*time.Second)
			checkUnverified(t, rw, r, onError, "could not verify "+good+": ", []string{"did not answer within the review's deadline"})
			if got := testutil.ToFloat64(rw.wh.metrics.budgetExceeded); got != 1 {
				t.Errorf("budget exceeded %v times, want 1", got)
			}
			eventually(t, "counted as a timeout", func() bool { return rw.lookups(proxy.host, "timeout") == 1 })

			proxy.inject(nil)
			if r := rw.review(t, body, 5*time.Second); !r.Allowed || len(r.Warnings) != 0 {
				t.Errorf("the registry back: allowed %v, warnings %q, %s", r.Allowed, r.Warnings, message(r))
			}
		})
	}
}

// TestIntegrationPlatformsDisagree: an index from the real registry whose
// linux/amd64 image runs as root and whose linux/arm64 image is compliant
// is denied, naming the platform, whatever --on-error says (the image was
// verified; it is not compliant).
func TestIntegrationPlatformsDisagree(t *testing.T) {
	imagetest.RealRegistry(t, "./webhook/admission") // skipped here without it, failed in CI
	root := "0"
	for _, onError := range []OnError{Deny, Allow} {
		t.Run(string(onError), func(t *testing.T) {
			proxy := newFaultProxy(t)
			mixed := proxy.push(t, "mixed:1", imagetest.Index(t, imagetest.Spec{PerPlatform: map[string]imagetest.PlatformSpec{
				"linux/amd64": {User: &root},
			}}.Images(t)...))
			rw := newRealWebhook(t, proxy, Options{OnError: onError})
			r := rw.review(t, reviewJSON(t, deployment("web", podOpts{image: mixed}), reviewOpts{}), 10*time.Second)
			msg := message(r)
			if r.Allowed {
				t.Fatalf("admitted an index with a root linux/amd64 image: warnings %q", r.Warnings)
			}
			var dwf301 []string
			for l := range strings.SplitSeq(msg, "\n") {
				if strings.Contains(l, "DWF301") {
					dwf301 = append(dwf301, l)
				}
			}
			if len(dwf301) != 1 || !strings.Contains(dwf301[0], "linux/amd64") || strings.Contains(dwf301[0], "linux/arm64") {
				t.Errorf("want one DWF301 line naming linux/amd64 only:\n%s", msg)
			}
			if strings.Contains(msg, "could not verify") {
				t.Errorf("a verified image reported as unverified:\n%s", msg)
			}
			if got := testutil.ToFloat64(rw.wh.metrics.failOpen); got != 0 {
				t.Errorf("fail-open count %v", got)
			}
		})
	}
}

// TestIntegrationTricklingThroughDispatcher: the same trickling registry
// behind k8s.io/apiserver's webhook dispatcher with timeoutSeconds 5: what
// the user sees is the webhook's answer (denied with the cause, or
// admitted with a warning), not the apiserver's "failed calling webhook".
func TestIntegrationTricklingThroughDispatcher(t *testing.T) {
	imagetest.RealRegistry(t, "./webhook/admission")
	for _, onError := range []OnError{Deny, Allow} {
		t.Run(string(onError), func(t *testing.T) {
			proxy := newFaultProxy(t)
			good := proxy.push(t, "good:1", imagetest.Index(t, imagetest.Spec{}.Images(t)...))
			rw := newRealWebhook(t, proxy, Options{OnError: onError, LookupTimeout: 6 * time.Second})
			d := newDispatcher(t, &fixture{wh: rw.wh}, 5)
			proxy.inject(manifestsOnly(proxy.trickle))
			warns, err := d.validate(typedDeployment("slow", good, nil), nil, admission.Create, false)
			want := "could not verify " + good + ": the registry did not answer within the review's deadline"
			if onError == Deny {
				if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "failed calling webhook") {
					t.Errorf("fail-closed: %v", err)
				}
				return
			}
			if err != nil || !strings.Contains(strings.Join(warns, "\n"), want) {
				t.Errorf("fail-open: err %v, warnings %q", err, warns)
			}
		})
	}
}

// TestIntegrationPlainHTTPRegistry: a pod's image on the real
// docker-registry, which speaks plain HTTP, is refused unless the registry
// is listed as insecure (--insecure-registry), even when it is allowed by
// name; listed, it is judged.
func TestIntegrationPlainHTTPRegistry(t *testing.T) {
	imagetest.RealRegistry(t, "./webhook/admission")
	proxy := newFaultProxy(t)
	good := proxy.push(t, "good:1", imagetest.Index(t, imagetest.Spec{}.Images(t)...))
	direct := proxy.real + strings.TrimPrefix(good, proxy.host) // the same image, without the HTTPS proxy
	for _, insecure := range []bool{false, true} {
		t.Run("insecure "+strconv.FormatBool(insecure), func(t *testing.T) {
			set, err := policyset.Open(context.Background(), policyset.Options{WorkDir: t.TempDir(), NoConfigSearch: true})
			if err != nil {
				t.Fatal(err)
			}
			img := image.Options{Keychain: authn.NewMultiKeychain(), UntrustedReferences: true, TrustedRegistries: []string{proxy.real}}
			if insecure {
				img.InsecureRegistries = []string{proxy.real}
			}
			f := &fixture{metrics: prometheus.NewRegistry()}
			if f.wh, err = New(Options{Checker: check.New(set, check.Options{Image: img}), Registerer: f.metrics}); err != nil {
				t.Fatal(err)
			}
			f.srv = httptest.NewServer(f.wh)
			t.Cleanup(f.srv.Close)
			r := f.post(t, reviewJSON(t, deployment("web", podOpts{image: direct}), reviewOpts{}), "?timeout=10s")
			if insecure {
				if !r.Allowed {
					t.Errorf("an insecure registry's compliant image was denied: %s", message(r))
				}
				return
			}
			if got := testutil.ToFloat64(f.wh.metrics.registry.WithLabelValues(proxy.real, "refused")); got != 1 {
				t.Errorf("plain HTTP lookups counted as refused: %v, want 1", got)
			}
			if r.Allowed || !strings.Contains(message(r), "could not verify "+direct+": ") || !strings.Contains(message(r), "plain HTTP to "+proxy.real+" refused: pass `--insecure-registry "+proxy.real+"`") {
				t.Errorf("allowed %v: %s", r.Allowed, message(r))
			}
		})
	}
}
