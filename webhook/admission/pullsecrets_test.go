package admission

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeAPI serves service accounts and secrets as the Kubernetes API does,
// counting the requests.
// objects are set once the registry's address is known, before any
// review.
func fakeAPI(t *testing.T, objects *atomic.Pointer[map[string]any]) (*KubeAPI, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("Authorization") != "Bearer api-token" {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		obj, ok := (*objects.Load())[r.URL.Path]
		if !ok {
			http.Error(w, `{"kind":"Status","code":404}`, http.StatusNotFound)
			return
		}
		json.NewEncoder(w).Encode(obj)
	}))
	t.Cleanup(srv.Close)
	tok := t.TempDir() + "/token"
	writeFile(t, tok, "api-token\n")
	return &KubeAPI{Host: srv.URL, TokenFile: tok}, &hits
}

func dockerConfigSecret(host, user, pass string) map[string]any {
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	cfg, _ := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]any{"auth": auth}}})
	return map[string]any{"kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
		"data": map[string]any{".dockerconfigjson": base64.StdEncoding.EncodeToString(cfg)}}
}

func TestPullSecrets(t *testing.T) {
	var objects atomic.Pointer[map[string]any]
	api, hits := fakeAPI(t, &objects)
	f := newFixture(t, Options{KubeAPI: api})
	objects.Store(&map[string]any{
		"/api/v1/namespaces/apps/secrets/regcred":         dockerConfigSecret(f.reg.Host, "alice", "s3cret"),
		"/api/v1/namespaces/apps/secrets/sa-cred":         dockerConfigSecret("https://"+f.reg.Host+"/v1/", "bob", "hunter2"),
		"/api/v1/namespaces/apps/serviceaccounts/builder": map[string]any{"imagePullSecrets": []any{map[string]any{"name": "sa-cred"}}},
	})
	basic := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }

	pod := func(img, sa string, secrets ...string) map[string]any {
		spec := map[string]any{"containers": []any{map[string]any{"name": "app", "image": img}}}
		if sa != "" {
			spec["serviceAccountName"] = sa
		}
		var ps []any
		for _, s := range secrets {
			ps = append(ps, map[string]any{"name": s})
		}
		if ps != nil {
			spec["imagePullSecrets"] = ps
		}
		return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p", "namespace": "apps"}, "spec": spec}
	}
	f.basicAuth.Store(basic("alice", "s3cret"))
	// No pull secret: the registry refuses, and the review says so.
	r := f.post(t, reviewJSON(t, pod(f.good, ""), reviewOpts{kind: "Pod"}), "")
	if r.Allowed || !strings.Contains(message(r), "could not verify "+f.good) || !strings.Contains(message(r), "unauthorized") {
		t.Fatalf("without credentials: allowed %v, %s", r.Allowed, message(r))
	}
	// The pod's own imagePullSecrets (a missing one is skipped).
	r = f.post(t, reviewJSON(t, pod(f.good, "", "gone", "regcred"), reviewOpts{kind: "Pod"}), "")
	if !r.Allowed {
		t.Fatalf("with the pod's pull secret: %s", message(r))
	}
	// The service account's, under a Docker Hub style key.
	f.basicAuth.Store(basic("bob", "hunter2"))
	r = f.post(t, reviewJSON(t, pod(f.root, "builder"), reviewOpts{kind: "Pod"}), "")
	if r.Allowed || !strings.Contains(message(r), "DWF301") {
		t.Fatalf("with the service account's pull secret: allowed %v, %s", r.Allowed, message(r))
	}
	// Secrets and service accounts are cached for seconds.
	before := hits.Load()
	f.post(t, reviewJSON(t, pod(f.root, "builder"), reviewOpts{kind: "Pod"}), "")
	if hits.Load() != before {
		t.Errorf("the API was asked again within %s", pullSecretTTL)
	}
}

// TestNotFoundPerCredentials: a registry that answers 404 for a private
// repository to whoever may not see it. The "not found" a pod without
// pull secrets got is not what a pod with the right one gets within the
// seconds it is remembered; for the same credentials it is.
func TestNotFoundPerCredentials(t *testing.T) {
	var objects atomic.Pointer[map[string]any]
	api, _ := fakeAPI(t, &objects)
	f := newFixture(t, Options{KubeAPI: api, NotFoundTTL: time.Hour})
	objects.Store(&map[string]any{
		"/api/v1/namespaces/apps/secrets/regcred": dockerConfigSecret(f.reg.Host, "alice", "s3cret"),
	})
	f.basicAuth.Store("Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret")))
	f.hidePrivate.Store(true)
	pod := func(img string, secrets ...string) map[string]any {
		spec := map[string]any{"containers": []any{map[string]any{"name": "app", "image": img}}}
		for _, s := range secrets {
			spec["imagePullSecrets"] = []any{map[string]any{"name": s}}
		}
		return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p", "namespace": "apps"}, "spec": spec}
	}
	pinned := strings.TrimSuffix(f.good, ":1") + "@" + f.goodDigest.String()
	// The digest first: once judged, a digest's decision is everyone's.
	for _, img := range []string{pinned, f.good} {
		r := f.post(t, reviewJSON(t, pod(img), reviewOpts{kind: "Pod"}), "")
		if r.Allowed || !strings.Contains(message(r), "not found") {
			t.Fatalf("%s without a pull secret: allowed %v, %s; want not found", img, r.Allowed, message(r))
		}
		before := f.manifestGets.Load()
		if r := f.post(t, reviewJSON(t, pod(img), reviewOpts{kind: "Pod"}), ""); r.Allowed || f.manifestGets.Load() != before {
			t.Errorf("%s without a pull secret again: allowed %v after %d manifest requests; want the remembered not found", img, r.Allowed, f.manifestGets.Load()-before)
		}
		if r := f.post(t, reviewJSON(t, pod(img, "regcred"), reviewOpts{kind: "Pod"}), ""); !r.Allowed {
			t.Errorf("%s with the pull secret, after another pod's not found: %s", img, message(r))
		}
	}
}

func TestRegistryHost(t *testing.T) {
	for in, want := range map[string]string{
		"https://index.docker.io/v1/": "index.docker.io",
		"docker.io":                   "index.docker.io",
		"Registry.Example:5000":       "registry.example:5000",
		"http://127.0.0.1:5000/v2/":   "127.0.0.1:5000",
	} {
		if got := registryHost(in); got != want {
			t.Errorf("registryHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func writeFile(t *testing.T, name, body string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}
