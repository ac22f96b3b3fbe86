package registrygate

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/engine/policyset"
	"github.com/devflow/dwf-policy/internal/imagetest"
	"github.com/devflow/dwf-policy/internal/policytest"
)

// TestReconcileRun runs reconciliation by hand against go-containerregistry's
// registry: tags of the named and listed repositories without a verdict
// are judged once, a repository outside Only is not, a repository named
// but never pushed is no failure, and a second run judges nothing.
func TestReconcileRun(t *testing.T) {
	up := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(up.Close)
	u, _ := url.Parse(up.URL)
	g, err := New(withBuiltins(t, Options{
		Upstream:  u,
		Only:      []string{"team/*"},
		Reconcile: Reconcile{Interval: time.Hour, Repositories: []string{"team/never-pushed"}, Catalog: true, Rate: 1000},
	}))
	if err != nil {
		t.Fatal(err)
	}
	root, good := "0", "1001"
	bad := imagetest.Spec{Platforms: []string{"linux/amd64"}, PlatformSpec: imagetest.PlatformSpec{User: &root}}.Images(t)[0]
	fine := imagetest.Spec{Platforms: []string{"linux/amd64"}, PlatformSpec: imagetest.PlatformSpec{User: &good}}.Images(t)[0]
	for _, p := range []struct {
		ref string
		img v1.Image
	}{{"team/bad:1", bad}, {"team/fine:1", fine}, {"team/fine:2", fine}, {"other/bad:1", bad}} {
		r, err := name.ParseReference(u.Host+"/"+p.ref, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(r, p.img); err != nil {
			t.Fatal(err)
		}
	}
	count := func(outcome string) float64 {
		return testutil.ToFloat64(g.metrics.reconcileImages.WithLabelValues(outcome))
	}

	g.reconcile(context.Background())
	if got := testutil.ToFloat64(g.metrics.reconcileRuns.WithLabelValues("ok")); got != 1 {
		t.Fatalf("ok runs = %v, want 1", got)
	}
	if j, k, f := count("judged"), count("known"), count("failed"); j != 2 || k != 1 || f != 0 {
		t.Errorf("judged %v, known %v, failed %v; want 2, 1 (the second tag of one digest), 0", j, k, f)
	}
	for img, compliant := range map[v1.Image]bool{bad: false, fine: true} {
		d, _ := img.Digest()
		v, ok := g.cache.get(d.String(), g.policyHash())
		if !ok || v.Compliant != compliant || v.By != "reconcile" {
			t.Errorf("verdict of %s = %+v, want compliant %v by reconcile", d, v, compliant)
		}
	}
	if n := testutil.ToFloat64(g.metrics.judgements); n != 2 {
		t.Errorf("judgements = %v, want 2 (other/bad is outside Only)", n)
	}

	g.reconcile(context.Background())
	if j, k := count("judged"), count("known"); j != 2 || k != 4 {
		t.Errorf("after a second run: judged %v, known %v; want 2 and 4", j, k)
	}
}

// TestReconcileOversizedManifest: a manifest larger than MaxManifestBytes
// is refused on the size its HEAD gives, without fetching it.
func TestReconcileOversizedManifest(t *testing.T) {
	var gets atomic.Int32
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/") {
			gets.Add(1)
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(up.Close)
	u, _ := url.Parse(up.URL)
	g, err := New(withBuiltins(t, Options{
		Upstream:         u,
		MaxManifestBytes: 64,
		Reconcile:        Reconcile{Interval: time.Hour, Repositories: []string{"team/big"}, Rate: 1000},
	}))
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(u.Host+"/team/big:1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, imagetest.Spec{Platforms: []string{"linux/amd64"}}.Images(t)[0]); err != nil {
		t.Fatal(err)
	}
	gets.Store(0)
	g.reconcile(context.Background())
	if f := testutil.ToFloat64(g.metrics.reconcileImages.WithLabelValues("failed")); f != 1 {
		t.Errorf("failed = %v, want 1", f)
	}
	if n := gets.Load(); n != 0 {
		t.Errorf("%d manifest GETs, want 0: the size is known from the HEAD", n)
	}
}

// TestReconcileStalledRegistry: a registry that stops sending a manifest
// body halfway costs the run that tag (failed, after JudgeTimeout), not
// the run: the next tag is still judged and the run ends.
func TestReconcileStalledRegistry(t *testing.T) {
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/team/app/manifests/sha256:") {
			rec := httptest.NewRecorder()
			reg.ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			body := rec.Body.Bytes()
			w.Write(body[:len(body)/2])
			w.(http.Flusher).Flush()
			select { // the rest never comes while the test runs
			case <-release:
			case <-r.Context().Done():
			}
			panic(http.ErrAbortHandler)
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { close(release); up.Close() })
	u, _ := url.Parse(up.URL)
	g, err := New(withBuiltins(t, Options{
		Upstream:     u,
		JudgeTimeout: 500 * time.Millisecond,
		Reconcile:    Reconcile{Interval: time.Hour, Repositories: []string{"team/app", "team/other"}, Rate: 1000},
	}))
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"team/app:1", "team/other:1"} {
		r, err := name.ParseReference(u.Host+"/"+ref, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(r, imagetest.Spec{Platforms: []string{"linux/amd64"}}.Images(t)[0]); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() { g.reconcile(context.Background()); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the reconciliation run did not end while the registry stalled on one manifest")
	}
	if f := testutil.ToFloat64(g.metrics.reconcileImages.WithLabelValues("failed")); f != 1 {
		t.Errorf("failed = %v, want 1 (the stalled tag)", f)
	}
	if f := testutil.ToFloat64(g.metrics.reconcileImages.WithLabelValues("judged")); f != 1 {
		t.Errorf("judged = %v, want 1 (the tag after it)", f)
	}
}

// withBuiltins is o judging with the built-in policies, pulling from its
// upstream over plain HTTP without credentials.
func withBuiltins(t *testing.T, o Options) Options {
	t.Helper()
	var set *policyset.Set
	set, o.PolicyHash = policytest.Open(t, "", nil)
	o.Checker = check.New(set, check.Options{Image: image.Options{InsecureRegistries: []string{o.Upstream.Host}, Keychain: authn.NewMultiKeychain()}})
	return o
}
