package image

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/compression"

	"github.com/devflow/dwf-policy/internal/imagetest"
)

// internalNames resolve, through the test resolver, to the internal
// addresses a registry could send the client to. Nothing listens there and
// no packet is ever sent: the guard refuses them after resolution, and the
// recording dialer of the tests connects to 127.0.0.1 only.
var internalNames = map[string][]string{
	"metadata.test": {"169.254.169.254"},
	"corp.test":     {"10.0.0.7"},
	"lan.test":      {"192.168.1.7"},
	"loop.test":     {"127.0.0.2"},
	"ula.test":      {"fd00::7"},
}

// refused reports whether err is ErrAddressRefused for an address of the
// given class, refused by the guard (a name resolved to it) or by
// go-containerregistry's own check of a realm or redirect that names an
// IP address literally, which comes first.
func refused(err error, class string) bool {
	if !errors.Is(err, ErrAddressRefused) {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "a "+class+" address") || strings.Contains(s, "is a private or link-local address") || strings.Contains(s, "SSRF protection: redirect")
}

// TestGuardRefusesInternalTargetsBeforeDialing: a bearer token realm or a
// redirect naming a host that resolves to a link-local, private or other
// loopback address, or naming that address itself, is refused after
// resolution and before any connection. Through a caller's dialer, every
// dial is recorded (only the registry is ever dialed, and nothing but
// 127.0.0.1 could be). The built-in dialer, which resolves through
// Options.Resolver and checks each address before connect(2), is run on
// the loopback targets only: were the guard broken, it would connect.
func TestGuardRefusesInternalTargetsBeforeDialing(t *testing.T) {
	targets := []struct {
		host, class string
	}{
		{"metadata.test", "link-local"},
		{"corp.test", "private"},
		{"lan.test", "private"},
		{"loop.test", "loopback"},
		{"ula.test", "private"},
		{"169.254.169.254", "link-local"},
		{"10.0.0.7", "private"},
		{"192.168.1.7", "private"},
		{"127.0.0.2", "loopback"},
		{"[fe80::1]", "link-local"},
	}
	var redirectTo, realmAt atomic.Value // string: the host the registry sends the client to
	var misses atomic.Int64              // requests for the redirect target that reached the registry
	reg := newRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if h, _ := realmAt.Load().(string); h != "" && r.Header.Get("Authorization") == "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="https://`+h+`/token",service="registry"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			if h, _ := redirectTo.Load().(string); h != "" && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
				if r.URL.Query().Get("redirected") != "" {
					misses.Add(1)
				}
				http.Redirect(w, r, "https://"+h+r.URL.Path+"?redirected=1", http.StatusTemporaryRedirect)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	digest := reg.push(t, reg.ref("team/app:1"), image(t, "linux/amd64", goodConfig(), baseLayer(t, compression.ZStd, passwdBase)))
	ref := reg.ref("team/app@" + digest.String())

	for _, via := range []string{"realm", "redirect"} {
		for _, tg := range targets {
			dialers := []string{"caller's dialer"}
			if tg.class == "loopback" {
				dialers = append(dialers, "built-in dialer")
			}
			for _, dialer := range dialers {
				t.Run(fmt.Sprintf("%s %s %s", via, tg.host, dialer), func(t *testing.T) {
					realmAt.Store("")
					redirectTo.Store("")
					if via == "realm" {
						realmAt.Store(tg.host)
					} else {
						redirectTo.Store(tg.host)
					}
					res := imagetest.NewResolver(internalNames)
					recording, dials := imagetest.RecordingTransport()
					o := reg.options()
					o.Resolver = res.Resolver
					o.Retries = -1
					o.Transport = recording
					if dialer == "built-in dialer" {
						// An *http.Transport without a dialer of its own:
						// the guard's net.Dialer, resolving through
						// o.Resolver, does the dialing.
						o.Transport = &http.Transport{TLSClientConfig: recording.TLSClientConfig.Clone()}
					}
					_, err := Load(context.Background(), ref, o)
					if !refused(err, tg.class) {
						t.Fatalf("err = %v, want a refused %s address", err, tg.class)
					}
					if name := strings.Trim(tg.host, "[]"); net.ParseIP(name) == nil && res.Queries(name) == 0 {
						t.Errorf("%s was not resolved through the test resolver", name)
					}
					for _, a := range dials.Addrs() {
						if a != reg.host {
							t.Errorf("dialed %s; only the registry %s may be", a, reg.host)
						}
					}
					if misses.Load() != 0 {
						t.Errorf("a redirected request came back to the registry")
					}
				})
			}
		}
	}
}

