package admission

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/open-policy-agent/opa/v1/ast"
	"golang.org/x/sync/singleflight"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/webhook/internal/memsize"
)

// tagEntry is a tag resolved to a digest, or a tag the registry does not
// have (err, cached for seconds only).
type tagEntry struct {
	digest   string // sha256:...
	manifest []byte // the root manifest as fetched, for a decision cache miss
	err      error
	// refreshing is set once a review started resolving the tag again
	// ahead of its expiry: one try per entry, so a failing registry is
	// not asked again and again until the entry expires.
	refreshing atomic.Bool
}

// bytes estimates what the entry holds, for the tag cache's budget.
func (te *tagEntry) bytes() int64 { return 128 + int64(len(te.digest)+len(te.manifest)) }

// judgedImage is the verdict of one reference within a review.
type judgedImage struct {
	ref    string // as the pod spec writes it
	pinned string // repository@digest
	image  *check.PodImage
	config ast.Value // image.Config, converted for Rego
	// configID names config: the id of the verdict it comes from.
	configID uint64
	err      error
	// report is the judgement of the vulnerability report attached to
	// the image; reportErr says why it could not be looked up.
	report    *check.ImageReport
	reportErr error
}

// verdict is what the decision cache keeps of an image: its verdict, and
// its image_config converted for Rego once, since every review that runs
// the image hands it to the pod spec rules (converting it each time was a
// tenth of a warm review's CPU).
type verdict struct {
	// id is the verdict's own, never reused (Webhook.verdictIDs): a
	// review's pod spec document is keyed by the ids of the image
	// configs in it (podSpecKey).
	id     uint64
	image  *check.PodImage
	config ast.Value
}

// bytes estimates what the verdict holds, for the decision cache's
// budget: the image config decoded, its Rego copy and the image's
// document (about as large again each), and the findings.
func (v *verdict) bytes() int64 {
	return 3*memsize.Value(v.image.Config) + memsize.Findings(v.image.Findings)
}

// judgeImage resolves ref to a digest (tag cache, then the registry) and
// returns the image's verdict (decision cache, then a load and an
// evaluation). Each fetch runs once for every concurrent caller and is
// bounded by the image timeout, not by ctx: a review that stops waiting
// (its deadline passed) leaves the result in the caches for the next one.
func (w *Webhook) judgeImage(ctx context.Context, ps *policyState, ref string, kc *pullKeychain) judgedImage {
	out := judgedImage{ref: ref}
	parsed, err := name.ParseReference(ref)
	if err != nil {
		out.err = fmt.Errorf("not a valid image reference: %w", err)
		return out
	}
	repo := parsed.Context().Name()
	if !w.allowedRegistry(parsed.Context().RegistryStr()) {
		out.err = fmt.Errorf("%w: %s is not one of %s", errNotAllowed, parsed.Context().RegistryStr(), strings.Join(w.o.AllowedRegistries, ", "))
		return out
	}
	var manifest []byte
	var digest string
	if d, ok := parsed.(name.Digest); ok {
		digest = d.DigestStr()
	} else {
		te, err := w.resolveTag(ctx, ps, parsed.Name(), parsed.Context().RegistryStr(), kc)
		if err != nil {
			out.err = err
			return out
		}
		digest, manifest = te.digest, te.manifest
	}
	out.pinned = repo + "@" + digest
	key := digest + " " + ps.hash
	if v, ok := w.decisions.Get(key); ok {
		w.metrics.cache.WithLabelValues("decision", "hit").Inc()
		out.image, out.config, out.configID = v.image, v.config, v.id
		out.report, out.reportErr = w.judgeReport(ctx, ps, out.pinned, parsed.Context().RegistryStr(), v.image, kc)
		return out
	}
	w.metrics.cache.WithLabelValues("decision", "miss").Inc()
	pinned := out.pinned
	// A digest the registry did not have (or an image missing a part) is
	// remembered for seconds, under the tag cache like a missing tag.
	if te, ok := w.tags.Get(notFoundKey(pinned, kc)); ok {
		out.err = te.err
		return out
	}
	v, err := w.wait(ctx, "image "+key+" "+kc.id(), func(fctx context.Context) (any, error) {
		pi, err := ps.checker.PodImage(fctx, pinned, check.PodImageOptions{Manifest: manifest, Rules: w.o.ImageRules, Keychain: kc})
		w.countLookup(parsed.Context().RegistryStr(), err)
		if errors.Is(err, image.ErrNotFound) {
			w.tags.Put(notFoundKey(pinned, kc), &tagEntry{err: err}, w.o.NotFoundTTL)
		}
		if err != nil {
			return nil, err
		}
		config, err := ast.InterfaceToValue(pi.Config)
		if err != nil {
			return nil, fmt.Errorf("converting the image config of %s: %w", pinned, err)
		}
		v := &verdict{id: w.verdictIDs.Add(1), image: pi, config: config}
		w.decisions.Put(key, v, 0)
		return v, nil
	})
	if err != nil {
		out.err = err
		return out
	}
	vd := v.(*verdict)
	out.image, out.config, out.configID = vd.image, vd.config, vd.id
	out.report, out.reportErr = w.judgeReport(ctx, ps, out.pinned, parsed.Context().RegistryStr(), out.image, kc)
	return out
}

