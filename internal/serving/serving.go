// Package serving runs what `dwf-policy serve` asks for: it turns the
// command line's ServeRequest into the webhook's options and serves. It is
// linked into dwf-policy-server only; the dwf-policy binary hands serve to
// that program (see cli.Command.Serve).
package serving

import (
	"context"
	"fmt"

	"github.com/devflow/dwf-policy/internal/cli"
	"github.com/devflow/dwf-policy/webhook"
	"github.com/devflow/dwf-policy/webhook/admission"
	"github.com/devflow/dwf-policy/webhook/registrygate"
)

// Serve serves req until ctx is done.
func Serve(ctx context.Context, req cli.ServeRequest) error {
	if req.DockerConfig != "" {
		kc, err := admission.NewStaticKeychain(req.DockerConfig, req.Logger)
		if err != nil {
			return fmt.Errorf("%s: %w", req.Source("docker-config"), err)
		}
		req.Image.Keychain = kc
	}
	opts := webhook.Options{
		Listen:       req.Listen,
		CertFile:     req.TLSCert,
		KeyFile:      req.TLSKey,
		ClientCAFile: req.ClientCA,
		Policy:       req.Policy,
		Image:        req.Image,
		FailOn:       req.FailOn,
		Logger:       req.Logger,
		Listening:    req.Listening,
		PolicyReload: req.PolicyReload,
		Tool:         req.Tool,
	}
	if a := req.Admission; a != nil {
		ruleModes := make(map[string]admission.Mode, len(a.RuleModes))
		for id, m := range a.RuleModes {
			ruleModes[id] = admission.Mode(m)
		}
		var api *admission.KubeAPI
		if a.PullSecrets {
			var err error
			if api, err = admission.InClusterAPI(); err != nil {
				return fmt.Errorf("%s: %w", req.Source("pull-secrets"), err)
			}
		}
		opts.Admission = &admission.Options{
			KubeAPI:           api,
			RuleModes:         ruleModes,
			Mode:              admission.Mode(req.Mode),
			OnError:           admission.OnError(req.OnError),
			ExemptNamespaces:  a.ExemptNamespaces,
			AllowedRegistries: a.AllowedRegistries,
			LookupTimeout:     req.Timeout,
		}
		if req.NoAttachedReports {
			opts.Admission.ReportRules = []string{}
		}
	}
	if g := req.Gate; g != nil {
		opts.Gate = &webhook.GateOptions{
			Upstream:        g.Upstream,
			Listen:          g.Listen,
			EventsTokenFile: g.EventsTokenFile,
			Options: registrygate.Options{
				Mode:             registrygate.Mode(g.Mode),
				OnError:          registrygate.OnError(req.OnError),
				JudgeTimeout:     req.Timeout,
				Exempt:           g.Exempt,
				Only:             g.Only,
				MaxManifestBytes: g.MaxManifestBytes,
				Reconcile: registrygate.Reconcile{
					Interval:     g.ReconcileInterval,
					Repositories: g.ReconcileRepositories,
					Catalog:      g.ReconcileCatalog,
					Rate:         g.ReconcileRate,
				},
				NoReports: req.NoAttachedReports,
			},
		}
	}
	return webhook.Serve(ctx, opts)
}
