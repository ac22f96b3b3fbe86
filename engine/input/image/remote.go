package image

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// source reads the manifests, configs and layers of one reference.
type source interface {
	// root returns the descriptor and raw bytes of the manifest or index the
	// reference names.
	root(ctx context.Context) (v1.Descriptor, []byte, error)
	// manifest returns the raw manifest d describes.
	manifest(ctx context.Context, d v1.Descriptor) ([]byte, error)
	// config returns the raw config blob d describes.
	config(ctx context.Context, d v1.Descriptor) ([]byte, error)
	// layer opens the blob of the layer d describes, as stored (usually
	// compressed); openVerifiedLayer decompresses and verifies it.
	layer(ctx context.Context, d v1.Descriptor) (io.ReadCloser, error)
	// meta describes where the image comes from.
	meta() sourceMeta
	close()
}

// sourceMeta is what the document says about the reference itself.
type sourceMeta struct {
	Transport  string // registry, oci-layout or tarball
	Registry   string
	Repository string
	Tag        string
	// Digest is the digest the reference pins, or "".
	Digest string
}

// registrySource reads from a registry through go-containerregistry, with
// the disk cache in front of everything addressed by digest.
type registrySource struct {
	ref    name.Reference
	puller *remote.Puller
	cache  *diskCache
	// release closes the idle connections of the Load's own transport.
	release func()
	// reportBytes is what Reports may still read of report blobs.
	reportBytes atomic.Int64
}

func newRegistrySource(ref string, o *Options) (*registrySource, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("parsing reference: %w", err)
	}
	if o.insecure(r.Context().RegistryStr()) {
		if r, err = name.ParseReference(ref, name.Insecure); err != nil {
			return nil, fmt.Errorf("parsing reference: %w", err)
		}
	}
	tr, release := guardedTransport(o.Transport, newAddrGuard(o, r.Context().RegistryStr()))
	puller, err := remote.NewPuller(
		remote.WithTransport(&guardTransport{inner: tr, opts: o}),
		remote.WithAuthFromKeychain(o.Keychain),
		remote.WithRetryBackoff(o.retryBackoff()),
		remote.WithRetryStatusCodes(http.StatusRequestTimeout, http.StatusTooManyRequests,
			http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable,
			http.StatusGatewayTimeout),
		remote.WithUserAgent("dwf-policy"),
	)
	if err != nil {
		release()
		return nil, fmt.Errorf("configuring registry client: %w", err)
	}
	return &registrySource{ref: r, puller: puller, cache: newDiskCache(o.CacheDir, o.Stats), release: release}, nil
}

func (s *registrySource) meta() sourceMeta {
	m := sourceMeta{
		Transport:  "registry",
		Registry:   s.ref.Context().RegistryStr(),
		Repository: s.ref.Context().Name(),
	}
	switch r := s.ref.(type) {
	case name.Tag:
		m.Tag = r.TagStr()
	case name.Digest:
		m.Digest = r.DigestStr()
	}
	return m
}

func (s *registrySource) close() { s.release() }

func (s *registrySource) root(ctx context.Context) (v1.Descriptor, []byte, error) {
	// A reference by digest names immutable content: a cached manifest
	// answers it without a request.
	if d, ok := s.ref.(name.Digest); ok {
		if h, err := v1.NewHash(d.DigestStr()); err == nil {
			if b, ok := s.cache.blob("manifests", h); ok {
				return v1.Descriptor{Digest: h, Size: int64(len(b)), MediaType: sniffMediaType(b)}, b, nil
			}
		}
	}
	desc, err := s.puller.Get(ctx, s.ref)
	if err != nil {
		return v1.Descriptor{}, nil, fmt.Errorf("fetching manifest: %w", err)
	}
	s.cache.putBlob("manifests", desc.Digest, desc.Manifest)
	return desc.Descriptor, desc.Manifest, nil
}

func (s *registrySource) manifest(ctx context.Context, d v1.Descriptor) ([]byte, error) {
	if b, ok := s.cache.blob("manifests", d.Digest); ok {
		return b, nil
	}
	desc, err := s.puller.Get(ctx, s.ref.Context().Digest(d.Digest.String()))
	if err != nil {
		return nil, fmt.Errorf("fetching manifest %s: %w", d.Digest, err)
	}
	if !matches(desc.Manifest, d.Digest) {
		return nil, fmt.Errorf("fetching manifest %s: %w", d.Digest, ErrDigestMismatch)
	}
	s.cache.putBlob("manifests", d.Digest, desc.Manifest)
	return desc.Manifest, nil
}

