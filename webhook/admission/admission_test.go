package admission

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/engine/policyset"
	"github.com/devflow/dwf-policy/internal/imagetest"
	"github.com/devflow/dwf-policy/internal/policytest"
)

// fixture is a registry with a compliant and a root image, and a webhook.
type fixture struct {
	reg          *imagetest.Registry
	good, root   string // references by tag
	goodDigest   v1.Hash
	stall        atomic.Bool  // the registry stops answering manifests
	fault        atomic.Int32 // the status every manifest request gets, 0 for none
	reportFault  atomic.Int32 // the status every referrers or .att tag request gets, 0 for none
	basicAuth    atomic.Value // string: the Authorization header every request needs, "" for none
	hidePrivate  atomic.Bool  // with basicAuth: a manifest asked for without it is 404, not 401
	stalled      atomic.Int64 // requests stalled now
	maxStalled   atomic.Int64 // the most stalled at once
	manifestGets atomic.Int64
	reportGets   atomic.Int64 // GETs of referrers fallback and .att tags (sha256-<hex>...)
	wh           *Webhook
	metrics      *prometheus.Registry
	srv          *httptest.Server
}

func newFixture(t testing.TB, o Options) *fixture {
	t.Helper()
	return newFixtureConfig(t, o, "")
}

// newFixtureConfig is newFixture with cfg as the policy set's
// .dwf-policy.yaml.
func newFixtureConfig(t testing.TB, o Options, cfg string) *fixture {
	t.Helper()
	return newFixtureWith(t, o, cfg, nil)
}

// newFixtureWith is newFixtureConfig with the policy set's options changed
// by tune (custom policies, limits) when it is not nil.
func newFixtureWith(t testing.TB, o Options, cfg string, tune func(*policyset.Options)) *fixture {
	t.Helper()
	f := &fixture{}
	f.reg = imagetest.NewRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/sha256-") && r.Method == http.MethodGet {
				f.reportGets.Add(1)
			} else if strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodGet {
				f.manifestGets.Add(1)
			}
			if want, _ := f.basicAuth.Load().(string); want != "" && r.Header.Get("Authorization") != want && f.hidePrivate.Load() && strings.Contains(r.URL.Path, "/manifests/") {
				// As many registries do: a private repository does not
				// exist for whoever may not see it.
				http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`, http.StatusNotFound)
				return
			}
			if want, _ := f.basicAuth.Load().(string); want != "" && r.Header.Get("Authorization") != want {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"credentials required"}]}`, http.StatusUnauthorized)
				return
			}
			if code := f.reportFault.Load(); code != 0 && strings.Contains(r.URL.Path, "/manifests/sha256-") {
				http.Error(w, `{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}`, int(code))
				return
			}
			if code := f.fault.Load(); code != 0 && strings.Contains(r.URL.Path, "/manifests/") {
				if code == http.StatusTooManyRequests {
					w.Header().Set("Retry-After", "1")
				}
				http.Error(w, `{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}`, int(code))
				return
			}
			if f.stall.Load() && strings.Contains(r.URL.Path, "/manifests/") {
				n := f.stalled.Add(1)
				defer f.stalled.Add(-1)
				for m := f.maxStalled.Load(); n > m && !f.maxStalled.CompareAndSwap(m, n); m = f.maxStalled.Load() {
				}
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
				// Drop the connection, as a stalled registry would: returning
				// would answer an empty 200 that a late retry takes for a manifest.
				panic(http.ErrAbortHandler)
			}
			h.ServeHTTP(w, r)
		})
	})
	f.good = f.reg.Ref("team/good:1")
	f.goodDigest = f.reg.PushIndex(t, f.good, imagetest.Index(t, imagetest.Spec{}.Images(t)...))
	root := "0"
	f.root = f.reg.Ref("team/root:1")
	f.reg.PushIndex(t, f.root, imagetest.Index(t, imagetest.Spec{PlatformSpec: imagetest.PlatformSpec{User: &root}}.Images(t)...))

	set, hash := policytest.Open(t, cfg, tune)
	// As Serve configures it: the pod author picks the registry, so only
	// the test registry may be on loopback.
	o.Checker = check.New(set, check.Options{Image: image.Options{Transport: imagetest.Transport(), Retries: -1, Timeout: 10 * time.Second,
		UntrustedReferences: true, TrustedRegistries: []string{f.reg.Host}}})
	o.PolicyHash = hash
	if o.LookupTimeout == 0 {
		o.LookupTimeout = 2 * time.Second // a stalled registry is given up on soon
	}
	f.metrics = prometheus.NewRegistry()
	o.Registerer = f.metrics
	var err error
	if f.wh, err = New(o); err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(f.wh)
	t.Cleanup(f.srv.Close)
	return f
}

