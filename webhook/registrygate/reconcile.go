package registrygate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/devflow/dwf-policy/webhook/defaults"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/time/rate"
)

// Defaults of a reconciliation that is switched on.
const (
	DefaultReconcileRate = defaults.ReconcileRate // registry requests per second
)

// Reconcile configures the periodic reconciliation: every Interval, the
// tags of the listed repositories are resolved to digests and every digest
// without a verdict under the policy set in use is judged, so that images
// pushed while the gate's event receiver was down (or whose notification
// was lost) get a verdict too. It is off while Interval is 0.
type Reconcile struct {
	// Interval is the time between the start of two runs; the first starts
	// with the gate. 0 switches reconciliation off.
	Interval time.Duration
	// Repositories are reconciled by name. The Only globs that are plain
	// names are reconciled too.
	Repositories []string
	// Catalog adds the repositories the registry lists at /v2/_catalog
	// that the Only and Exempt globs judge.
	Catalog bool
	// Rate bounds the registry requests a run makes per second (listing,
	// tag resolution, each manifest fetched, each judgement counted as
	// one); 0 means DefaultReconcileRate.
	Rate float64
}

// enabled reports whether reconciliation runs.
func (r Reconcile) enabled() bool { return r.Interval > 0 }

// check validates a Reconcile the gate with only will run.
func (r *Reconcile) check(only []string) error {
	if !r.enabled() {
		return nil
	}
	if r.Rate < 0 {
		return fmt.Errorf("reconcile rate %v: must be positive", r.Rate)
	}
	if r.Rate == 0 {
		r.Rate = DefaultReconcileRate
	}
	for _, n := range r.Repositories {
		if !repoName().MatchString(n) {
			return fmt.Errorf("reconcile repository %q: not a repository name", n)
		}
	}
	if len(r.Repositories) == 0 && len(plainNames(only)) == 0 && !r.Catalog {
		return errors.New("reconciliation needs repositories: name them, give plain names among the repositories judged, or list the registry's catalog")
	}
	return nil
}

