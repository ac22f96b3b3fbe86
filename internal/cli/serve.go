package cli

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/spf13/cobra"

	"github.com/devflow/dwf-policy/engine/config"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/engine/policyset"
	"github.com/devflow/dwf-policy/engine/repopath"
	"github.com/devflow/dwf-policy/engine/report"
	"github.com/devflow/dwf-policy/webhook/defaults"
)

// defaultJudgeTimeout is serve's --timeout: a push waits for its verdict,
// so the default is far below image's.
const defaultJudgeTimeout = 30 * time.Second

type serveFlags struct {
	policyFlags
	registryFlags
	listen, tlsCert, tlsKey string
	clientCA                string
	admission               bool
	exemptNamespaces        []string
	allowedRegistries       []string
	pullSecrets             bool
	dockerConfig            string
	noAttachedReports       bool
	policyReload            time.Duration
	ruleModes               []string
	failOn                  string
	mode, onError           string
	gateUpstream            string
	gateListen              string
	gateExempt, gateOnly    []string
	gateMode                string // webhook.gate.mode of the configuration; "" means --mode
	eventsTokenFile         string
	maxManifestBytes        int64
	reconcileInterval       time.Duration
	reconcileRepos          []string
	reconcileCatalog        bool
	reconcileRate           float64
	logLevel                string
	// fromConfig names, for each flag whose value came from the webhook:
	// section of --config, where it came from: an error about the value
	// must point at the file, not at a flag the user never typed.
	fromConfig map[string]string
}

// source names where the value of flag came from, for an error message:
// "--flag", or "webhook.key in FILE".
func (fl *serveFlags) source(flag string) string {
	if s, ok := fl.fromConfig[flag]; ok {
		return s
	}
	return "--" + flag
}