type podOpts struct {
	image     string
	runAsUser *int
	nonRoot   bool
}

// deployment is a Deployment as the apiserver sends it.
func deployment(name string, containers ...podOpts) map[string]any {
	var cs []any
	for i, c := range containers {
		m := map[string]any{"name": fmt.Sprintf("c%d", i), "image": c.image}
		sc := map[string]any{}
		if c.runAsUser != nil {
			sc["runAsUser"] = *c.runAsUser
		}
		if c.nonRoot {
			sc["runAsNonRoot"] = true
		}
		if len(sc) > 0 {
			m["securityContext"] = sc
		}
		cs = append(cs, m)
	}
	return map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name, "namespace": "apps"},
		"spec": map[string]any{
			"replicas": 1,
			"selector": map[string]any{"matchLabels": map[string]any{"app": name}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": name}},
				"spec":     map[string]any{"containers": cs},
			},
		},
	}
}

type reviewOpts struct {
	op        string
	kind      string
	group     string
	sub       string
	namespace string
	old       any
	dryRun    bool
}

func reviewJSON(t testing.TB, obj any, o reviewOpts) []byte {
	t.Helper()
	if o.op == "" {
		o.op = "CREATE"
	}
	if o.kind == "" {
		o.kind, o.group = "Deployment", "apps"
	}
	if o.namespace == "" {
		o.namespace = "apps"
	}
	req := map[string]any{
		"uid":       "8d9b2c47-2a1f-4c53-9a1e-1b4f0c1e2a3b",
		"kind":      map[string]any{"group": o.group, "version": "v1", "kind": o.kind},
		"resource":  map[string]any{"group": o.group, "version": "v1", "resource": strings.ToLower(o.kind) + "s"},
		"namespace": o.namespace,
		"operation": o.op,
		"userInfo":  map[string]any{"username": "alice"},
		"object":    obj,
		"oldObject": o.old,
		"dryRun":    o.dryRun,
	}
	if o.sub != "" {
		req["subResource"] = o.sub
	}
	b, err := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// post sends body to /validate and decodes the response review.
func (f *fixture) post(t *testing.T, body []byte, query string) *admissionv1.AdmissionResponse {
	t.Helper()
	resp, err := http.Post(f.srv.URL+"/validate"+query, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	if out.APIVersion != "admission.k8s.io/v1" || out.Kind != "AdmissionReview" || out.Response == nil {
		t.Fatalf("not a review response: %s", b)
	}
	if out.Response.UID != "8d9b2c47-2a1f-4c53-9a1e-1b4f0c1e2a3b" {
		t.Errorf("uid %q not echoed", out.Response.UID)
	}
	if out.Response.Patch != nil || out.Response.PatchType != nil {
		t.Errorf("a validating webhook sent a patch")
	}
	return out.Response
}

func message(r *admissionv1.AdmissionResponse) string {
	if r.Result == nil {
		return ""
	}
	return r.Result.Message
}

func ptr[T any](v T) *T { return &v }

func TestRootImageDeniedWithRuleAndFix(t *testing.T) {
	f := newFixture(t, Options{})
	r := f.post(t, reviewJSON(t, deployment("web", podOpts{image: f.root}), reviewOpts{}), "?timeout=10s")
	if r.Allowed {
		t.Fatal("a Deployment of a root image was admitted")
	}
	msg := message(r)
	for _, want := range []string{"dwf-policy denied Deployment apps/web", `container "c0"`, "DWF301", "DWF601", "@sha256:", "runAsNonRoot: true", "linux/amd64", "linux/arm64"} {
		if !strings.Contains(msg, want) {
			t.Errorf("deny message lacks %q:\n%s", want, msg)
		}
	}
	if r.Result.Code != http.StatusForbidden {
		t.Errorf("code %d, want 403", r.Result.Code)
	}
	if got := testutil.ToFloat64(f.wh.metrics.reviews.WithLabelValues("deny", "CREATE", "Deployment", "false")); got != 1 {
		t.Errorf("deny metric %v, want 1", got)
	}
	// From the decision cache (the image config as kept there), the pod
	// spec rules judge alike.
	again := f.post(t, reviewJSON(t, deployment("web", podOpts{image: f.root}), reviewOpts{}), "?timeout=10s")
	if d := cmp.Diff(msg, message(again)); again.Allowed || d != "" {
		t.Errorf("the cached verdict judges differently (allowed %v; -first +again):\n%s", again.Allowed, d)
	}
	if hits := testutil.ToFloat64(f.wh.metrics.cache.WithLabelValues("decision", "hit")); hits != 1 {
		t.Errorf("decision cache hits %v, want 1", hits)
	}
}

func TestCompliantAdmittedAndCached(t *testing.T) {
	f := newFixture(t, Options{})
	body := reviewJSON(t, deployment("web", podOpts{image: f.good}), reviewOpts{})
	r := f.post(t, body, "")
	if !r.Allowed {
		t.Fatalf("a compliant Deployment was denied: %s", message(r))
	}
	if len(r.Warnings) != 0 {
		t.Errorf("warnings for a compliant Deployment: %q", r.Warnings)
	}
	gets := f.manifestGets.Load()
	for range 3 {
		if r := f.post(t, body, ""); !r.Allowed {
			t.Fatalf("denied on repeat: %s", message(r))
		}
	}
	if f.manifestGets.Load() != gets {
		t.Errorf("repeated reviews fetched manifests again: %d then %d", gets, f.manifestGets.Load())
	}
	if hits := testutil.ToFloat64(f.wh.metrics.cache.WithLabelValues("tag", "hit")); hits != 3 {
		t.Errorf("tag cache hits %v, want 3", hits)
	}
	// The same image by digest is the cached decision.
	pinned := strings.TrimSuffix(f.good, ":1") + "@" + f.goodDigest.String()
	if r := f.post(t, reviewJSON(t, deployment("web2", podOpts{image: pinned}), reviewOpts{}), ""); !r.Allowed {
		t.Fatalf("by digest: %s", message(r))
	}
	if hits := testutil.ToFloat64(f.wh.metrics.cache.WithLabelValues("decision", "hit")); hits != 4 {
		t.Errorf("decision cache hits %v, want 4", hits)
	}
}

func TestRunAsUserZeroOverridesCompliantImage(t *testing.T) {
	f := newFixture(t, Options{})
	pod := map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "p", "namespace": "apps"},
		"spec": map[string]any{
			"securityContext": map[string]any{"runAsUser": 0},
			"containers":      []any{map[string]any{"name": "app", "image": f.good}},
		},
	}
	r := f.post(t, reviewJSON(t, pod, reviewOpts{kind: "Pod"}), "")
	if r.Allowed {
		t.Fatal("runAsUser: 0 over a compliant image was admitted")
	}
	if msg := message(r); !strings.Contains(msg, "DWF601") || !strings.Contains(msg, "runAsUser is 0") || strings.Contains(msg, "DWF301") {
		t.Errorf("message:\n%s", msg)
	}
}