func (s *registrySource) config(ctx context.Context, d v1.Descriptor) ([]byte, error) {
	if b, ok := s.cache.blob("configs", d.Digest); ok {
		return b, nil
	}
	l, err := s.puller.Layer(ctx, s.ref.Context().Digest(d.Digest.String()))
	if err != nil {
		return nil, fmt.Errorf("fetching config %s: %w", d.Digest, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, fmt.Errorf("fetching config %s: %w", d.Digest, err)
	}
	defer rc.Close()
	b, err := readCapped(mismatchReader{rc, "config " + d.Digest.String()}, maxConfigBytes)
	if err != nil {
		return nil, fmt.Errorf("fetching config %s: %w", d.Digest, err)
	}
	if !matches(b, d.Digest) {
		return nil, fmt.Errorf("fetching config %s: %w", d.Digest, ErrDigestMismatch)
	}
	s.cache.putBlob("configs", d.Digest, b)
	return b, nil
}

func (s *registrySource) layer(ctx context.Context, d v1.Descriptor) (io.ReadCloser, error) {
	l, err := s.puller.Layer(ctx, s.ref.Context().Digest(d.Digest.String()))
	if err != nil {
		return nil, fmt.Errorf("fetching layer %s: %w", d.Digest, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, fmt.Errorf("fetching layer %s: %w", d.Digest, err)
	}
	return mismatchReader{rc, "layer " + d.Digest.String()}, nil
}

// mismatchReader marks the errors of go-containerregistry's own digest and
// size verification, which it applies to every blob it streams, with
// ErrDigestMismatch. Its error type is internal, so the message is matched.
type mismatchReader struct {
	io.ReadCloser
	what string
}

func (r mismatchReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if err != nil && err != io.EOF && strings.HasPrefix(err.Error(), "error verifying ") {
		err = fmt.Errorf("%s: %w: %v", r.what, ErrDigestMismatch, err)
	}
	return n, err
}

// guardTransport counts every request that goes out, refuses plain HTTP
// to hosts not listed as insecure, and ends redirect chains after
// maxRedirects hops. go-containerregistry itself falls back to HTTP for
// loopback and private addresses; the guard makes HTTPS the rule everywhere
// unless the user says otherwise. Which addresses may be dialed at all is
// addrGuard's job, in the transport underneath.
//
// A registry that answers 429 or 503 with Retry-After is not asked again
// by this Load before that time: go-containerregistry's retries (which
// ignore the header) get the same answer replayed, so a throttled
// registry sees one request, not one per retry.
type guardTransport struct {
	inner http.RoundTripper
	opts  *Options
	mu    sync.Mutex
	// waits holds, by host, the answer that asked the client to wait.
	waits map[string]*retryAfter
}

// retryAfter is a 429 or 503 answer with the time its Retry-After names.
type retryAfter struct {
	until  time.Time
	status int
	header http.Header
	body   []byte
}

func (t *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !t.opts.insecure(req.URL.Host) {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), &insecureError{host: req.URL.Host, given: t.opts.InsecureRegistries})
	}
	if redirectHops(req) >= maxRedirects {
		return nil, fmt.Errorf("%s %s: stopped after %d redirects", req.Method, req.URL.Redacted(), maxRedirects)
	}
	if resp := t.replay(req); resp != nil {
		return resp, nil
	}
	t.opts.Stats.Requests.Add(1)
	resp, err := t.inner.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		t.remember(req, resp)
	}
	if req.Method != http.MethodGet || resp.StatusCode != http.StatusOK || !strings.Contains(req.URL.Path, "/manifests/") {
		return resp, nil
	}
	// go-containerregistry reads up to 100 MiB of a manifest; real ones
	// are a few KiB, and a webhook has many lookups in flight.
	if resp.ContentLength > maxManifestBytes {
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), errManifestTooLarge)
	}
	resp.Body = &cappedBody{ReadCloser: resp.Body, left: maxManifestBytes}
	return resp, nil
}

// remember keeps resp, a 429 or 503, when its Retry-After asks for a wait.
func (t *guardTransport) remember(req *http.Request, resp *http.Response) {
	v := resp.Header.Get("Retry-After")
	var until time.Time
	if secs, err := strconv.Atoi(v); err == nil {
		until = time.Now().Add(time.Duration(secs) * time.Second)
	} else if at, err := http.ParseTime(v); err == nil {
		until = at
	}
	if !time.Now().Before(until) {
		return
	}
	// Error bodies are small; go-containerregistry reads 64 KiB of one.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.waits == nil {
		t.waits = map[string]*retryAfter{}
	}
	t.waits[req.URL.Host] = &retryAfter{until: until, status: resp.StatusCode, header: resp.Header.Clone(), body: body}
}

// replay answers req with the remembered answer of its host while that
// answer's wait lasts.
func (t *guardTransport) replay(req *http.Request) *http.Response {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.waits[req.URL.Host]
	if w == nil || !time.Now().Before(w.until) {
		return nil
	}
	return &http.Response{
		Status:     fmt.Sprintf("%d %s", w.status, http.StatusText(w.status)),
		StatusCode: w.status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: w.header.Clone(), Body: io.NopCloser(bytes.NewReader(w.body)),
		ContentLength: int64(len(w.body)), Request: req,
	}
}

// errManifestTooLarge: a registry sent a manifest above maxManifestBytes.
var errManifestTooLarge = fmt.Errorf("manifest larger than %d bytes", maxManifestBytes)

// cappedBody fails the read that goes past left bytes.
type cappedBody struct {
	io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// At the cap: any further byte makes it too large.
		var one [1]byte
		n, err := b.ReadCloser.Read(one[:])
		if n > 0 {
			return 0, errManifestTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// readCapped reads r fully, failing when it holds more than limit bytes.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &capError{limit: limit}
	}
	return b, nil
}

// capError: a blob is larger than the limit it is read with.
type capError struct{ limit int64 }

func (e *capError) Error() string { return fmt.Sprintf("larger than %d bytes", e.limit) }

// sniffMediaType reads the mediaType field of a manifest, or guesses it
// from the fields present when it is absent (older Docker indexes omit it).
func sniffMediaType(b []byte) types.MediaType {
	var m struct {
		MediaType types.MediaType `json:"mediaType"`
		Manifests []any           `json:"manifests"`
		Config    any             `json:"config"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return ""
	}
	switch {
	case m.MediaType != "":
		return m.MediaType
	case m.Manifests != nil:
		return types.OCIImageIndex
	case m.Config != nil:
		return types.OCIManifestSchema1
	}
	return ""
}
