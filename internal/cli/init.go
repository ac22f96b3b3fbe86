package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/devflow/dwf-policy/engine/config"
	"github.com/devflow/dwf-policy/engine/repofile"
)

// starterConfig is what `dwf-policy init` writes: the schema line for
// editors and every setting at its default, commented out, so the file
// changes nothing until a line is uncommented. A test checks that it is a
// valid configuration and names every top-level key of the schema.
const starterConfig = `# yaml-language-server: $schema=https://raw.githubusercontent.com/devflow/dwf-policy/main/docs/dwf-policy.schema.json
# dwf-policy configuration: 'dwf-policy config --help' explains each key and
# 'dwf-policy config schema' prints the JSON Schema. Every setting below is
# the default, commented out; paths and globs are relative to this file.

# The standard's values, seen by policies as data.dwf.config.
# uid: 1001
# user: dwfuser
# init: [tini]

# The severities a Trivy scan must fail on.
# trivy:
#   severities: [CRITICAL, HIGH]

# Thresholds for Trivy vulnerability reports (DWF401-DWF404).
# vulnerabilities:
#   ignore_unfixed: false
#   max: {HIGH: 0}
#   unknown_as: HIGH
#   max_age: 7d
#   require_report: false
#   ignore:
#     - id: CVE-2024-0000
#       reason: not reachable from our code
#       expires: 2030-01-01

# What every image-building bake target must do (DWF501-DWF503).
# bake:
#   platforms: [linux/amd64, linux/arm64]
#   compression: zstd
#   cache_mode: max

# The scanning layers (DWF207-DWF210): lockfiles whose change must trigger
# an image scan, and the names the default branch may have.
# scans:
#   lockfiles: [Cargo.lock, package-lock.json, pnpm-lock.yaml, yarn.lock, poetry.lock, uv.lock, requirements*.txt, go.sum, Gemfile.lock, composer.lock]
#   default_branches: [main, master]

# Rule severities by ID: error, warning, note or off ('dwf-policy rules').
# rules:
#   DWF104: warning

# Globs of paths never checked.
# exclude:
#   - third_party/**

# Custom policy directories and bundles, loaded after the built-in rules.
# policies:
#   - policy/

# Findings of one rule that do not count in some paths, with a reason.
# exceptions:
#   - rule: DWF104
#     paths: ["legacy/**"]
#     reason: legacy images build without BuildKit until the migration
#     expires: 2030-01-01

# The settings of 'dwf-policy serve' (the admission webhook and the registry
# gate), read with --config; a flag given on the command line overrides each.
# webhook:
#   mode: enforce
#   rule_modes: {}
#   fail_on: error
#   on_error: deny
#   exempt_namespaces: [kube-system, kube-node-lease]
#   allowed_registries: []
#   insecure_registries: []
#   pull_secrets: false
#   gate:
#     exempt: []
#     only: []
`

func (c Command) initCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "init [DIR]",
		Short: "Write a starter " + config.FileName,
		Long: `Init writes a starter ` + config.FileName + ` into DIR (default: the current
directory): the schema line for editors and every setting at its default,
commented out, so the file changes nothing until you uncomment a line. It
refuses to overwrite an existing file.`,
		Example: `  dwf-policy init
  dwf-policy init services/api`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			wd, err := c.workDir()
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			shown := filepath.Join(dir, config.FileName)
			file := shown
			if !filepath.IsAbs(file) {
				file = filepath.Join(wd, file)
			}
			f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			switch {
			case errors.Is(err, fs.ErrExist):
				return usageError("%s exists already; not overwriting it", shown)
			case err != nil:
				return &exitError{code: ExitError, err: fmt.Errorf("creating %s: %w", shown, repofile.Cause(err))}
			}
			if _, err := f.WriteString(starterConfig); err != nil {
				f.Close()
				return &exitError{code: ExitError, err: fmt.Errorf("writing %s: %w", shown, err)}
			}
			if err := f.Close(); err != nil {
				return &exitError{code: ExitError, err: fmt.Errorf("writing %s: %w", shown, err)}
			}
			fmt.Fprintf(c.Stdout, "wrote %s\n", shown)
			return nil
		},
	}
}