func TestEphemeralContainersAndSkippedKinds(t *testing.T) {
	f := newFixture(t, Options{})
	pod := map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "p", "namespace": "apps"},
		"spec": map[string]any{
			"containers":          []any{map[string]any{"name": "app", "image": f.good}},
			"ephemeralContainers": []any{map[string]any{"name": "debug", "image": f.root}},
		},
	}
	r := f.post(t, reviewJSON(t, pod, reviewOpts{kind: "Pod", op: "UPDATE", sub: "ephemeralcontainers", old: pod}), "")
	// The old object had the same container: nothing changed, so not
	// judged. A new debug container is.
	if !r.Allowed {
		t.Fatalf("unchanged pod denied: %s", message(r))
	}
	old := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": pod["metadata"],
		"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": f.good}}}}
	r = f.post(t, reviewJSON(t, pod, reviewOpts{kind: "Pod", op: "UPDATE", sub: "ephemeralcontainers", old: old}), "")
	if r.Allowed || !strings.Contains(message(r), `"debug"`) {
		t.Fatalf("a root ephemeral container was admitted or not named: %s", message(r))
	}
	// Status updates and other kinds are not judged.
	r = f.post(t, reviewJSON(t, pod, reviewOpts{kind: "Pod", op: "UPDATE", sub: "status", old: old}), "")
	if !r.Allowed {
		t.Error("a status update was judged")
	}
	cm := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c"}}
	if r := f.post(t, reviewJSON(t, cm, reviewOpts{kind: "ConfigMap"}), ""); !r.Allowed {
		t.Error("a ConfigMap was judged")
	}
}