func (c Command) serveCommand() *cobra.Command {
	var fl serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the Kubernetes admission webhook and the registry gate until stopped",
		Long: `Serve runs dwf-policy as a long-running server. The main listener (--listen)
answers /healthz, /readyz (200 once the policy set is loaded), /metrics
(Prometheus) and the endpoints of each front door. The servers live in
dwf-policy-server, which dwf-policy runs in its place (same process, flags
and signals) once the flags check: beside the dwf-policy binary, else on
PATH.

Admission webhook (on unless --admission=false): POST /validate answers
admission.k8s.io/v1 AdmissionReviews for Pods (pods/ephemeralcontainers
included), Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs,
CronJobs and ReplicationControllers on CREATE and UPDATE.
  - Every container image is resolved to a digest and judged on every
    linux platform by DWF301-DWF303, and combined with the pod spec by
    DWF601-DWF603 (runAsUser: 0 over a compliant image is refused).
  - A finding at or above --fail-on denies the review with one line per
    finding naming the container, the image digest, the rule and the fix;
    findings below it come back as warnings. --mode warn admits with
    warnings, audit admits and logs (and adds an audit annotation).
  - Each review is bounded by the apiserver's ?timeout= less a margin; an
    image that cannot be judged in time is denied ("could not verify
    IMAGE: CAUSE") or, with --on-error allow, admitted with a warning, an
    audit annotation and a metric.
  - When the policy set has a vulnerability report rule (DWF401-DWF404),
    each image is also judged with the Trivy report attached to its digest
    in its repository (or to its platform manifests' digests: OCI
    referrers or their fallback tag, cosign's .att tag), one referrers
    lookup per digest; the judgement is cached for 5 minutes, "no report"
    for 30s (CI attaches reports right after the push).
    --no-attached-reports turns the lookup off.
  - An UPDATE that changes no image, securityContext, command or args is
    admitted without asking the registry again. Tags are cached for 45s
    (a tag in use is resolved again in the background before then), image
    verdicts by (digest, policy set).
  - Namespaces named by --exempt-namespace are never judged (the
    ValidatingWebhookConfiguration in deploy/ excludes them too).
  - A pod's author picks the registry the webhook connects to, so image
    registries at loopback, link-local or private addresses are refused
    (checked after DNS resolution, for redirects and token realms too)
    unless named by --allowed-registry or --insecure-registry; with
    --allowed-registry, images from any other registry are denied without
    contacting it.
  - --pull-secrets pulls with each pod's imagePullSecrets and its service
    account's (read with get on secrets and serviceaccounts, cached 30s),
    before the static credentials of --docker-config. Without
    --docker-config, serve never reads ~/.docker/config.json or runs a
    credential helper: other pulls are anonymous (give --docker-config
    ~/.docker/config.json to use it).
  - --client-ca makes /validate require the apiserver's client
    certificate.

Registry gate (--registry-gate URL): a reverse proxy in front of an OCI
registry, transparent to docker, crane, oras and buildx (auth challenges,
tokens, Location headers, range requests and chunked uploads pass through).
Clients push to and pull from --gate-listen instead of the registry.
  - A manifest push (PUT /v2/NAME/manifests/REF) is read (at most
    --max-manifest-size), its configs, child manifests and the layers holding
    /etc/passwd are fetched from the registry with the client's own
    credentials, and the image rules (DWF301-DWF305) judge every platform.
    A finding at or above --fail-on refuses the push with 403 DENIED naming
    the rule and the fix; nothing reaches the registry. Signatures, SBOMs,
    attestations, Helm charts and other artifacts pass unjudged.
  - A manifest pull (GET or HEAD) of a digest judged non-compliant is
    refused with DENIED; a GET of an image not judged yet is judged first.
    A pull is also judged with the Trivy report attached to the digest
    (DWF401-DWF404, cached as at admission; not a push: nothing can be
    attached before it). Blobs always pass.
  - Verdicts are cached by (digest, policy set); concurrent pushes of one
    digest are judged once.
  - --mode warn lets non-compliant images through with a Warning header
    that clients print; audit lets them through and only logs and counts.
  - --on-error says what an image that cannot be judged within --timeout
    gets (the registry down or failing, a missing blob): deny refuses it
    ("could not verify"), allow lets it through with a warning and counts it.
With --events-token-file, the main listener also receives the registry's
notifications at POST /registry/events (Distribution's webhooks, with the
token as a bearer token) and judges every pushed image, and answers
GET /registry/verdicts/NAME@DIGEST with the verdict as JSON, or as SARIF
2.1.0 with ?format=sarif or Accept: application/sarif+json (same token).
With --reconcile-interval, the tags of the repositories named by
--reconcile-repository (and the --gate-only names without wildcards, and with
--reconcile-catalog every repository the registry lists that the gate judges)
are resolved at start and then every interval, and each digest without a
verdict is judged: images pushed while the gate was down, or whose
notification was lost, get their verdict. At most --reconcile-rate registry
requests per second; verdicts go to the cache, logs and metrics.

Configuration: the webhook: section of the --config file sets mode,
rule_modes, fail_on, on_error, exempt_namespaces, allowed_registries,
insecure_registries, pull_secrets, docker_config and gate (mode, exempt,
only), read once at start; a flag given on the command line overrides it.

Both listeners serve TLS 1.2+ with --tls-cert and --tls-key, reloaded when
the files change; without them they serve plain HTTP, which is allowed on
loopback addresses only. Every request has timeouts, bodies are capped, and
SIGINT or SIGTERM drains the requests in flight before exiting (exit 0).
Logs go to standard error.`,
		Example: `  # The admission webhook, as deploy/ runs it:
  dwf-policy serve --tls-cert /tls/tls.crt --tls-key /tls/tls.key \
    --exempt-namespace kube-system --exempt-namespace kube-node-lease --exempt-namespace dwf-policy

  # Gate in front of a registry on this machine:
  dwf-policy serve --listen 127.0.0.1:8443 --registry-gate http://127.0.0.1:5000 --gate-listen 127.0.0.1:5001
  crane push app.tar 127.0.0.1:5001/team/app:1.0

  # In production: TLS on both listeners, events from the registry, fail-open:
  dwf-policy serve --tls-cert /tls/tls.crt --tls-key /tls/tls.key \
    --registry-gate http://registry:5000 --gate-listen :5443 \
    --events-token-file /secrets/events-token --on-error allow`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{longRunning: "true"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := c.serveConfig(&fl, cmd.Flags().Changed); err != nil {
				return err
			}
			return c.runServe(cmd.Context(), fl)
		},
	}
	fl.policyFlags.register(cmd)
	fl.registryFlags.register(cmd, "")
	// Judging holds a client's push: serve's --timeout is shorter.
	t := cmd.Flags().Lookup("timeout")
	t.Usage = "give up judging one image after this long; --on-error then applies"
	t.DefValue = defaultJudgeTimeout.String()
	fl.timeout = defaultJudgeTimeout
	f := cmd.Flags()
	f.StringVar(&fl.listen, "listen", ":8443", "serve health, readiness, metrics and events on `ADDR`")
	f.StringVar(&fl.tlsCert, "tls-cert", "", "serve TLS with the PEM certificate (chain) in `FILE`, reloaded when it changes")
	f.StringVar(&fl.tlsKey, "tls-key", "", "the PEM private key `FILE` of --tls-cert")
	f.StringVar(&fl.clientCA, "client-ca", "", "require a client certificate signed by a CA in the PEM `FILE` on /validate (with --tls-cert)")
	f.BoolVar(&fl.admission, "admission", true, "serve the Kubernetes admission webhook at POST /validate")
	f.StringArrayVar(&fl.exemptNamespaces, "exempt-namespace", defaults.ExemptNamespaces(), "never judge objects in `NAMESPACE` (repeatable; add the webhook's own)")
	f.StringArrayVar(&fl.allowedRegistries, "allowed-registry", nil, "admit only images from registry `HOST` or glob (repeatable, e.g. registry.internal:5000 or '*.example.com'); a host named exactly may be at a private address")
	f.BoolVar(&fl.noAttachedReports, "no-attached-reports", false, "do not judge images at admission and on pulls through the gate with the vulnerability reports attached to them in the registry (DWF401-DWF404)")
	f.BoolVar(&fl.pullSecrets, "pull-secrets", false, "pull images with each pod's imagePullSecrets and its service account's, read through the Kubernetes API with the webhook's own service account (in a cluster)")
	f.StringVar(&fl.dockerConfig, "docker-config", "", "pull with the static credentials (auths) of the Docker config.json `FILE`, after the pods' pull secrets; read again when it changes, credential helpers never run (default: none, ~/.docker/config.json is not read)")
	f.DurationVar(&fl.policyReload, "policy-reload", 30*time.Second, "read the configuration and policies again this often; a changed set that compiles judges admission reviews and registry gate requests from then on, a broken one keeps the old (0: never)")
	f.StringArrayVar(&fl.ruleModes, "rule-mode", nil, "give one rule its own admission mode, `ID=MODE` (repeatable, e.g. DWF603=warn): a warn rule never denies, an audit rule is only logged")
	f.StringVar(&fl.failOn, "fail-on", "error", "refuse images with a finding at or above this severity: error, warning or note")
	f.StringVar(&fl.mode, "mode", "enforce", "what a non-compliant image gets: enforce (refused), warn (allowed with a warning) or audit (allowed, logged)")
	f.StringVar(&fl.onError, "on-error", "deny", "what an image that cannot be judged in time gets: deny (fail-closed) or allow (fail-open)")
	f.StringVar(&fl.gateUpstream, "registry-gate", "", "run the registry gate in front of the registry at `URL` (http://127.0.0.1:5000)")
	f.StringVar(&fl.gateListen, "gate-listen", "127.0.0.1:5001", "serve the registry gate to clients on `ADDR`")
	f.StringArrayVar(&fl.gateExempt, "gate-exempt", nil, "pass manifests of repositories matching `GLOB` unjudged (repeatable; path.Match, e.g. 'mirror/*')")
	f.StringArrayVar(&fl.gateOnly, "gate-only", nil, "judge only repositories matching `GLOB` (repeatable; default: all)")
	f.StringVar(&fl.eventsTokenFile, "events-token-file", "", "accept registry notifications and verdict queries bearing the token in `FILE` (at least 16 characters)")
	f.Int64Var(&fl.maxManifestBytes, "max-manifest-size", defaults.MaxManifestBytes, "refuse manifests larger than this many `BYTES` (413)")
	f.DurationVar(&fl.reconcileInterval, "reconcile-interval", 0, "every `DURATION`, judge the digests of the listed repositories' tags that have no verdict, catching pushes whose notification was lost (0: never)")
	f.StringArrayVar(&fl.reconcileRepos, "reconcile-repository", nil, "reconcile the repository `NAME` (repeatable; --gate-only names without wildcards are reconciled too)")
	f.BoolVar(&fl.reconcileCatalog, "reconcile-catalog", false, "reconcile every repository the registry lists at /v2/_catalog that the gate judges")
	f.Float64Var(&fl.reconcileRate, "reconcile-rate", defaults.ReconcileRate, "make at most this many registry requests per second when reconciling")
	f.StringVar(&fl.logLevel, "log-level", "info", "log at this level and above: debug, info, warn or error")
	return cmd
}

