package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/devflow/dwf-policy/engine"
	"github.com/devflow/dwf-policy/engine/config"
	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/engine/input"
	"github.com/devflow/dwf-policy/engine/report"
	"github.com/devflow/dwf-policy/engine/suppress"
)

// outputFlags are shared by every command that reports findings.
type outputFlags struct {
	format         string
	output         string
	failOn         string
	showSuppressed bool
}

func (o *outputFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.format, "format", "f", "text", "output format: text, json or sarif")
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "write the report to `FILE` instead of standard output")
	cmd.Flags().StringVar(&o.failOn, "fail-on", "error", "exit 1 when a finding is at or above this severity: error, warning, note or none")
	cmd.Flags().BoolVar(&o.showSuppressed, "show-suppressed", false, "list suppressed findings in text output too")
}

// validate checks the flag values before any work is done.
func (o *outputFlags) validate() (report.Formatter, finding.Severity, error) {
	f, err := report.New(o.format)
	if err != nil {
		return nil, 0, usageError("--format: %v", err)
	}
	sev, err := finding.ParseSeverity(o.failOn)
	if err != nil || o.failOn == "off" {
		return nil, 0, usageError("--fail-on: unknown severity %q (want error, warning, note or none)", o.failOn)
	}
	return f, sev, nil
}

type checkFlags struct {
	outputFlags
	policyFlags
	target       string
	kind         string
	resolveBases bool
	registry     registryFlags
}

func (c Command) checkCommand() *cobra.Command {
	var fl checkFlags
	cmd := &cobra.Command{
		Use:   "check [PATH...]",
		Short: "Check Dockerfiles and workflows in files or directories",
		Long: `Check walks the given files and directories (default: the current directory)
and checks every Dockerfile (Dockerfile, Containerfile, *.Dockerfile,
Dockerfile.*, *.dockerfile) and GitHub Actions workflow
(.github/workflows/*.yml|yaml) it finds. Directories named .git, vendor and
node_modules are skipped. Files named explicitly are checked whatever their
name: YAML files as workflows, anything else as a Dockerfile, unless --kind
says otherwise.

A file that cannot be parsed is reported as a DWF000 finding; the other files
are still checked.

The nearest .dwf-policy.yaml (from the working directory up to the
repository root) or --config sets the standard's values, rule severities,
excluded paths, custom policies and exceptions; run 'dwf-policy config schema'
for its JSON Schema. A comment '# dwf-policy:ignore DWF104 reason' above or at
the end of a line suppresses that rule's finding there. Suppressed findings
do not count for the exit code, are listed only with --show-suppressed, and
stay in SARIF with their justification.

Check makes no network calls, unless --resolve-base-images asks it to fetch
the config of the image a Dockerfile's final stage is built FROM when the
Dockerfile itself sets no USER or no ENTRYPOINT: what that image sets is then
used (located at the FROM line), so a FROM devflow/base that brings dwfuser
and tini passes. Each distinct base image is fetched once per run, config
only; see 'dwf-policy image --help' for credentials and the cache. A base
image that cannot be fetched is reported on standard error, its Dockerfiles
are checked without it, and the exit code is 2.`,
		Example: `  dwf-policy check
  dwf-policy check --format sarif --output dwf-policy.sarif .
  dwf-policy check --target runtime build/Dockerfile
  dwf-policy check --fail-on warning Dockerfile .github/workflows/ci.yml
  dwf-policy check --policy ./policy --policy org-baseline.tar.gz --verification-key org.pem
  dwf-policy check --resolve-base-images Dockerfile`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runCheck(cmd.Context(), fl, args)
		},
	}
	fl.outputFlags.register(cmd)
	fl.policyFlags.register(cmd)
	cmd.Flags().StringVar(&fl.target, "target", "", "check this Dockerfile build `STAGE` instead of the last one (like docker build --target)")
	cmd.Flags().StringVar(&fl.kind, "kind", "", "treat explicitly named files as this kind: dockerfile or workflow")
	cmd.Flags().BoolVar(&fl.resolveBases, "resolve-base-images", false, "fetch the config of the final stage's base image from its registry when the Dockerfile sets no USER or ENTRYPOINT, and use what it sets (network)")
	fl.registry.register(cmd, " (with --resolve-base-images)")
	return cmd
}

