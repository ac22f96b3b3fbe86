package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/input"
)

type checkFlags struct {
	outputFlags
	policyFlags
	target       string
	kind         string
	resolveBases bool
	resolveImgs  bool
	vars         []string
	stdinName    string
	registry     registryFlags
}

func (c Command) checkCommand() *cobra.Command {
	var fl checkFlags
	cmd := &cobra.Command{
		Use:   "check [PATH...]",
		Short: "Check Dockerfiles, workflows and Kubernetes manifests in files or directories",
		Long: `Check walks the given files and directories (default: the current directory)
and checks every Dockerfile (Dockerfile, Containerfile, *.Dockerfile,
Dockerfile.*, *.dockerfile), GitHub Actions workflow
(.github/workflows/*.yml|yaml), Kubernetes manifest (a *.yaml, *.yml or
*.json file with apiVersion and kind at the root of a document: workloads,
Lists, helm template and kustomize output) and docker buildx bake file
(docker-bake.hcl, docker-bake.json, docker-bake.override.hcl|json,
docker-bake.*.hcl|json, *.bake.hcl|json) it finds. Directories named .git, vendor and
node_modules are skipped. Files named explicitly are checked whatever their
name: when the name says nothing, the content decides (a workflow has
top-level on: and jobs:), else YAML files are taken as workflows and
anything else as a Dockerfile; --kind forces a kind.

Bake files are evaluated as 'docker buildx bake' evaluates them: the default
bake files of a directory together, variables with their defaults, functions,
inherits, groups and matrix. Variables are never read from the environment:
--var NAME=VALUE overrides one, and --var NAME takes NAME's value from the
environment.

The path - reads standard input (findings name it stdin), recognised by
its content like a file named explicitly:
'helm template release ./chart | dwf-policy check -'. With --stdin-filename
PATH it is checked as the file PATH would be: named PATH in findings, of
the kind PATH's name says, left out when the configuration excludes PATH,
with the exceptions for PATH applied (an editor checking an unsaved buffer:
'dwf-policy check --stdin-filename build/Dockerfile - < buffer').

A file that cannot be parsed is reported as a DWF000 finding; the other files
are still checked. A path that leads to nothing checked (a directory with no
file of a known kind, a file named explicitly that the configuration's
exclude: leaves out) is reported on standard error; --strict-paths makes it
exit 2.

The nearest .dwf-policy.yaml above the paths given (from the deepest
directory they share up to the repository root, so 'check services/api'
reads services/api/.dwf-policy.yaml from anywhere), or --config, sets the standard's values, rule severities,
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
are checked without it, and the exit code is 2.

--resolve-images does the same for Kubernetes manifests: it loads the config
of every platform of each container image (once per distinct image, its
/etc/passwd included) and combines it with the pod spec where the manifest
does not decide: the image's user when no runAsUser or runAsNonRoot is set
(DWF601, DWF602), its ENTRYPOINT when the container has no command (DWF603).
Such findings sit on the container's image: line and name the image and
digest.`,
		Example: `  dwf-policy check
  dwf-policy check --format sarif --output dwf-policy.sarif .
  dwf-policy check --target runtime build/Dockerfile
  dwf-policy check --fail-on warning Dockerfile .github/workflows/ci.yml
  dwf-policy check --policy ./policy --policy org-baseline.tar.gz --verification-key org.pem
  dwf-policy check --resolve-base-images Dockerfile
  dwf-policy check --resolve-images deploy/
  helm template release ./chart | dwf-policy check -

  dwf-policy check --var VERSION=v1.2.3 docker-bake.hcl`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runCheck(cmd.Context(), fl, args)
		},
	}
	fl.outputFlags.register(cmd)
	fl.policyFlags.register(cmd)
	cmd.Flags().StringVar(&fl.target, "target", "", "check this Dockerfile build `STAGE` instead of the last one (like docker build --target); a Dockerfile named as an argument must have it (else exit 2), one found in a directory without it is checked at its last stage, with a note")
	cmd.Flags().StringVar(&fl.kind, "kind", "", "treat explicitly named files as this `KIND`: "+kindNames(", "))
	cmd.Flags().BoolVar(&fl.resolveBases, "resolve-base-images", false, "fetch the config of the final stage's base image from its registry when the Dockerfile sets no USER or ENTRYPOINT, and use what it sets (network)")
	cmd.Flags().BoolVar(&fl.resolveImgs, "resolve-images", false, "load the config of every platform of each Kubernetes container image from its registry, and judge the image's user and ENTRYPOINT where the manifest sets none (network)")
	cmd.Flags().StringArrayVar(&fl.vars, "var", nil, "set the bake variable `NAME=VALUE` (repeatable); a bare NAME takes its value from the environment")
	cmd.Flags().StringVar(&fl.stdinName, "stdin-filename", "", "check standard input (the path -) as the file at `PATH`: its name decides the kind and names the findings, and the configuration's exclusions and exceptions apply to it (editors checking an unsaved buffer)")
	cmd.Flags().BoolVar(&fl.strictPaths, "strict-paths", false, "exit 2 when a path given leads to nothing checked: a directory with no file of a known kind, or a file the configuration excludes (always reported on standard error)")
	fl.registry.register(cmd, " (with --resolve-base-images or --resolve-images)")
	return cmd
}

