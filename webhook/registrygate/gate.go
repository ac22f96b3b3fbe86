// Package registrygate is a gate in front of an OCI distribution registry:
// a reverse proxy, transparent to docker, crane, oras and buildx, that
// judges every manifest pushed through it with the image rules and refuses
// a non-compliant one with the registry error DENIED before the registry
// stores it, refuses pulls of digests judged non-compliant, and judges the
// images that registry notifications (Distribution's webhooks) report.
// Verdicts are cached by (digest, policy set hash); concurrent judgements of
// one digest are made once.
package registrygate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/engine/report"
	"github.com/devflow/dwf-policy/webhook/defaults"
	"github.com/devflow/dwf-policy/webhook/internal/lru"
	"github.com/devflow/dwf-policy/webhook/internal/memsize"
)

// Mode is what the gate does with a non-compliant image.
type Mode string

const (
	// Enforce refuses the push or pull with DENIED.
	Enforce Mode = "enforce"
	// Warn forwards it with a Warning header that clients print, logs it
	// and counts it.
	Warn Mode = "warn"
	// Audit forwards it, logs it and counts it.
	Audit Mode = "audit"
)

// OnError is what an image that cannot be judged in time gets.
type OnError string

const (
	// Deny refuses it: "could not verify <image>: <cause>" (fail-closed).
	Deny OnError = "deny"
	// Allow forwards it with a warning and counts it (fail-open).
	Allow OnError = "allow"
)

// Defaults for the zero Options.
const (
	DefaultMaxManifestBytes = defaults.MaxManifestBytes
	DefaultJudgeTimeout     = 30 * time.Second
	DefaultCacheSize        = 10_000
	// DefaultCacheBytes bounds the verdict and report caches each by the
	// memory their values hold (estimated), whatever their count.
	DefaultCacheBytes      = 32 << 20
	DefaultQueueSize       = 1024
	DefaultWorkers         = 2
	DefaultManifestTimeout = 2 * time.Minute
	DefaultBlobTimeout     = time.Hour
)

// errorWriteGrace is how long after a request's deadline its connection
// stays readable and writable, for the gate to answer with its error.
const errorWriteGrace = 5 * time.Second

// Options configure a Gate. Upstream, Checker and PolicyHash are required;
// the zero value of every other field is the default.
type Options struct {
	// Upstream is the registry's base URL, http://127.0.0.1:5000. The
	// Checker's image options must let it be reached (plain HTTP needs it
	// among InsecureRegistries).
	Upstream *url.URL
	// Checker judges images; PolicyHash identifies its policy set. Both
	// are replaced by SetPolicies when the policy set is reloaded.
	Checker    *check.Checker
	PolicyHash string
	// FailOn is the lowest severity that makes an image non-compliant;
	// SeverityNone means error.
	FailOn finding.Severity
	// Mode is what a non-compliant image gets; "" means Enforce.
	Mode Mode
	// OnError is what an image that cannot be judged gets; "" means Deny.
	OnError OnError
	// JudgeTimeout bounds judging one image, every fetch included; 0 means
	// DefaultJudgeTimeout.
	JudgeTimeout time.Duration
	// Exempt are repository globs (path.Match, "tools/*") whose manifests
	// pass unjudged; Only, when set, are the globs judged at all.
	Exempt, Only []string
	// MaxManifestBytes caps a manifest PUT (413 beyond, read no further)
	// and a manifest read on pull; 0 means DefaultMaxManifestBytes.
	MaxManifestBytes int64
	// ManifestTimeout and BlobTimeout bound one proxied manifest request
	// and one blob request (uploads of large layers take long); 0 means
	// the Default values.
	ManifestTimeout, BlobTimeout time.Duration
	// Transport carries proxied requests to Upstream; nil means a transport
	// with dial, TLS handshake and response header timeouts.
	Transport http.RoundTripper
	// Keychain gives the credentials to judge images reported by events
	// (pushes and pulls through the gate use the client's own); nil means
	// anonymous.
	Keychain authn.Keychain
	// EventsToken is the bearer token registry notifications must carry
	// (and verdict queries); "" disables both endpoints.
	EventsToken string
	// QueueSize bounds the images waiting to be judged from events, and
	// Workers judge them; 0 means the defaults.
	QueueSize, Workers int
	// Reconcile configures the periodic reconciliation of listed
	// repositories; its zero value is off.
	Reconcile Reconcile
	// Tool names the program in verdicts served as SARIF; its zero value
	// is dwf-policy without a version.
	Tool report.Tool
	// CacheSize bounds the verdicts kept (and the report judgements); 0
	// means DefaultCacheSize.
	CacheSize int
	// CacheBytes bounds the memory each of those caches holds; 0 means
	// DefaultCacheBytes.
	CacheBytes int64
	// NoReports leaves the vulnerability reports attached to pulled images
	// alone. Otherwise, when the policy set has a report rule
	// (DWF401-DWF404), a pull is judged with the report attached to the
	// image's digest (or its platform manifests'), looked up once per
	// ReportTTL, or NoReportTTL while none is attached; 0 means the
	// Default values. Pushes are judged without: nothing can be attached
	// to a manifest before it is pushed.
	NoReports              bool
	ReportTTL, NoReportTTL time.Duration
	// Registerer receives the gate's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Logger gets verdicts and failures; nil discards.
	Logger *slog.Logger
	// Now is the clock of verdicts; nil means time.Now.
	Now func() time.Time
}

