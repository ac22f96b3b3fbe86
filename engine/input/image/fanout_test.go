package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// putManifest pushes raw bytes as a manifest of media type mt to repo and
// returns their descriptor.
func putManifest(t testing.TB, reg *testRegistry, repo string, raw []byte, mt types.MediaType) v1.Descriptor {
	t.Helper()
	d := v1.Descriptor{MediaType: mt, Size: int64(len(raw)), Digest: sha256Hash(raw)}
	req, err := http.NewRequest(http.MethodPut, "https://"+reg.host+"/v2/"+repo+"/manifests/"+d.Digest.String(), bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", string(mt))
	resp, err := (&http.Client{Transport: reg.transport}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("pushing manifest: %s", resp.Status)
	}
	return d
}

// nestedIndex pushes an index `levels` deep whose every index lists width
// entries (the innermost lists width copies of leaf) and returns its digest.
func nestedIndex(t testing.TB, reg *testRegistry, repo string, leaf v1.Descriptor, levels, width int) v1.Hash {
	t.Helper()
	d := leaf
	for range levels {
		idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
		for i := range width {
			e := d
			if e.MediaType.IsImage() {
				e.Platform = &v1.Platform{OS: "linux", Architecture: fmt.Sprintf("arch%d", i)}
			}
			idx.Manifests = append(idx.Manifests, e)
		}
		d = putManifest(t, reg, repo, mustJSON(t, idx), types.OCIImageIndex)
	}
	return d.Digest
}

func leafImage(t testing.TB, reg *testRegistry, repo string) v1.Descriptor {
	t.Helper()
	img := image(t, "linux/amd64", goodConfig(), baseLayer(t, compression.ZStd, passwdBase))
	digest := reg.push(t, reg.ref(repo+":leaf"), img)
	raw, _ := img.RawManifest()
	return v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: digest, Size: int64(len(raw))}
}

// TestIndexFanOut: three small indexes of 50 entries each name 125,000
// manifests. Load stops at the cap on manifests per image, promptly and
// after few requests.
func TestIndexFanOut(t *testing.T) {
	reg := newRegistry(t, nil)
	root := nestedIndex(t, reg, "team/fan", leafImage(t, reg, "team/fan"), 3, 50)
	o := reg.options()
	o.Timeout = 20 * time.Second
	start := time.Now()
	_, err := Load(context.Background(), reg.ref("team/fan@"+root.String()), o)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("more than %d manifests", maxIndexManifests)) {
		t.Errorf("err = %v, want the cap on manifests", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
	if n := o.Stats.Requests.Load(); n > 50 {
		t.Errorf("%d requests, want a few", n)
	}
}

func TestIndexDepth(t *testing.T) {
	reg := newRegistry(t, nil)
	root := nestedIndex(t, reg, "team/deep", leafImage(t, reg, "team/deep"), maxIndexDepth+1, 1)
	_, err := Load(context.Background(), reg.ref("team/deep@"+root.String()), reg.options())
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("more than %d levels deep", maxIndexDepth)) {
		t.Errorf("err = %v, want the cap on nesting", err)
	}
	// At the limit, it loads.
	ok := nestedIndex(t, reg, "team/deep", leafImage(t, reg, "team/deep"), maxIndexDepth, 1)
	load(t, reg.ref("team/deep@"+ok.String()), reg.options())
}

// TestPlatformMessageCap: an index with many platforms does not make an
// error message that lists them all.
func TestPlatformMessageCap(t *testing.T) {
	reg := newRegistry(t, nil)
	root := nestedIndex(t, reg, "team/many", leafImage(t, reg, "team/many"), 1, 500)
	o := reg.options()
	o.Platforms = []string{"linux/none"}
	_, err := Load(context.Background(), reg.ref("team/many@"+root.String()), o)
	if !errors.Is(err, ErrPlatformNotFound) {
		t.Fatalf("err = %v, want ErrPlatformNotFound", err)
	}
	if msg := err.Error(); len(msg) > 1000 || !strings.Contains(msg, fmt.Sprintf("%d more", 500-maxListedPlatforms)) {
		t.Errorf("message of %d bytes: %.300s", len(msg), msg)
	}
}

