package cli

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/devflow/dwf-policy/engine/bundle"
	"github.com/devflow/dwf-policy/engine/repofile"
	"github.com/devflow/dwf-policy/engine/repopath"
	"github.com/devflow/dwf-policy/policies"
)

type bundleFlags struct {
	output     string
	signingKey string
	signingAlg string
	revision   string
	builtin    bool
}

func (c Command) bundleCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bundle",
		Short: "Build OPA bundles of policies",
		Long: `dwf-policy loads policies from OPA bundles (.tar.gz with .manifest, roots,
data.json, the .rego files and optionally .signatures.json) given with
--policy FILE.tar.gz; with --verification-key only signed, unchanged bundles
are accepted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var fl bundleFlags
	build := &cobra.Command{
		Use:   "build DIR -o FILE",
		Short: "Build (and sign) an OPA bundle from a directory of policies",
		Long: `Build packs every .rego file below DIR (tests included, byte for byte) into
an OPA bundle. DIR/.manifest, when present, gives the revision, roots and
metadata; without it the roots are [dwf]. Every package must lie under a
root. Data files are refused: policies read their settings from
data.dwf.config, which comes from .dwf-policy.yaml.

With --signing-key the bundle is signed the way 'opa build' signs it (a JWT
over the digest of every file, key id "default"), RS256 for an RSA key and
ES256 for an EC P-256 key. 'dwf-policy check --verification-key' with the
matching public key then refuses a bundle that is unsigned or was changed.

With --builtin the .rego files are the built-in policies this binary embeds
and DIR holds only the bundle definition (its .manifest): 'make bundles'
builds bundles/baseline.tar.gz this way from bundles/baseline/.`,
		Example: `  dwf-policy bundle build ./policy -o acme.tar.gz
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out signing.pem
  openssl pkey -in signing.pem -pubout -out verification.pem
  dwf-policy bundle build ./policy -o acme.tar.gz --signing-key signing.pem --revision "$(git rev-parse HEAD)"
  dwf-policy check --policy acme.tar.gz --verification-key verification.pem .`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runBundleBuild(fl, args[0])
		},
	}
	build.Flags().StringVarP(&fl.output, "output", "o", "", "write the bundle to `FILE` (required)")
	build.Flags().StringVar(&fl.signingKey, "signing-key", "", "sign the bundle with this PEM private key `FILE` (RSA or EC P-256)")
	build.Flags().StringVar(&fl.signingAlg, "signing-alg", "", "RS256 or ES256; default: the one the key is for")
	build.Flags().StringVar(&fl.revision, "revision", "", "set the manifest's revision")
	build.Flags().BoolVar(&fl.builtin, "builtin", false, "bundle the built-in policies; DIR holds only the .manifest")
	cmd.AddCommand(build)
	return cmd
}

func (c Command) runBundleBuild(fl bundleFlags, dir string) error {
	if fl.output == "" {
		return usageError("bundle build: --output FILE is required")
	}
	switch fl.signingAlg {
	case "", "RS256", "ES256":
	default:
		return usageError("--signing-alg: unsupported algorithm %q (want RS256 or ES256)", fl.signingAlg)
	}
	if fl.signingAlg != "" && fl.signingKey == "" {
		return usageError("--signing-alg needs --signing-key")
	}
	wd, err := c.workDir()
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	abs := repopath.Abs(wd, dir)
	if info, err := os.Stat(abs); err != nil || !info.IsDir() {
		if err == nil {
			err = errors.New("not a directory")
		}
		return usageError("bundle build %s: %v", dir, repofile.Cause(err))
	}
	opts := bundle.BuildOptions{Revision: fl.revision, SigningAlg: fl.signingAlg}
	manifest, err := os.ReadFile(filepath.Join(abs, bundle.ManifestFile))
	switch {
	case err == nil:
		opts.Manifest = manifest
	case !errors.Is(err, fs.ErrNotExist):
		return usageError("bundle build: %v", err)
	}
	if fl.signingKey != "" {
		if opts.SigningKey, err = os.ReadFile(repopath.Abs(wd, fl.signingKey)); err != nil {
			return usageError("--signing-key: %v", repofile.Cause(err))
		}
	}
	var fsys fs.FS = os.DirFS(abs)
	if fl.builtin {
		var rego []string
		_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".rego") {
				rego = append(rego, p)
			}
			return nil
		})
		if len(rego) > 0 {
			return usageError("bundle build --builtin: %s holds .rego files (%s); with --builtin it holds only the bundle definition", dir, strings.Join(rego, ", "))
		}
		fsys = policies.FS
	}
	var built bytes.Buffer
	err = writeFile(repopath.Abs(wd, fl.output), func(w io.Writer) error { return bundle.Build(io.MultiWriter(w, &built), fsys, opts) })
	if err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("bundle build %s: %w", dir, err)}
	}
	// Say what was written, read back as `check --policy` will read it.
	b, err := bundle.Read(built.Bytes(), bundle.ReadOptions{})
	if err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("bundle build %s: reading back %s: %w", dir, fl.output, err)}
	}
	revision := b.Revision
	if revision == "" {
		revision = "none"
	}
	signed := "not signed"
	if b.Signed {
		signed = "signed"
	}
	fmt.Fprintf(c.Stdout, "wrote %s: revision %s, sha256:%x, %d bytes, %s\n", fl.output, revision, sha256.Sum256(built.Bytes()), built.Len(), signed)
	return nil
}