// Gate is the proxy and the event receiver. It is safe for concurrent use.
type Gate struct {
	o       Options
	host    string // the upstream's host:port, as references name it
	proxy   *httputil.ReverseProxy
	cache   *verdictCache
	reports *lru.Cache[*check.ImageReport]
	flight  singleflight.Group
	events  *eventQueue
	metrics *metrics
	log     *slog.Logger
	// pol is the policy set in use: read once per judgement, so that one
	// verdict is made and cached under one set.
	pol atomic.Pointer[policies]
}

// policies are a checker and the hash of its policy set.
type policies struct {
	checker *check.Checker
	hash    string
}

// SetPolicies makes a newly loaded policy set judge from now on. Verdicts
// are cached by (digest, policy hash): those of the old set are no longer
// consulted, so every image is judged again under the new one.
func (g *Gate) SetPolicies(c *check.Checker, hash string) {
	g.pol.Store(&policies{checker: c, hash: hash})
}

// policyHash is the hash of the policy set in use.
func (g *Gate) policyHash() string { return g.pol.Load().hash }

// New checks the options and returns a gate; call Run to judge events.
func New(opts Options) (*Gate, error) {
	o := opts
	if o.Upstream == nil || (o.Upstream.Scheme != "http" && o.Upstream.Scheme != "https") || o.Upstream.Host == "" {
		return nil, errors.New("the upstream registry must be an http:// or https:// URL such as http://127.0.0.1:5000")
	}
	if p := strings.TrimSuffix(o.Upstream.Path, "/"); p != "" || o.Upstream.RawQuery != "" || o.Upstream.User != nil {
		return nil, fmt.Errorf("upstream %s: give the registry's base URL, without a path, query or credentials", o.Upstream.Redacted())
	}
	if o.Checker == nil || o.PolicyHash == "" {
		return nil, errors.New("a gate needs a checker and its policy set's hash")
	}
	for _, g := range append(append([]string{}, o.Exempt...), o.Only...) {
		if _, err := path.Match(g, "x"); err != nil {
			return nil, fmt.Errorf("repository glob %q: %w", g, err)
		}
	}
	if err := o.Reconcile.check(o.Only); err != nil {
		return nil, err
	}
	if o.FailOn == finding.SeverityNone {
		o.FailOn = finding.SeverityError
	}
	switch o.Mode {
	case "":
		o.Mode = Enforce
	case Enforce, Warn, Audit:
	default:
		return nil, fmt.Errorf("mode %q: want enforce, warn or audit", o.Mode)
	}
	switch o.OnError {
	case "":
		o.OnError = Deny
	case Deny, Allow:
	default:
		return nil, fmt.Errorf("on-error %q: want deny or allow", o.OnError)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.JudgeTimeout, DefaultJudgeTimeout)
	def(&o.ManifestTimeout, DefaultManifestTimeout)
	def(&o.BlobTimeout, DefaultBlobTimeout)
	def(&o.ReportTTL, DefaultReportTTL)
	def(&o.NoReportTTL, DefaultNoReportTTL)
	if o.MaxManifestBytes <= 0 {
		o.MaxManifestBytes = DefaultMaxManifestBytes
	}
	if o.CacheSize <= 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.CacheBytes <= 0 {
		o.CacheBytes = DefaultCacheBytes
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.Keychain == nil {
		o.Keychain = authn.NewMultiKeychain()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Tool.Name == "" {
		o.Tool.Name = "dwf-policy"
	}
	if o.Transport == nil {
		o.Transport = &http.Transport{
			Proxy:                 nil, // the upstream is reached directly, never via the environment's proxy
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second,
			ExpectContinueTimeout: time.Second,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   64,
			ForceAttemptHTTP2:     true,
		}
	}
	g := &Gate{o: o, host: o.Upstream.Host, cache: newVerdictCache(o.CacheSize, o.CacheBytes), reports: lru.NewSized(o.CacheSize, o.CacheBytes, memsize.Report, o.Now), log: o.Logger}
	g.SetPolicies(o.Checker, o.PolicyHash)
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	g.metrics = m
	g.events = newEventQueue(o.QueueSize)
	g.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(o.Upstream)
			pr.Out.Host = pr.In.Host // the registry writes Location and realm URLs for the client's host
			pr.SetXForwarded()
		},
		Transport:      o.Transport,
		FlushInterval:  -1, // stream as received: range requests, chunked uploads
		ModifyResponse: g.modifyResponse,
		ErrorHandler:   g.proxyError,
		ErrorLog:       slog.NewLogLogger(o.Logger.Handler(), slog.LevelDebug),
	}
	return g, nil
}