func TestUpdateWithoutImageChangeIsNotRejudged(t *testing.T) {
	f := newFixture(t, Options{})
	old := deployment("web", podOpts{image: f.root})
	scaled := deployment("web", podOpts{image: f.root})
	scaled["spec"].(map[string]any)["replicas"] = 5
	r := f.post(t, reviewJSON(t, scaled, reviewOpts{op: "UPDATE", old: old}), "")
	if !r.Allowed {
		t.Fatalf("scaling an existing Deployment was denied: %s", message(r))
	}
	if n := f.manifestGets.Load(); n != 0 {
		t.Errorf("an unchanged UPDATE asked the registry %d times", n)
	}
	changed := deployment("web", podOpts{image: f.root, runAsUser: ptr(0)})
	if r := f.post(t, reviewJSON(t, changed, reviewOpts{op: "UPDATE", old: old}), ""); r.Allowed {
		t.Error("an UPDATE changing the securityContext was not judged")
	}
}

func TestDryRunIsJudgedAndLabelled(t *testing.T) {
	f := newFixture(t, Options{})
	r := f.post(t, reviewJSON(t, deployment("web", podOpts{image: f.root}), reviewOpts{dryRun: true}), "")
	if r.Allowed {
		t.Fatal("a dry-run of a root image was admitted")
	}
	if got := testutil.ToFloat64(f.wh.metrics.reviews.WithLabelValues("deny", "CREATE", "Deployment", "true")); got != 1 {
		t.Errorf("dry-run deny metric %v, want 1", got)
	}
}

func TestExemptNamespace(t *testing.T) {
	f := newFixture(t, Options{ExemptNamespaces: append(DefaultExemptNamespaces(), "dwf-policy")})
	for _, ns := range []string{"kube-system", "kube-node-lease", "dwf-policy"} {
		r := f.post(t, reviewJSON(t, deployment("web", podOpts{image: f.root}), reviewOpts{namespace: ns}), "")
		if !r.Allowed {
			t.Errorf("%s: denied: %s", ns, message(r))
		}
	}
	if n := f.manifestGets.Load(); n != 0 {
		t.Errorf("exempt namespaces asked the registry %d times", n)
	}
}

func TestWarnAndAuditModes(t *testing.T) {
	body := func(f *fixture) []byte {
		return reviewJSON(t, deployment("web", podOpts{image: f.root}), reviewOpts{})
	}
	f := newFixture(t, Options{Mode: Warn})
	r := f.post(t, body(f), "")
	if !r.Allowed || len(r.Warnings) == 0 || !strings.Contains(strings.Join(r.Warnings, "\n"), "would deny") {
		t.Errorf("warn: allowed %v, warnings %q", r.Allowed, r.Warnings)
	}
	total := 0
	for _, w := range r.Warnings {
		if n := len([]rune(w)); n > maxWarningChars || strings.ContainsAny(w, "\n\r") {
			t.Errorf("warning of %d characters or with a newline: %q", n, w)
		}
		total += len(w)
	}
	if total > maxWarningTotalChars {
		t.Errorf("warnings total %d bytes", total)
	}

	f = newFixture(t, Options{Mode: Audit})
	r = f.post(t, body(f), "")
	if !r.Allowed || !strings.Contains(r.AuditAnnotations["findings"], "DWF301") {
		t.Errorf("audit: allowed %v, annotations %v", r.Allowed, r.AuditAnnotations)
	}
	if got := testutil.ToFloat64(f.wh.metrics.reviews.WithLabelValues("audit", "CREATE", "Deployment", "false")); got != 1 {
		t.Errorf("audit metric %v", got)
	}
}

