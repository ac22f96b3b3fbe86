// Package imagetest builds small, deterministic OCI images and serves them
// from go-containerregistry's in-process registry over TLS, for the tests of
// the image input and of `dwf-policy image`. Only tests import it.
package imagetest

import (
	"archive/tar"
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// File is one entry of a test layer: a regular file unless Typeflag says
// otherwise (Link is the target of a link).
type File struct {
	Name     string
	Body     string
	Typeflag byte
	Link     string
}

// Dir, Whiteout, Opaque and Symlink build special entries.
func Dir(name string) File { return File{Name: name, Typeflag: tar.TypeDir} }

// Whiteout deletes name in the layers below.
func Whiteout(name string) File {
	d, b := path.Split(name)
	return File{Name: d + ".wh." + b}
}

// Opaque hides everything below dir in the layers below.
func Opaque(dir string) File { return File{Name: dir + "/.wh..wh..opq"} }

// Symlink links name to target.
func Symlink(name, target string) File {
	return File{Name: name, Typeflag: tar.TypeSymlink, Link: target}
}

// Tar writes files as an uncompressed tar with fixed times.
func Tar(t testing.TB, files ...File) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Name: f.Name, Mode: 0o644, Typeflag: f.Typeflag, Linkname: f.Link, ModTime: time.Unix(0, 0)}
		switch f.Typeflag {
		case 0:
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(f.Body))
		case tar.TypeDir:
			hdr.Mode = 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := io.WriteString(tw, f.Body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Layer compresses files with gzip or zstd, or leaves them uncompressed
// (compression.None), under the matching OCI media type.
func Layer(t testing.TB, comp compression.Compression, files ...File) v1.Layer {
	t.Helper()
	b := Tar(t, files...)
	if comp == compression.None {
		return static.NewLayer(b, types.OCIUncompressedLayer)
	}
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

// Image builds an OCI image for platform p ("linux/arm64") with cfg and
// layers, bottom first.
func Image(t testing.TB, p string, cfg v1.Config, layers ...v1.Layer) v1.Image {
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
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// Index puts images into an OCI index, each under its config's platform.
func Index(t testing.TB, imgs ...v1.Image) v1.ImageIndex {
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

// Transport trusts every httptest TLS server (they share one certificate).
var Transport = sync.OnceValue(func() http.RoundTripper {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	return srv.Client().Transport
})

// Registry is the in-process registry behind an HTTPS httptest server. It
// counts the requests it serves by "METHOD /path".
type Registry struct {
	Host string
	mu   sync.Mutex
	hits map[string]int
}

// NewRegistry starts a registry for the test; wrap, when not nil, sits in
// front of it to inject failures.
func NewRegistry(t testing.TB, wrap func(http.Handler) http.Handler) *Registry {
	t.Helper()
	r := &Registry{hits: map[string]int{}}
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.hits[req.Method+" "+req.URL.Path]++
		r.mu.Unlock()
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.Host = srv.Listener.Addr().String()
	return r
}

// Ref names repo ("team/app:1") in this registry.
func (r *Registry) Ref(repo string) string { return r.Host + "/" + repo }

// Count is how many requests "METHOD /path" the registry served.
func (r *Registry) Count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits[key]
}

// Push writes img at ref and returns its digest.
func (r *Registry) Push(t testing.TB, ref string, img v1.Image) v1.Hash {
	t.Helper()
	return Write(t, ref, img, Transport())
}

// PushIndex writes idx at ref and returns its digest.
func (r *Registry) PushIndex(t testing.TB, ref string, idx v1.ImageIndex) v1.Hash {
	t.Helper()
	return WriteIndex(t, ref, idx, Transport())
}

// Write pushes img to ref through tr and returns its digest.
func Write(t testing.TB, ref string, img v1.Image, tr http.RoundTripper) v1.Hash {
	t.Helper()
	if err := remote.Write(parseRef(t, ref), img, remote.WithTransport(tr)); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// WriteIndex pushes idx to ref through tr and returns its digest.
func WriteIndex(t testing.TB, ref string, idx v1.ImageIndex, tr http.RoundTripper) v1.Hash {
	t.Helper()
	if err := remote.WriteIndex(parseRef(t, ref), idx, remote.WithTransport(tr)); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func parseRef(t testing.TB, ref string) name.Reference {
	t.Helper()
	n, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// RealRegistry returns the address of the docker-registry the test setup
// started (scripts/registry.sh run -- go test ...). Without one the
// integration tests are skipped locally and fail in CI, where they must
// run; pkg names the package for the hint.
func RealRegistry(t testing.TB, pkg string) string {
	t.Helper()
	addr := os.Getenv("DWF_REGISTRY")
	if addr == "" {
		how := "run `scripts/registry.sh run -- go test " + pkg + " -run Integration`"
		if os.Getenv("CI") != "" {
			t.Fatal("DWF_REGISTRY is not set in CI; " + how)
		}
		t.Skip("DWF_REGISTRY is not set; " + how)
	}
	if !strings.HasPrefix(addr, "127.0.0.1:") && !strings.HasPrefix(addr, "localhost:") {
		t.Fatalf("DWF_REGISTRY=%s: the integration tests only talk to a registry on loopback", addr)
	}
	return addr
}

// CraneVersion is the crane the test setup installs
// (scripts/install-test-tools.sh) and the integration tests drive.
const CraneVersion = "v0.22.1"

// Crane returns the path of the crane binary: $CRANE if set, else the one
// scripts/install-test-tools.sh puts in <repo>/.tools/bin. Without one the
// test is skipped locally and fails in CI.
func Crane(t testing.TB) string {
	t.Helper()
	p := os.Getenv("CRANE")
	if p == "" {
		dir, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				t.Fatal("no go.mod above the working directory")
			}
			dir = parent
		}
		p = filepath.Join(dir, ".tools", "bin", "crane")
	}
	if _, err := os.Stat(p); err != nil {
		how := "crane " + CraneVersion + " is not installed (" + p + "): run scripts/install-test-tools.sh (make tools) or set CRANE"
		if os.Getenv("CI") != "" {
			t.Fatal(how)
		}
		t.Skip(how)
	}
	return p
}