// ServeHTTP is the proxy: every request goes to the upstream, manifest
// pushes and pulls after the gate's judgement.
func (g *Gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	repo, ref, isManifest := parseManifestPath(r.URL.Path)
	timeout := g.o.BlobTimeout
	if isManifest {
		timeout = g.o.ManifestTimeout
	}
	// The listener has no overall deadlines (a layer upload may take an
	// hour); each request gets its own. The connection's deadlines come a
	// little after the request's, so that a request that ran out of time
	// gets its error (504) rather than a closed connection: a read
	// deadline passing cancels the request as if the client had gone.
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(timeout + errorWriteGrace))
	rc.SetWriteDeadline(time.Now().Add(timeout + errorWriteGrace))
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	r = r.WithContext(ctx)

	if !isManifest || !g.judged(repo) {
		if isManifest {
			g.metrics.decisions.WithLabelValues(operation(r.Method), "exempt").Inc()
		}
		g.proxy.ServeHTTP(w, r)
		return
	}
	switch r.Method {
	case http.MethodPut:
		g.push(w, r, repo, ref)
	case http.MethodGet, http.MethodHead:
		g.pull(w, r, repo, ref)
	default:
		g.proxy.ServeHTTP(w, r)
	}
}

func operation(method string) string {
	switch method {
	case http.MethodPut:
		return "push"
	case http.MethodGet, http.MethodHead:
		return "pull"
	}
	return strings.ToLower(method)
}

// judged reports whether the repository's manifests are judged.
func (g *Gate) judged(repo string) bool {
	match := func(globs []string) bool {
		for _, p := range globs {
			if ok, _ := path.Match(p, repo); ok {
				return true
			}
		}
		return false
	}
	if len(g.o.Only) > 0 && !match(g.o.Only) {
		return false
	}
	return !match(g.o.Exempt)
}

// push judges a manifest PUT and forwards it or refuses it.
func (g *Gate) push(w http.ResponseWriter, r *http.Request, repo, ref string) {
	limit := g.o.MaxManifestBytes
	if r.ContentLength > limit {
		g.metrics.decisions.WithLabelValues("push", "too-large").Inc()
		writeError(w, http.StatusRequestEntityTooLarge, "MANIFEST_INVALID", fmt.Sprintf("manifest larger than %d bytes, the gate's limit", limit))
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "MANIFEST_INVALID", "reading the manifest: "+err.Error())
		return
	}
	if int64(len(raw)) > limit {
		g.metrics.decisions.WithLabelValues("push", "too-large").Inc()
		writeError(w, http.StatusRequestEntityTooLarge, "MANIFEST_INVALID", fmt.Sprintf("manifest larger than %d bytes, the gate's limit", limit))
		return
	}
	digest := sha256Digest(raw)
	if digestRef().MatchString(ref) && ref != digest {
		// The registry would refuse it too; saying so here keeps the
		// judged digest and the stored one the same.
		writeError(w, http.StatusBadRequest, "DIGEST_INVALID", "the manifest's digest is "+digest+", not "+ref)
		return
	}
	// What is forwarded is exactly what was judged.
	forward := func() {
		r.Body = io.NopCloser(bytes.NewReader(raw))
		r.ContentLength = int64(len(raw))
		r.Header.Set("Content-Length", strconv.Itoa(len(raw)))
		g.proxy.ServeHTTP(w, r)
	}
	v, err := g.verdict(r.Context(), "push", repo, ref, digest, raw, r.Header.Get("Authorization"))
	if !g.apply(w, r, "push", repo, digest, v, err) {
		return
	}
	forward()
}