func TestUntrustedRegistryNamedByHostname(t *testing.T) {
	reg := newRegistry(t, nil)
	reg.push(t, reg.ref("team/app:1"), image(t, "linux/amd64", goodConfig(), baseLayer(t, compression.ZStd, passwdBase)))
	_, port, _ := net.SplitHostPort(reg.host)
	names := map[string][]string{"registry.example.com": {"127.0.0.1"}}
	for n, a := range internalNames {
		names[n] = a
	}
	for _, tc := range []struct {
		host, class string
	}{
		{"registry.example.com:" + port, "loopback"},
		{"metadata.test:" + port, "link-local"},
		{"corp.test:5000", "private"},
		{"lan.test", "private"},
		{"ula.test", "private"},
		{"loop.test:" + port, "loopback"},
	} {
		dialers := []string{"caller's dialer"}
		if tc.class == "loopback" {
			dialers = append(dialers, "built-in dialer") // as above: loopback only
		}
		for _, dialer := range dialers {
			t.Run(tc.host+" "+dialer, func(t *testing.T) {
				res := imagetest.NewResolver(names)
				recording, dials := imagetest.RecordingTransport()
				o := reg.options()
				o.Resolver = res.Resolver
				o.Retries = -1
				o.UntrustedReferences = true
				o.Transport = recording
				if dialer == "built-in dialer" {
					o.Transport = &http.Transport{TLSClientConfig: recording.TLSClientConfig.Clone()}
				}
				_, err := Load(context.Background(), tc.host+"/team/app:1", o)
				if !errors.Is(err, ErrAddressRefused) || !strings.Contains(err.Error(), "a "+tc.class+" address") {
					t.Fatalf("err = %v, want ErrAddressRefused naming a %s address", err, tc.class)
				}
				if a := dials.Addrs(); len(a) != 0 {
					t.Errorf("dialed %v", a)
				}
			})
		}
	}
	// Trusted by name, the same host name is dialed (the httptest
	// certificate covers *.example.com), through the test resolver when
	// the built-in dialer resolves it.
	res := imagetest.NewResolver(names)
	o := reg.options()
	o.Resolver = res.Resolver
	o.UntrustedReferences = true
	o.TrustedRegistries = []string{"registry.example.com:" + port}
	o.Transport = &http.Transport{TLSClientConfig: imagetest.Transport().(*http.Transport).TLSClientConfig.Clone()}
	load(t, "registry.example.com:"+port+"/team/app:1", o)
	if res.Queries("registry.example.com") == 0 {
		t.Error("the trusted registry was not resolved through Options.Resolver")
	}

	o.TrustedRegistries = nil
	if _, err := Load(context.Background(), "nowhere.test/team/app:1", o); !errors.Is(err, ErrResolve) {
		t.Errorf("unknown name: err = %v, want ErrResolve", err)
	}
}

// TestPlainHTTPRefusedUnlessConfigured: a registry reached over plain HTTP
// (a reference to one, or a redirect or realm on http://) is refused unless
// it is listed in InsecureRegistries, before any request goes out.
func TestPlainHTTPRefusedUnlessConfigured(t *testing.T) {
	var served atomic.Int64
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(plain.Close)
	host := plain.Listener.Addr().String()
	o := Options{Keychain: authn.NewMultiKeychain(), Retries: -1, Transport: http.DefaultTransport}
	if _, err := Load(context.Background(), host+"/team/app:1", o); !errors.Is(err, ErrInsecure) {
		t.Errorf("plain HTTP registry: err = %v, want ErrInsecure", err)
	}
	// A redirect to plain HTTP, even to the registry's own host.
	var reg *testRegistry
	reg = newRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/") {
				http.Redirect(w, r, "http://"+host+r.URL.Path, http.StatusTemporaryRedirect)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	o = reg.options()
	o.TrustedRegistries = []string{host}
	if _, err := Load(context.Background(), reg.ref("team/app:1"), o); !errors.Is(err, ErrInsecure) {
		t.Errorf("redirect to plain HTTP: err = %v, want ErrInsecure", err)
	}
	if n := served.Load(); n != 0 {
		t.Errorf("the plain HTTP server answered %d requests", n)
	}
	// A realm on http:// is refused by go-containerregistry itself.
	reg = newRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") == "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="http://`+host+`/token",service="registry"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	if _, err := Load(context.Background(), reg.ref("team/app:1"), reg.options()); err == nil || !strings.Contains(err.Error(), `realm scheme "http" not allowed`) {
		t.Errorf("realm on plain HTTP: err = %v", err)
	}
	// Listed as insecure, the plain registry is asked.
	o = Options{Keychain: authn.NewMultiKeychain(), Retries: -1, Transport: http.DefaultTransport, InsecureRegistries: []string{host}}
	Load(context.Background(), host+"/team/app:1", o)
	if served.Load() == 0 {
		t.Error("an insecure registry was not asked")
	}
}
