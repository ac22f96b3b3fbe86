// Package webhook is `dwf-policy serve`: the long-running front doors of
// the policy engine, behind one main HTTPS listener (health, readiness,
// metrics and each door's endpoints) and, for the registry gate, a second
// listener that registry clients talk to. Each door is a package of its
// own (webhook/registrygate, webhook/admission)
// that hands its handlers to Serve; webhook/server holds what they share:
// TLS with reload, limits, timeouts, metrics and graceful shutdown. It
// never imports the command line: internal/cli maps flags to Options.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/engine/policyset"
	"github.com/devflow/dwf-policy/engine/report"
	"github.com/devflow/dwf-policy/webhook/admission"
	"github.com/devflow/dwf-policy/webhook/registrygate"
	"github.com/devflow/dwf-policy/webhook/server"
)

// Options configure Serve. Listen is required; the zero value of the other
// fields is the default.
type Options struct {
	// Listen is the main listener's address (health, readiness, metrics,
	// registry events and verdicts).
	Listen string
	// CertFile and KeyFile serve TLS on both listeners, reloaded when the
	// files change. Without them a listener must be on loopback.
	CertFile, KeyFile string
	// ClientCAFile, with TLS, makes the admission webhook's /validate
	// require a client certificate signed by one of its CAs (the
	// apiserver's, configured through its admission control config).
	ClientCAFile string
	// Policy opens the policy set; Image says how images are fetched (a
	// nil Keychain means anonymous pulls, not the ambient Docker config).
	Policy policyset.Options
	Image  image.Options
	// FailOn is the lowest severity that makes an image non-compliant;
	// SeverityNone means error.
	FailOn finding.Severity
	// Gate, when not nil, runs the registry gate.
	Gate *GateOptions
	// Admission, when not nil, serves the Kubernetes admission webhook's
	// POST /validate on the main listener.
	Admission *admission.Options
	// PolicyReload, when positive, is how often the configuration and
	// policies are read again: a changed set is compiled and, when it
	// compiles, judges the admission webhook's reviews and the registry
	// gate's pushes, pulls and events from then on (the gate's verdicts
	// of the old set are no longer used); one that does not keeps the old
	// set, and the failure is logged and counted.
	PolicyReload time.Duration
	// Server tunes both listeners (timeouts, caps); its Addr, TLS files,
	// Name, Registerer and Logger are set by Serve.
	Server server.Options
	// Tool names the program (version, information URI) in SARIF output.
	Tool report.Tool
	// Logger gets the servers' logs; nil discards.
	Logger *slog.Logger
	// Listening, when not nil, is called with the addresses listened on
	// (the gate's is "" without a gate) once the policy set is loaded and
	// every listener accepts connections.
	Listening func(main, gate string)
}

// reloadPolicies polls the policy set every interval until ctx ends: read
// without compiling and hashed; a new hash is compiled and applied. A
// failure keeps the set in use and is counted once per distinct failure.
func reloadPolicies(ctx context.Context, opts policyset.Options, current string, interval time.Duration, log *slog.Logger, reloads *prometheus.CounterVec, apply func(*policyset.Set, string)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	failed := ""
	fail := func(key string, err error) {
		if key == failed {
			return
		}
		failed = key
		reloads.WithLabelValues("error").Inc()
		log.Error("policy reload failed; the policy set in use stays", "err", err)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		loaded, err := policyset.Load(opts)
		if err != nil {
			fail(err.Error(), err)
			continue
		}
		h, err := loaded.Hash()
		if err != nil {
			fail(err.Error(), err)
			continue
		}
		if h == current || h == failed {
			continue
		}
		start := time.Now()
		set, err := policyset.Open(ctx, opts)
		if err != nil {
			fail(h, err)
			continue
		}
		// Hash the set compiled, which may have changed since the read.
		if h, err = set.Hash(); err != nil {
			fail(err.Error(), err)
			continue
		}
		apply(set, h)
		current, failed = h, ""
		reloads.WithLabelValues("ok").Inc()
		log.Info("policy set reloaded", "hash", h, "rules", len(set.Engine.Rules()), "took", time.Since(start).Round(time.Millisecond))
	}
}

