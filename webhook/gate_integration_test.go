package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/devflow/dwf-policy/engine/policyset"
	"github.com/devflow/dwf-policy/internal/imagetest"
	"github.com/devflow/dwf-policy/webhook"
	"github.com/devflow/dwf-policy/webhook/registrygate"
)

const eventsToken = "test-events-token-0123456789"

// gate is a running `dwf-policy serve` with a registry gate.
type gate struct {
	main, addr string // the main listener and the gate, host:port
}

// startGate serves a gate in front of upstream (http://HOST:PORT) until
// the test ends.
func startGate(t testing.TB, upstream string, o registrygate.Options) gate {
	t.Helper()
	return serveGate(t, webhook.Options{
		Policy: policyset.Options{WorkDir: t.TempDir(), NoConfigSearch: true},
		Gate:   &webhook.GateOptions{Upstream: upstream, Options: o},
	})
}

// serveGate runs Serve with opts (a gate, its policies) on loopback, the
// events token set, until the test ends.
func serveGate(t testing.TB, opts webhook.Options) gate {
	t.Helper()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(eventsToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts.Listen, opts.Gate.Listen, opts.Gate.EventsTokenFile = "127.0.0.1:0", "127.0.0.1:0", tokenFile
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan gate, 1)
	done := make(chan error, 1)
	opts.Listening = func(main, g string) { ready <- gate{main: main, addr: g} }
	go func() { done <- webhook.Serve(ctx, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	select {
	case g := <-ready:
		return g
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("the gate did not become ready within 60s")
	}
	return gate{}
}

func ref(t testing.TB, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// denied returns the message of a DENIED registry error, or fails.
func denied(t testing.TB, err error) string {
	t.Helper()
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusForbidden || len(terr.Errors) == 0 || terr.Errors[0].Code != transport.DeniedErrorCode {
		t.Fatalf("err = %v, want 403 DENIED", err)
	}
	return terr.Errors[0].Message
}

// metric reads one sample of the main listener's /metrics.
func metric(t testing.TB, g gate, sample string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + g.main + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// unique makes an image of spec whose digest no other test shares.
func unique(t testing.TB, user string) v1.Image {
	t.Helper()
	img := imagetest.Spec{Platforms: []string{"linux/amd64"}, PlatformSpec: imagetest.PlatformSpec{User: &user}}.Images(t)[0]
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config.Env = append(cf.Config.Env, fmt.Sprintf("NONCE=%s-%d", t.Name(), time.Now().UnixNano()))
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

func digestOf(t testing.TB, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestIntegrationGate pushes and pulls through the gate in front of the
// real docker-registry (scripts/registry.sh run -- go test ./webhook/...).
func TestIntegrationGate(t *testing.T) {
	upstream := imagetest.RealRegistry(t, "./webhook")
	g := startGate(t, "http://"+upstream, registrygate.Options{})
	repo := fmt.Sprintf("gate/app-%d", time.Now().UnixNano())
	via := func(host, tag string) name.Reference { return ref(t, host+"/"+repo+":"+tag) }

	resp, err := http.Get("http://" + g.main + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz: %s", resp.Status)
	}

	t.Run("compliant image pushes and pulls", func(t *testing.T) {
		img := unique(t, "1001")
		if err := remote.Write(via(g.addr, "good"), img); err != nil {
			t.Fatalf("push: %v", err)
		}
		pulled, err := remote.Image(via(g.addr, "good"))
		if err != nil {
			t.Fatalf("pull: %v", err)
		}
		if digestOf(t, pulled) != digestOf(t, img) {
			t.Error("pulled another image than was pushed")
		}
	})

	t.Run("root image is refused and never stored", func(t *testing.T) {
		img := unique(t, "")
		msg := denied(t, remote.Write(via(g.addr, "root"), img))
		t.Logf("refusal: %s", msg)
		for _, want := range []string{"DWF301", "USER", digestOf(t, img).String()} {
			if !strings.Contains(msg, want) {
				t.Errorf("message %q lacks %q", msg, want)
			}
		}
		if strings.Contains(msg, upstream) {
			t.Errorf("message %q names the upstream registry's address", msg)
		}
		if _, err := remote.Head(via(upstream, "root")); err == nil {
			t.Error("the refused manifest is in the registry")
		}
	})

	t.Run("index with one root platform is refused", func(t *testing.T) {
		idx := imagetest.Index(t, unique(t, "1001"), unique(t, "0"))
		msg := denied(t, remote.WriteIndex(via(g.addr, "multi"), idx))
		if !strings.Contains(msg, "DWF301") {
			t.Errorf("message %q lacks DWF301", msg)
		}
		if _, err := remote.Head(via(upstream, "multi")); err == nil {
			t.Error("the refused index is in the registry")
		}
	})

	t.Run("signature and SBOM artifacts pass", func(t *testing.T) {
		img := unique(t, "1001")
		if err := remote.Write(via(g.addr, "signed"), img); err != nil {
			t.Fatal(err)
		}
		// cosign's signature: an image config and a simplesigning layer,
		// tagged sha256-<hex>.sig.
		payload := static.NewLayer([]byte(`{"critical":{"image":{"docker-manifest-digest":"`+digestOf(t, img).String()+`"}}}`), "application/vnd.dev.cosign.simplesigning.v1+json")
		sig, err := mutate.AppendLayers(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON), payload)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(via(g.addr, "sha256-"+digestOf(t, img).Hex+".sig"), sig); err != nil {
			t.Errorf("signature push: %v", err)
		}
		// An SBOM as oras pushes it: artifactType, the empty config.
		emptyCfg := static.NewLayer([]byte("{}"), types.OCIEmptyJSON)
		doc := static.NewLayer([]byte(`{"spdxVersion":"SPDX-2.3"}`), "application/spdx+json")
		for _, l := range []v1.Layer{emptyCfg, doc} {
			if err := remote.WriteLayer(via(g.addr, "x").Context(), l); err != nil {
				t.Fatal(err)
			}
		}
		desc := func(l v1.Layer) map[string]any {
			d, _ := l.Digest()
			n, _ := l.Size()
			mt, _ := l.MediaType()
			return map[string]any{"mediaType": mt, "digest": d.String(), "size": n}
		}
		raw, err := json.Marshal(map[string]any{
			"schemaVersion": 2, "mediaType": types.OCIManifestSchema1, "artifactType": "application/spdx+json",
			"config": desc(emptyCfg), "layers": []any{desc(doc)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Put(via(g.addr, "sbom"), rawManifest{raw, types.OCIManifestSchema1}); err != nil {
			t.Errorf("SBOM push: %v", err)
		}
	})

	t.Run("pull of a bad digest is refused, its blobs pass", func(t *testing.T) {
		img := unique(t, "root")
		// Pushed behind the gate's back.
		if err := remote.Write(via(upstream, "sneaked"), img); err != nil {
			t.Fatal(err)
		}
		d := digestOf(t, img)
		byDigest := ref(t, g.addr+"/"+repo+"@"+d.String())
		_, err := remote.Get(byDigest)
		if msg := denied(t, err); !strings.Contains(msg, "DWF301") {
			t.Errorf("message %q lacks DWF301", msg)
		}
		if _, err := remote.Get(via(g.addr, "sneaked")); err == nil {
			t.Error("pull by tag of the bad digest succeeded")
		}
		// HEAD of a digest judged: refused without a body.
		req, _ := http.NewRequest(http.MethodHead, "http://"+g.addr+"/v2/"+repo+"/manifests/"+d.String(), nil)
		req.Header.Set("Accept", string(types.OCIManifestSchema1))
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("HEAD: %v %v, want 403", resp, err)
		}
		cfg, err := img.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		l, err := remote.Layer(ref(t, g.addr+"/"+repo+"@"+cfg.String()).(name.Digest))
		if err != nil {
			t.Fatal(err)
		}
		rc, err := l.Compressed()
		if err != nil {
			t.Fatalf("config blob through the gate: %v", err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			t.Errorf("config blob through the gate: %v", err)
		}
		rc.Close()
	})

	t.Run("concurrent pushes of one digest are judged once", func(t *testing.T) {
		img := unique(t, "1001")
		before := metric(t, g, "dwf_gate_judgements_total")
		// The blobs first, so that every PUT of the manifest races.
		if err := remote.Write(via(upstream, "blobs"), img); err != nil {
			t.Fatal(err)
		}
		raw, err := img.RawManifest()
		if err != nil {
			t.Fatal(err)
		}
		mt, _ := img.MediaType()
		var wg sync.WaitGroup
		var ok atomic.Int32
		for i := range 8 {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodPut, "http://"+g.addr+"/v2/"+repo+"/manifests/race-"+strconv.Itoa(i), bytes.NewReader(raw))
				req.Header.Set("Content-Type", string(mt))
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusCreated {
						ok.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if ok.Load() != 8 {
			t.Errorf("%d of 8 pushes succeeded", ok.Load())
		}
		if n := metric(t, g, "dwf_gate_judgements_total") - before; n != 1 {
			t.Errorf("judged %v times, want once", n)
		}
	})

	t.Run("a huge manifest is refused unread", func(t *testing.T) {
		var read atomic.Int64
		body := &countingZeros{n: 1 << 30, read: &read}
		req, _ := http.NewRequest(http.MethodPut, "http://"+g.addr+"/v2/"+repo+"/manifests/huge", body)
		req.ContentLength = 1 << 30
		req.Header.Set("Content-Type", string(types.OCIManifestSchema1))
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "MANIFEST_INVALID") {
			t.Errorf("got %s %s, want 413 MANIFEST_INVALID", resp.Status, b)
		}
		if n := read.Load(); n > 16<<20 {
			t.Errorf("the client sent %d bytes of the 1 GiB body before the refusal", n)
		}
		t.Logf("1 GiB manifest PUT refused in %s after %d bytes sent", time.Since(start).Round(time.Millisecond), read.Load())
	})

	t.Run("events judge pushed images and verdicts are served", func(t *testing.T) {
		img := unique(t, "")
		if err := remote.Write(via(upstream, "evented"), img); err != nil {
			t.Fatal(err)
		}
		d := digestOf(t, img).String()
		mt, _ := img.MediaType()
		env := fmt.Sprintf(`{"events":[{"id":"ev-%[1]s","action":"push","target":{"mediaType":%[2]q,"digest":%[1]q,"repository":%[3]q,"tag":"evented"}},
			{"id":"ev-%[1]s","action":"push","target":{"mediaType":%[2]q,"digest":%[1]q,"repository":%[3]q,"tag":"evented"}},
			{"id":"ev-blob-%[1]s","action":"push","target":{"mediaType":"application/octet-stream","digest":%[1]q,"repository":%[3]q}}]}`, d, mt, repo)
		post := func(token string) int {
			req, _ := http.NewRequest(http.MethodPost, "http://"+g.main+"/registry/events", strings.NewReader(env))
			req.Header.Set("Content-Type", registrygate.EventsMediaType)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if got := post("wrong-token-wrong-token"); got != http.StatusUnauthorized {
			t.Errorf("wrong token: %d, want 401", got)
		}
		if got := post(eventsToken); got != http.StatusAccepted {
			t.Fatalf("events: %d, want 202", got)
		}
		var v struct {
			Compliant bool   `json:"compliant"`
			By        string `json:"judged_by"`
			Message   string `json:"message"`
			Findings  []struct {
				RuleID string `json:"rule_id"`
			} `json:"findings"`
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			req, _ := http.NewRequest(http.MethodGet, "http://"+g.main+"/registry/verdicts/"+repo+"@"+d, nil)
			req.Header.Set("Authorization", "Bearer "+eventsToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if err := json.Unmarshal(b, &v); err != nil {
					t.Fatal(err)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no verdict after 30s: %s %s", resp.Status, b)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if v.Compliant || v.By != "event" || !strings.Contains(v.Message, "DWF301") {
			t.Errorf("verdict = %+v, want non-compliant by event with DWF301", v)
		}
		if got := metric(t, g, `dwf_gate_events_total{outcome="duplicate"}`); got < 1 {
			t.Errorf("duplicate events = %v, want the repeated event counted", got)
		}
	})
}

// countingZeros is an endless-looking body that counts what is read.
type countingZeros struct {
	n    int64
	read *atomic.Int64
}

func (z *countingZeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	n := int64(len(p))
	if n > z.n {
		n = z.n
	}
	clear(p[:n])
	z.n -= n
	z.read.Add(n)
	return int(n), nil
}

// TestIntegrationGateFaults puts a fault-injecting proxy between the gate
// and the real registry: blob reads fail with 500, or the registry is
// gone.
func TestIntegrationGateFaults(t *testing.T) {
	upstream := imagetest.RealRegistry(t, "./webhook")
	target, _ := url.Parse("http://" + upstream)
	var failBlobs atomic.Bool
	// slowBlobs and slowManifests delay blob reads (the gate's judging
	// fetches; a client's push only HEADs and uploads blobs) and manifest
	// reads, as a registry under load would.
	var slowBlobs, slowManifests atomic.Int64
	delay := func(r *http.Request, d time.Duration) {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
		}
	}
	faulty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			if failBlobs.Load() {
				http.Error(w, `{"errors":[{"code":"UNKNOWN","message":"injected"}]}`, http.StatusInternalServerError)
				return
			}
			delay(r, time.Duration(slowBlobs.Load()))
		}
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/") {
			delay(r, time.Duration(slowManifests.Load()))
		}
		httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
	}))
	defer faulty.Close()
	fast := registrygate.Options{JudgeTimeout: 5 * time.Second}
	closed := startGate(t, faulty.URL, fast)
	fast.OnError = registrygate.Allow
	open := startGate(t, faulty.URL, fast)
	repo := fmt.Sprintf("gate/faults-%d", time.Now().UnixNano())

	failBlobs.Store(true)
	t.Run("5xx from the registry, fail-closed", func(t *testing.T) {
		img := unique(t, "1001")
		msg := denied(t, remote.Write(ref(t, closed.addr+"/"+repo+":closed"), img, remote.WithRetryBackoff(remote.Backoff{Steps: 1})))
		if !strings.Contains(msg, "could not verify") {
			t.Errorf("message %q lacks 'could not verify'", msg)
		}
	})
	t.Run("5xx from the registry, fail-open", func(t *testing.T) {
		img := unique(t, "1001")
		if err := remote.Write(ref(t, open.addr+"/"+repo+":open"), img); err != nil {
			t.Errorf("push with on-error allow: %v", err)
		}
		if n := metric(t, open, "dwf_gate_fail_open_total"); n < 1 {
			t.Errorf("fail-open count = %v, want at least 1", n)
		}
	})
	failBlobs.Store(false)

	// Judging fetches slower than the judging deadline: the image cannot
	// be judged in time, and --on-error decides.
	slowBlobs.Store(int64(time.Minute))
	t.Run("slow registry, fail-closed", func(t *testing.T) {
		img := unique(t, "1001")
		msg := denied(t, remote.Write(ref(t, closed.addr+"/"+repo+":slow-closed"), img, remote.WithRetryBackoff(remote.Backoff{Steps: 1})))
		if !strings.Contains(msg, "could not verify") || !strings.Contains(msg, "deadline") {
			t.Errorf("message %q, want 'could not verify' for a deadline", msg)
		}
		if _, err := remote.Head(ref(t, upstream+"/"+repo+":slow-closed")); err == nil {
			t.Error("an image that could not be judged is in the registry")
		}
	})
	t.Run("slow registry, fail-open", func(t *testing.T) {
		before := metric(t, open, "dwf_gate_fail_open_total")
		img := unique(t, "1001")
		rec := &warnings{inner: http.DefaultTransport}
		if err := remote.Write(ref(t, open.addr+"/"+repo+":slow-open"), img, remote.WithTransport(rec)); err != nil {
			t.Fatalf("push with on-error allow: %v", err)
		}
		if n := metric(t, open, "dwf_gate_fail_open_total") - before; n != 1 {
			t.Errorf("fail-open count grew by %v, want 1", n)
		}
		if w := strings.Join(rec.got, "\n"); !strings.Contains(w, "could not verify") {
			t.Errorf("warnings %q, want 'could not verify'", w)
		}
	})
	slowBlobs.Store(0)

	// A proxied manifest request slower than --manifest-timeout's
	// deadline: the gate answers 504 with an OCI error.
	slowManifests.Store(int64(time.Minute))
	t.Run("slow registry, proxied request deadline", func(t *testing.T) {
		g := startGate(t, faulty.URL, registrygate.Options{ManifestTimeout: time.Second, OnError: registrygate.Allow})
		req, _ := http.NewRequest(http.MethodGet, "http://"+g.addr+"/v2/"+repo+"/manifests/open", nil)
		req.Header.Set("Accept", string(types.OCIManifestSchema1))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(string(b), `"code":"UNAVAILABLE"`) {
			t.Errorf("got %s %s, want 504 UNAVAILABLE", resp.Status, b)
		}
	})
	slowManifests.Store(0)

	t.Run("registry down", func(t *testing.T) {
		down := httptest.NewServer(http.NotFoundHandler())
		addr := down.URL
		down.Close()
		g := startGate(t, addr, registrygate.Options{JudgeTimeout: 2 * time.Second})
		_, err := remote.Get(ref(t, g.addr+"/"+repo+":x"), remote.WithRetryBackoff(remote.Backoff{Steps: 1}), remote.WithAuth(authn.Anonymous))
		var terr *transport.Error
		if !errors.As(err, &terr) || terr.StatusCode != http.StatusBadGateway || len(terr.Errors) == 0 || terr.Errors[0].Code != "UNAVAILABLE" {
			t.Errorf("pull: err = %v, want 502 UNAVAILABLE from the gate", err)
		}
		// A manifest push cannot be judged (its blobs cannot be read):
		// --on-error decides, deny by default.
		img := unique(t, "1001")
		raw, err := img.RawManifest()
		if err != nil {
			t.Fatal(err)
		}
		put := func(g gate) (int, string) {
			req, _ := http.NewRequest(http.MethodPut, "http://"+g.addr+"/v2/"+repo+"/manifests/down", bytes.NewReader(raw))
			req.Header.Set("Content-Type", string(types.OCIManifestSchema1))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		if code, body := put(g); code != http.StatusForbidden || !strings.Contains(body, `"code":"DENIED"`) || !strings.Contains(body, "could not verify") {
			t.Errorf("push, on-error deny: %d %s; want 403 DENIED 'could not verify'", code, body)
		}
		// Let through, it meets the registry that is not there.
		open := startGate(t, addr, registrygate.Options{JudgeTimeout: 2 * time.Second, OnError: registrygate.Allow})
		if code, body := put(open); code != http.StatusBadGateway || !strings.Contains(body, `"code":"UNAVAILABLE"`) {
			t.Errorf("push, on-error allow: %d %s; want 502 UNAVAILABLE", code, body)
		}
		// Reconciliation cannot list the repository: the run is counted
		// as failed, and the gate keeps serving.
		rec := startGate(t, addr, registrygate.Options{Reconcile: registrygate.Reconcile{Interval: time.Hour, Repositories: []string{repo}}})
		deadline := time.Now().Add(30 * time.Second)
		for metric(t, rec, `dwf_gate_reconcile_runs_total{result="error"}`) != 1 {
			if time.Now().After(deadline) {
				t.Fatal("the failed reconciliation run was not counted")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if n := metric(t, rec, `dwf_gate_reconcile_runs_total{result="ok"}`); n != 0 {
			t.Errorf("ok runs = %v against a registry that is down", n)
		}
	})
}

// warnings keeps the Warning headers of the responses to manifest PUTs.
type warnings struct {
	inner http.RoundTripper
	mu    sync.Mutex
	got   []string
}

func (w *warnings) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := w.inner.RoundTrip(r)
	if err == nil && r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
		w.mu.Lock()
		w.got = append(w.got, resp.Header.Values("Warning")...)
		w.mu.Unlock()
	}
	return resp, err
}

// rawManifest is a manifest pushed as bytes.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }
