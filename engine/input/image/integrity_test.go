package image

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/devflow/dwf-policy/engine/document"
)

// Passwd files for the tampering tests: the real image runs dwfuser as
// root; the forged layer maps dwfuser to 1001, which would pass DWF301.
const (
	passwdRootUser   = passwdBase + "dwfuser:x:0:0::/root:/bin/sh\n"
	passwdForgedUser = passwdBase + "dwfuser:x:1001:1001::/home/dwfuser:/bin/sh\n"
)

// rootImage is an image whose USER dwfuser is root, with the passwd layer
// at the top, and the compressed bytes of a forged replacement for it.
func rootImage(t testing.TB) (img v1.Image, real v1.Layer, forged []byte) {
	t.Helper()
	cfg := goodConfig()
	cfg.User = "dwfuser"
	real = baseLayer(t, compression.GZip, passwdRootUser)
	img = image(t, "linux/amd64", cfg, real)
	return img, real, compressedBytes(t, baseLayer(t, compression.GZip, passwdForgedUser))
}

func compressedBytes(t testing.TB, l v1.Layer) []byte {
	t.Helper()
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func digestOf(t testing.TB, l v1.Layer) v1.Hash {
	t.Helper()
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// wantMismatch fails unless err says that the layer's content does not
// match its digests, naming the layer.
func wantMismatch(t testing.TB, err error, layer v1.Hash) {
	t.Helper()
	if !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("err = %v, want ErrDigestMismatch", err)
	}
	if !strings.Contains(err.Error(), layer.String()) {
		t.Errorf("error %q does not name the layer %s", err, layer)
	}
	if _, ok := errors.AsType[*document.ParseError](err); ok {
		t.Errorf("err = %v is a ParseError: a tampered image must fail the run whatever the configuration", err)
	}
}

func TestTamperedLayerInLayout(t *testing.T) {
	img, real, forged := rootImage(t)
	imgDigest, _ := img.Digest()

	// The passwd layer's blob is swapped for the forged one under the
	// real layer's digest.
	dir := writeLayout(t, nil, []v1.Image{img})
	if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", digestOf(t, real).Hex), forged, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"oci-layout:" + dir, "oci-layout:" + dir + "@" + imgDigest.String(), "tarball:" + tarDir(t, dir)} {
		t.Run(ref[:strings.IndexByte(ref, ':')], func(t *testing.T) {
			docs, err := Load(context.Background(), ref, Options{})
			if docs != nil {
				t.Fatalf("Load returned a document for a tampered image: user %v", userOf(t, docs[0].Input, "linux/amd64"))
			}
			wantMismatch(t, err, digestOf(t, real))
		})
	}
}

// TestForgedLayerDigest: a manifest may name the forged blob by its true
// digest, but the config's diff IDs still name the real layer's tar.
func TestForgedLayerDigest(t *testing.T) {
	img, real, forged := rootImage(t)
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	m = m.DeepCopy()
	m.Layers[0].Digest = sha256Hash(forged)
	m.Layers[0].Size = int64(len(forged))
	dir := writeLayout(t, nil, []v1.Image{img})
	if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", m.Layers[0].Digest.Hex), forged, 0o644); err != nil {
		t.Fatal(err)
	}
	raw := mustJSON(t, m)
	mDigest := sha256Hash(raw)
	if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", mDigest.Hex), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(context.Background(), "oci-layout:"+dir+"@"+mDigest.String(), Options{})
	wantMismatch(t, err, m.Layers[0].Digest)
	if !strings.Contains(err.Error(), "diff ID") {
		t.Errorf("error %q should say the diff ID does not match", err)
	}
	_ = real
}

// TestTruncatedLayerList: a config whose rootfs lists fewer diff IDs than
// the manifest has layers cannot be verified.
func TestTruncatedLayerList(t *testing.T) {
	img, _, _ := rootImage(t)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.RootFS.DiffIDs = nil
	bad, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Load(context.Background(), "oci-layout:"+writeLayout(t, nil, []v1.Image{bad}), Options{})
	if !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("err = %v, want ErrDigestMismatch", err)
	}
}

