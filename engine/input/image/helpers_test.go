package image

import (
	"archive/tar"
	"context"
	"github.com/devflow/dwf-policy/internal/imagetest"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/devflow/dwf-policy/engine/document"
)

// file is one tar entry of a test layer.
// file is one entry of a test layer (see imagetest.File).
type file = imagetest.File

// dir, whiteout, opaque and symlink build special entries.
var (
	dir      = imagetest.Dir
	whiteout = imagetest.Whiteout
	opaque   = imagetest.Opaque
	symlink  = imagetest.Symlink
	tarBytes = imagetest.Tar
	layer    = imagetest.Layer
	image    = imagetest.Image
	index    = imagetest.Index
)

const (
	passwdBase = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
	groupBase  = "root:x:0:\nstaff:x:50:dwfuser\nnogroup:x:65534:\n"
)

// baseLayer is a small root filesystem with /etc/passwd, /etc/group and tini.
func baseLayer(t testing.TB, comp compression.Compression, passwd string) v1.Layer {
	t.Helper()
	return layer(t, comp,
		dir("etc"),
		file{Name: "etc/passwd", Body: passwd},
		file{Name: "etc/group", Body: groupBase},
		dir("usr/bin"),
		file{Name: "usr/bin/tini", Body: "\x7fELF tini"},
	)
}

// goodConfig is a compliant config: USER 1001, tini.
func goodConfig() v1.Config {
	return v1.Config{
		User:       "1001",
		Entrypoint: []string{"/usr/bin/tini", "--"},
		Cmd:        []string{"/app/server"},
		Env:        []string{"PATH=/usr/local/bin:/usr/bin:/bin", "APP=1"},
		Labels:     map[string]string{"org.opencontainers.image.source": "https://example.com/app"},
		WorkingDir: "/app",
	}
}

// attestation is a BuildKit-style attestation manifest entry.
func attestation(t testing.TB, of v1.Image) mutate.IndexAddendum {
	t.Helper()
	att, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	d, err := of.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
		Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
		Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": d.String()},
	}}
}

// testRegistry is go-containerregistry's in-process registry behind an
// HTTPS httptest server.
type testRegistry struct {
	host      string
	transport http.RoundTripper
}

// newRegistry starts a registry; wrap, when not nil, sits in front of it to
// inject failures.
func newRegistry(t testing.TB, wrap func(http.Handler) http.Handler) *testRegistry {
	t.Helper()
	r := imagetest.NewRegistry(t, wrap)
	return &testRegistry{host: r.Host, transport: imagetest.Transport()}
}

func (r *testRegistry) ref(repo string) string { return r.host + "/" + repo }

func (r *testRegistry) push(t testing.TB, ref string, img v1.Image) v1.Hash {
	t.Helper()
	return imagetest.Write(t, ref, img, r.transport)
}

func (r *testRegistry) pushIndex(t testing.TB, ref string, idx v1.ImageIndex) v1.Hash {
	t.Helper()
	return imagetest.WriteIndex(t, ref, idx, r.transport)
}

// options are Options for tests: the registry's transport, no credentials
// from the machine, fast retries, a fresh Stats.
func (r *testRegistry) options() Options {
	return Options{
		Transport:  r.transport,
		Keychain:   authn.NewMultiKeychain(),
		RetryDelay: time.Millisecond,
		Stats:      new(Stats),
	}
}

// load runs Load and checks the shape of what it returns: one image
// document that matches the JSON schema.
func load(t testing.TB, ref string, o Options) map[string]any {
	t.Helper()
	docs, err := Load(context.Background(), ref, o)
	if err != nil {
		t.Fatalf("Load(%s): %v", ref, err)
	}
	if len(docs) != 1 {
		t.Fatalf("Load(%s) returned %d documents, want 1", ref, len(docs))
	}
	d := docs[0]
	if d.Kind != document.KindImage || d.Path != ref || d.Source != nil {
		t.Errorf("document Kind, Path, Source = %q, %q, %v; want image, %q, nil", d.Kind, d.Path, d.Source, ref)
	}
	checkSchema(t, d.Input)
	return d.Input
}

// platform returns the platform object named p ("linux/amd64").
func platform(t testing.TB, doc map[string]any, p string) map[string]any {
	t.Helper()
	for _, x := range doc["platforms"].([]any) {
		m := x.(map[string]any)
		if m["platform"] == p {
			return m
		}
	}
	t.Fatalf("no platform %s in document", p)
	return nil
}

// userOf returns the derived user object of platform p.
func userOf(t testing.TB, doc map[string]any, p string) map[string]any {
	t.Helper()
	return platform(t, doc, p)["user"].(map[string]any)
}

// newPlainRegistry starts a registry over plain HTTP and returns its host.
func newPlainRegistry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// writeLayout writes an OCI image layout holding idx (one entry) and/or
// imgs (one entry each, without a platform) and returns its directory.
func writeLayout(t testing.TB, idx v1.ImageIndex, imgs []v1.Image) string {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if idx != nil {
		if err := p.AppendIndex(idx); err != nil {
			t.Fatal(err)
		}
	}
	for _, img := range imgs {
		if err := p.AppendImage(img); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tarDir packs the files under dir into a tar and returns its path.
func tarDir(t testing.TB, dir string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "image.tar")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	if err := tw.AddFS(os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// writeDockerSave writes img as a `docker save` archive (manifest.json, no
// OCI layout) and returns its path.
func writeDockerSave(t testing.TB, img v1.Image) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "save.tar")
	if err := tarball.WriteToFile(out, name.MustParseReference("example.com/app:1"), img); err != nil {
		t.Fatal(err)
	}
	return out
}

// writeFile writes content to a new file and returns its path.
func writeFile(t testing.TB, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPlatformWithoutOSOrArchitecture: a config that states no platform is
// named without one, never "/" or "(/)".
func TestPlatformWithoutOSOrArchitecture(t *testing.T) {
	for _, tc := range []struct {
		p            v1.Platform
		str, subject string
	}{
		{v1.Platform{}, "", "app@sha256:1"},
		{v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, "linux/arm64/v8", "app@sha256:1 (linux/arm64/v8)"},
		{v1.Platform{OS: "linux"}, "linux/", "app@sha256:1 (linux/)"},
	} {
		if got := platformString(tc.p); got != tc.str {
			t.Errorf("platformString(%+v) = %q, want %q", tc.p, got, tc.str)
		}
		if got := platformSubject("app@sha256:1", platformString(tc.p)); got != tc.subject {
			t.Errorf("platformSubject(%+v) = %q, want %q", tc.p, got, tc.subject)
		}
	}
}
