package webhook_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/devflow/dwf-policy/internal/imagetest"
	"github.com/devflow/dwf-policy/webhook/registrygate"
)

// runDockerRegistry starts Debian's docker-registry with the configuration
// cfg (which listens on addr) until the test ends.
func runDockerRegistry(t *testing.T, cfg, addr string) {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Fatal("docker-registry is not installed: run scripts/install-test-tools.sh")
	}
	path := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", path)
	var logs syncBuilder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("docker-registry log:\n%s", logs.String())
		}
	})
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/v2/"); err == nil {
			resp.Body.Close()
			return
		}
		if time.Since(start) > 15*time.Second {
			t.Fatalf("docker-registry did not start:\n%s", logs.String())
		}
	}
}

// syncBuilder is a strings.Builder safe for a process's two streams.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// tokenServer is a Docker registry token server (distribution's token
// authentication): it grants what a client asks for to one user, as ES256
// JWTs whose signing certificate (x5c) the registry trusts through its
// rootcertbundle; anonymous requests get 401.
type tokenServer struct {
	key      *ecdsa.PrivateKey
	certDER  []byte
	service  string
	issuer   string
	user, pw string

	mu     sync.Mutex
	issued []string // the scopes of every token issued
}

func newTokenServer(t *testing.T, service string) (*tokenServer, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "dwf-policy test token issuer"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(t.TempDir(), "root.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tokenServer{key: key, certDER: der, service: service, issuer: "dwf-policy-test-issuer", user: "alice", pw: "s3cret-pass"}, bundle
}

func (s *tokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u, p, ok := r.BasicAuth()
	if !ok || u != s.user || p != s.pw {
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
		http.Error(w, "credentials required", http.StatusUnauthorized)
		return
	}
	if r.URL.Query().Get("service") != s.service {
		http.Error(w, "unknown service", http.StatusBadRequest)
		return
	}
	type access struct {
		Type    string   `json:"type"`
		Name    string   `json:"name"`
		Actions []string `json:"actions"`
	}
	grants := []access{}
	scopes := r.URL.Query()["scope"]
	for _, sc := range scopes {
		for one := range strings.FieldsSeq(sc) {
			parts := strings.Split(one, ":")
			if len(parts) < 3 {
				continue
			}
			grants = append(grants, access{Type: parts[0], Name: strings.Join(parts[1:len(parts)-1], ":"), Actions: strings.Split(parts[len(parts)-1], ",")})
		}
	}
	now := time.Now()
	tok, err := s.sign(map[string]any{"typ": "JWT", "alg": "ES256", "x5c": []string{base64.StdEncoding.EncodeToString(s.certDER)}},
		map[string]any{"iss": s.issuer, "sub": u, "aud": s.service, "exp": now.Add(5 * time.Minute).Unix(), "nbf": now.Add(-time.Minute).Unix(),
			"iat": now.Unix(), "jti": fmt.Sprint(now.UnixNano()), "access": grants})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.mu.Lock()
	s.issued = append(s.issued, strings.Join(scopes, " "))
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"token": tok, "access_token": tok, "expires_in": 300, "issued_at": now.UTC().Format(time.RFC3339)})
}

// sign makes a compact JWS with ES256: the signature is r || s, each 32
// bytes, over the SHA-256 of header.claims.
func (s *tokenServer) sign(header, claims map[string]any) (string, error) {
	enc := func(v any) (string, error) {
		b, err := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b), err
	}
	h, err := enc(header)
	if err != nil {
		return "", err
	}
	c, err := enc(claims)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(h + "." + c))
	r, sv, err := ecdsa.Sign(rand.Reader, s.key, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	sv.FillBytes(sig[32:])
	return h + "." + c + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

func (s *tokenServer) scopes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// TestIntegrationGateTokenAuth puts the gate in front of Debian's
// docker-registry configured with `auth: token` and a token server: the
// registry's challenge reaches clients untouched, clients get their tokens
// from the token server and push and pull through the gate, and the gate
// judges with the client's token (without it, judging would need a token
// exchange of its own, which neither the guard on token realms nor the
// token server, refusing anonymous requests, would allow: the image could
// not be verified).
func TestIntegrationGateTokenAuth(t *testing.T) {
	imagetest.RealRegistry(t, "./webhook") // runs where the registry does, fails in CI without it
	const service = "dwf-policy-test-registry"
	ts, bundle := newTokenServer(t, service)
	tokens := httptest.NewServer(ts)
	t.Cleanup(tokens.Close)
	// By name: clients (go-containerregistry, crane) refuse a token realm
	// at a loopback or private IP literal unless it is the registry's own
	// host.
	realmBase := strings.Replace(tokens.URL, "127.0.0.1", "localhost", 1)
	regAddr := freePort(t)
	runDockerRegistry(t, fmt.Sprintf(`version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: %s
auth:
  token:
    realm: %s/token
    service: %s
    issuer: %s
    rootcertbundle: %s
`, filepath.Join(t.TempDir(), "storage"), regAddr, realmBase, service, ts.issuer, bundle), regAddr)
	g := startGate(t, "http://"+regAddr, registrygate.Options{})

	t.Run("the challenge passes untouched", func(t *testing.T) {
		challenge := func(addr string) (int, string) {
			resp, err := http.Get("http://" + addr + "/v2/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
		}
		directCode, direct := challenge(regAddr)
		gateCode, gated := challenge(g.addr)
		if directCode != http.StatusUnauthorized || !strings.Contains(direct, realmBase+"/token") {
			t.Fatalf("the registry answers %d %q, want 401 with a Bearer challenge naming the token server", directCode, direct)
		}
		if gateCode != directCode || gated != direct {
			t.Errorf("through the gate: %d %q; want the registry's %d %q", gateCode, gated, directCode, direct)
		}
	})

	alice := remote.WithAuth(&authn.Basic{Username: ts.user, Password: ts.pw})
	repo := "team/token-app"
	t.Run("a compliant image pushes and pulls with tokens", func(t *testing.T) {
		img := unique(t, "1001")
		if err := remote.Write(ref(t, g.addr+"/"+repo+":good"), img, alice); err != nil {
			t.Fatalf("push through the gate: %v", err)
		}
		pulled, err := remote.Image(ref(t, g.addr+"/"+repo+":good"), alice)
		if err != nil {
			t.Fatalf("pull through the gate: %v", err)
		}
		if digestOf(t, pulled) != digestOf(t, img) {
			t.Error("pulled another image than was pushed")
		}
		if _, err := remote.Image(ref(t, g.addr+"/"+repo+":good")); err == nil {
			t.Error("an anonymous pull through the gate succeeded: the registry's auth was bypassed")
		}
	})
	t.Run("a root image is judged with the client's token and refused", func(t *testing.T) {
		msg := denied(t, remote.Write(ref(t, g.addr+"/"+repo+":root"), unique(t, ""), alice))
		if !strings.Contains(msg, "DWF301") || strings.Contains(msg, "could not verify") {
			t.Errorf("message %q, want DWF301 (a judgement, not a failure to fetch)", msg)
		}
	})
	t.Run("crane logs in and pushes through the gate", func(t *testing.T) {
		crane := newCrane(t)
		if _, stderr, err := crane.run(t, "auth", "login", g.addr, "-u", ts.user, "-p", ts.pw); err != nil {
			t.Fatalf("crane auth login: %v\n%s", err, stderr)
		}
		tar, want := imageTarball(t, unique(t, "1001"))
		if _, stderr, err := crane.run(t, "push", tar, g.addr+"/"+repo+":crane"); err != nil {
			t.Fatalf("crane push: %v\n%s", err, stderr)
		}
		if d, stderr, err := crane.run(t, "digest", g.addr+"/"+repo+":crane"); err != nil || strings.TrimSpace(d) != want {
			t.Errorf("crane digest = %q (%v %s), want %s", d, err, stderr, want)
		}
		tar, _ = imageTarball(t, unique(t, ""))
		_, stderr, err := crane.run(t, "push", tar, g.addr+"/"+repo+":crane-root")
		if err == nil || !strings.Contains(stderr, "DENIED") || !strings.Contains(stderr, "DWF301") {
			t.Errorf("crane push of a root image: %v\n%s; want DENIED naming DWF301", err, stderr)
		}
	})
	if s := ts.scopes(); len(s) == 0 || !strings.Contains(strings.Join(s, " "), "repository:"+repo+":") {
		t.Errorf("the token server issued %q, want tokens for %s", s, repo)
	}
}
