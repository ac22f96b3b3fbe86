// Package image turns an image reference into a document that the image
// policies (DWF301–DWF305) read.
//
// A reference is a registry reference ("ghcr.io/org/app:1.2",
// "registry:5000/app@sha256:..."), an OCI image layout directory
// ("oci-layout:DIR", optionally "oci-layout:DIR@sha256:...") or a tar file
// ("tarball:FILE": an OCI layout in a tar, as `docker buildx build --output
// type=oci,dest=FILE` writes it, or a `docker save` archive). Load resolves
// tags to digests, reads every platform of an index (or those asked for),
// their configs, and resolves the configured user through /etc/passwd and
// /etc/group read from the layers, top layer first, honouring whiteouts and
// opening only the layers needed. Every layer opened is read to its end and
// verified against the manifest's layer digest and the config's diff ID, as
// manifests and configs are against theirs: content that does not match is
// an error wrapping ErrDigestMismatch, never a document.
//
// Network access happens only here and only when asked: requests carry the
// caller's context and a deadline, failed requests are retried a bounded
// number of times with backoff, per-platform fetches run with bounded
// concurrency, and plain HTTP is used only for registries listed in
// Options.InsecureRegistries. Manifests, configs and resolved users are
// cached on disk by digest when Options.CacheDir is set, so a warm run of a
// tag costs the tag lookup only.
package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/devflow/dwf-policy/engine/document"
)

// Options configures Load. The zero value is the default: every platform,
// HTTPS only, credentials from the Docker config, no cache.
type Options struct {
	// Platforms limits an index to these platforms, written os/arch or
	// os/arch/variant ("linux/arm64", "linux/arm/v7"); a platform without a
	// variant matches every variant. Empty means every platform. Asking for
	// a platform the image does not have is an error.
	Platforms []string
	// InsecureRegistries lists registry hosts ("localhost:5000") that may be
	// reached over plain HTTP. Every other host is HTTPS only, loopback and
	// private addresses included.
	InsecureRegistries []string
	// UntrustedReferences says the references come from someone other
	// than whoever configured the options (a pod spec in an admission
	// review): the reference's own registry is then guarded like any other
	// host, so it may not be at a loopback, link-local or private address
	// unless it is one of TrustedRegistries or InsecureRegistries.
	UntrustedReferences bool
	// TrustedRegistries lists registry hosts ("registry.internal:5000")
	// that may be at any address even with UntrustedReferences, such as a
	// registry inside the cluster.
	TrustedRegistries []string
	// Keychain finds credentials; nil means authn.DefaultKeychain (the
	// Docker config and its credential helpers).
	Keychain authn.Keychain
	// CacheDir holds manifests, configs and resolved users by digest; ""
	// disables the cache. Entries are immutable, so it never needs
	// invalidating; it may be deleted at any time.
	CacheDir string
	// Timeout bounds one Load, every request and layer read included;
	// 0 means DefaultTimeout.
	Timeout time.Duration
	// Transport carries the HTTP requests; nil means a transport like
	// http.DefaultTransport with a response header timeout. Tests pass the
	// transport of an httptest server. An *http.Transport is cloned for
	// each Load and its dialer guarded: hosts other than the reference's
	// registry, the InsecureRegistries and the proxy (a token realm, a
	// redirect) may not connect to loopback, link-local or (unless the
	// registry itself is private) private addresses, whatever name leads
	// there. Any other RoundTripper is used as it is.
	Transport http.RoundTripper
	// Resolver looks up the host names the address guard checks, and
	// those the built-in dialer connects to; nil means
	// net.DefaultResolver. Tests pass one that answers from a table, so
	// that a name leads to any address without asking DNS. A caller's own
	// Transport dialer still resolves the hosts it is given by name.
	Resolver *net.Resolver
	// MaxLayerBytes caps the bytes read from one layer, compressed and
	// uncompressed alike, when looking for /etc/passwd and /etc/group: a
	// layer is read to its end to verify it against its digests, and a
	// larger one is an error. 0 means DefaultMaxLayerBytes.
	MaxLayerBytes int64
	// MaxPasswdBytes caps the size of /etc/passwd and /etc/group; a larger
	// file is reported in the document (user.lookup_error), not read.
	// 0 means DefaultMaxPasswdBytes.
	MaxPasswdBytes int64
	// Concurrency bounds the platforms fetched at once; 0 means 4. An
	// index may list at most 1000 manifests, nested indexes (at most 3
	// levels) included.
	Concurrency int
	// Retries is how many times a request that failed with a temporary error
	// (a 5xx or 429 status, a reset connection) is retried; 0 means 2,
	// negative means none.
	Retries int
	// RetryDelay is the wait before the first retry, doubled for each next
	// one; 0 means 500ms.
	RetryDelay time.Duration
	// SkipLayers leaves /etc/passwd and /etc/group unread, so only manifests
	// and configs are fetched (user.passwd_checked is false). Base-image
	// resolution for Dockerfiles uses it.
	SkipLayers bool
	// Stats, when not nil, counts the requests made and the cache hits.
	Stats *Stats
}

