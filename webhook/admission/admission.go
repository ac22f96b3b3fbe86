// Package admission is the Kubernetes validating admission webhook of
// `dwf-policy serve`: POST /validate answers admission.k8s.io/v1
// AdmissionReviews for Pods (pods/ephemeralcontainers included) and every
// pod-template owner (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job,
// CronJob, ReplicationController) on CREATE and UPDATE.
//
// The object becomes the kubernetes document of engine/input/kubernetes
// (positions then refer to the object as indented JSON). Every container
// image is resolved to a digest and judged on every runnable linux
// platform by the image rules (DWF301-DWF303), and its user, entrypoint
// and cmd are combined with the pod spec by DWF601-DWF603, the same Rego
// as `dwf-policy check --resolve-images`. A finding at or above FailOn
// denies the review (Mode enforce); the others come back as warnings.
//
// Registry lookups are bounded by the review's own deadline (the
// apiserver's ?timeout= less a margin); an image that cannot be judged in
// time gets the OnError outcome, never a silent apiserver timeout. Tags
// are cached for TagTTL, image verdicts by (digest, policy set hash), and
// one fetch is in flight per tag or digest.
package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"
	"golang.org/x/sync/singleflight"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/webhook/defaults"
	"github.com/devflow/dwf-policy/webhook/internal/lru"
	"github.com/devflow/dwf-policy/webhook/internal/memsize"
)

// Mode says what a non-compliant object gets.
type Mode string

// The modes.
const (
	Enforce Mode = "enforce" // denied
	Warn    Mode = "warn"    // admitted with warnings
	Audit   Mode = "audit"   // admitted; logged, counted, audit annotation
)

// OnError says what an object gets when one of its images cannot be judged
// in time.
type OnError string

// The outcomes.
const (
	Deny  OnError = "deny"  // fail-closed: "could not verify <image>: <cause>"
	Allow OnError = "allow" // fail-open: admitted with a warning, an audit annotation and a metric
)

// Defaults for the zero Options.
const (
	// MaxBodyBytes caps a review (413 beyond): the apiserver's own request
	// limit is 3 MiB of object, which an AdmissionReview carries twice on
	// UPDATE.
	MaxBodyBytes       = 7 << 20
	DefaultTimeout     = 10 * time.Second // the apiserver's when timeoutSeconds is unset
	DefaultTagTTL      = 45 * time.Second
	DefaultNotFoundTTL = 5 * time.Second
	DefaultCacheSize   = 4096
	// DefaultCacheBytes bounds each of the decision and report caches by
	// the memory their values hold (estimated): an entry count alone lets
	// a few images with megabyte configs or reports of thousands of
	// findings fill the server's memory.
	DefaultCacheBytes = 64 << 20
	DefaultMaxLookups = 32
	// DefaultMaxBytesInFlight admits four reviews of the largest size at
	// once, or thousands of ordinary ones (a few KiB each).
	DefaultMaxBytesInFlight = 4 * MaxBodyBytes
	DefaultLookupTimout     = 30 * time.Second
	// DefaultReportTTL is how long the judgement of an image's attached
	// vulnerability report is reused: a newer report attached meanwhile,
	// or a report turning stale (DWF402, days), shows within minutes,
	// while a rollout of many pods of one image looks it up once.
	DefaultReportTTL = 5 * time.Minute
	// DefaultNoReportTTL is how long "nothing attached" is reused: CI
	// usually attaches the report right after the push, and a pod denied
	// for want of it (require_report) is retried by its controller, so
	// the answer must not outlive the attachment by much.
	DefaultNoReportTTL = 30 * time.Second
)

// DefaultImageRules are the image rules judged at admission: those about
// what the container runs as. Build-time rules (platforms, layer
// compression) are the registry gate's and `image`'s business.
var defaultImageRules = []string{"DWF301", "DWF302", "DWF303"}

// DefaultImageRules returns the image rules judged when Options.ImageRules
// is nil.
func DefaultImageRules() []string { return slices.Clone(defaultImageRules) }

// DefaultExemptNamespaces returns the namespaces never judged when
// Options.ExemptNamespaces is nil; the webhook's own belongs there too.
func DefaultExemptNamespaces() []string { return defaults.ExemptNamespaces() }

