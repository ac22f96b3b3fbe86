package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 named cn and
// its key into dir, and returns the certificate.
func selfSigned(t *testing.T, dir, cn string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// Written to temporary names and renamed, as a rotation does.
	for name, block := range map[string]*pem.Block{"tls.crt": {Type: "CERTIFICATE", Bytes: der}, "tls.key": {Type: "EC PRIVATE KEY", Bytes: kb}} {
		tmp := filepath.Join(dir, name+".tmp")
		if err := os.WriteFile(tmp, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// start serves s until the test ends and returns its address.
func start(t *testing.T, s *Server) string {
	t.Helper()
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s.Addr()
}

func TestTLSAndReload(t *testing.T) {
	dir := t.TempDir()
	first := selfSigned(t, dir, "first")
	s, err := New(Options{Addr: "127.0.0.1:0", CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key")})
	if err != nil {
		t.Fatal(err)
	}
	new(Health).Register(s)
	now := time.Now()
	s.certs.now = func() time.Time { return now }
	addr := start(t, s)

	served := func(tlsMax uint16) (string, error) {
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tlsMax})
		if err != nil {
			return "", err
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
	}
	if cn, err := served(0); err != nil || cn != "first" {
		t.Fatalf("served %q, %v; want the first certificate", cn, err)
	}
	if _, err := served(tls.VersionTLS11); err == nil {
		t.Error("a TLS 1.1 handshake succeeded")
	}

	pool := x509.NewCertPool()
	pool.AddCert(first)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	resp, err := client.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Errorf("healthz: %s over %s; want 200 over HTTP/2", resp.Status, resp.Proto)
	}

	// A half-written rotation (a certificate without its key) keeps the
	// old pair in service; the finished one is served at the next check.
	selfSigned(t, t.TempDir(), "unused")
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Second)
	if cn, err := served(0); err != nil || cn != "first" {
		t.Fatalf("during rotation: served %q, %v; want the first certificate still", cn, err)
	}
	selfSigned(t, dir, "second")
	if cn, _ := served(0); cn != "first" {
		t.Errorf("served %q before the next check; want the first certificate", cn)
	}
	now = now.Add(2 * time.Second)
	if cn, err := served(0); err != nil || cn != "second" {
		t.Errorf("after rotation: served %q, %v; want the second certificate", cn, err)
	}
}

func TestPlainHTTPOnlyOnLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:0": true, "[::1]:8443": true, "localhost:5001": true,
		":8443": false, "0.0.0.0:8443": false, "10.0.0.1:8443": false, "example.com:80": false,
	} {
		_, err := New(Options{Addr: addr})
		if ok != (err == nil) {
			t.Errorf("New(%s): err = %v, want error %t", addr, err, !ok)
		}
		if err != nil && !errors.Is(err, ErrPlainHTTP) {
			t.Errorf("New(%s): err = %v, want ErrPlainHTTP", addr, err)
		}
	}
	if _, err := New(Options{Addr: ":8443", CertFile: "x.crt"}); err == nil {
		t.Error("a certificate without a key was accepted")
	}
}

func TestBodyCapHealthMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := New(Options{Addr: "127.0.0.1:0", MaxBodyBytes: 1024, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	var h Health
	h.Register(s)
	RegisterMetrics(s, reg)
	s.Handle("POST /echo", "echo", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		w.Write(b)
	}))
	base := "http://" + start(t, s)

	status := func(method, path string, body io.Reader) int {
		t.Helper()
		req, err := http.NewRequest(method, base+path, body)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status("GET", "/readyz", nil); got != http.StatusServiceUnavailable {
		t.Errorf("readyz before the policies load: %d, want 503", got)
	}
	h.SetReady(true)
	if got := status("GET", "/readyz", nil); got != http.StatusOK {
		t.Errorf("readyz: %d, want 200", got)
	}
	if got := status("POST", "/echo", strings.NewReader(strings.Repeat("x", 1024))); got != http.StatusOK {
		t.Errorf("1 KiB body: %d, want 200", got)
	}
	if got := status("POST", "/echo", strings.NewReader(strings.Repeat("x", 1025))); got != http.StatusRequestEntityTooLarge {
		t.Errorf("declared 1025 bytes: %d, want 413", got)
	}
	// A chunked body declares no length: the read fails at the cap.
	if got := status("POST", "/echo", io.MultiReader(strings.NewReader(strings.Repeat("x", 2048)))); got != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked 2 KiB: %d, want 413", got)
	}

	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`dwf_http_requests_total{code="503",handler="readyz",listener="main"} 1`,
		`dwf_http_requests_total{code="413",handler="echo",listener="main"} 2`,
		`dwf_http_request_duration_seconds_count{handler="echo",listener="main"} 3`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestGracefulShutdownDrains(t *testing.T) {
	s, err := New(Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	s.Handle("GET /slow", "slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "done")
	}))
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()

	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + s.Addr() + "/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-entered
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if b := <-got; b != "done" {
		t.Errorf("in-flight request got %q, want it answered before shutdown", b)
	}
	if _, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		t.Error("still accepting connections after shutdown")
	}
}

func TestClientCA(t *testing.T) {
	srvDir, clientDir := t.TempDir(), t.TempDir()
	srvCert := selfSigned(t, srvDir, "server")
	selfSigned(t, clientDir, "apiserver") // a CA that also signs itself: the client's certificate
	if _, err := New(Options{Addr: "127.0.0.1:0", ClientCAFile: filepath.Join(clientDir, "tls.crt")}); err == nil {
		t.Error("a client CA without TLS was accepted")
	}
	if _, err := New(Options{Addr: "127.0.0.1:0", CertFile: filepath.Join(srvDir, "tls.crt"), KeyFile: filepath.Join(srvDir, "tls.key"), ClientCAFile: filepath.Join(srvDir, "tls.key")}); err == nil {
		t.Error("a client CA file without certificates was accepted")
	}
	s, err := New(Options{Addr: "127.0.0.1:0", CertFile: filepath.Join(srvDir, "tls.crt"), KeyFile: filepath.Join(srvDir, "tls.key"), ClientCAFile: filepath.Join(clientDir, "tls.crt")})
	if err != nil {
		t.Fatal(err)
	}
	new(Health).Register(s)
	s.Handle("POST /validate", "validate", s.RequireClientCert(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "judged")
	})))
	addr := start(t, s)
	pool := x509.NewCertPool()
	pool.AddCert(srvCert)
	get := func(certs []tls.Certificate, method, path string) int {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs}}}
		req, _ := http.NewRequest(method, "https://"+addr+path, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(nil, http.MethodGet, "/healthz"); code != http.StatusOK {
		t.Errorf("healthz without a client certificate: %d", code)
	}
	if code := get(nil, http.MethodPost, "/validate"); code != http.StatusUnauthorized {
		t.Errorf("validate without a client certificate: %d, want 401", code)
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(clientDir, "tls.crt"), filepath.Join(clientDir, "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	if code := get([]tls.Certificate{pair}, http.MethodPost, "/validate"); code != http.StatusOK {
		t.Errorf("validate with the client certificate: %d, want 200", code)
	}
}
