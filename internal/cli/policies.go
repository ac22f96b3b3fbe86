package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/devflow/dwf-policy/engine"
	"github.com/devflow/dwf-policy/engine/config"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/engine/policyset"
)

// policyFlags choose the configuration and the policies a command runs
// with; check, image, rules and test share them.
type policyFlags struct {
	config          string
	ignoreFile      string
	policies        []string
	allowNet        bool
	verificationKey string
	evalTimeout     time.Duration
	memoryBudgetMiB int64
	ignore          []string
	rules           []string
	// searchFrom are the paths checked, where the configuration is
	// searched from (check); not a flag.
	searchFrom []string
	// deferred compiles each kind's policies when the check needs them
	// (check, image); not a flag.
	deferred bool
}

func (p *policyFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.config, "config", "", "read the configuration from `FILE` instead of the nearest "+config.FileName)
	cmd.Flags().StringVar(&p.ignoreFile, "ignorefile", "", "read accepted vulnerabilities from this .trivyignore or .trivyignore.yaml `FILE` instead of those beside the configuration, as Trivy's --ignorefile")
	cmd.Flags().StringArrayVar(&p.policies, "policy", nil, "also load the custom policies in `DIR`, or an OPA bundle FILE.tar.gz (repeatable)")
	cmd.Flags().BoolVar(&p.allowNet, "allow-net", false, "let policies use network builtins (http.send, net.*, opa.runtime); never host files or environment variables")
	cmd.Flags().StringVar(&p.verificationKey, "verification-key", "", "accept only bundles signed with the private key of this PEM public key `FILE`")
	cmd.Flags().StringArrayVar(&p.ignore, "ignore", nil, "turn the rule `ID` off for this run (repeatable), as `rules: {ID: off}` in the configuration would")
	cmd.Flags().StringArrayVar(&p.rules, "rule", nil, "set a rule's severity for this run, `ID=SEVERITY` (error, warning, note or off; repeatable), over the configuration's")
	cmd.Flags().DurationVar(&p.evalTimeout, "eval-timeout", engine.DefaultEvalTimeout, "give up on one input when its rules take longer than this, naming the slow rules")
	cmd.Flags().Int64Var(&p.memoryBudgetMiB, "memory-budget", engine.DefaultMemoryBudget>>20, "stop when the policies' live heap passes this many `MiB`")
}

func (p policyFlags) options(wd string) (policyset.Options, error) {
	if p.evalTimeout <= 0 {
		return policyset.Options{}, fmt.Errorf("--eval-timeout: must be positive, got %s", p.evalTimeout)
	}
	if p.memoryBudgetMiB <= 0 {
		return policyset.Options{}, fmt.Errorf("--memory-budget: must be a positive number of MiB, got %d", p.memoryBudgetMiB)
	}
	rules, err := p.ruleOverrides()
	if err != nil {
		return policyset.Options{}, err
	}
	return policyset.Options{
		Rules:               rules,
		SearchFrom:          p.searchFrom,
		WorkDir:             wd,
		ConfigFile:          p.config,
		IgnoreFile:          p.ignoreFile,
		Policies:            p.policies,
		VerificationKeyFile: p.verificationKey,
		AllowNet:            p.allowNet,
		EvalTimeout:         p.evalTimeout,
		MemoryBudget:        p.memoryBudgetMiB << 20,
		Deferred:            p.deferred,
	}, nil
}

// ruleOverrides reads --ignore and --rule; a later flag wins for the
// same rule.
func (p policyFlags) ruleOverrides() (map[string]finding.Severity, error) {
	if len(p.ignore) == 0 && len(p.rules) == 0 {
		return nil, nil
	}
	out := map[string]finding.Severity{}
	for _, id := range p.ignore {
		out[strings.ToUpper(id)] = finding.SeverityNone
	}
	for _, r := range p.rules {
		id, sev, ok := strings.Cut(r, "=")
		if !ok || id == "" {
			return nil, fmt.Errorf("--rule %q: want ID=SEVERITY (error, warning, note or off)", r)
		}
		s, err := finding.ParseSeverity(sev)
		if err != nil {
			return nil, fmt.Errorf("--rule %q: %w", r, err)
		}
		out[strings.ToUpper(id)] = s
	}
	return out, nil
}

// openPolicies opens and compiles the policy set the flags name. Every
// error is the user's to fix (exit 2).
func (c Command) openPolicies(ctx context.Context, fl policyFlags) (*policyset.Set, error) {
	wd, err := c.workDir()
	if err != nil {
		return nil, &exitError{code: ExitError, err: err}
	}
	opts, err := fl.options(wd)
	if err != nil {
		return nil, usageError("%v", err)
	}
	if c.TuneGC {
		// Collect as the heap nears the memory budget, so the live heap the
		// budget is judged by stays current (see engine/limits.go).
		capHeap(opts.MemoryBudget)
	}
	set, err := policyset.Open(ctx, opts)
	if err != nil {
		return nil, usageError("%v", err)
	}
	return set, nil
}

// compileError is the usage error for policies a deferred compile found
// broken (see policyFlags.deferred), as opening them would have reported
// it; nil when err holds none.
func compileError(err error, set *policyset.Set) error {
	ce, ok := errors.AsType[*engine.CompileError](err)
	if !ok {
		return nil
	}
	return usageError("%v", policyset.WithSandboxHint(ce, set.Sandboxed()))
}