// ServeRequest is what `serve` asks of the server: its flags and
// configuration, checked. Command.Serve carries it out.
type ServeRequest struct {
	Listen, TLSCert, TLSKey, ClientCA string
	Policy                            policyset.Options
	// Image says how registries are reached; its Keychain is nil when
	// DockerConfig names the credentials to read instead.
	Image        image.Options
	FailOn       finding.Severity
	Logger       *slog.Logger
	Listening    func(main, gate string)
	PolicyReload time.Duration
	Tool         report.Tool
	// Timeout bounds judging one image.
	Timeout time.Duration
	// Mode and OnError are checked: enforce, warn or audit; deny or allow.
	Mode, OnError     string
	DockerConfig      string // absolute path, or "" for none
	NoAttachedReports bool
	// Admission is nil when the admission webhook is off.
	Admission *ServeAdmission
	// Gate is nil without --registry-gate.
	Gate *ServeGate
	// Source names where a setting came from ("--docker-config", or
	// "webhook.docker_config in FILE"), for an error about it.
	Source func(flag string) string
}

// ServeAdmission is the admission webhook's part of a ServeRequest.
type ServeAdmission struct {
	RuleModes                           map[string]string // rule ID to enforce, warn or audit
	ExemptNamespaces, AllowedRegistries []string
	PullSecrets                         bool
}