// TestTimeoutEndsWork: a registry that answers every request slowly, with
// an index that would take far longer than the timeout to read: Load
// returns ErrTimeout, naming the timeout, soon after it.
func TestTimeoutEndsWork(t *testing.T) {
	slow := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
				// Headers and a first byte, then a stall.
				w.Header().Set("Content-Length", "1000")
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write([]byte{0x1f})
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
				case <-time.After(20 * time.Second):
				}
				// Drop the connection, as a stalled registry would: returning
				// would answer an empty 200 that a late retry takes for a manifest.
				panic(http.ErrAbortHandler)
			}
			next.ServeHTTP(w, r)
		})
	}
	reg := newRegistry(t, slow)
	cfg := goodConfig()
	cfg.User = "dwfuser"
	digest := reg.push(t, reg.ref("team/stall:1"), image(t, "linux/amd64", cfg, baseLayer(t, compression.ZStd, passwdBase)))
	o := reg.options()
	o.Timeout = 500 * time.Millisecond
	start := time.Now()
	_, err := Load(context.Background(), reg.ref("team/stall@"+digest.String()), o)
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "timed out after 500ms") {
		t.Errorf("err = %v, want ErrTimeout after 500ms", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s, want about 500ms", d)
	}
}

// TestHeaderTimeoutMessage: a request that times out waiting for headers
// names that timeout, not the Load's.
func TestHeaderTimeoutMessage(t *testing.T) {
	reg := newRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/") {
				select {
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
				// Drop the connection, as a stalled registry would: returning
				// would answer an empty 200 that a late retry takes for a manifest.
				panic(http.ErrAbortHandler)
			}
			next.ServeHTTP(w, r)
		})
	})
	tr := reg.transport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 100 * time.Millisecond
	o := reg.options()
	o.Transport = tr
	o.Retries = -1
	o.Timeout = time.Minute
	_, err := Load(context.Background(), reg.ref("team/app:1"), o)
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "no response headers within 100ms") || strings.Contains(err.Error(), "1m0s") {
		t.Errorf("err = %v, want the header timeout named", err)
	}
	if h := Hint(err, o.Timeout); strings.Contains(h, "--timeout") {
		t.Errorf("hint %q blames --timeout", h)
	}
}

// TestDNSFailure: a host that does not resolve is not a registry that did
// not answer.
func TestDNSFailure(t *testing.T) {
	ref := "registry.dwf-policy-test.invalid/app:1"
	o := Options{Retries: -1, Timeout: 20 * time.Second, Stats: new(Stats)}
	_, err := Load(context.Background(), ref, o)
	if !errors.Is(err, ErrResolve) || !strings.Contains(err.Error(), "cannot resolve registry.dwf-policy-test.invalid") || errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrResolve naming the host", err)
	}
	if h := Hint(err, o.Timeout); !strings.Contains(h, "DNS") {
		t.Errorf("hint = %q, want one about DNS", h)
	}
}