func TestFailOnWarningDeniesWarnings(t *testing.T) {
	// With DWF304 (a warning) judged too, an image for linux/amd64 only is
	// admitted with a warning by default and denied with --fail-on warning.
	rules := append(DefaultImageRules(), "DWF304")
	spec := imagetest.Spec{Platforms: []string{"linux/amd64"}}
	f := newFixture(t, Options{ImageRules: rules})
	ref := f.reg.Ref("team/amd64:1")
	f.reg.PushIndex(t, ref, imagetest.Index(t, spec.Images(t)...))
	body := reviewJSON(t, deployment("web", podOpts{image: ref}), reviewOpts{})
	r := f.post(t, body, "")
	if !r.Allowed || !strings.Contains(strings.Join(r.Warnings, "\n"), "DWF304") {
		t.Fatalf("fail-on error: allowed %v, warnings %q, message %s", r.Allowed, r.Warnings, message(r))
	}
	f2 := newFixture(t, Options{ImageRules: rules, FailOn: finding.SeverityWarning})
	ref2 := f2.reg.Ref("team/amd64:1")
	f2.reg.PushIndex(t, ref2, imagetest.Index(t, spec.Images(t)...))
	r = f2.post(t, reviewJSON(t, deployment("web", podOpts{image: ref2}), reviewOpts{}), "")
	if r.Allowed || !strings.Contains(message(r), "DWF304") {
		t.Errorf("fail-on warning: allowed %v, %s", r.Allowed, message(r))
	}
}

func TestStallingRegistry(t *testing.T) {
	for _, tc := range []struct {
		onError OnError
		allowed bool
	}{{Deny, false}, {Allow, true}} {
		t.Run(string(tc.onError), func(t *testing.T) {
			f := newFixture(t, Options{OnError: tc.onError})
			f.stall.Store(true)
			start := time.Now()
			r := f.post(t, reviewJSON(t, deployment("web", podOpts{image: f.good}), reviewOpts{}), "?timeout=1s")
			took := time.Since(start)
			if took > time.Second {
				t.Errorf("answered after %s, past the apiserver's 1s timeout", took)
			}
			if r.Allowed != tc.allowed {
				t.Fatalf("allowed %v, want %v: %s", r.Allowed, tc.allowed, message(r))
			}
			want := "could not verify " + f.good
			if tc.allowed {
				if !strings.Contains(strings.Join(r.Warnings, "\n"), want) || r.AuditAnnotations["unverified-images"] == "" {
					t.Errorf("fail-open: warnings %q, annotations %v", r.Warnings, r.AuditAnnotations)
				}
				if got := testutil.ToFloat64(f.wh.metrics.failOpen); got != 1 {
					t.Errorf("fail-open metric %v", got)
				}
			} else if !strings.Contains(message(r), want) || !strings.Contains(message(r), "deadline") {
				t.Errorf("fail-closed message: %s", message(r))
			}
			if got := testutil.ToFloat64(f.wh.metrics.budgetExceeded); got != 1 {
				t.Errorf("budget metric %v", got)
			}
		})
	}
}

func TestFailOpenStillDeniesExplicitRoot(t *testing.T) {
	f := newFixture(t, Options{OnError: Allow})
	f.stall.Store(true)
	// The image cannot be verified, but runAsUser: 0 needs no registry.
	r := f.post(t, reviewJSON(t, deployment("web", podOpts{image: f.good, runAsUser: ptr(0)}), reviewOpts{}), "?timeout=1s")
	if r.Allowed {
		t.Errorf("fail-open admitted runAsUser: 0 on an unverified image")
	}
}

func TestMissingImage(t *testing.T) {
	f := newFixture(t, Options{})
	r := f.post(t, reviewJSON(t, deployment("web", podOpts{image: f.reg.Ref("team/missing:1")}), reviewOpts{}), "")
	if r.Allowed || !strings.Contains(message(r), "could not verify") || !strings.Contains(message(r), "not found") {
		t.Errorf("missing image: allowed %v, %s", r.Allowed, message(r))
	}
}