// ServeGate is the registry gate's part of a ServeRequest.
type ServeGate struct {
	Upstream, Listen, EventsTokenFile string
	Mode                              string // enforce, warn or audit
	Exempt, Only                      []string
	MaxManifestBytes                  int64
	ReconcileInterval                 time.Duration
	ReconcileRepositories             []string
	ReconcileCatalog                  bool
	ReconcileRate                     float64
}

// serveModes are the values of --mode and of a rule's --rule-mode.
var serveModes = []string{"enforce", "warn", "audit"}

func (c Command) runServe(ctx context.Context, fl serveFlags) error {
	failOn, err := finding.ParseSeverity(fl.failOn)
	if err != nil || failOn == finding.SeverityNone {
		return usageError("%s: %q is not error, warning or note", fl.source("fail-on"), fl.failOn)
	}
	if !slices.Contains(serveModes, fl.mode) {
		return usageError("%s: %q is not enforce, warn or audit", fl.source("mode"), fl.mode)
	}
	if fl.onError != "deny" && fl.onError != "allow" {
		return usageError("%s: %q is not deny or allow", fl.source("on-error"), fl.onError)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(fl.logLevel)); err != nil {
		return usageError("--log-level: %q is not debug, info, warn or error", fl.logLevel)
	}
	if fl.maxManifestBytes <= 0 {
		return usageError("--max-manifest-size: must be positive, got %d", fl.maxManifestBytes)
	}
	if fl.gateUpstream == "" && !fl.admission {
		return usageError("nothing to serve: give --registry-gate URL, or leave the admission webhook on (--admission)")
	}
	if fl.reconcileInterval < 0 || fl.reconcileRate <= 0 {
		return usageError("--reconcile-interval and --reconcile-rate: must be positive")
	}
	if fl.reconcileInterval == 0 && (len(fl.reconcileRepos) > 0 || fl.reconcileCatalog) {
		return usageError("--reconcile-repository and --reconcile-catalog: need --reconcile-interval")
	}
	if fl.clientCA != "" && fl.tlsCert == "" {
		return usageError("--client-ca: needs --tls-cert and --tls-key")
	}
	if u, err := url.Parse(fl.gateUpstream); fl.gateUpstream != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "") {
		return usageError("--registry-gate: %q is not a registry base URL such as http://127.0.0.1:5000", fl.gateUpstream)
	}
	ruleModes := map[string]string{}
	for _, rm := range fl.ruleModes {
		id, m, ok := strings.Cut(rm, "=")
		if !ok || !finding.RuleIDPattern.MatchString(id) || !slices.Contains(serveModes, m) {
			return usageError("--rule-mode: %q is not ID=enforce, ID=warn or ID=audit", rm)
		}
		ruleModes[id] = m
	}
	wd, err := c.workDir()
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	imgOpts, err := c.imageOptions(wd, fl.registryFlags)
	if err != nil {
		return err
	}
	polOpts, err := fl.policyFlags.options(wd)
	if err != nil {
		return usageError("%v", err)
	}
	polOpts.NoConfigSearch = true
	req := ServeRequest{
		Listen:            fl.listen,
		TLSCert:           fl.tlsCert,
		TLSKey:            fl.tlsKey,
		ClientCA:          fl.clientCA,
		Policy:            polOpts,
		Image:             imgOpts,
		FailOn:            failOn,
		Logger:            slog.New(slog.NewTextHandler(c.Stderr, &slog.HandlerOptions{Level: level})),
		Listening:         c.Listening,
		PolicyReload:      fl.policyReload,
		Tool:              report.Tool{Name: "dwf-policy", Version: version(), InformationURI: InformationURI},
		Timeout:           fl.timeout,
		Mode:              fl.mode,
		OnError:           fl.onError,
		NoAttachedReports: fl.noAttachedReports,
		Source:            fl.source,
	}
	if fl.dockerConfig != "" {
		req.DockerConfig = repopath.Abs(wd, fl.dockerConfig)
		req.Image.Keychain = nil
	} else if c.Keychain == nil {
		req.Image.Keychain = authn.NewMultiKeychain()
	}
	if fl.admission {
		req.Admission = &ServeAdmission{
			RuleModes:         ruleModes,
			ExemptNamespaces:  fl.exemptNamespaces,
			AllowedRegistries: fl.allowedRegistries,
			PullSecrets:       fl.pullSecrets,
		}
	}
	if fl.gateUpstream != "" {
		gateMode := fl.mode
		if fl.gateMode != "" {
			gateMode = fl.gateMode
		}
		req.Gate = &ServeGate{
			Upstream:              fl.gateUpstream,
			Listen:                fl.gateListen,
			EventsTokenFile:       fl.eventsTokenFile,
			Mode:                  gateMode,
			Exempt:                fl.gateExempt,
			Only:                  fl.gateOnly,
			MaxManifestBytes:      fl.maxManifestBytes,
			ReconcileInterval:     fl.reconcileInterval,
			ReconcileRepositories: fl.reconcileRepos,
			ReconcileCatalog:      fl.reconcileCatalog,
			ReconcileRate:         fl.reconcileRate,
		}
	}
	if c.Serve == nil {
		return c.execServer()
	}
	if err := c.Serve(ctx, req); err != nil {
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return usageError("%v", err)
	}
	return nil
}

