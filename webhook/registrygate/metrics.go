package registrygate

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics of a gate.
type metrics struct {
	decisions       *prometheus.CounterVec
	verdicts        *prometheus.CounterVec
	cache           *prometheus.CounterVec
	reportCache     *prometheus.CounterVec
	events          *prometheus.CounterVec
	judgements      prometheus.Counter
	judgeSeconds    prometheus.Histogram
	failOpen        prometheus.Counter
	upstreamErrors  prometheus.Counter
	queueDepth      prometheus.Gauge
	reconcileRuns   *prometheus.CounterVec
	reconcileImages *prometheus.CounterVec
	reconcileLast   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dwf_gate_decisions_total",
			Help: "Manifest pushes and pulls through the gate, by operation (push, pull) and decision (allow, deny, warn, audit, artifact, exempt, error-allow, error-deny, too-large).",
		}, []string{"operation", "decision"}),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dwf_gate_verdicts_total",
			Help: "Images judged, by whether they comply.",
		}, []string{"compliant"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dwf_gate_verdict_cache_total",
			Help: "Verdict cache lookups, by result (hit, miss).",
		}, []string{"result"}),
		reportCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dwf_gate_report_cache_total",
			Help: "Lookups of the judgement of a pulled image's attached vulnerability report, by result (hit, miss).",
		}, []string{"result"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dwf_gate_events_total",
			Help: "Registry notification events, by outcome (queued, duplicate, ignored, dropped).",
		}, []string{"outcome"}),
		judgements: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dwf_gate_judgements_total",
			Help: "Images evaluated (verdict cache misses that ran the policies).",
		}),
		judgeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "dwf_gate_judge_duration_seconds",
			Help:    "Time to judge one image, fetches included.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		failOpen: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dwf_gate_fail_open_total",
			Help: "Images let through unjudged because they could not be judged (on-error allow).",
		}),
		upstreamErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dwf_gate_upstream_errors_total",
			Help: "Proxied requests the upstream registry did not answer.",
		}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dwf_gate_event_queue_depth",
			Help: "Images from events waiting to be judged.",
		}),
		reconcileRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dwf_gate_reconcile_runs_total",
			Help: "Reconciliation runs, by result (ok; error: a listing, resolution or judgement failed, the rest was done).",
		}, []string{"result"}),
		reconcileImages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dwf_gate_reconcile_images_total",
			Help: "Tags reconciliation resolved, by outcome (known: the digest had a verdict; judged; failed).",
		}, []string{"outcome"}),
		reconcileLast: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dwf_gate_reconcile_last_run_timestamp_seconds",
			Help: "When the last reconciliation run ended (Unix time).",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.decisions, m.verdicts, m.cache, m.reportCache, m.events, m.judgements, m.judgeSeconds, m.failOpen, m.upstreamErrors, m.queueDepth, m.reconcileRuns, m.reconcileImages, m.reconcileLast} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("registering gate metrics: %w", err)
			}
		}
	}
	return m, nil
}