// GateOptions configure the registry gate.
type GateOptions struct {
	// Upstream is the registry's base URL, http://127.0.0.1:5000.
	Upstream string
	// Listen is the address registry clients use.
	Listen string
	// EventsTokenFile holds the bearer token of /registry/events and
	// /registry/verdicts; "" serves neither.
	EventsTokenFile string
	// The rest are registrygate.Options; Upstream, Checker, PolicyHash,
	// FailOn, EventsToken, Registerer and Logger are set by Serve, and
	// Tool when it is zero.
	registrygate.Options
}

// Serve opens the policy set, serves until ctx ends, then shuts down
// gracefully. /healthz answers at once; /readyz once the policies are
// loaded. Errors are about the options or a listener that could not start.
func Serve(ctx context.Context, opts Options) error {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	mainOpts := opts.Server
	mainOpts.Name, mainOpts.Addr, mainOpts.CertFile, mainOpts.KeyFile = "main", opts.Listen, opts.CertFile, opts.KeyFile
	mainOpts.ClientCAFile = opts.ClientCAFile
	mainOpts.Registerer, mainOpts.Logger = reg, log
	main, err := server.New(mainOpts)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	var gateSrv *server.Server
	var upstream *url.URL
	var token string
	if g := opts.Gate; g != nil {
		if upstream, err = url.Parse(g.Upstream); err != nil {
			return fmt.Errorf("--registry-gate: %w", err)
		}
		gateOpts := opts.Server
		gateOpts.Name, gateOpts.Addr, gateOpts.CertFile, gateOpts.KeyFile = "gate", g.Listen, opts.CertFile, opts.KeyFile
		gateOpts.Registerer, gateOpts.Logger = reg, log
		// Layer uploads stream for long: the gate sets deadlines per request.
		gateOpts.ReadTimeout, gateOpts.WriteTimeout = -1, -1
		if gateSrv, err = server.New(gateOpts); err != nil {
			return fmt.Errorf("--gate-listen: %w", err)
		}
		if g.EventsTokenFile != "" {
			b, err := os.ReadFile(g.EventsTokenFile)
			if err != nil {
				return fmt.Errorf("--events-token-file: %w", err)
			}
			if token = strings.TrimSpace(string(b)); len(token) < 16 {
				return errors.New("--events-token-file: the token must be at least 16 characters")
			}
		}
	}

	var health server.Health
	health.Register(main)
	server.RegisterMetrics(main, reg)
	if err := main.Listen(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() {
		if err := main.Serve(ctx); err != nil {
			errs <- err
			cancel()
		}
	})
	defer wg.Wait()

	start := time.Now()
	set, err := policyset.Open(ctx, opts.Policy)
	if err != nil {
		cancel()
		return fmt.Errorf("opening policies: %w", err)
	}
	hash, err := set.Hash()
	if err != nil {
		cancel()
		return err
	}
	log.Info("policy set loaded", "hash", hash, "rules", len(set.Engine.Rules()), "took", time.Since(start).Round(time.Millisecond))
	if opts.Image.Keychain == nil {
		// A server pulls with what it is given, never with the Docker
		// config or credential helpers of whoever runs it, which the
		// image package defaults to (the gate's and the webhook's).
		opts.Image.Keychain = authn.NewMultiKeychain()
	}
	imgOpts := opts.Image
	if upstream != nil && upstream.Scheme == "http" {
		imgOpts.InsecureRegistries = append(append([]string{}, imgOpts.InsecureRegistries...), upstream.Host)
	}
	checker := check.New(set, check.Options{Image: imgOpts})
	// reloaders hand a reloaded policy set to each front door.
	var reloaders []func(*policyset.Set, string)

	if opts.Admission != nil {
		o := *opts.Admission
		// A pod's author picks the registry the webhook connects to: it
		// is guarded like any other host unless allowed by name.
		admImg := opts.Image
		admImg.UntrustedReferences = true
		for _, r := range o.AllowedRegistries {
			if !strings.ContainsAny(r, "*?[") {
				admImg.TrustedRegistries = append(admImg.TrustedRegistries, r)
			}
		}
		o.Checker, o.PolicyHash, o.FailOn = check.New(set, check.Options{Image: admImg}), hash, opts.FailOn
		o.Registerer, o.Logger = reg, log
		wh, err := admission.New(o)
		if err != nil {
			cancel()
			return fmt.Errorf("admission webhook: %w", err)
		}
		// The webhook caps its own body (7 MiB, above the listener's).
		for _, r := range wh.Handlers() {
			main.HandleStream(r.Pattern, r.Name, main.RequireClientCert(r.Handler))
		}
		log.Info("admission webhook serving", "path", "/validate", "mode", o.Mode, "on_error", o.OnError, "client_ca", opts.ClientCAFile != "")
		reloaders = append(reloaders, func(set *policyset.Set, h string) {
			wh.SetPolicies(check.New(set, check.Options{Image: admImg}), h)
		})
	}

	gateAddr := ""
	if gateSrv != nil {
		o := opts.Gate.Options
		o.Upstream, o.Checker, o.PolicyHash, o.FailOn, o.EventsToken = upstream, checker, hash, opts.FailOn, token
		o.Registerer, o.Logger = reg, log
		if o.Tool == (report.Tool{}) {
			o.Tool = opts.Tool
		}
		// Events and reconciliation judge with the server's own
		// credentials (--docker-config); a server never reads the ambient
		// Docker config or runs credential helpers, so none means anonymous.
		if o.Keychain == nil {
			o.Keychain = imgOpts.Keychain
		}
		if o.Keychain == nil {
			o.Keychain = authn.NewMultiKeychain()
		}
		gate, err := registrygate.New(o)
		if err != nil {
			cancel()
			return fmt.Errorf("--registry-gate: %w", err)
		}
		for _, r := range gate.Handlers() {
			main.Handle(r.Pattern, r.Name, r.Handler)
		}
		gateSrv.HandleStream("/", "gate", gate)
		if err := gateSrv.Listen(); err != nil {
			cancel()
			return err
		}
		gateAddr = gateSrv.Addr()
		reloaders = append(reloaders, func(set *policyset.Set, h string) {
			gate.SetPolicies(check.New(set, check.Options{Image: imgOpts}), h)
		})
		wg.Go(func() { gate.Run(ctx) })
		wg.Go(func() {
			if err := gateSrv.Serve(ctx); err != nil {
				errs <- err
				cancel()
			}
		})
		log.Info("registry gate serving", "listen", gateAddr, "upstream", upstream.Redacted(), "mode", o.Mode, "on_error", o.OnError, "tls", gateSrv.TLS())
	}
	if opts.PolicyReload > 0 && len(reloaders) > 0 {
		reloads := prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dwf_policy_reloads_total",
			Help: "Policy set reloads, by result (ok: a changed set now judges reviews and registry requests; error: it did not load or compile, the old set stays).",
		}, []string{"result"})
		reg.MustRegister(reloads)
		wg.Go(func() {
			reloadPolicies(ctx, opts.Policy, hash, opts.PolicyReload, log, reloads, func(set *policyset.Set, h string) {
				for _, apply := range reloaders {
					apply(set, h)
				}
			})
		})
	}
	health.SetReady(true)
	log.Info("serving", "listen", main.Addr(), "tls", main.TLS())
	if opts.Listening != nil {
		opts.Listening(main.Addr(), gateAddr)
	}
	<-ctx.Done()
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}