// Options configure a Webhook. Checker is required; the zero value of
// every other field is the default.
type Options struct {
	// Checker judges documents and images; its image options say how
	// registries are reached.
	Checker *check.Checker
	// PolicyHash identifies the policy set: image verdicts are cached by
	// (digest, PolicyHash).
	PolicyHash string
	// FailOn is the lowest severity that denies; SeverityNone means error.
	FailOn finding.Severity
	// Mode is enforce (default), warn or audit.
	Mode Mode
	// RuleModes gives rules a mode of their own (DWF603: warn), below the
	// global Mode: a warn rule's findings never deny, an audit rule's are
	// only logged and annotated.
	RuleModes map[string]Mode
	// OnError is deny (default) or allow.
	OnError OnError
	// ExemptNamespaces are never judged (matched by name, which is the
	// immutable kubernetes.io/metadata.name label the
	// ValidatingWebhookConfiguration selects on); nil means
	// DefaultExemptNamespaces.
	ExemptNamespaces []string
	// AllowedRegistries, when not empty, are the registries pods may pull
	// from: a host ("registry.example:5000") or a path.Match glob
	// ("*.registry.example"). An image from any other registry is denied
	// without contacting it. The Checker's image options should set
	// UntrustedReferences (a pod author picks the registry the webhook
	// connects to) and list the allowed hosts without globs as
	// TrustedRegistries, which may then be at private addresses.
	AllowedRegistries []string
	// KubeAPI, when not nil, is read for the pods' pull secrets (their
	// imagePullSecrets and their service account's), which are tried
	// before the Checker's keychain.
	KubeAPI *KubeAPI
	// ImageRules are the image rule IDs judged; nil means
	// DefaultImageRules.
	ImageRules []string
	// ReportRules are the vulnerability report rule IDs judged on the
	// report attached to each image (DWF401-DWF404); nil means every one
	// the policy set has, an empty list none: no report lookup at all.
	// Reports are looked up only when the policy set has such a rule.
	ReportRules []string
	// ReportTTL is how long an image's report judgement is reused, and
	// NoReportTTL how long "no report attached" is; 0 means the defaults.
	ReportTTL, NoReportTTL time.Duration
	// DefaultTimeout is the review's time when the request has no
	// ?timeout=; 0 means DefaultTimeout.
	DefaultTimeout time.Duration
	// LookupTimeout bounds one tag resolution or image load, which goes on
	// (filling the caches) after the review that started it gave up; 0
	// means 30s.
	LookupTimeout time.Duration
	// TagTTL is how long a tag's digest is trusted; NotFoundTTL how long a
	// missing tag is. 0 means the defaults.
	TagTTL, NotFoundTTL time.Duration
	// CacheSize bounds the cached image verdicts and tags; 0 means
	// DefaultCacheSize.
	CacheSize int
	// CacheBytes bounds the memory each cache's values hold (decisions,
	// reports; the tag and API caches get a quarter); 0 means
	// DefaultCacheBytes.
	CacheBytes int64
	// MaxBytesInFlight bounds the request bodies of the reviews being
	// answered at once, in bytes (a review waits for room until its
	// deadline, then gets a 503); 0 means DefaultMaxBytesInFlight. At
	// least MaxBodyBytes.
	MaxBytesInFlight int64
	// MaxLookups bounds the registry lookups (tag resolutions, image
	// loads) in flight at once, across reviews; 0 means
	// DefaultMaxLookups.
	MaxLookups int
	// Registerer receives the metrics; nil registers none.
	Registerer prometheus.Registerer
	// Logger gets one line per review that is not plainly allowed; nil
	// discards.
	Logger *slog.Logger
	// Now is the clock of the caches; nil means time.Now.
	Now func() time.Time
}

// Webhook answers admission reviews. It is safe for concurrent use.
type Webhook struct {
	o         Options
	log       *slog.Logger
	metrics   *metrics
	tags      *lru.Cache[*tagEntry]
	decisions *lru.Cache[*verdict]
	reports   *lru.Cache[*check.ImageReport]
	flight    singleflight.Group
	policies  atomic.Pointer[policyState]
	// verdictIDs hands out verdict ids.
	verdictIDs atomic.Uint64
	lookups    chan struct{}       // a slot per registry lookup in flight
	inFlight   *semaphore.Weighted // request bytes of the reviews being answered
	apiClient  *apiClient          // nil without KubeAPI
	apiCache   *lru.Cache[json.RawMessage]
	// registryLabels are the registries the lookup metric names.
	labelsMu       sync.Mutex
	registryLabels map[string]bool
}