// Defaults for the zero Options.
const (
	DefaultTimeout        = 2 * time.Minute
	DefaultMaxPasswdBytes = 1 << 20
	DefaultMaxLayerBytes  = 4 << 30
	defaultConcurrency    = 4
	defaultRetries        = 2
	defaultRetryDelay     = 500 * time.Millisecond
	// maxManifestBytes and maxConfigBytes cap what is read for one manifest
	// or config; real ones are a few KiB.
	maxManifestBytes = 4 << 20
	maxConfigBytes   = 8 << 20
)

// Stats counts what Load did. It is safe for concurrent use and may be
// shared by several Loads.
type Stats struct {
	// Requests is the number of HTTP requests sent, retries and token
	// exchanges included.
	Requests atomic.Int64
	// CacheHits and CacheMisses count disk cache lookups.
	CacheHits   atomic.Int64
	CacheMisses atomic.Int64
	// LayersRead counts layers opened to find /etc/passwd and /etc/group.
	LayersRead atomic.Int64
}

// Errors that Load wraps, so callers can tell causes apart with errors.Is.
// The message of the returned error names the reference, the cause and the
// registry's own words.
var (
	ErrUnauthorized     = errors.New("unauthorized: check docker login / credentials")
	ErrNotFound         = errors.New("not found")
	ErrRegistry         = errors.New("registry error")
	ErrTimeout          = errors.New("timed out")
	ErrInsecure         = errors.New("plain HTTP refused: pass the registry to --insecure-registry to allow it")
	ErrPlatformNotFound = errors.New("platform not found")
	// ErrResolve: the registry's host name (or a host it sent the client
	// to) does not resolve.
	ErrResolve = errors.New("cannot resolve")
)

// deadlineError is the ErrTimeout of a Load that ran out of its Timeout, as
// opposed to one request that timed out sooner.
type deadlineError struct{ after time.Duration }

func (e *deadlineError) Error() string        { return fmt.Sprintf("%v after %s", ErrTimeout, e.after) }
func (e *deadlineError) Is(target error) bool { return target == ErrTimeout }