// realmRegistry answers the ping with a bearer challenge whose realm is
// realm(host of the token server).
func realmRegistry(t *testing.T, realm func(tokenAddr string) string) (*testRegistry, *atomic.Int64) {
	t.Helper()
	var tokens atomic.Int64
	tokenSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokens.Add(1)
		fmt.Fprint(w, `{"token":"x"}`)
	}))
	t.Cleanup(tokenSrv.Close)
	_, port, _ := net.SplitHostPort(tokenSrv.Listener.Addr().String())
	reg := newRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") == "" && r.Method == http.MethodGet {
				w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm(port)+`",service="test"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	return reg, &tokens
}

// TestRealmAddressGuard: a realm naming a host that resolves to loopback
// is refused, through the caller's dialer and through the built-in one.
func TestRealmAddressGuard(t *testing.T) {
	reg, tokens := realmRegistry(t, func(port string) string { return "https://localhost:" + port + "/token" })
	plain := &http.Transport{TLSClientConfig: reg.transport.(*http.Transport).TLSClientConfig.Clone()}
	for name, tr := range map[string]http.RoundTripper{"caller's dialer": reg.transport, "built-in dialer": plain} {
		t.Run(name, func(t *testing.T) {
			o := reg.options()
			o.Transport = tr
			_, err := Load(context.Background(), reg.ref("team/app:1"), o)
			if !errors.Is(err, ErrAddressRefused) || !strings.Contains(err.Error(), "loopback") {
				t.Errorf("err = %v, want ErrAddressRefused", err)
			}
			if Hint(err, o.Timeout) == "" {
				t.Error("no hint")
			}
		})
	}
	if n := tokens.Load(); n != 0 {
		t.Errorf("the token server got %d requests", n)
	}
}

// TestRealmOnNamedHost: the registry the user named may be on loopback,
// and so may its realm on the same host and port.
func TestRealmOnNamedHost(t *testing.T) {
	var reg *testRegistry
	reg = newRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/token" {
				fmt.Fprint(w, `{"token":"x"}`)
				return
			}
			if r.Header.Get("Authorization") == "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="https://`+reg.host+`/token",service="test"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	ref := reg.ref("team/app:1")
	reg.push(t, ref, image(t, "linux/amd64", goodConfig(), baseLayer(t, compression.ZStd, passwdBase)))
	load(t, ref, reg.options())
}

// TestUntrustedReferences: with UntrustedReferences (an admission
// webhook's pod specs), the reference's own registry on loopback is refused
// before any connection unless it is a trusted registry.
func TestUntrustedReferences(t *testing.T) {
	var hits atomic.Int64
	reg := newRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			next.ServeHTTP(w, r)
		})
	})
	ref := reg.ref("team/app:1")
	reg.push(t, ref, image(t, "linux/amd64", goodConfig(), baseLayer(t, compression.ZStd, passwdBase)))
	hits.Store(0)
	o := reg.options()
	o.UntrustedReferences = true
	_, err := Load(context.Background(), ref, o)
	if !errors.Is(err, ErrAddressRefused) || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("err = %v, want ErrAddressRefused", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the registry got %d requests", n)
	}
	o.TrustedRegistries = []string{reg.host}
	load(t, ref, o)
}

// TestRedirects: a redirect to an internal name is refused, and a chain of
// redirects ends after 10 hops.
func TestRedirects(t *testing.T) {
	var hops atomic.Int64
	var target func(r *http.Request) string
	reg := newRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
				hops.Add(1)
				http.Redirect(w, r, target(r), http.StatusTemporaryRedirect)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	cfg := goodConfig()
	cfg.User = "dwfuser"
	digest := reg.push(t, reg.ref("team/app:1"), image(t, "linux/amd64", cfg, baseLayer(t, compression.ZStd, passwdBase)))
	ref := reg.ref("team/app@" + digest.String())
	_, port, _ := net.SplitHostPort(reg.host)

	target = func(r *http.Request) string { return "https://localhost:" + port + r.URL.Path }
	_, err := Load(context.Background(), ref, reg.options())
	if !errors.Is(err, ErrAddressRefused) {
		t.Errorf("redirect to localhost: err = %v, want ErrAddressRefused", err)
	}

	hops.Store(0)
	target = func(r *http.Request) string {
		return fmt.Sprintf("https://%s%s?n=%d", reg.host, r.URL.Path, hops.Load())
	}
	o := reg.options()
	o.Retries = -1
	o.Timeout = 20 * time.Second
	start := time.Now()
	_, err = Load(context.Background(), ref, o)
	if err == nil || !strings.Contains(err.Error(), "stopped after 10 redirects") {
		t.Errorf("redirect loop: err = %v, want it stopped after 10 redirects", err)
	}
	if n := hops.Load(); n > 20 {
		t.Errorf("followed %d redirects", n)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
}
