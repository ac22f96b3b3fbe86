package cli

import (
	"context"
	"errors"
	"os"

	"github.com/spf13/cobra"

	"github.com/devflow/dwf-policy/engine/config"
	"github.com/devflow/dwf-policy/engine/policyset"
)

// policyFlags choose the configuration and the policies a command runs
// with; check, image, rules and test share them.
type policyFlags struct {
	config          string
	policies        []string
	allowNet        bool
	verificationKey string
}

func (p *policyFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.config, "config", "", "read the configuration from `FILE` instead of the nearest "+config.FileName)
	cmd.Flags().StringArrayVar(&p.policies, "policy", nil, "also load the custom policies in `DIR`, or an OPA bundle FILE.tar.gz (repeatable)")
	cmd.Flags().BoolVar(&p.allowNet, "allow-net", false, "let policies use network and environment builtins (http.send, net.*, opa.runtime)")
	cmd.Flags().StringVar(&p.verificationKey, "verification-key", "", "accept only bundles signed with the private key of this PEM public key `FILE`")
}

func (p policyFlags) options(wd string) policyset.Options {
	return policyset.Options{
		WorkDir:             wd,
		ConfigFile:          p.config,
		Policies:            p.policies,
		VerificationKeyFile: p.verificationKey,
		AllowNet:            p.allowNet,
	}
}

// openPolicies opens and compiles the policy set the flags name. Every
// error is the user's to fix (exit 2).
func (c Command) openPolicies(ctx context.Context, fl policyFlags) (*policyset.Set, error) {
	wd, err := c.workDir()
	if err != nil {
		return nil, &exitError{code: ExitError, err: err}
	}
	set, err := policyset.Open(ctx, fl.options(wd))
	if err != nil {
		return nil, usageError("%v", err)
	}
	return set, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