// Load reads the image that ref names and returns one document for it; an
// index yields one document whose "platforms" array holds every selected
// platform. Problems of the image itself (an unparsable manifest or config,
// an unsupported media type) are returned as *document.ParseError; registry,
// network and file-system failures are errors wrapping one of the Err
// values above where one applies.
func Load(ctx context.Context, ref string, opts Options) ([]*document.Document, error) {
	o := opts.withDefaults()
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	ctx = context.WithValue(ctx, parentKey{}, parent)
	defer cancel()

	src, err := openSource(ctx, ref, &o)
	if err != nil {
		return nil, o.wrap(ctx, ref, err)
	}
	defer src.close()
	in, err := build(ctx, ref, src, &o)
	if err != nil {
		return nil, o.wrap(ctx, ref, err)
	}
	return []*document.Document{{
		Kind:  document.KindImage,
		Path:  ref,
		Input: in,
	}}, nil
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxLayerBytes <= 0 {
		o.MaxLayerBytes = DefaultMaxLayerBytes
	}
	if o.MaxPasswdBytes <= 0 {
		o.MaxPasswdBytes = DefaultMaxPasswdBytes
	}
	if o.Concurrency <= 0 {
		o.Concurrency = defaultConcurrency
	}
	switch {
	case o.Retries == 0:
		o.Retries = defaultRetries
	case o.Retries < 0:
		o.Retries = 0
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = defaultRetryDelay
	}
	if o.Keychain == nil {
		o.Keychain = authn.DefaultKeychain
	}
	if o.Stats == nil {
		o.Stats = new(Stats)
	}
	return o
}

// wrap turns err into the error Load returns: parse errors as they are,
// everything else prefixed with the reference and classified. A timeout
// names the limit that fired: the Load's Timeout, or the registry's
// response header timeout, or (dial, TLS handshake) the cause's own words.
func (o *Options) wrap(ctx context.Context, ref string, err error) error {
	if pe, ok := errors.AsType[*document.ParseError](err); ok {
		return pe
	}
	err = readable(err)
	cause := classify(ctx, err)
	switch {
	case cause == nil:
		return fmt.Errorf("loading image %s: %w", ref, err)
	case errors.Is(err, cause):
		return fmt.Errorf("loading image %s: %w", ref, err)
	case cause == ErrResolve:
		dnsErr, _ := errors.AsType[*net.DNSError](err)
		return fmt.Errorf("loading image %s: %w %s: %w", ref, ErrResolve, dnsErr.Name, err)
	case cause == ErrTimeout && loadDeadline(ctx):
		return fmt.Errorf("loading image %s: %w: %w", ref, &deadlineError{o.Timeout}, err)
	case cause == ErrTimeout && strings.Contains(err.Error(), "timeout awaiting response headers") && o.headerTimeout() > 0:
		return fmt.Errorf("loading image %s: %w: the registry sent no response headers within %s: %w", ref, ErrTimeout, o.headerTimeout(), err)
	}
	return fmt.Errorf("loading image %s: %w: %w", ref, cause, err)
}

// readableError is an error with a rewritten text and the same chain.
type readableError struct {
	msg string
	err error
}

func (e *readableError) Error() string { return e.msg }
func (e *readableError) Unwrap() error { return e.err }

// readable rewrites the diagnostics of a registry error whose details
// go-containerregistry prints with Go's %v (`map[Tag:nope]`): a detail is
// written as key=value pairs, or as JSON when it is not a flat object.
func readable(err error) error {
	terr, ok := errors.AsType[*transport.Error](err)
	if !ok {
		return err
	}
	msg := err.Error()
	changed := false
	for _, d := range terr.Errors {
		if d.Detail == nil {
			continue
		}
		if _, isString := d.Detail.(string); isString {
			continue
		}
		clean := fmt.Sprintf("%s: %s (%s)", d.Code, d.Message, detailText(d.Detail))
		if next := strings.Replace(msg, d.String(), clean, 1); next != msg {
			msg, changed = next, true
		}
	}
	if !changed {
		return err
	}
	return &readableError{msg: msg, err: err}
}

// detailText writes a registry diagnostic's detail for people.
func detailText(detail any) string {
	if m, ok := detail.(map[string]any); ok {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, 0, len(keys))
		flat := true
		for _, k := range keys {
			v, isString := m[k].(string)
			if !isString {
				flat = false
				break
			}
			parts = append(parts, k+"="+v)
		}
		if flat {
			return strings.Join(parts, ", ")
		}
	}
	b, err := json.Marshal(detail)
	if err != nil {
		return "detail not shown"
	}
	return string(b)
}