// tamperBlob serves forged in place of the blob digest while on is set.
func tamperBlob(digest v1.Hash, forged []byte, on *atomic.Bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if on.Load() && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+digest.String()) {
				w.Header().Set("Content-Length", strconv.Itoa(len(forged)))
				w.Header().Set("Docker-Content-Digest", digest.String())
				_, _ = w.Write(forged)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// TestTamperedLayerInRegistry: a registry (or a mirror) serves a forged
// passwd layer for an image pinned by digest. It is an error, and the
// cache it would have poisoned still gives the real image's verdict.
func TestTamperedLayerInRegistry(t *testing.T) {
	img, real, forged := rootImage(t)
	var on atomic.Bool
	reg := newRegistry(t, tamperBlob(digestOf(t, real), forged, &on))
	digest := reg.push(t, reg.ref("team/app:1"), img)
	ref := reg.ref("team/app@" + digest.String())
	cacheDir := t.TempDir()
	o := reg.options()
	o.CacheDir = cacheDir

	on.Store(true)
	docs, err := Load(context.Background(), ref, o)
	if docs != nil {
		t.Fatalf("Load returned a document for a tampered image: user %v", userOf(t, docs[0].Input, "linux/amd64"))
	}
	wantMismatch(t, err, digestOf(t, real))

	// The registry is repaired: the same cache now yields the real user.
	on.Store(false)
	o.Stats = new(Stats)
	doc := load(t, ref, o)
	if u := userOf(t, doc, "linux/amd64"); u["resolved_uid"] != 0 {
		t.Errorf("after a tampered load, user = %v, want dwfuser resolved to 0 (the cache was poisoned)", u)
	}
	if o.Stats.LayersRead.Load() != 1 {
		t.Errorf("read %d layers, want 1: nothing about the user was cached from the tampered load", o.Stats.LayersRead.Load())
	}
}

// TestLayerCap: a layer larger than MaxLayerBytes is an error naming the
// cap, not a resolution from its first bytes.
func TestLayerCap(t *testing.T) {
	cfg := goodConfig()
	cfg.User = "dwfuser"
	big := layer(t, compression.None, file{Name: "etc/passwd", Body: passwdForgedUser}, file{Name: "blob", Body: strings.Repeat("x", 64<<10)})
	img := image(t, "linux/amd64", cfg, big)
	_, err := Load(context.Background(), "oci-layout:"+writeLayout(t, nil, []v1.Image{img}), Options{MaxLayerBytes: 32 << 10})
	if err == nil || !strings.Contains(err.Error(), "larger than 32768 bytes") {
		t.Errorf("err = %v, want the layer cap", err)
	}
}

// TestVerifiedLayer checks the verifying reader on its own: compressed and
// uncompressed digests, sizes, trailing bytes.
func TestVerifiedLayer(t *testing.T) {
	l := layer(t, compression.GZip, file{Name: "etc/passwd", Body: passwdBase})
	comp := compressedBytes(t, l)
	d := v1.Descriptor{Digest: digestOf(t, l), Size: int64(len(comp)), MediaType: types.OCILayer}
	diffID, err := l.DiffID()
	if err != nil {
		t.Fatal(err)
	}
	read := func(b []byte, d v1.Descriptor, diffID v1.Hash) error {
		rc, err := openVerifiedLayer(context.Background(), func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }, d, diffID, 1<<20)
		if err != nil {
			return err
		}
		defer rc.Close()
		_, err = io.Copy(io.Discard, rc)
		return err
	}
	if err := read(comp, d, diffID); err != nil {
		t.Errorf("good layer: %v", err)
	}
	trailing := append(bytes.Clone(comp), 0)
	for name, tc := range map[string]struct {
		b      []byte
		d      v1.Descriptor
		diffID v1.Hash
	}{
		"wrong diff ID":   {comp, d, sha256Hash([]byte("x"))},
		"wrong digest":    {comp, v1.Descriptor{Digest: sha256Hash([]byte("x")), Size: d.Size}, diffID},
		"wrong size":      {comp, v1.Descriptor{Digest: d.Digest, Size: d.Size + 1}, diffID},
		"trailing byte":   {trailing, v1.Descriptor{Digest: sha256Hash(trailing)}, diffID},
		"unknown algo":    {comp, v1.Descriptor{Digest: v1.Hash{Algorithm: "md5", Hex: "00"}}, diffID},
		"truncated input": {comp[:len(comp)/2], v1.Descriptor{Digest: sha256Hash(comp[:len(comp)/2])}, diffID},
	} {
		if err := read(tc.b, tc.d, tc.diffID); err == nil {
			t.Errorf("%s: no error", name)
		} else if name != "truncated input" && name != "trailing byte" && !errors.Is(err, ErrDigestMismatch) {
			t.Errorf("%s: err = %v, want ErrDigestMismatch", name, err)
		}
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