func (c Command) serveConfig(fl *serveFlags, changed func(flag string) bool) error {
	if fl.config == "" {
		return nil
	}
	wd, err := c.workDir()
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	cfg, err := config.Load(repopath.Abs(wd, fl.config), fl.config)
	if err != nil {
		return usageError("%v", err)
	}
	w := cfg.Webhook
	fl.fromConfig = map[string]string{}
	from := func(flag, key string) {
		fl.fromConfig[flag] = "webhook." + key + " in " + fl.config
	}
	str := func(flag, key string, dst *string, v string) {
		if v != "" && !changed(flag) {
			*dst = v
			from(flag, key)
		}
	}
	list := func(flag, key string, dst *[]string, v []string) {
		if v != nil && !changed(flag) {
			*dst = v
			from(flag, key)
		}
	}
	str("mode", "mode", &fl.mode, w.Mode)
	str("fail-on", "fail_on", &fl.failOn, w.FailOn)
	str("on-error", "on_error", &fl.onError, w.OnError)
	str("docker-config", "docker_config", &fl.dockerConfig, w.DockerConfig)
	list("exempt-namespace", "exempt_namespaces", &fl.exemptNamespaces, w.ExemptNamespaces)
	list("allowed-registry", "allowed_registries", &fl.allowedRegistries, w.AllowedRegistries)
	list("insecure-registry", "insecure_registries", &fl.insecure, w.InsecureRegistries)
	list("gate-exempt", "gate.exempt", &fl.gateExempt, w.Gate.Exempt)
	list("gate-only", "gate.only", &fl.gateOnly, w.Gate.Only)
	if w.PullSecrets != nil && !changed("pull-secrets") {
		fl.pullSecrets = *w.PullSecrets
		from("pull-secrets", "pull_secrets")
	}
	if w.RuleModes != nil && !changed("rule-mode") {
		fl.ruleModes = nil
		for _, id := range slices.Sorted(maps.Keys(w.RuleModes)) {
			fl.ruleModes = append(fl.ruleModes, id+"="+w.RuleModes[id])
		}
	}
	if !changed("mode") {
		fl.gateMode = w.Gate.Mode
	}
	return nil
}
