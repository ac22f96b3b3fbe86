package serving_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/devflow/dwf-policy/internal/cli"
	"github.com/devflow/dwf-policy/internal/imagetest"
	"github.com/devflow/dwf-policy/internal/serving"
)

// run runs the command line in-process with the servers linked in, as
// dwf-policy-server does.
func run(t testing.TB, wd string, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.Command{Stdout: &stdout, Stderr: &stderr, Stdin: strings.NewReader(""), WorkDir: wd, Serve: serving.Serve}.Main(context.Background(), append([]string{"dwf-policy"}, args...))
	return stdout.String(), stderr.String(), code
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
		if code != cli.ExitError || !strings.Contains(stderr, tc.want) {
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
	c := cli.Command{Serve: serving.Serve, Stdout: io.Discard, Stderr: &stderr, WorkDir: t.TempDir(), Listening: func(m, g string) { addrs <- [2]string{m, g} }}
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
		if code != cli.ExitOK {
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
	c := cli.Command{Serve: serving.Serve, Stdout: io.Discard, Stderr: &stderr, WorkDir: t.TempDir(), Listening: func(string, string) { close(ready) }}
	done := make(chan int, 1)
	go func() {
		done <- c.Main(ctx, []string{"dwf-policy", "serve", "--listen", "127.0.0.1:0", "--gate-listen", "127.0.0.1:0", "--registry-gate", upstream.URL, "--no-cache"})
	}()
	<-ready
	cancel(cli.Interrupted{Signal: syscall.SIGTERM})
	if code := <-done; code != cli.ExitOK || strings.Contains(stderr.String(), "partial") {
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
	c := cli.Command{Serve: serving.Serve, Stdout: io.Discard, Stderr: &stderr, WorkDir: t.TempDir(), Listening: func(m, g string) {
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
	if code := <-done; code != cli.ExitOK {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "admission webhook serving") {
		t.Errorf("no startup log: %s", stderr.String())
	}
}

// authRegistry is go-containerregistry's registry behind basic auth: every
// request must carry user:pass. Its root and good images are pushed.
func authRegistry(t *testing.T, user, pass string) string {
	t.Helper()
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != want && r.Header.Get("X-Test-Setup") == "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	setup := headerTransport{"X-Test-Setup", "1"}
	root := "0"
	imagetest.WriteIndex(t, host+"/team/root:1", imagetest.Index(t, imagetest.Spec{PlatformSpec: imagetest.PlatformSpec{User: &root}}.Images(t)...), setup)
	imagetest.WriteIndex(t, host+"/team/good:1", imagetest.Index(t, imagetest.Spec{}.Images(t)...), setup)
	return host
}

// headerTransport adds one header to every request (the test's own pushes).
type headerTransport [2]string

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(h[0], h[1])
	return http.DefaultTransport.RoundTrip(r)
}

func dockerConfigFile(t *testing.T, file, host, user, pass string) {
	t.Helper()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	raw, _ := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]any{"auth": auth}}})
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// server is a `dwf-policy serve` run in-process.
type server struct {
	addr   string
	stderr *syncBuffer
	cancel func()
	done   chan int
}

func startServe(t *testing.T, wd string, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan string, 1)
	s := &server{stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	c := cli.Command{Serve: serving.Serve, Stdout: io.Discard, Stderr: s.stderr, WorkDir: wd, Listening: func(m, _ string) { addrs <- m }}
	go func() {
		s.done <- c.Main(ctx, append([]string{"dwf-policy", "serve", "--listen", "127.0.0.1:0", "--no-cache"}, args...))
	}()
	select {
	case s.addr = <-addrs:
	case code := <-s.done:
		t.Fatalf("serve exited %d: %s", code, s.stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not become ready")
	}
	t.Cleanup(func() {
		cancel()
		if code := <-s.done; code != cli.ExitOK {
			t.Errorf("serve: exit %d: %s", code, s.stderr.String())
		}
	})
	return s
}

// review posts a Pod with one container image in namespace ns and returns
// the decision, its message and its warnings.
func (s *server) review(t *testing.T, ns, img string) (bool, string, []string) {
	t.Helper()
	body := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1",` +
		`"kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},` +
		`"namespace":"` + ns + `","operation":"CREATE","userInfo":{},` +
		`"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"app","image":"` + img + `"}]}}}}`
	resp, err := http.Post("http://"+s.addr+"/validate?timeout=10s", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Response struct {
			Allowed bool `json:"allowed"`
			Status  struct {
				Message string `json:"message"`
			} `json:"status"`
			Warnings []string `json:"warnings"`
		} `json:"response"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s: %v", resp.Status, err)
	}
	return out.Response.Allowed, out.Response.Status.Message, out.Response.Warnings
}

// TestServeConfigAndDockerConfig: the webhook: section of --config sets
// serve's settings, flags override it, and images are pulled with the
// static Docker config it names, never with the ambient one.
func TestServeConfigAndDockerConfig(t *testing.T) {
	fileReg := authRegistry(t, "alice", "s3cret")   // credentials in the configured Docker config
	ambientReg := authRegistry(t, "bob", "hunter2") // credentials only in $DOCKER_CONFIG
	ambient := t.TempDir()
	dockerConfigFile(t, filepath.Join(ambient, "config.json"), ambientReg, "bob", "hunter2")
	t.Setenv("DOCKER_CONFIG", ambient)

	wd := t.TempDir()
	dockerConfigFile(t, filepath.Join(wd, "etc", "registry", "config.json"), fileReg, "alice", "s3cret")
	cfg := "webhook:\n" +
		"  mode: enforce\n" +
		"  exempt_namespaces: [ops]\n" +
		"  insecure_registries: [" + fileReg + ", " + ambientReg + "]\n" +
		"  allowed_registries: [" + fileReg + ", " + ambientReg + "]\n" +
		"  docker_config: registry/config.json\n" +
		"  rule_modes: {DWF303: warn}\n"
	if err := os.WriteFile(filepath.Join(wd, "etc", "dwf-policy.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	s := startServe(t, wd, "--config", "etc/dwf-policy.yaml")
	if ok, msg, _ := s.review(t, "apps", fileReg+"/team/good:1"); !ok {
		t.Errorf("compliant image behind the configured Docker config's credentials: denied: %s", msg)
	}
	if ok, msg, _ := s.review(t, "apps", fileReg+"/team/root:1"); ok || !strings.Contains(msg, "DWF301") {
		t.Errorf("root image: allowed %v, %q", ok, msg)
	}
	// Only the configured namespaces are exempt: kube-system is no longer.
	if ok, _, _ := s.review(t, "ops", fileReg+"/team/root:1"); !ok {
		t.Error("a namespace of exempt_namespaces was judged")
	}
	if ok, _, _ := s.review(t, "kube-system", fileReg+"/team/root:1"); ok {
		t.Error("kube-system stayed exempt although exempt_namespaces replaces the default")
	}
	// $DOCKER_CONFIG has the credentials of the other registry: serve
	// does not read it.
	if ok, msg, _ := s.review(t, "apps", ambientReg+"/team/good:1"); ok || !strings.Contains(msg, "could not verify") || !strings.Contains(strings.ToLower(msg), "unauthorized") {
		t.Errorf("an image needing the ambient Docker config's credentials: allowed %v, %q; want unauthorized", ok, msg)
	}

	// Without any Docker config, pulls are anonymous too.
	s0 := startServe(t, wd, "--insecure-registry", ambientReg, "--allowed-registry", ambientReg)
	if ok, msg, _ := s0.review(t, "apps", ambientReg+"/team/good:1"); ok || !strings.Contains(strings.ToLower(msg), "unauthorized") {
		t.Errorf("without --docker-config, an image needing the ambient Docker config's credentials: allowed %v, %q; want unauthorized", ok, msg)
	}

	// A flag overrides the file: --mode warn admits the root image.
	s2 := startServe(t, wd, "--config", "etc/dwf-policy.yaml", "--mode", "warn")
	if ok, msg, warnings := s2.review(t, "apps", fileReg+"/team/root:1"); !ok || !strings.Contains(strings.Join(warnings, "\n"), "DWF301") {
		t.Errorf("--mode warn over mode: enforce: allowed %v, %q, warnings %q", ok, msg, warnings)
	}
}

// TestServeConfigErrors: a bad webhook: section, or a setting of it the
// server cannot use, is a usage error naming the file (and the key).
func TestServeConfigErrors(t *testing.T) {
	wd := t.TempDir()
	// A bad section is a usage error naming the file and line.
	if err := os.WriteFile(filepath.Join(wd, "bad.yaml"), []byte("webhook:\n  on_eror: allow\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := run(t, wd, "serve", "--config", "bad.yaml", "--listen", "127.0.0.1:0")
	if code != cli.ExitError || !strings.Contains(stderr, `bad.yaml:2:3: unknown key "on_eror" in webhook (did you mean "on_error"?)`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	// So is a Docker config that cannot be read.
	_, stderr, code = run(t, wd, "serve", "--docker-config", "missing.json", "--listen", "127.0.0.1:0")
	if code != cli.ExitError || !strings.Contains(stderr, "--docker-config: reading Docker config") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	// A value that came from the file is named by its key in the file, not
	// by a flag the user never typed.
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	for _, tc := range []struct{ cfg, want string }{
		{"webhook:\n  docker_config: missing.json\n", "webhook.docker_config in from-file.yaml: reading Docker config"},
		{"webhook:\n  pull_secrets: true\n", "webhook.pull_secrets in from-file.yaml: "},
	} {
		if err := os.WriteFile(filepath.Join(wd, "from-file.yaml"), []byte(tc.cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr, code = run(t, wd, "serve", "--config", "from-file.yaml", "--listen", "127.0.0.1:0")
		if code != cli.ExitError || !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "--docker-config") || strings.Contains(stderr, "--pull-secrets") {
			t.Errorf("%q: exit %d, stderr %q, want %q", tc.cfg, code, stderr, tc.want)
		}
	}
}