func TestBadReviews(t *testing.T) {
	f := newFixture(t, Options{})
	send := func(ct string, body []byte) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/validate", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	bad := deployment("web", podOpts{image: "UPPER/Case::bad"})
	for _, tc := range []struct {
		name, ct string
		body     []byte
		code     int
		want     string
	}{
		{"empty", "application/json", nil, 400, "empty body"},
		{"invalid JSON", "application/json", []byte(`{"apiVersion":`), 400, "decoding"},
		{"request null", "application/json", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":null}`), 400, "no request"},
		{"wrong version", "application/json", []byte(`{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"x"}}`), 400, "admission.k8s.io/v1"},
		{"wrong content type", "text/plain", []byte(`{}`), 415, "application/json"},
		{"10 MiB", "application/json", bytes.Repeat([]byte(" "), 10<<20), 413, "larger than"},
		{"null object on CREATE", "application/json", reviewJSON(t, nil, reviewOpts{}), 400, "carries no object"},
	} {
		code, body := send(tc.ct, tc.body)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %q, want %d with %q", tc.name, code, body, tc.code, tc.want)
		}
	}
	// DELETE carries a null object: allowed unjudged.
	if r := f.post(t, reviewJSON(t, nil, reviewOpts{op: "DELETE"}), ""); !r.Allowed {
		t.Error("DELETE denied")
	}
	// An unparseable image reference is named by its field path.
	r := f.post(t, reviewJSON(t, bad, reviewOpts{}), "")
	if r.Allowed || !strings.Contains(message(r), "spec.template.spec.containers[0].image") {
		t.Errorf("bad reference: allowed %v, %s", r.Allowed, message(r))
	}
}

func TestBudget(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"":    9 * time.Second,
		"10s": 9 * time.Second,
		"3s":  2400 * time.Millisecond,
		"30s": 29 * time.Second,
		"1s":  800 * time.Millisecond,
		"x":   9 * time.Second,
	} {
		if got := budget(in, DefaultTimeout); got != want {
			t.Errorf("budget(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestRegistryFaults(t *testing.T) {
	for _, tc := range []struct {
		code   int32
		want   string
		status string
	}{
		{http.StatusInternalServerError, "could not verify", "error"},
		{http.StatusTooManyRequests, "could not verify", "rate_limited"},
		{http.StatusUnauthorized, "unauthorized", "unauthorized"},
	} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			f := newFixture(t, Options{})
			f.fault.Store(tc.code)
			body := reviewJSON(t, deployment("web", podOpts{image: f.good}), reviewOpts{})
			r := f.post(t, body, "")
			if r.Allowed || !strings.Contains(message(r), tc.want) || !strings.Contains(message(r), f.good) {
				t.Fatalf("allowed %v: %s", r.Allowed, message(r))
			}
			host := strings.Split(f.good, "/")[0]
			if got := testutil.ToFloat64(f.wh.metrics.registry.WithLabelValues(host, tc.status)); got != 1 {
				t.Errorf("registry lookups %s = %v, want 1", tc.status, got)
			}
			// Failures are not cached: the registry back, the next review
			// is judged.
			f.fault.Store(0)
			if r := f.post(t, body, ""); !r.Allowed {
				t.Errorf("after recovery: %s", message(r))
			}
		})
	}
}

func TestNotFoundCachedForSeconds(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	f := newFixture(t, Options{Now: func() time.Time { return time.Unix(0, now.Load()) }})
	missing := f.reg.Ref("team/late:1")
	body := reviewJSON(t, deployment("web", podOpts{image: missing}), reviewOpts{})
	for range 2 {
		if r := f.post(t, body, ""); r.Allowed || !strings.Contains(message(r), "not found") {
			t.Fatalf("missing image: allowed %v, %s", r.Allowed, message(r))
		}
	}
	if n := f.manifestGets.Load(); n != 1 {
		t.Errorf("a missing tag was asked for %d times within its %s", n, DefaultNotFoundTTL)
	}
	// Pushed meanwhile: seen once the seconds pass.
	f.reg.PushIndex(t, missing, imagetest.Index(t, imagetest.Spec{}.Images(t)...))
	now.Add(int64(DefaultNotFoundTTL + time.Second))
	if r := f.post(t, body, ""); !r.Allowed {
		t.Errorf("after the not-found TTL: %s", message(r))
	}
}