// headerTimeout is the response header timeout of the transport in use,
// or 0 when it is not known.
func (o *Options) headerTimeout() time.Duration {
	switch t := o.Transport.(type) {
	case nil:
		return responseHeaderTimeout
	case *http.Transport:
		return t.ResponseHeaderTimeout
	}
	return 0
}

// parentKey holds, in a Load's context, the context Load was called with.
type parentKey struct{}

// loadDeadline reports whether the Load's own Timeout has passed, rather
// than its caller's deadline.
func loadDeadline(ctx context.Context) bool {
	if ctx.Err() != context.DeadlineExceeded {
		return false
	}
	parent, _ := ctx.Value(parentKey{}).(context.Context)
	return parent == nil || parent.Err() == nil
}

// classify finds the cause of a failed request.
func classify(ctx context.Context, err error) error {
	for _, known := range []error{ErrDigestMismatch, ErrAddressRefused, ErrInsecure, ErrPlatformNotFound, ErrUnauthorized, ErrNotFound, ErrRegistry, ErrTimeout, ErrResolve} {
		if errors.Is(err, known) {
			return known
		}
	}
	if terr, ok := errors.AsType[*transport.Error](err); ok {
		switch {
		case terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden:
			return ErrUnauthorized
		case terr.StatusCode == http.StatusNotFound:
			return ErrNotFound
		case terr.StatusCode == http.StatusTooManyRequests || terr.StatusCode >= 500:
			return ErrRegistry
		}
		for _, d := range terr.Errors {
			switch d.Code {
			case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
				return ErrUnauthorized
			case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode:
				return ErrNotFound
			}
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNotFound
	}
	// go-containerregistry refuses a realm or a redirect that names an
	// internal address literally, before the guard sees it, with untyped
	// errors.
	if s := err.Error(); strings.Contains(s, "SSRF protection: redirect") || strings.Contains(s, "is a private or link-local address") {
		return ErrAddressRefused
	}
	if loadDeadline(ctx) || errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ErrTimeout
	}
	if _, ok := errors.AsType[*net.DNSError](err); ok {
		return ErrResolve
	}
	if nerr, ok := errors.AsType[net.Error](err); ok && nerr.Timeout() {
		return ErrTimeout
	}
	return nil
}

// retryBackoff is the backoff of o for go-containerregistry: Steps counts
// attempts, the first one included.
func (o *Options) retryBackoff() remote.Backoff {
	return remote.Backoff{
		Duration: o.RetryDelay,
		Factor:   2,
		Jitter:   0.1,
		Steps:    o.Retries + 1,
		Cap:      10 * time.Second,
	}
}

// insecureError is the ErrInsecure of one host: it names the exact
// HOST:PORT to pass, and says so when an --insecure-registry entry names
// the host without that port (entries match host and port exactly, as
// Docker's insecure-registries do, so one entry never opens every port).
type insecureError struct {
	host  string
	given []string
}

func (e *insecureError) Error() string {
	msg := fmt.Sprintf("plain HTTP to %s refused: pass `--insecure-registry %s` to allow it", e.host, e.host)
	hostOnly, _, ok := strings.Cut(e.host, ":")
	if !ok {
		return msg
	}
	for _, g := range e.given {
		if strings.EqualFold(trimScheme(g), hostOnly) {
			return msg + fmt.Sprintf(" (`--insecure-registry %s` names the host without the port %s; an entry matches host and port exactly)", g, strings.TrimPrefix(e.host, hostOnly+":"))
		}
	}
	return msg
}

func (e *insecureError) Is(target error) bool { return target == ErrInsecure }

// Host is the HOST[:PORT] that was refused, as --insecure-registry takes it.
func (e *insecureError) Host() string { return e.host }

func trimScheme(h string) string {
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(h, "http://"), "https://"), "/")
}

// insecure reports whether host may be reached over plain HTTP.
func (o *Options) insecure(host string) bool {
	for _, h := range o.InsecureRegistries {
		if strings.EqualFold(trimScheme(h), host) {
			return true
		}
	}
	return false
}