// apply writes the refusal of a non-compliant or unjudged image, or adds
// its warning to the response, and reports whether the request goes on.
func (g *Gate) apply(w http.ResponseWriter, r *http.Request, op, repo, digest string, v *Verdict, err error) bool {
	subject := repo + "@" + digest
	if err != nil {
		// The client gets the reason without the upstream's address or
		// request URLs; the log keeps them.
		reason := strings.ReplaceAll(image.WithoutRequestURLs(err.Error()), g.host+"/", "")
		msg := "could not verify " + subject + ": " + strings.ReplaceAll(reason, g.host, "the registry")
		if g.o.OnError == Allow {
			g.metrics.decisions.WithLabelValues(op, "error-allow").Inc()
			g.metrics.failOpen.Inc()
			g.log.Warn("image not verified; allowed (on-error allow)", "operation", op, "image", subject, "err", err)
			addWarning(w.Header(), msg)
			return true
		}
		g.metrics.decisions.WithLabelValues(op, "error-deny").Inc()
		g.log.Warn("image not verified; refused (on-error deny)", "operation", op, "image", subject, "err", err)
		writeError(w, http.StatusForbidden, "DENIED", msg)
		return false
	}
	switch {
	case v.Artifact:
		g.metrics.decisions.WithLabelValues(op, "artifact").Inc()
		return true
	case v.Compliant:
		g.metrics.decisions.WithLabelValues(op, "allow").Inc()
		return true
	}
	switch g.o.Mode {
	case Warn:
		g.metrics.decisions.WithLabelValues(op, "warn").Inc()
		g.log.Warn("non-compliant image allowed (mode warn)", "operation", op, "image", subject, "message", v.Message)
		addWarning(w.Header(), v.Message)
		return true
	case Audit:
		g.metrics.decisions.WithLabelValues(op, "audit").Inc()
		g.log.Info("non-compliant image allowed (mode audit)", "operation", op, "image", subject, "message", v.Message)
		return true
	}
	g.metrics.decisions.WithLabelValues(op, "deny").Inc()
	g.log.Info("non-compliant image refused", "operation", op, "image", subject, "message", v.Message)
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		return false
	}
	writeError(w, http.StatusForbidden, "DENIED", v.Message)
	return false
}

// verdict returns the cached verdict of digest or judges raw, once for
// every concurrent caller. auth is the client's Authorization header:
// the upstream is asked with the client's own credentials.
func (g *Gate) verdict(ctx context.Context, by, repo, ref, digest string, raw []byte, auth string) (*Verdict, error) {
	return g.verdictWith(ctx, by, repo, ref, digest, raw, keychainFor(g.host, auth))
}

// verdictWith is verdict with the credentials given.
func (g *Gate) verdictWith(ctx context.Context, by, repo, ref, digest string, raw []byte, kc authn.Keychain) (*Verdict, error) {
	pol := g.pol.Load()
	if v, ok := g.cache.get(digest, pol.hash); ok {
		g.metrics.cache.WithLabelValues("hit").Inc()
		return v, nil
	}
	g.metrics.cache.WithLabelValues("miss").Inc()
	if classify(raw) != kindImage {
		v := &Verdict{Repository: repo, Digest: digest, PolicyHash: pol.hash, Compliant: true, Artifact: true,
			Findings: []finding.Finding{}, JudgedAt: g.o.Now(), By: by}
		g.cache.put(v)
		return v, nil
	}
	ch := g.flight.DoChan(cacheKey(digest, pol.hash), func() (any, error) {
		// One judgement for every caller: bounded by the gate's timeout,
		// not by the first caller's connection.
		jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.o.JudgeTimeout)
		defer cancel()
		return g.judge(jctx, pol, by, repo, ref, digest, raw, kc)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*Verdict), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("judging: %w", context.Cause(ctx))
	}
}

