package admission

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

func dockerConfigJSON(host, user, pass string) string {
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	return `{"auths": {"` + host + `": {"auth": "` + auth + `"}}, "credsStore": "desktop"}`
}

// authFor resolves the credentials k gives the registry host.
func authFor(t *testing.T, k authn.Keychain, host string) authn.AuthConfig {
	t.Helper()
	reg, err := name.NewRegistry(host)
	if err != nil {
		t.Fatal(err)
	}
	a, err := k.Resolve(reg)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := a.Authorization()
	if err != nil {
		t.Fatal(err)
	}
	return *cfg
}

func TestStaticKeychain(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config.json")
	writeFile(t, file, dockerConfigJSON("https://registry.example:5000/v1/", "alice", "s3cret"))
	k, err := NewStaticKeychain(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a := authFor(t, k, "registry.example:5000"); a.Username != "alice" || a.Password != "s3cret" {
		t.Errorf("registry.example:5000: %+v", a)
	}
	// Another registry is anonymous; the credential helper is never run.
	if a := authFor(t, k, "ghcr.io"); a != (authn.AuthConfig{}) {
		t.Errorf("ghcr.io: %+v, want anonymous", a)
	}

	// A changed file is read again on the next request.
	writeFile(t, file, dockerConfigJSON("registry.example:5000", "bob", "hunter2"))
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(file, later, later); err != nil {
		t.Fatal(err)
	}
	if a := authFor(t, k, "registry.example:5000"); a.Username != "bob" {
		t.Errorf("after the change: %+v, want bob", a)
	}
	// A broken change keeps the credentials in use.
	writeFile(t, file, "{not json")
	if err := os.Chtimes(file, later.Add(time.Minute), later.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if a := authFor(t, k, "registry.example:5000"); a.Username != "bob" {
		t.Errorf("after a broken change: %+v, want bob kept", a)
	}
	// A removed file too.
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if a := authFor(t, k, "registry.example:5000"); a.Username != "bob" {
		t.Errorf("after removal: %+v, want bob kept", a)
	}
	// A valid config without credentials revokes them: emptying the Secret
	// is how an operator takes credentials away.
	writeFile(t, file, `{"auths": {}, "credsStore": "desktop"}`)
	if a := authFor(t, k, "registry.example:5000"); a != (authn.AuthConfig{}) {
		t.Errorf("after the credentials were removed: %+v, want anonymous", a)
	}
	// And credentials written back are used again.
	writeFile(t, file, dockerConfigJSON("registry.example:5000", "carol", "pw"))
	later = later.Add(time.Hour)
	if err := os.Chtimes(file, later, later); err != nil {
		t.Fatal(err)
	}
	if a := authFor(t, k, "registry.example:5000"); a.Username != "carol" {
		t.Errorf("after credentials came back: %+v, want carol", a)
	}
}

func TestStaticKeychainErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, body, want string
	}{
		{"missing", "", "no such file"},
		{"not json", "auths: {}", "not a config.json"},
		{"helpers only", `{"credsStore": "desktop"}`, `no credentials under "auths" (credential helpers are not run)`},
		{"too large", `{"auths": {}, "x": "` + strings.Repeat("a", maxDockerConfigBytes) + `"}`, "larger than"},
		{"fifo", "", "not a regular file"}, // refused at once, never blocks
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			if tc.body != "" {
				writeFile(t, file, tc.body)
			}
			if tc.name == "fifo" {
				if err := syscall.Mkfifo(file, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := NewStaticKeychain(file, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Docker config") {
				t.Errorf("err = %v, want one naming the Docker config and %q", err, tc.want)
			}
		})
	}
}

// A checker without a keychain of its own pulls anonymously after the
// pod's secrets: the webhook never falls back to the Docker config of
// whoever runs it ($DOCKER_CONFIG, ~/.docker/config.json) or its helpers.
func TestNoAmbientCredentials(t *testing.T) {
	f := newFixture(t, Options{})
	ambient := t.TempDir()
	writeFile(t, filepath.Join(ambient, "config.json"), dockerConfigJSON(f.reg.Host, "alice", "s3cret"))
	t.Setenv("DOCKER_CONFIG", ambient)
	f.basicAuth.Store("Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret")))
	r := f.post(t, reviewJSON(t, deployment("app", podOpts{image: f.good}), reviewOpts{}), "")
	if r.Allowed || !strings.Contains(message(r), "unauthorized") {
		t.Fatalf("pulled with the ambient Docker config: allowed %v, %s", r.Allowed, message(r))
	}
}