// New checks the options and returns a webhook.
func New(opts Options) (*Webhook, error) {
	o := opts
	if o.Checker == nil {
		return nil, errors.New("admission: a checker is required")
	}
	if o.FailOn == finding.SeverityNone {
		o.FailOn = finding.SeverityError
	}
	switch o.Mode {
	case "":
		o.Mode = Enforce
	case Enforce, Warn, Audit:
	default:
		return nil, fmt.Errorf("mode %q is not enforce, warn or audit", o.Mode)
	}
	for id, m := range o.RuleModes {
		if m != Enforce && m != Warn && m != Audit {
			return nil, fmt.Errorf("rule mode %s=%s is not enforce, warn or audit", id, m)
		}
	}
	switch o.OnError {
	case "":
		o.OnError = Deny
	case Deny, Allow:
	default:
		return nil, fmt.Errorf("on-error %q is not deny or allow", o.OnError)
	}
	if o.ExemptNamespaces == nil {
		o.ExemptNamespaces = DefaultExemptNamespaces()
	}
	for _, p := range o.AllowedRegistries {
		if _, err := path.Match(p, ""); err != nil || p == "" {
			return nil, fmt.Errorf("allowed registry %q is not a host or a glob", p)
		}
	}
	if o.ImageRules == nil {
		o.ImageRules = DefaultImageRules()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.DefaultTimeout, DefaultTimeout)
	def(&o.LookupTimeout, DefaultLookupTimout)
	def(&o.TagTTL, DefaultTagTTL)
	def(&o.NotFoundTTL, DefaultNotFoundTTL)
	def(&o.ReportTTL, DefaultReportTTL)
	def(&o.NoReportTTL, DefaultNoReportTTL)
	if o.CacheSize <= 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.CacheBytes <= 0 {
		o.CacheBytes = DefaultCacheBytes
	}
	if o.MaxLookups <= 0 {
		o.MaxLookups = DefaultMaxLookups
	}
	if o.MaxBytesInFlight <= 0 {
		o.MaxBytesInFlight = DefaultMaxBytesInFlight
	}
	o.MaxBytesInFlight = max(o.MaxBytesInFlight, MaxBodyBytes)
	if o.Now == nil {
		o.Now = time.Now
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	w := &Webhook{o: o, log: log, metrics: m,
		tags:      lru.NewSized(o.CacheSize, o.CacheBytes/4, (*tagEntry).bytes, o.Now),
		decisions: lru.NewSized(o.CacheSize, o.CacheBytes, (*verdict).bytes, o.Now),
		reports:   lru.NewSized(o.CacheSize, o.CacheBytes, memsize.Report, o.Now),
		lookups:   make(chan struct{}, o.MaxLookups),
		inFlight:  semaphore.NewWeighted(o.MaxBytesInFlight),
	}
	w.SetPolicies(o.Checker, o.PolicyHash)
	if o.KubeAPI != nil {
		w.apiClient = newAPIClient(o.KubeAPI)
		// Secrets are up to 1 MiB each: a few hundred are kept.
		w.apiCache = lru.NewSized(min(o.CacheSize, maxCachedAPIObjects), o.CacheBytes/4, func(raw json.RawMessage) int64 { return int64(len(raw)) }, o.Now)
	}
	return w, nil
}

// policyState is the policy set reviews are judged by, swapped whole when
// the policies are reloaded.
type policyState struct {
	checker *check.Checker
	hash    string
	rules   map[string]finding.Rule
	// reports: the set has a rule that reads an image's attached report.
	reports bool
	// podSpecs keeps the findings of pod spec documents seen before;
	// nil when the set's kubernetes rules are not deterministic. A new
	// policy set starts with an empty one.
	podSpecs *lru.Cache[[]specFinding]
	// podSpecRefs keeps the image references of the raw objects seen
	// before, so that a review the cache answers reads its object once
	// (as a map, for what the webhook itself needs) instead of twice;
	// nil with podSpecs.
	podSpecRefs *lru.Cache[[]string]
	// objects keeps what the webhook reads of the raw objects seen
	// before (objectFacts).
	objects *lru.Cache[*objectFacts]
}

// SetPolicies makes reviews from now on judged by checker, whose policy
// set hashes to hash (a reloaded policy set). Reviews in progress finish
// with the set they started with; image verdicts cached under the old
// hash are not used again.
func (w *Webhook) SetPolicies(checker *check.Checker, hash string) {
	ps := &policyState{checker: checker, hash: hash, rules: map[string]finding.Rule{}, reports: checker.NeedsReports(),
		// An object is up to 3 MiB and may name thousands of images:
		// these are bounded by bytes too.
		objects: lru.NewSized(podSpecCacheSize, w.o.CacheBytes/4, (*objectFacts).bytes, w.o.Now)}
	if checker.Deterministic(document.KindKubernetes) {
		ps.podSpecs = lru.New[[]specFinding](podSpecCacheSize, w.o.Now)
		ps.podSpecRefs = lru.NewSized(podSpecCacheSize, w.o.CacheBytes/4, stringsBytes, w.o.Now)
	}
	for _, r := range checker.Rules() {
		ps.rules[r.ID] = r
	}
	w.policies.Store(ps)
}

// PolicyHash is the hash of the policy set in use.
func (w *Webhook) PolicyHash() string { return w.policies.Load().hash }

// Route is an endpoint for the main listener of `dwf-policy serve`: an
// http.ServeMux pattern, the name its metrics carry, the handler. The
// handler caps its own body at MaxBodyBytes, so it is added with
// server.HandleStream.
type Route struct {
	Pattern, Name string
	Handler       http.Handler
}

// Handlers are the webhook's endpoints: POST /validate.
func (w *Webhook) Handlers() []Route {
	return []Route{{"POST /validate", "validate", w}}
}

// ServeHTTP answers one AdmissionReview. A request that is not one (wrong
// content type, too large, not JSON, no request) is answered with a 4xx
// status and a plain-text reason: the apiserver then applies the
// webhook's failurePolicy.
func (w *Webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			w.log.Error("admission review panicked", "panic", v)
			http.Error(rw, "internal error", http.StatusInternalServerError)
		}
	}()
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		http.Error(rw, "an AdmissionReview is sent as Content-Type: application/json", http.StatusUnsupportedMediaType)
		return
	}
	if r.ContentLength > MaxBodyBytes {
		http.Error(rw, fmt.Sprintf("request body larger than %d bytes", MaxBodyBytes), http.StatusRequestEntityTooLarge)
		return
	}
	// The review's deadline starts now: waiting for room counts.
	ctx, cancel := context.WithTimeout(r.Context(), budget(r.URL.Query().Get("timeout"), w.o.DefaultTimeout))
	defer cancel()
	release, ok := w.admit(ctx, r.ContentLength)
	if !ok {
		// Without the body there is no uid to answer: the apiserver
		// applies the webhook's failurePolicy, as for any overload.
		w.metrics.overloaded.Inc()
		rw.Header().Set("Retry-After", "1")
		http.Error(rw, "too many admission reviews in flight: try again", http.StatusServiceUnavailable)
		return
	}
	defer release()
	body, err := readBody(http.MaxBytesReader(rw, r.Body, MaxBodyBytes), r.ContentLength)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			http.Error(rw, fmt.Sprintf("request body larger than %d bytes", MaxBodyBytes), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(rw, "reading the request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	review, err := decodeReview(body)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	resp, err := w.Review(ctx, review.Request)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	out := admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: resp}
	b, err := json.Marshal(out)
	if err != nil {
		http.Error(rw, "encoding the response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "application/json")
	rw.Write(b)
}

// admit waits, until ctx ends, for room for a review whose body is
// length bytes (-1: unknown, counted as the largest allowed) among the
// reviews in flight, and returns what gives the room back. A body and
// what is decoded from it take a few times its size: a count of reviews
// would bound nothing when each may be 7 MiB, and the server's memory
// must hold against a burst, whoever sends it.
func (w *Webhook) admit(ctx context.Context, length int64) (func(), bool) {
	n := length
	if n < 0 || n > MaxBodyBytes {
		n = MaxBodyBytes
	}
	n = max(n, 1)
	if err := w.inFlight.Acquire(ctx, n); err != nil {
		return nil, false
	}
	return func() { w.inFlight.Release(n) }, true
}

// readBody reads a request body whose declared length is n (-1:
// unknown) into one buffer of that size, instead of the doublings of
// io.ReadAll: a review is read at every request. Past maxPresized the
// buffer grows as the body arrives, so that a declared length alone does
// not reserve memory.
func readBody(r io.Reader, n int64) ([]byte, error) {
	const maxPresized = 64 << 10
	if n <= 0 || n > maxPresized {
		return io.ReadAll(r)
	}
	buf := bytes.NewBuffer(make([]byte, 0, n+bytes.MinRead))
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

// decodeReview reads an admission.k8s.io/v1 AdmissionReview with a
// request.
func decodeReview(body []byte) (*admissionv1.AdmissionReview, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errors.New("empty body: expected an admission.k8s.io/v1 AdmissionReview")
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil {
		return nil, fmt.Errorf("decoding the AdmissionReview: %w", err)
	}
	if review.APIVersion != admissionv1.SchemeGroupVersion.String() || review.Kind != "AdmissionReview" {
		return nil, fmt.Errorf("expected apiVersion admission.k8s.io/v1 and kind AdmissionReview, got %q and %q", review.APIVersion, review.Kind)
	}
	if review.Request == nil {
		return nil, errors.New("the AdmissionReview has no request")
	}
	if review.Request.UID == "" {
		return nil, errors.New("the AdmissionReview's request has no uid")
	}
	return &review, nil
}