// judge checks an image and caches the verdict; errors are not cached.
func (g *Gate) judge(ctx context.Context, pol *policies, by, repo, ref, digest string, raw []byte, kc authn.Keychain) (*Verdict, error) {
	start := time.Now()
	g.metrics.judgements.Inc()
	sep := ":"
	if digestRef().MatchString(ref) {
		sep = "@"
	}
	res := pol.checker.Manifest(ctx, g.host+"/"+repo+sep+ref, raw, check.ManifestOptions{Keychain: kc})
	g.metrics.judgeSeconds.Observe(time.Since(start).Seconds())
	if res.Err != nil {
		if len(res.Problems) > 0 {
			return nil, res.Problems[0].Err
		}
		return nil, res.Err
	}
	// Clients know the image by the gate's name, not the upstream's: the
	// upstream's address stays out of messages.
	for i := range res.Findings {
		f := &res.Findings[i]
		f.Subject = strings.ReplaceAll(f.Subject, g.host+"/", "")
		f.Path = strings.ReplaceAll(f.Path, g.host+"/", "")
		f.Message = strings.ReplaceAll(f.Message, g.host+"/", "")
	}
	v := newVerdict(repo, digest, pol.hash, by, g.o.FailOn, res.Findings, g.o.Now())
	v.image = res.Image
	g.cache.put(v)
	g.metrics.verdicts.WithLabelValues(strconv.FormatBool(v.Compliant)).Inc()
	g.log.Info("image judged", "image", repo+"@"+digest, "compliant", v.Compliant, "by", by, "findings", len(v.Findings), "took", time.Since(start))
	return v, nil
}

// pullKey carries a pull's state from ServeHTTP to modifyResponse.
type pullKey struct{}

type pullState struct {
	repo, ref string
	auth      string
}

// pull refuses a digest judged non-compliant before asking the upstream;
// anything else is asked, and the answer judged in modifyResponse.
func (g *Gate) pull(w http.ResponseWriter, r *http.Request, repo, ref string) {
	if digestRef().MatchString(ref) {
		if v, ok := g.cache.get(ref, g.policyHash()); ok {
			g.metrics.cache.WithLabelValues("hit").Inc()
			v, err := g.withReport(r.Context(), repo, ref, v, keychainFor(g.host, r.Header.Get("Authorization")))
			if !g.apply(w, r, "pull", repo, ref, v, err) {
				return
			}
			g.proxy.ServeHTTP(w, r)
			return
		}
	}
	st := &pullState{repo: repo, ref: ref, auth: r.Header.Get("Authorization")}
	g.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), pullKey{}, st)))
}