// judgeReport returns the judgement of the vulnerability report attached
// to an image (report cache, then one referrers lookup per digest), or nil
// when the policy set has no rule that reads one. It is cached by
// (repository@digest, policy set), for ReportTTL, or NoReportTTL when
// nothing is attached: unlike the image, what is attached to its digest
// changes, and it is attached in one repository, not to the content
// wherever it is. Failures are not cached.
func (w *Webhook) judgeReport(ctx context.Context, ps *policyState, pinned, registry string, pi *check.PodImage, kc *pullKeychain) (*check.ImageReport, error) {
	key := pinned + " " + ps.hash
	if !ps.reports || (w.o.ReportRules != nil && len(w.o.ReportRules) == 0) || pi.Image == nil {
		return nil, nil
	}
	if r, ok := w.reports.Get(key); ok {
		w.metrics.cache.WithLabelValues("report", "hit").Inc()
		return r, nil
	}
	w.metrics.cache.WithLabelValues("report", "miss").Inc()
	v, err := w.wait(ctx, "report "+key+" "+kc.id(), func(fctx context.Context) (any, error) {
		r, err := ps.checker.ImageReport(fctx, pi.Image, check.ImageReportOptions{Keychain: kc, Rules: w.o.ReportRules, Ref: pinned})
		w.countLookup(registry, err)
		if err != nil {
			return nil, err
		}
		ttl := w.o.ReportTTL
		if !r.Found {
			ttl = w.o.NoReportTTL
		}
		w.reports.Put(key, r, ttl)
		return r, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*check.ImageReport), nil
}

// resolveTag returns the digest a tag names, from the cache or the
// registry with the pod's credentials (HEAD is not enough on a miss: the manifest is needed to judge
// the image, so one GET does both).
//
// A tag in the last third of its TTL is resolved again in the background
// while the cached digest still answers, so that an image in steady use
// never expires: otherwise, once every TTL, every review of it would wait
// for the registry at once, and on a busy registry past its deadline. A
// tag is still never trusted for longer than its TTL.
func (w *Webhook) resolveTag(ctx context.Context, ps *policyState, ref, registry string, kc *pullKeychain) (*tagEntry, error) {
	key := "tag " + ref + " " + kc.id()
	if te, expires, ok := w.tags.GetExpiring(ref); ok {
		w.metrics.cache.WithLabelValues("tag", "hit").Inc()
		if !expires.IsZero() && !w.o.Now().Before(expires.Add(-w.o.TagTTL/3)) && te.refreshing.CompareAndSwap(false, true) {
			w.start(ctx, key, w.fetchTag(ps, ref, registry, kc))
		}
		return te, nil
	}
	if te, ok := w.tags.Get(notFoundKey(ref, kc)); ok {
		w.metrics.cache.WithLabelValues("tag", "hit").Inc()
		return nil, te.err
	}
	w.metrics.cache.WithLabelValues("tag", "miss").Inc()
	v, err := w.wait(ctx, key, w.fetchTag(ps, ref, registry, kc))
	if err != nil {
		return nil, err
	}
	return v.(*tagEntry), nil
}

// fetchTag returns the lookup of ref's digest in the registry, which
// caches what it finds.
func (w *Webhook) fetchTag(ps *policyState, ref, registry string, kc *pullKeychain) func(context.Context) (any, error) {
	return func(fctx context.Context) (any, error) {
		opts := ps.checker.ImageOptions()
		opts.Keychain = kc
		desc, raw, err := image.FetchManifest(fctx, ref, opts)
		w.countLookup(registry, err)
		if err != nil {
			if errors.Is(err, image.ErrNotFound) {
				// Seconds only: the image may be pushed right after.
				w.tags.Put(notFoundKey(ref, kc), &tagEntry{err: err}, w.o.NotFoundTTL)
			}
			// 5xx, 429 and timeouts are not cached at all.
			return nil, err
		}
		te := &tagEntry{digest: desc.Digest.String()}
		if len(raw) <= maxKeptManifestBytes {
			// Kept for the decision cache miss that usually follows; a
			// larger one is fetched again rather than held by the cache.
			te.manifest = raw
		}
		w.tags.Put(ref, te, w.o.TagTTL)
		return te, nil
	}
}

// notFoundKey is where the tag cache remembers that ref was not found
// with kc's credentials. Unlike a digest found, which is the same for
// everyone, a "not found" is only what these credentials were told: many
// registries answer 404 for a private repository to whoever may not see
// it, and a pod with the right pull secret must not inherit that answer.
func notFoundKey(ref string, kc *pullKeychain) string {
	return "not found " + ref + " " + kc.id()
}

// errNotAllowed: the image's registry is not an allowed one.
var errNotAllowed = errors.New("registry not allowed")

// allowedRegistry reports whether pods may pull from host.
func (w *Webhook) allowedRegistry(host string) bool {
	if len(w.o.AllowedRegistries) == 0 {
		return true
	}
	for _, p := range w.o.AllowedRegistries {
		if ok, _ := path.Match(p, host); ok {
			return true
		}
	}
	return false
}

// maxKeptManifestBytes bounds the manifests the tag cache keeps (real ones
// are a few KiB), so that it holds at most CacheSize times this.
const maxKeptManifestBytes = 16 << 10

// errBudget: the review's deadline came before a lookup finished.
var errBudget = errors.New("the registry did not answer within the review's deadline")

// wait runs fetch once per key for all concurrent callers, detached from
// ctx but bounded by the image timeout, and waits for it until ctx ends.
func (w *Webhook) wait(ctx context.Context, key string, fetch func(context.Context) (any, error)) (any, error) {
	select {
	case r := <-w.start(ctx, key, fetch):
		return r.Val, r.Err
	case <-ctx.Done():
		return nil, errBudget
	}
}

// start runs fetch once per key for all concurrent callers, detached from
// ctx (whose values it keeps) but bounded by the image timeout, and
// returns where its result arrives.
func (w *Webhook) start(ctx context.Context, key string, fetch func(context.Context) (any, error)) <-chan singleflight.Result {
	return w.flight.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.o.LookupTimeout)
		defer cancel()
		// Lookups go on after their review gave up: bounded in number,
		// so that reviews naming many unreachable images cannot pile
		// them up.
		select {
		case w.lookups <- struct{}{}:
			defer func() { <-w.lookups }()
		case <-fctx.Done():
			return nil, fmt.Errorf("waiting for one of %d registry lookups to finish: %w", cap(w.lookups), context.Cause(fctx))
		}
		return fetch(fctx)
	})
}

