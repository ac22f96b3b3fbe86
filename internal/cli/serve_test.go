package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/devflow/dwf-policy/internal/imagetest"
)

func TestServeHelpExplainsEveryFlag(t *testing.T) {
	out, _, code := run(t, t.TempDir(), "serve", "--help")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	for _, flag := range []string{"--listen", "--tls-cert", "--tls-key", "--registry-gate", "--gate-listen", "--mode", "--on-error",
		"--fail-on", "--events-token-file", "--gate-exempt", "--gate-only", "--max-manifest-size", "--timeout", "--insecure-registry",
		"--config", "--policy", "--verification-key", "--log-level", "--client-ca", "--admission", "--exempt-namespace", "--allowed-registry", "--pull-secrets", "--docker-config", "--policy-reload", "--rule-mode", "/validate", "webhook:", "~/.docker/config.json",
		"--reconcile-interval", "--reconcile-repository", "--reconcile-catalog", "--reconcile-rate"} {
		if !strings.Contains(out, flag) {
			t.Errorf("serve --help does not mention %s", flag)
		}
	}
	if !strings.Contains(out, "give up judging one image after this long") || !strings.Contains(out, "(default 30s)") {
		t.Errorf("serve --help does not explain its own --timeout:\n%s", out)
	}
}

func TestServeUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--admission=false"}, "nothing to serve"},
		{[]string{"serve", "--client-ca", "ca.pem"}, "--client-ca"},
		{[]string{"serve", "--rule-mode", "DWF603=loud"}, "--rule-mode"},
		{[]string{"serve", "--rule-mode", "DWF603"}, "--rule-mode"},
		{[]string{"serve", "--pull-secrets", "--listen", "127.0.0.1:0"}, "--pull-secrets"},
		{[]string{"serve", "--registry-gate", "ftp://x"}, "--registry-gate"},
		{[]string{"serve", "--registry-gate", "http://127.0.0.1:5000", "--mode", "loud"}, "--mode"},
		{[]string{"serve", "--registry-gate", "http://127.0.0.1:5000", "--on-error", "maybe"}, "--on-error"},
		{[]string{"serve", "--registry-gate", "http://127.0.0.1:5000", "--fail-on", "none"}, "--fail-on"},
		{[]string{"serve", "--registry-gate", "http://127.0.0.1:5000", "--reconcile-repository", "team/app"}, "--reconcile-interval"},
		{[]string{"serve", "--registry-gate", "http://127.0.0.1:5000", "--reconcile-interval", "1m", "--reconcile-rate", "0"}, "--reconcile-rate"},
		{[]string{"serve", "--registry-gate", "http://127.0.0.1:5000", "--listen", "127.0.0.1:0", "--gate-listen", "127.0.0.1:0", "--reconcile-interval", "1m"}, "reconciliation needs repositories"},
		// Plain HTTP beyond loopback is refused before anything listens.
		{[]string{"serve", "--registry-gate", "http://127.0.0.1:5000", "--listen", "0.0.0.0:0"}, "loopback"},
		{[]string{"serve", "--registry-gate", "http://127.0.0.1:5000", "--listen", "127.0.0.1:0", "--gate-listen", ":0"}, "--gate-listen"},
	} {
		_, stderr, code := run(t, t.TempDir(), tc.args...)
		if code != ExitError || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming %s", tc.args, code, stderr, tc.want)
		}
	}
}

