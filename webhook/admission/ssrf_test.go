package admission

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/engine/policyset"
	"github.com/devflow/dwf-policy/internal/imagetest"
)

// ssrfNames resolve, through the test resolver, to internal addresses.
// Nothing is sent there: the guard refuses them after resolution, and the
// recording dialer connects to 127.0.0.1 only.
var ssrfNames = map[string][]string{
	"metadata.test": {"169.254.169.254"},
	"corp.test":     {"10.0.0.7"},
	"lan.test":      {"192.168.1.7"},
	"loop.test":     {"127.0.0.2"},
}

// TestSSRFThroughReviews: a pod's image whose registry sends the webhook
// to an internal address (a bearer token realm, a redirect) or whose
// registry is named by a host that resolves to one is refused before any
// connection: the review gets the --on-error outcome naming the refusal,
// and the only address ever dialed is the test registry's on 127.0.0.1.
func TestSSRFThroughReviews(t *testing.T) {
	var realm, redirect atomic.Value // string: the host the registry sends the client to
	reg := imagetest.NewRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if h, _ := realm.Load().(string); h != "" && r.Header.Get("Authorization") == "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="https://`+h+`/token",service="registry"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			if h, _ := redirect.Load().(string); h != "" && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
				http.Redirect(w, r, "https://"+h+r.URL.Path, http.StatusTemporaryRedirect)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	good := reg.Ref("team/good:1")
	reg.PushIndex(t, good, imagetest.Index(t, imagetest.Spec{}.Images(t)...))
	_, port, _ := net.SplitHostPort(reg.Host)

	const refusal = "refused to connect to an internal address"
	cases := []struct {
		name, realm, redirect, image, want string
	}{
		{name: "realm link-local", realm: "metadata.test", want: "metadata.test:443 resolves to 169.254.169.254, a link-local address"},
		{name: "realm private 10", realm: "corp.test", want: "corp.test:443 resolves to 10.0.0.7, a private address"},
		{name: "realm private 192.168", realm: "lan.test:8443", want: "lan.test:8443 resolves to 192.168.1.7, a private address"},
		{name: "realm other loopback", realm: "loop.test", want: "loop.test:443 resolves to 127.0.0.2, a loopback address"},
		{name: "realm loopback literal", realm: "127.0.0.2", want: `realm host "127.0.0.2" is a private or link-local address`},
		{name: "redirect link-local", redirect: "metadata.test", want: "metadata.test:443 resolves to 169.254.169.254, a link-local address"},
		{name: "redirect private 10", redirect: "corp.test", want: "corp.test:443 resolves to 10.0.0.7, a private address"},
		{name: "redirect private 192.168", redirect: "lan.test", want: "lan.test:443 resolves to 192.168.1.7, a private address"},
		{name: "redirect other loopback", redirect: "loop.test:" + port, want: "loop.test:" + port + " resolves to 127.0.0.2, a loopback address"},
		{name: "redirect link-local literal", redirect: "169.254.169.254", want: `to private/link-local host "169.254.169.254" denied`},
		{name: "registry named link-local", image: "metadata.test/latest/meta-data:1", want: "metadata.test:443 resolves to 169.254.169.254, a link-local address"},
		{name: "registry named private 10", image: "corp.test:5000/team/app:1", want: "corp.test:5000 resolves to 10.0.0.7, a private address"},
		{name: "registry named private 192.168", image: "lan.test/team/app:1", want: "lan.test:443 resolves to 192.168.1.7, a private address"},
		{name: "registry named other loopback", image: "loop.test:" + port + "/team/good:1", want: "loop.test:" + port + " resolves to 127.0.0.2, a loopback address"},
	}
	for _, tc := range cases {
		for _, onError := range []OnError{Deny, Allow} {
			t.Run(tc.name+" "+string(onError), func(t *testing.T) {
				realm.Store(tc.realm)
				redirect.Store(tc.redirect)
				img := tc.image
				if img == "" {
					img = good
				}
				res := imagetest.NewResolver(ssrfNames)
				tr, dials := imagetest.RecordingTransport()
				f := newGuardedWebhook(t, image.Options{Transport: tr, Resolver: res.Resolver,
					UntrustedReferences: true, TrustedRegistries: []string{reg.Host}}, Options{OnError: onError})
				r := f.post(t, reviewJSON(t, deployment("web", podOpts{image: img}), reviewOpts{}), "?timeout=10s")
				text := message(r)
				if onError == Allow {
					text = strings.Join(r.Warnings, "\n") + "\n" + r.AuditAnnotations["unverified-images"]
				}
				if r.Allowed != (onError == Allow) || !strings.Contains(text, "could not verify "+img+": ") || !strings.Contains(text, tc.want) {
					t.Errorf("allowed %v, want %v; %q lacks %q", r.Allowed, onError == Allow, text, tc.want)
				}
				if strings.Contains(tc.want, "resolves to") && !strings.Contains(text, refusal) {
					t.Errorf("%q does not say %q", text, refusal)
				}
				for _, a := range dials.Addrs() {
					if a != reg.Host {
						t.Errorf("dialed %s; only the registry %s may be", a, reg.Host)
					}
				}
				host := strings.Split(img, "/")[0]
				if got := testutil.ToFloat64(f.wh.metrics.registry.WithLabelValues(host, "refused")); got != 1 {
					t.Errorf("registry lookups of %s with status refused: %v, want 1", host, got)
				}
			})
		}
	}
}

// newGuardedWebhook is a webhook whose checker loads images with img.
func newGuardedWebhook(t *testing.T, img image.Options, o Options) *fixture {
	t.Helper()
	set, err := policyset.Open(context.Background(), policyset.Options{WorkDir: t.TempDir(), NoConfigSearch: true})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := set.Hash()
	if err != nil {
		t.Fatal(err)
	}
	img.Keychain, img.Retries, img.Timeout = authn.NewMultiKeychain(), -1, 10*time.Second
	o.Checker, o.PolicyHash = check.New(set, check.Options{Image: img}), hash
	f := &fixture{metrics: prometheus.NewRegistry()}
	o.Registerer = f.metrics
	if f.wh, err = New(o); err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(f.wh)
	t.Cleanup(f.srv.Close)
	return f
}