// bakeVars reads --var values: NAME=VALUE, or NAME for the value of the
// environment variable NAME (an unset one is no override).
func bakeVars(vals []string) (map[string]string, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(vals))
	for _, v := range vals {
		name, value, ok := strings.Cut(v, "=")
		if name == "" {
			return nil, usageError("--var %q: want NAME=VALUE or NAME", v)
		}
		if !ok {
			if value, ok = os.LookupEnv(name); !ok {
				continue
			}
		}
		out[name] = value
	}
	return out, nil
}

func (c Command) runCheck(ctx context.Context, fl checkFlags, paths []string) error {
	dests, failOn, err := fl.validate()
	if err != nil {
		return err
	}
	var kind document.Kind
	if fl.kind != "" {
		k, ok := input.LookupKind(fl.kind)
		if !ok {
			return usageError("--kind: unknown kind %q (want %s)", fl.kind, kindNames(" or "))
		}
		kind = k.Kind
	}
	vars, err := bakeVars(fl.vars)
	if err != nil {
		return err
	}
	for _, p := range paths {
		if p != "-" {
			fl.searchFrom = append(fl.searchFrom, p)
		}
	}
	if fl.stdinName != "" {
		fl.searchFrom = append(fl.searchFrom, fl.stdinName)
	}
	fl.deferred = true
	set, err := c.openPolicies(ctx, fl.policyFlags)
	if err != nil {
		return err
	}
	opts := check.Options{Now: c.Now}
	if fl.resolveBases || fl.resolveImgs {
		if opts.Image, err = c.imageOptions(set.WorkDir, fl.registry); err != nil {
			return err
		}
	}
	if fl.stdinName != "" && !slices.Contains(paths, "-") {
		return usageError("--stdin-filename names standard input: give the path - too")
	}
	stdin, err := c.readStdin(paths)
	if err != nil {
		return err
	}
	res := check.New(set, opts).Files(ctx, paths, check.FilesOptions{
		Stdin:             stdin,
		StdinName:         fl.stdinName,
		Kind:              kind,
		Target:            fl.target,
		Vars:              vars,
		ResolveBaseImages: fl.resolveBases,
		ResolveImages:     fl.resolveImgs,
	})
	if err := compileError(res.Err, set); err != nil {
		return err
	}
	return c.report(dests, failOn, set, res, fl.outputFlags)
}

// maxStdinBytes caps standard input: the largest input any kind accepts.
const maxStdinBytes = 64 << 20

// readStdin reads standard input when a path is "-" (helm template ... |
// dwf-policy check -), capped.
func (c Command) readStdin(paths []string) ([]byte, error) {
	if !slices.Contains(paths, "-") {
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(c.Stdin, maxStdinBytes+1))
	if err != nil {
		return nil, &exitError{code: ExitError, err: fmt.Errorf("reading standard input: %w", err)}
	}
	if len(data) > maxStdinBytes {
		return nil, usageError("standard input is larger than %d bytes", maxStdinBytes)
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// kindNames lists the input kinds read from files, for --kind.
func kindNames(sep string) string {
	var names []string
	for _, k := range input.FileKinds() {
		names = append(names, string(k.Kind))
	}
	slices.Sort(names)
	return strings.Join(names, sep)
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
