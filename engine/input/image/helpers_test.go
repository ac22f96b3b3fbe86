package image

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
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
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/devflow/dwf-policy/engine/document"
)

// file is one tar entry of a test layer.
type file struct {
	name string
	body string
	// typeflag defaults to a regular file; links use link.
	typeflag byte
	link     string
}

// dir, whiteout, opaque and symlink build special entries.
func dir(name string) file { return file{name: name, typeflag: tar.TypeDir} }
func whiteout(name string) file {
	d, b := path.Split(name)
	return file{name: d + ".wh." + b}
}
func opaque(dirName string) file { return file{name: dirName + "/.wh..wh..opq"} }
func symlink(name, target string) file {
	return file{name: name, typeflag: tar.TypeSymlink, link: target}
}

// tarBytes writes files as an uncompressed tar.
func tarBytes(t testing.TB, files ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: 0o644, Typeflag: f.typeflag, Linkname: f.link, ModTime: time.Unix(0, 0)}
		switch f.typeflag {
		case 0:
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(f.body))
		case tar.TypeDir:
			hdr.Mode = 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := io.WriteString(tw, f.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// layer compresses files with gzip or zstd under the matching OCI media type.
func layer(t testing.TB, comp compression.Compression, files ...file) v1.Layer {
	t.Helper()
	b := tarBytes(t, files...)
	mt := types.OCILayer
	if comp == compression.ZStd {
		mt = types.OCILayerZStd
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		tarball.WithCompression(comp), tarball.WithMediaType(mt), tarball.WithCompressedCaching)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

const (
	passwdBase = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
	groupBase  = "root:x:0:\nstaff:x:50:dwfuser\nnogroup:x:65534:\n"
)

// baseLayer is a small root filesystem with /etc/passwd, /etc/group and tini.
func baseLayer(t testing.TB, comp compression.Compression, passwd string) v1.Layer {
	t.Helper()
	return layer(t, comp,
		dir("etc"),
		file{name: "etc/passwd", body: passwd},
		file{name: "etc/group", body: groupBase},
		dir("usr/bin"),
		file{name: "usr/bin/tini", body: "\x7fELF tini"},
	)
}

// image builds an OCI image for platform p ("linux/arm64") with cfg and
// layers (bottom first).
func image(t testing.TB, p string, cfg v1.Config, layers ...v1.Layer) v1.Image {
	t.Helper()
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(img, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	plat, err := v1.ParsePlatform(p)
	if err != nil {
		t.Fatal(err)
	}
	cf.OS, cf.Architecture, cf.Variant = plat.OS, plat.Architecture, plat.Variant
	cf.Config = cfg
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
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

// index puts images into an OCI index, each under its config's platform.
func index(t testing.TB, imgs ...v1.Image) v1.ImageIndex {
	t.Helper()
	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}},
		})
	}
	return idx
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
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return &testRegistry{host: srv.Listener.Addr().String(), transport: srv.Client().Transport}
}

func (r *testRegistry) ref(repo string) string { return r.host + "/" + repo }

func (r *testRegistry) push(t testing.TB, ref string, img v1.Image) v1.Hash {
	t.Helper()
	n, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(n, img, remote.WithTransport(r.transport)); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (r *testRegistry) pushIndex(t testing.TB, ref string, idx v1.ImageIndex) v1.Hash {
	t.Helper()
	n, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(n, idx, remote.WithTransport(r.transport)); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
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
