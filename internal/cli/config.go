package cli

import (
	"github.com/spf13/cobra"

	"github.com/devflow/dwf-policy/engine/config"
)

func (c Command) configCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Work with the configuration file (.dwf-policy.yaml)",
		Long: `dwf-policy reads the nearest .dwf-policy.yaml up to the repository root,
searching from the paths checked ('check services/api' reads
services/api/.dwf-policy.yaml first) or from the working directory, or the
file given with --config. Its keys:

  uid, user, init        the standard's values, seen by policies as data.dwf.config
  trivy.severities       the severities a Trivy scan must fail on
  scans.lockfiles        lockfiles whose change must trigger an image scan (DWF210)
  scans.default_branches names the default branch may have (DWF207)
  rules                  severity overrides by rule ID: off, note, warning, error
  exclude                globs of paths never checked
  policies               custom policy directories and bundle files
  exceptions             {rule, paths, reason, expires} entries
  webhook                the settings of 'dwf-policy serve' (mode, fail_on,
                         on_error, exempt_namespaces, registries, gate, ...),
                         read by serve only; its flags override them

Paths and globs are relative to the file's directory; ** spans directories.
An unknown key or a value of the wrong type is an error naming the line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of .dwf-policy.yaml, for editors",
		Long: `Schema prints the JSON Schema of the configuration file. Editors with a YAML
language server validate and complete the file with it, for example:

  dwf-policy config schema > .dwf-policy.schema.json

and a first line in .dwf-policy.yaml:

  # yaml-language-server: $schema=.dwf-policy.schema.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := c.Stdout.Write(config.Schema())
			return err
		},
	})
	return cmd
}