func TestConcurrentReviewsFetchOnce(t *testing.T) {
	f := newFixture(t, Options{})
	body := reviewJSON(t, deployment("web", podOpts{image: f.good}), reviewOpts{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if r := f.post(t, body, ""); !r.Allowed {
				t.Errorf("denied: %s", message(r))
			}
		})
	}
	wg.Wait()
	// One GET of the tag, one of each platform's manifest.
	if n := f.manifestGets.Load(); n > 3 {
		t.Errorf("16 concurrent reviews of one image made %d manifest GETs, want at most 3", n)
	}
	// Its reports: the referrers fallback tag and the .att tag of the
	// index and of each platform manifest.
	if n := f.reportGets.Load(); n > 6 {
		t.Errorf("16 concurrent reviews of one image made %d report lookups, want at most 6", n)
	}
}

// TestSSRFGuard: a pod's image names the host the webhook connects to, so
// internal addresses are refused before any connection (the guard checks
// each address after resolution, in the dialer), and --allowed-registry
// refuses other registries without contacting them.
func TestSSRFGuard(t *testing.T) {
	f := newFixture(t, Options{})
	for _, img := range []string{"169.254.169.254/latest/meta-data:1", "127.0.0.2:5000/team/app:1", "localhost:1/team/app:1", "10.1.2.3:5000/team/app:1"} {
		r := f.post(t, reviewJSON(t, deployment("web", podOpts{image: img}), reviewOpts{}), "")
		if r.Allowed || !strings.Contains(message(r), "could not verify "+img) || !strings.Contains(message(r), "refused to connect to an internal address") {
			t.Errorf("%s: allowed %v, %s", img, r.Allowed, message(r))
		}
	}

	f = newFixture(t, Options{AllowedRegistries: []string{"*.registry.example"}, OnError: Allow})
	gets := f.manifestGets.Load()
	r := f.post(t, reviewJSON(t, deployment("web", podOpts{image: f.good}), reviewOpts{}), "")
	if r.Allowed || !strings.Contains(message(r), "registry not allowed") {
		t.Errorf("a registry not allowed, even with --on-error allow: allowed %v, %s", r.Allowed, message(r))
	}
	if f.manifestGets.Load() != gets {
		t.Error("a registry not allowed was contacted")
	}
	if _, err := New(Options{Checker: f.wh.o.Checker, AllowedRegistries: []string{"[bad"}}); err == nil {
		t.Error("a malformed glob was accepted")
	}
}

func TestLookupsAreBounded(t *testing.T) {
	f := newFixture(t, Options{MaxLookups: 2})
	f.stall.Store(true)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			img := f.reg.Ref(fmt.Sprintf("team/app%d:1", i))
			if r := f.post(t, reviewJSON(t, deployment("web", podOpts{image: img}), reviewOpts{}), "?timeout=1s"); r.Allowed {
				t.Errorf("%s admitted", img)
			}
		})
	}
	wg.Wait()
	if m := f.maxStalled.Load(); m > 2 {
		t.Errorf("%d lookups reached the registry at once, want at most 2", m)
	}
}

func TestRuleModes(t *testing.T) {
	// A root image fires DWF301, DWF302, DWF601 and DWF602: all four are
	// set below enforce.
	f := newFixture(t, Options{RuleModes: map[string]Mode{"DWF301": Warn, "DWF302": Warn, "DWF601": Audit, "DWF602": Audit}})
	r := f.post(t, reviewJSON(t, deployment("web", podOpts{image: f.root}), reviewOpts{}), "")
	if !r.Allowed {
		t.Fatalf("denied although every rule that fires warns or audits: %s", message(r))
	}
	if w := strings.Join(r.Warnings, "\n"); !strings.Contains(w, "DWF301") || strings.Contains(w, "DWF601") {
		t.Errorf("warnings %q: want DWF301, not DWF601", r.Warnings)
	}
	if a := r.AuditAnnotations["audited-findings"]; !strings.Contains(a, "DWF601") {
		t.Errorf("audit annotation %q lacks DWF601", a)
	}
	f = newFixture(t, Options{RuleModes: map[string]Mode{"DWF301": Warn}})
	if r := f.post(t, reviewJSON(t, deployment("web", podOpts{image: f.root}), reviewOpts{}), ""); r.Allowed || strings.Contains(message(r), "DWF301") || !strings.Contains(message(r), "DWF601") {
		t.Errorf("DWF301 warns, DWF601 enforces: allowed %v, %s", r.Allowed, message(r))
	}
	if _, err := New(Options{Checker: f.wh.o.Checker, RuleModes: map[string]Mode{"DWF301": "loud"}}); err == nil {
		t.Error("a bad rule mode was accepted")
	}
}