func (c Command) runCheck(ctx context.Context, fl checkFlags, paths []string) error {
	formatter, failOn, err := fl.validate()
	if err != nil {
		return err
	}
	var kind document.Kind
	switch fl.kind {
	case "", string(document.KindDockerfile), string(document.KindWorkflow):
		kind = document.Kind(fl.kind)
	default:
		return usageError("--kind: unknown kind %q (want dockerfile or workflow)", fl.kind)
	}
	if len(paths) == 0 {
		paths = []string{"."}
	}
	wd, err := c.workDir()
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}

	st, err := c.loadSetup(wd, fl.policyFlags)
	if err != nil {
		return err
	}
	eng, err := st.engine(ctx)
	if err != nil {
		return err
	}
	var bases *baseResolver // nil: no network
	if fl.resolveBases {
		opts, err := c.imageOptions(wd, fl.registry)
		if err != nil {
			return err
		}
		bases = newBaseResolver(opts)
	}

	// Missing paths are reported, but the others are still checked.
	sources, discoverErr := input.Discover(paths, input.DiscoverOptions{Kind: kind, WorkDir: wd, Exclude: st.cfg.Excluder(wd)})
	contents := make([][]byte, len(sources))
	repoRoot := findRepoRoot(wd)
	if repoRoot == "" {
		repoRoot = wd
	}
	loadOpts := input.LoadOptions{Target: fl.target, RepoRoot: repoRoot}
	findings, evalErr := eng.Run(ctx, len(sources), func(i int) (*document.Document, error) {
		doc, perr := input.LoadDocument(sources[i], loadOpts)
		if perr != nil {
			return nil, perr // a typed nil must not become a non-nil error
		}
		contents[i] = doc.Source
		bases.resolve(ctx, doc)
		return doc, nil
	})
	basesErr := bases.report(c.Stderr)
	sourcesByPath := make(map[string][]byte, len(sources)+1)
	for i, s := range sources {
		if contents[i] != nil {
			sourcesByPath[s.Path] = contents[i]
		}
	}
	findings = c.suppress(eng, st.cfg, wd, findings, sourcesByPath, "")
	if st.cfg != nil {
		if _, ok := sourcesByPath[st.cfg.Name]; !ok {
			sourcesByPath[st.cfg.Name] = st.cfg.Source // DWF001 points into it
		}
	}

	rep := &report.Report{
		Tool:           report.Tool{Name: "dwf-policy", Version: version(), InformationURI: InformationURI},
		Rules:          eng.Rules(),
		Findings:       findings,
		Sources:        sourcesByPath,
		FilesChecked:   len(sources),
		ShowSuppressed: fl.showSuppressed,
		URIBase:        repoRelative(wd),
	}
	if err := c.writeReport(formatter, rep, fl.output); err != nil {
		return &exitError{code: ExitError, err: err}
	}
	if err := errors.Join(discoverErr, evalErr, basesErr); err != nil {
		return &exitError{code: ExitError, err: err}
	}
	if finding.CountAtLeast(findings, failOn) > 0 {
		return &exitError{code: ExitFindings}
	}
	return nil
}

// suppress applies the configuration's exceptions and the inline
// suppressions of the checked files, adding DWF001 and DWF002 findings.
// Suppressed findings are kept, marked: SARIF shows them. With onlyKind
// set, an inline comment naming a rule of another kind is left alone, as
// for a rule that is turned off.
func (c Command) suppress(eng *engine.Engine, cfg *config.Config, wd string, findings []finding.Finding, sources map[string][]byte, onlyKind document.Kind) []finding.Finding {
	severity := func(id string) finding.Severity {
		r, _ := eng.Rule(id) // SeverityNone when missing or turned off
		return r.Severity
	}
	findings = cfg.ApplyExceptions(findings, config.ApplyOptions{
		Now:             c.now(),
		WorkDir:         wd,
		ExpiredSeverity: severity(config.ExpiredExceptionRuleID),
	})
	findings = suppress.Apply(findings, sources, suppress.Options{
		UnusedSeverity: severity(suppress.UnusedRuleID),
		Rules: func(id string) (bool, bool) {
			r, ok := eng.Rule(id)
			return ok, r.Severity != finding.SeverityNone && (onlyKind == "" || r.Kind == onlyKind)
		},
	})
	finding.Sort(findings)
	return findings
}

func (c Command) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c Command) workDir() (string, error) {
	if c.WorkDir != "" {
		return c.WorkDir, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding working directory: %w", err)
	}
	return wd, nil
}

// writeReport writes to --output (atomically, so a failed run never leaves
// half a SARIF file for an upload step) or to standard output.
func (c Command) writeReport(f report.Formatter, rep *report.Report, output string) error {
	if output == "" {
		return f.Format(c.Stdout, rep)
	}
	if !filepath.IsAbs(output) && c.WorkDir != "" {
		output = filepath.Join(c.WorkDir, output)
	}
	tmp, err := os.CreateTemp(filepath.Dir(output), ".dwf-policy-*")
	if err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := f.Format(tmp, rep); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	if err := os.Rename(tmp.Name(), output); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}

// repoRelative maps reported paths (relative to wd) to paths relative to the
// enclosing git repository root, which is what GitHub code scanning
// resolves SARIF URIs against. Outside a repository, paths stay as they are.
func repoRelative(wd string) func(string) string {
	root := findRepoRoot(wd)
	if root == "" {
		return nil
	}
	return func(p string) string {
		abs := p
		if !filepath.IsAbs(p) {
			abs = filepath.Join(wd, filepath.FromSlash(p))
		}
		rel, err := filepath.Rel(root, abs)
		if err != nil || strings.HasPrefix(rel, "..") {
			return p
		}
		return filepath.ToSlash(rel)
	}
}

func findRepoRoot(dir string) string {
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}