// modifyResponse judges the manifest a pull by tag (or by a digest not
// judged yet) receives. A HEAD carries no manifest: it is refused only
// for a digest already judged non-compliant; the GET that follows is
// judged.
func (g *Gate) modifyResponse(resp *http.Response) error {
	if loc := resp.Header.Get("Location"); loc != "" {
		resp.Header.Set("Location", g.clientLocation(loc, resp.Request))
	}
	st, ok := resp.Request.Context().Value(pullKey{}).(*pullState)
	if !ok || resp.StatusCode != http.StatusOK {
		return nil
	}
	digest := resp.Header.Get("Docker-Content-Digest")
	if digest != "" {
		if v, ok := g.cache.get(digest, g.policyHash()); ok {
			g.metrics.cache.WithLabelValues("hit").Inc()
			v, err := g.withReport(resp.Request.Context(), st.repo, digest, v, keychainFor(g.host, st.auth))
			return g.answer(resp, st, digest, v, err)
		}
	}
	if resp.Request.Method == http.MethodHead {
		return nil
	}
	limit := g.o.MaxManifestBytes
	raw, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	resp.Body.Close()
	if err == nil && int64(len(raw)) > limit {
		err = fmt.Errorf("the registry's manifest is larger than %d bytes", limit)
	}
	if err == nil {
		if got := sha256Digest(raw); digest != "" && got != digest {
			err = fmt.Errorf("the registry sent a manifest whose digest is %s, not %s", got, digest)
		} else {
			digest = got
		}
	}
	var v *Verdict
	if err == nil {
		v, err = g.verdict(resp.Request.Context(), "pull", st.repo, st.ref, digest, raw, st.auth)
	}
	if err == nil {
		v, err = g.withReport(resp.Request.Context(), st.repo, digest, v, keychainFor(g.host, st.auth))
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	resp.ContentLength = int64(len(raw))
	if digest == "" {
		digest = st.ref
	}
	return g.answer(resp, st, digest, v, err)
}

// answer replaces a pull's response with the refusal, or adds the
// warning, that apply decides.
func (g *Gate) answer(resp *http.Response, st *pullState, digest string, v *Verdict, err error) error {
	rec := &headerRecorder{header: http.Header{}}
	if g.apply(rec, resp.Request, "pull", st.repo, digest, v, err) {
		for _, w := range rec.header.Values("Warning") {
			resp.Header.Add("Warning", w)
		}
		return nil
	}
	resp.Body.Close()
	resp.StatusCode = rec.code
	resp.Status = fmt.Sprintf("%d %s", rec.code, http.StatusText(rec.code))
	resp.Header = rec.header
	resp.Body = io.NopCloser(bytes.NewReader(rec.body.Bytes()))
	resp.ContentLength = int64(rec.body.Len())
	resp.Header.Set("Content-Length", strconv.Itoa(rec.body.Len()))
	if resp.Request.Method == http.MethodHead {
		resp.Body = http.NoBody
	}
	return nil
}

// headerRecorder is the ResponseWriter apply writes a refusal into.
type headerRecorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *headerRecorder) Header() http.Header { return r.header }
func (r *headerRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}
func (r *headerRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.body.Write(b)
}

// clientLocation points an absolute Location at the upstream back at the
// gate, for registries that ignore X-Forwarded-Host.
func (g *Gate) clientLocation(loc string, out *http.Request) string {
	u, err := url.Parse(loc)
	if err != nil || !u.IsAbs() || u.Host != g.o.Upstream.Host {
		return loc
	}
	u.Host = out.Host
	if fp := out.Header.Get("X-Forwarded-Proto"); fp != "" {
		u.Scheme = fp
	}
	return u.String()
}

// proxyError answers a request the upstream did not answer.
func (g *Gate) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	g.metrics.upstreamErrors.Inc()
	g.log.Warn("upstream registry unreachable", "method", r.Method, "path", r.URL.Path, "err", err)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(r.Context().Err(), context.DeadlineExceeded) {
		writeError(w, http.StatusGatewayTimeout, "UNAVAILABLE", "the registry behind the gate did not answer in time")
		return
	}
	writeError(w, http.StatusBadGateway, "UNAVAILABLE", "the registry behind the gate is unreachable")
}

// writeError answers with an OCI distribution error body.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	type detail struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	body, _ := json.Marshal(struct {
		Errors []detail `json:"errors"`
	}{[]detail{{code, msg}}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// addWarning adds an RFC 7234 warning, which the distribution spec lets a
// registry send and docker and crane print. It is kept to one line and a
// bounded length.
func addWarning(h http.Header, msg string) {
	msg = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' || r == '\\' {
			return ' '
		}
		return r
	}, msg)
	if len(msg) > 1024 {
		msg = msg[:1021] + "..."
	}
	h.Add("Warning", `299 - "`+msg+`"`)
}

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// keychainFor turns a client's Authorization header into credentials for
// the upstream only: a bearer token is used as it is, basic credentials
// as a user and password (exchanged for a token when the registry asks).
func keychainFor(host, auth string) authn.Keychain {
	a := authn.Anonymous
	scheme, cred, _ := strings.Cut(auth, " ")
	switch strings.ToLower(scheme) {
	case "bearer":
		a = authn.FromConfig(authn.AuthConfig{RegistryToken: strings.TrimSpace(cred)})
	case "basic":
		if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred)); err == nil {
			if u, p, ok := strings.Cut(string(b), ":"); ok {
				a = authn.FromConfig(authn.AuthConfig{Username: u, Password: p})
			}
		}
	}
	return upstreamKeychain{host: host, auth: a}
}

type upstreamKeychain struct {
	host string
	auth authn.Authenticator
}

func (k upstreamKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() == k.host {
		return k.auth, nil
	}
	return authn.Anonymous, nil
}