// countLookup records one registry lookup's outcome.
func (w *Webhook) countLookup(registry string, err error) {
	status := "ok"
	switch {
	case err == nil:
	case errors.Is(err, image.ErrNotFound):
		status = "not_found"
	case isStatus(err, http.StatusTooManyRequests):
		status = "rate_limited"
	case errors.Is(err, image.ErrAddressRefused), errors.Is(err, image.ErrInsecure):
		status = "refused"
	case errors.Is(err, image.ErrUnauthorized):
		status = "unauthorized"
	case errors.Is(err, image.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		status = "timeout"
	case errors.Is(err, image.ErrResolve):
		status = "unresolvable"
	default:
		status = "error"
	}
	w.metrics.registry.WithLabelValues(w.registryLabel(registry), status).Inc()
}

// maxRegistryLabels bounds the registries the lookup metric names: a pod's
// author picks the registry, and each new label value is a series kept
// for good.
const maxRegistryLabels = 100

// registryLabel is registry while fewer than maxRegistryLabels registries
// were named, and "other" for any registry after that.
func (w *Webhook) registryLabel(registry string) string {
	w.labelsMu.Lock()
	defer w.labelsMu.Unlock()
	if w.registryLabels[registry] {
		return registry
	}
	if len(w.registryLabels) >= maxRegistryLabels {
		return "other"
	}
	if w.registryLabels == nil {
		w.registryLabels = map[string]bool{}
	}
	w.registryLabels[registry] = true
	return registry
}

// isStatus reports whether err is a registry's answer with HTTP status
// code.
func isStatus(err error, code int) bool {
	terr, ok := errors.AsType[*transport.Error](err)
	return ok && terr.StatusCode == code
}

// cause is the one-line reason ref could not be verified, short enough
// for a warning (256 characters with the reference): the reference (or
// its pinned form) and the request URLs that the image package names are
// dropped, as the message names the image already, so that the
// registry's own words remain.
func cause(ref string, err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	// The image package names what it loaded: ref as written or in full
	// (index.docker.io/library/nginx:1), or pinned to the digest the tag
	// resolved to.
	s = strings.TrimPrefix(s, "loading image "+ref+": ")
	if r, err := name.ParseReference(ref); err == nil {
		s = strings.TrimPrefix(s, "loading image "+r.Name()+": ")
		if pinned, ok := strings.CutPrefix(s, "loading image "+r.Context().Name()+"@"); ok {
			if _, rest, ok := strings.Cut(pinned, ": "); ok {
				s = rest
			}
		}
	}
	return image.WithoutRequestURLs(s)
}

// budget is the time a review may take: the apiserver's ?timeout= (its
// webhook timeoutSeconds, 10s when absent) less a margin for the answer
// to travel back, a fifth of it between 200ms and 1s.
func budget(timeout string, def time.Duration) time.Duration {
	d, err := time.ParseDuration(timeout)
	if err != nil || d <= 0 {
		d = def
	}
	margin := min(max(d/5, 200*time.Millisecond), time.Second)
	if d-margin < d/2 {
		return d / 2
	}
	return d - margin
}
