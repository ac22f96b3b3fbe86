package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/devflow/dwf-policy/engine"
	"github.com/devflow/dwf-policy/policies"
)

func (c Command) rulesCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List the rule catalogue",
		Long: `Rules lists every rule dwf-policy runs: its ID, severity, kind and title.
The catalogue comes from the METADATA of the Rego packages, built-in and custom.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return usageError("--format: unknown format %q (want text or json)", format)
			}
			eng, err := engine.New(cmd.Context(), engine.Options{
				Policies: []engine.PolicySource{{Name: "policies", FS: policies.FS, Builtin: true}},
			})
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			if format == "json" {
				enc := json.NewEncoder(c.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(eng.Rules())
			}
			tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSEVERITY\tKIND\tNAME\tTITLE")
			for _, r := range eng.Rules() {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Severity, r.Kind, r.Name, r.Title)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "text", "output format: text or json")
	return cmd
}
