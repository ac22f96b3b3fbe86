package admission

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics of a webhook.
type metrics struct {
	reviews        *prometheus.CounterVec
	latency        prometheus.Histogram
	registry       *prometheus.CounterVec
	cache          *prometheus.CounterVec
	failOpen       prometheus.Counter
	budgetExceeded prometheus.Counter
	overloaded     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		reviews: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dwf_admission_reviews_total",
			Help: "Admission reviews answered, by decision (allow, deny, warn, audit, exempt, unchanged, skipped, error-allow, error-deny), operation, kind and dry_run.",
		}, []string{"decision", "operation", "kind", "dry_run"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "dwf_admission_review_duration_seconds",
			Help:    "Time to answer one admission review, registry lookups included.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		registry: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dwf_admission_registry_lookups_total",
			Help: "Registry lookups (a tag resolved, an image loaded), by registry (the first 100 seen; then \"other\") and status (ok, not_found, rate_limited: a 429, refused: an internal address or plain HTTP not allowed, unauthorized, timeout, unresolvable, error).",
		}, []string{"registry", "status"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dwf_admission_cache_total",
			Help: "Cache lookups, by cache (tag: tag to digest; decision: (digest, policy set) to image verdict; report: (digest, policy set) to the judgement of its attached vulnerability report; podspec: an object reviewed before, with the same image verdicts, to its DWF601-DWF603 findings) and result (hit, miss).",
		}, []string{"cache", "result"}),
		failOpen: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dwf_admission_fail_open_total",
			Help: "Reviews admitted although an image could not be verified in time (--on-error allow).",
		}),
		budgetExceeded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dwf_admission_budget_exceeded_total",
			Help: "Reviews whose registry lookups did not finish within the review's deadline.",
		}),
		overloaded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dwf_admission_overloaded_total",
			Help: "Reviews answered 503 unread because the reviews in flight held the most request bytes allowed until the review's deadline (the apiserver applies the webhook's failurePolicy).",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.reviews, m.latency, m.registry, m.cache, m.failOpen, m.budgetExceeded, m.overloaded} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("registering admission metrics: %w", err)
			}
		}
	}
	return m, nil
}