// plainNames are the globs that name one repository.
func plainNames(globs []string) []string {
	var out []string
	for _, g := range globs {
		if !strings.ContainsAny(g, `*?[\`) && repoName().MatchString(g) {
			out = append(out, g)
		}
	}
	return out
}

// reconcileLoop runs a reconciliation now and then every interval until
// ctx ends. A run that overruns the interval delays the next.
func (g *Gate) reconcileLoop(ctx context.Context) {
	tick := time.NewTicker(g.o.Reconcile.Interval)
	defer tick.Stop()
	for {
		g.reconcile(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// reconcileStats count what one run found.
type reconcileStats struct {
	repositories, tags, known, judged, failed int
}

// reconcile is one run: list, resolve, judge what has no verdict.
func (g *Gate) reconcile(ctx context.Context) {
	start := time.Now()
	rc := g.o.Reconcile
	limiter := rate.NewLimiter(rate.Limit(rc.Rate), 1)
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(g.o.Keychain),
		remote.WithTransport(limitedTransport{limiter, g.o.Transport}),
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
	}
	var nameOpts []name.Option
	if g.o.Upstream.Scheme == "http" {
		nameOpts = append(nameOpts, name.Insecure)
	}
	var st reconcileStats
	repos, err := g.reconcileRepositories(ctx, nameOpts, opts)
	for _, r := range repos {
		if ctx.Err() != nil {
			break
		}
		st.repositories++
		if rerr := g.reconcileRepository(ctx, r, limiter, nameOpts, opts, &st); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	if ctx.Err() != nil {
		return // shutting down: not a failed run
	}
	result := "ok"
	if err != nil || st.failed > 0 {
		result = "error"
		g.log.Warn("reconciliation incomplete", "err", err, "failed", st.failed)
	}
	g.metrics.reconcileRuns.WithLabelValues(result).Inc()
	g.metrics.reconcileLast.SetToCurrentTime()
	g.log.Info("reconciled", "repositories", st.repositories, "tags", st.tags, "known", st.known, "judged", st.judged, "failed", st.failed, "took", time.Since(start).Round(time.Millisecond))
}

// reconcileRepositories are the names given and, with Catalog, those the
// registry lists that the gate judges; sorted, each once.
func (g *Gate) reconcileRepositories(ctx context.Context, nameOpts []name.Option, opts []remote.Option) ([]string, error) {
	repos := slices.Concat(g.o.Reconcile.Repositories, plainNames(g.o.Only))
	var err error
	if g.o.Reconcile.Catalog {
		reg, rerr := name.NewRegistry(g.host, nameOpts...)
		if rerr != nil {
			return nil, rerr
		}
		lctx, cancel := context.WithTimeout(ctx, g.o.Reconcile.Interval)
		listed, cerr := remote.Catalog(lctx, reg, opts...)
		cancel()
		if cerr != nil {
			err = fmt.Errorf("listing the registry's catalog: %w", cerr)
		}
		repos = append(repos, listed...)
	}
	repos = slices.DeleteFunc(repos, func(r string) bool { return !repoName().MatchString(r) || !g.judged(r) })
	slices.Sort(repos)
	return slices.Compact(repos), err
}

// reconcileRepository judges the digests of repo's tags that have no
// verdict. The error is about listing the tags; a tag that could not be
// judged is logged and counted in st.
func (g *Gate) reconcileRepository(ctx context.Context, repo string, limiter *rate.Limiter, nameOpts []name.Option, opts []remote.Option, st *reconcileStats) error {
	r, err := name.NewRepository(g.host+"/"+repo, nameOpts...)
	if err != nil {
		return err
	}
	// A listing pages through the registry at the run's rate: it gets the
	// reconciliation interval, beyond which the next run is due anyway.
	listOpts, cancel := bounded(ctx, g.o.Reconcile.Interval, opts)
	tags, err := remote.List(r, listOpts...)
	cancel()
	if err != nil {
		if terr := (*transport.Error)(nil); errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
			return nil // named but not pushed yet
		}
		return fmt.Errorf("listing the tags of %s: %w", repo, err)
	}
	for _, tag := range tags {
		if ctx.Err() != nil {
			break
		}
		st.tags++
		outcome, err := g.reconcileTag(ctx, r.Tag(tag), limiter, opts)
		g.metrics.reconcileImages.WithLabelValues(outcome).Inc()
		switch outcome {
		case "known":
			st.known++
		case "judged":
			st.judged++
		case "failed":
			st.failed++
			g.log.Warn("reconciled image not judged", "image", repo+":"+tag, "err", err)
		}
	}
	return nil
}

// bounded returns opts whose requests end at ctx's end or after d: the
// transport bounds a response's headers, not a body that trickles in, and
// one registry stuck mid-body must not stall a run (and every later run)
// for good.
func bounded(ctx context.Context, d time.Duration, opts []remote.Option) ([]remote.Option, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, d)
	return append(slices.Clip(opts), remote.WithContext(ctx)), cancel
}

// reconcileTag resolves a tag and judges its digest unless a verdict
// exists; the outcome is known, judged or failed. Resolving and fetching
// share one JudgeTimeout; the judgement has its own.
func (g *Gate) reconcileTag(ctx context.Context, tag name.Tag, limiter *rate.Limiter, opts []remote.Option) (string, error) {
	opts, cancel := bounded(ctx, g.o.JudgeTimeout, opts)
	defer cancel()
	desc, err := remote.Head(tag, opts...)
	if err != nil {
		return "failed", fmt.Errorf("resolving %s: %w", tag.TagStr(), err)
	}
	digest := desc.Digest.String()
	if _, ok := g.cache.get(digest, g.policyHash()); ok {
		return "known", nil
	}
	// Refused on the size the HEAD gives before it is read: remote.Get
	// reads up to 100 MiB.
	if desc.Size > g.o.MaxManifestBytes {
		return "failed", fmt.Errorf("the manifest of %s@%s is larger than %d bytes", tag.RepositoryStr(), digest, g.o.MaxManifestBytes)
	}
	got, err := remote.Get(tag.Digest(digest), opts...)
	if err != nil {
		return "failed", fmt.Errorf("fetching %s@%s: %w", tag.RepositoryStr(), digest, err)
	}
	if int64(len(got.Manifest)) > g.o.MaxManifestBytes {
		return "failed", fmt.Errorf("the manifest of %s@%s is larger than %d bytes", tag.RepositoryStr(), digest, g.o.MaxManifestBytes)
	}
	// A judgement makes a few requests of its own: it waits its turn.
	if err := limiter.Wait(ctx); err != nil {
		return "failed", err
	}
	if _, err := g.verdictWith(ctx, "reconcile", tag.RepositoryStr(), digest, digest, got.Manifest, g.o.Keychain); err != nil {
		return "failed", err
	}
	return "judged", nil
}

// limitedTransport makes each request wait for the limiter.
type limitedTransport struct {
	limiter *rate.Limiter
	next    http.RoundTripper
}

func (t limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.limiter.Wait(req.Context()); err != nil {
		return nil, err
	}
	return t.next.RoundTrip(req)
}