// TestServeRunsUntilCancelled serves a gate in-process and stops it as a
// signal would.
func TestServeRunsUntilCancelled(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		io.WriteString(w, "{}")
	}))
	defer upstream.Close()
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan [2]string, 1)
	var stderr syncBuffer
	c := Command{Stdout: io.Discard, Stderr: &stderr, WorkDir: t.TempDir(), Listening: func(m, g string) { addrs <- [2]string{m, g} }}
	done := make(chan int, 1)
	go func() {
		done <- c.Main(ctx, []string{"dwf-policy", "serve", "--listen", "127.0.0.1:0", "--gate-listen", "127.0.0.1:0", "--registry-gate", upstream.URL, "--no-cache",
			"--reconcile-interval", "1h", "--reconcile-repository", "team/app", "--reconcile-rate", "50"})
	}()
	var a [2]string
	select {
	case a = <-addrs:
	case code := <-done:
		t.Fatalf("serve exited %d: %s", code, stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not become ready")
	}
	for _, u := range []string{"http://" + a[0] + "/readyz", "http://" + a[1] + "/v2/"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", u, resp.Status)
		}
	}
	// The flags reach the gate: its first reconciliation runs at start
	// (the upstream lists no tags).
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(stderr.String(), "msg=reconciled repositories=1"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no reconciliation of team/app logged: %s", stderr.String())
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("exit %d after shutdown, want 0: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(stderr.String(), "registry gate serving") {
		t.Errorf("no startup log on stderr: %s", stderr.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeStopsCleanlyOnSignal: SIGTERM is how a server is stopped; it
// drains and exits 0 instead of reporting an interrupted run.
func TestServeStopsCleanlyOnSignal(t *testing.T) {
	upstream := httptest.NewServer(http.NotFoundHandler())
	defer upstream.Close()
	ctx, cancel := context.WithCancelCause(context.Background())
	ready := make(chan struct{})
	var stderr syncBuffer
	c := Command{Stdout: io.Discard, Stderr: &stderr, WorkDir: t.TempDir(), Listening: func(string, string) { close(ready) }}
	done := make(chan int, 1)
	go func() {
		done <- c.Main(ctx, []string{"dwf-policy", "serve", "--listen", "127.0.0.1:0", "--gate-listen", "127.0.0.1:0", "--registry-gate", upstream.URL, "--no-cache"})
	}()
	<-ready
	cancel(Interrupted{Signal: syscall.SIGTERM})
	if code := <-done; code != ExitOK || strings.Contains(stderr.String(), "partial") {
		t.Errorf("exit %d, stderr %q; want 0 and no partial-report warning", code, stderr.String())
	}
}

// TestServeAdmission serves only the admission webhook in-process, plain
// HTTP on loopback, and judges reviews of images in a registry on
// loopback.
func TestServeAdmission(t *testing.T) {
	up := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer up.Close()
	host := strings.TrimPrefix(up.URL, "http://")
	root := "0"
	imagetest.WriteIndex(t, host+"/team/root:1", imagetest.Index(t, imagetest.Spec{PlatformSpec: imagetest.PlatformSpec{User: &root}}.Images(t)...), http.DefaultTransport)
	imagetest.WriteIndex(t, host+"/team/good:1", imagetest.Index(t, imagetest.Spec{}.Images(t)...), http.DefaultTransport)

	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan string, 1)
	var stderr syncBuffer
	c := Command{Stdout: io.Discard, Stderr: &stderr, WorkDir: t.TempDir(), Listening: func(m, g string) {
		if g != "" {
			t.Errorf("a gate listens at %s without --registry-gate", g)
		}
		addrs <- m
	}}
	done := make(chan int, 1)
	go func() {
		done <- c.Main(ctx, []string{"dwf-policy", "serve", "--listen", "127.0.0.1:0", "--insecure-registry", host, "--no-cache", "--exempt-namespace", "dwf-policy"})
	}()
	var addr string
	select {
	case addr = <-addrs:
	case code := <-done:
		t.Fatalf("serve exited %d: %s", code, stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not become ready")
	}
	review := func(ns, img string) (bool, string) {
		body := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1",` +
			`"kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},` +
			`"namespace":"` + ns + `","operation":"CREATE","userInfo":{},` +
			`"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"app","image":"` + img + `"}]}}}}`
		resp, err := http.Post("http://"+addr+"/validate?timeout=10s", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Response struct {
				UID     string `json:"uid"`
				Allowed bool   `json:"allowed"`
				Status  struct {
					Message string `json:"message"`
				} `json:"status"`
			} `json:"response"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Response.UID != "u1" {
			t.Fatalf("%s: %v, uid %q", resp.Status, err, out.Response.UID)
		}
		return out.Response.Allowed, out.Response.Status.Message
	}
	if ok, msg := review("apps", host+"/team/root:1"); ok || !strings.Contains(msg, "DWF301") {
		t.Errorf("root image: allowed %v, %q", ok, msg)
	}
	if ok, msg := review("apps", host+"/team/good:1"); !ok {
		t.Errorf("compliant image denied: %s", msg)
	}
	if ok, msg := review("dwf-policy", host+"/team/root:1"); !ok {
		t.Errorf("exempt namespace judged: %s", msg)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `dwf_admission_reviews_total{decision="deny",dry_run="false",kind="Pod",operation="CREATE"} 1`) {
		t.Errorf("metrics lack the denied review:\n%s", b)
	}
	cancel()
	if code := <-done; code != ExitOK {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "admission webhook serving") {
		t.Errorf("no startup log: %s", stderr.String())
	}
}