// TestTagResolvedAgainAheadOfExpiry: a tag in steady use is resolved again
// in the background in the last third of its TTL, so its reviews never
// wait for the registry when the TTL ends, and a moved tag is still seen
// within the TTL.
func TestTagResolvedAgainAheadOfExpiry(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	const ttl = 45 * time.Second
	f := newFixture(t, Options{TagTTL: ttl, Now: func() time.Time { return time.Unix(0, now.Load()) }})
	body := reviewJSON(t, deployment("web", podOpts{image: f.good}), reviewOpts{})
	review := func(when string) {
		t.Helper()
		if r := f.post(t, body, ""); !r.Allowed {
			t.Fatalf("%s: denied: %s", when, message(r))
		}
	}
	digest := func() string {
		te, ok := f.wh.tags.Get(f.good)
		if !ok {
			return "(not cached)"
		}
		return te.digest
	}
	misses := func() float64 { return testutil.ToFloat64(f.wh.metrics.cache.WithLabelValues("tag", "miss")) }
	review("first")
	gets := f.manifestGets.Load()
	now.Add(int64(ttl / 2))
	review("halfway")
	if f.manifestGets.Load() != gets {
		t.Errorf("a tag halfway through its TTL was resolved again")
	}

	// The tag moves; in the last third of the TTL a review still gets the
	// cached digest, and starts resolving the tag again.
	moved := imagetest.Index(t, imagetest.Spec{PlatformSpec: imagetest.PlatformSpec{Cmd: &[]string{"/app/server", "--moved"}}}.Images(t)...)
	newDigest := f.reg.PushIndex(t, f.good, moved)
	now.Add(int64(ttl / 3))
	review("in the last third")
	for deadline := time.Now().Add(20 * time.Second); digest() != newDigest.String(); {
		if time.Now().After(deadline) {
			t.Fatalf("the tag was not resolved again ahead of its expiry: cached %s, pushed %s", digest(), newDigest)
		}
		time.Sleep(10 * time.Millisecond)
	}
	review("once resolved again")
	// Past the first entry's expiry: the refreshed one answers, no review
	// missed the cache.
	now.Add(int64(ttl / 3))
	review("past the first expiry")
	if m := misses(); m != 1 {
		t.Errorf("tag cache misses %v, want only the first review's", m)
	}
	if d := digest(); d != newDigest.String() {
		t.Errorf("cached digest %s, want the moved tag's %s", d, newDigest)
	}
}

// slowKubernetesRule never finishes within a short evaluation deadline.
const slowKubernetesRule = `# METADATA
# title: Slow rule
# custom:
#   id: ACME950
#   severity: error
#   kind: kubernetes
package dwf.kubernetes.slow

deny contains {"msg": "never"} if count({i | some i in numbers.range(1, 20000); some j in numbers.range(1, 20000); i * j == -1}) > 0
`

// TestRulesThatCannotFinishFollowOnError: when the pod spec rules cannot
// be evaluated (a rule past its deadline), the review is answered, not
// refused as a bad request: denied naming the cause with --on-error deny,
// admitted with a warning and counted with allow.
func TestRulesThatCannotFinishFollowOnError(t *testing.T) {
	for _, tc := range []struct {
		onError OnError
		allowed bool
	}{{Deny, false}, {Allow, true}} {
		t.Run(string(tc.onError), func(t *testing.T) {
			policies := t.TempDir()
			if err := os.WriteFile(filepath.Join(policies, "slow.rego"), []byte(slowKubernetesRule), 0o644); err != nil {
				t.Fatal(err)
			}
			f := newFixtureWith(t, Options{OnError: tc.onError}, "", func(o *policyset.Options) {
				o.Policies = []string{policies}
				o.EvalTimeout = 200 * time.Millisecond
			})
			r := f.post(t, reviewJSON(t, deployment("web", podOpts{image: f.good}), reviewOpts{}), "?timeout=10s")
			text := message(r) + strings.Join(r.Warnings, "\n")
			if r.Allowed != tc.allowed || !strings.Contains(text, "could not verify") || !strings.Contains(text, "evaluation deadline") {
				t.Errorf("allowed %v (want %v): %s", r.Allowed, tc.allowed, text)
			}
		})
	}
}
