package cli

import (
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
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/devflow/dwf-policy/internal/imagetest"
)

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

// serving is a `dwf-policy serve` run in-process.
type serving struct {
	addr   string
	stderr *syncBuffer
	cancel func()
	done   chan int
}

func startServe(t *testing.T, wd string, args ...string) *serving {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan string, 1)
	s := &serving{stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	c := Command{Stdout: io.Discard, Stderr: s.stderr, WorkDir: wd, Listening: func(m, _ string) { addrs <- m }}
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
		if code := <-s.done; code != ExitOK {
			t.Errorf("serve: exit %d: %s", code, s.stderr.String())
		}
	})
	return s
}

// review posts a Pod with one container image in namespace ns and returns
// the decision, its message and its warnings.
func (s *serving) review(t *testing.T, ns, img string) (bool, string, []string) {
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

func TestServeConfigPrecedence(t *testing.T) {
	wd := t.TempDir()
	cfg := `webhook:
  mode: audit
  fail_on: warning
  on_error: allow
  exempt_namespaces: [ops]
  allowed_registries: [registry.internal:5000]
  insecure_registries: [registry.internal:5000]
  pull_secrets: true
  docker_config: /run/secrets/config.json
  rule_modes: {DWF603: warn, DWF301: audit}
  gate: {mode: enforce, exempt: [mirror/*], only: [team/*]}
`
	if err := os.WriteFile(filepath.Join(wd, "c.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	fromFile := serveFlags{mode: "audit", failOn: "warning", onError: "allow", exemptNamespaces: []string{"ops"},
		allowedRegistries: []string{"registry.internal:5000"}, pullSecrets: true, dockerConfig: "/run/secrets/config.json",
		ruleModes: []string{"DWF301=audit", "DWF603=warn"}, gateMode: "enforce", gateExempt: []string{"mirror/*"}, gateOnly: []string{"team/*"}}
	fromFile.insecure = []string{"registry.internal:5000"}
	fromFile.config = "c.yaml"
	for _, tc := range []struct {
		name    string
		flags   serveFlags
		changed []string
		want    serveFlags
	}{
		{"the file fills what no flag gives", serveFlags{mode: "enforce", failOn: "error", onError: "deny"}, nil, fromFile},
		{"flags win", serveFlags{mode: "warn", failOn: "error", onError: "deny", exemptNamespaces: []string{"x"}, pullSecrets: false, ruleModes: []string{"DWF603=enforce"}},
			[]string{"mode", "fail-on", "exempt-namespace", "pull-secrets", "rule-mode"},
			func() serveFlags {
				w := fromFile
				// --mode sets both the webhook's and the gate's mode.
				w.mode, w.failOn, w.exemptNamespaces, w.pullSecrets, w.ruleModes, w.gateMode = "warn", "error", []string{"x"}, false, []string{"DWF603=enforce"}, ""
				return w
			}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fl := tc.flags
			fl.config = "c.yaml"
			changed := func(f string) bool { return strings.Contains(" "+strings.Join(tc.changed, " ")+" ", " "+f+" ") }
			if err := (Command{WorkDir: wd}).serveConfig(&fl, changed); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, fl, cmp.AllowUnexported(serveFlags{}, policyFlags{}, registryFlags{}), cmpopts.IgnoreFields(serveFlags{}, "fromConfig")); diff != "" {
				t.Errorf("flags (-want +got):\n%s", diff)
			}
		})
	}

	// A bad section is a usage error naming the file and line.
	if err := os.WriteFile(filepath.Join(wd, "bad.yaml"), []byte("webhook:\n  on_eror: allow\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := run(t, wd, "serve", "--config", "bad.yaml", "--listen", "127.0.0.1:0")
	if code != ExitError || !strings.Contains(stderr, `bad.yaml:2:3: unknown key "on_eror" in webhook (did you mean "on_error"?)`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	// So is a Docker config that cannot be read.
	_, stderr, code = run(t, wd, "serve", "--docker-config", "missing.json", "--listen", "127.0.0.1:0")
	if code != ExitError || !strings.Contains(stderr, "--docker-config: reading Docker config") {
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
		if code != ExitError || !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "--docker-config") || strings.Contains(stderr, "--pull-secrets") {
			t.Errorf("%q: exit %d, stderr %q, want %q", tc.cfg, code, stderr, tc.want)
		}
	}
}
