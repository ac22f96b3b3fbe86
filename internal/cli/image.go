package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/engine/repopath"
)

// registryFlags say how images are fetched; `image` and `check
// --resolve-base-images` / `--resolve-images` share them.
type registryFlags struct {
	insecure []string
	cacheDir string
	noCache  bool
	timeout  time.Duration
}

func (r *registryFlags) register(cmd *cobra.Command, what string) {
	cmd.Flags().StringArrayVar(&r.insecure, "insecure-registry", nil, "reach registry `HOST[:PORT]` over plain HTTP (repeatable); every other registry is HTTPS only"+what)
	cmd.Flags().StringVar(&r.cacheDir, "cache-dir", "", "cache manifests, configs and resolved users by digest in `DIR` (default: dwf-policy/images in the user cache directory)"+what)
	cmd.Flags().BoolVar(&r.noCache, "no-cache", false, "neither read nor write the image cache"+what)
	cmd.Flags().DurationVar(&r.timeout, "timeout", image.DefaultTimeout, "give up on one image after this long"+what)
	cmd.MarkFlagsMutuallyExclusive("cache-dir", "no-cache")
}

// imageOptions turns the flags into image.Options: a timeout, the insecure
// registries, the cache directory, and the Command's transport and keychain.
func (c Command) imageOptions(wd string, r registryFlags) (image.Options, error) {
	if r.timeout <= 0 {
		return image.Options{}, usageError("--timeout: must be positive, got %s", r.timeout)
	}
	for _, h := range r.insecure {
		if strings.TrimSpace(h) == "" || strings.ContainsAny(h, " \t") {
			return image.Options{}, usageError("--insecure-registry: %q is not a registry host such as localhost:5000", h)
		}
	}
	o := image.Options{
		InsecureRegistries: r.insecure,
		Timeout:            r.timeout,
		Transport:          c.RegistryTransport,
		Keychain:           c.Keychain,
	}
	switch {
	case r.noCache:
	case r.cacheDir != "":
		o.CacheDir = repopath.Abs(wd, r.cacheDir)
	default:
		// No user cache directory (no $HOME): run without a cache.
		if dir, err := os.UserCacheDir(); err == nil {
			o.CacheDir = filepath.Join(dir, "dwf-policy", "images")
		}
	}
	return o, nil
}

type imageFlags struct {
	outputFlags
	policyFlags
	registryFlags
	platforms   []string
	dockerfile  string
	trivyReport string
	noAttached  bool
}

func (c Command) imageCommand() *cobra.Command {
	var fl imageFlags
	cmd := &cobra.Command{
		Use:   "image REF...",
		Short: "Check container images in a registry, an OCI layout or a tarball",
		Long: `Image checks the config of container images against the image rules
(DWF301-DWF305): the user of every platform (a name resolved to a UID through
the image's own /etc/passwd), tini as PID 1, the platforms of the index and
the compression of the layers.

REF is a registry reference (ghcr.io/org/app:1.2, registry:5000/app@sha256:...),
an OCI image layout directory (oci-layout:DIR, as 'docker buildx build
--output type=oci,tar=false,dest=DIR' writes it) or a tar file (tarball:FILE,
an OCI layout in a tar or a 'docker save' archive). A REF without a prefix
that names a local layout directory or .tar file ('image ./out') is refused
with the prefix to write, rather than looked up in a registry. Tags are
resolved to digests; every platform of an index is checked unless --platform
names some.
Findings name the image by reference, digest and platform.

Registry credentials come from the Docker config (~/.docker/config.json or
$DOCKER_CONFIG/config.json) and its credential helpers, as for 'docker pull'
(without a Docker config, from Podman's auth.json); without any, requests
are anonymous.
Registries are reached over HTTPS only, except the hosts named with
--insecure-registry, which match the reference's host and port exactly
(127.0.0.1 does not cover 127.0.0.1:5000). Manifests, configs and users resolved from /etc/passwd
are cached on disk by digest (they never change), so a second run of a tag
costs one request for the tag. This command and 'check --resolve-base-images'
are the only ones that use the network.

An image that cannot be loaded (unauthorized, not found, timed out) is
reported on standard error, the other images are still checked, and the exit
code is 2. An image whose manifest or config is broken is a DWF000 finding.

With --dockerfile, findings are also placed at the line of the Dockerfile
that causes them: DWF301 and DWF302 at the final stage's USER, DWF303 at its
ENTRYPOINT (at its FROM when there is none), DWF304 and DWF305 at its FROM.
GitHub code scanning then shows them in the Dockerfile. Without it, SARIF
results point at the image reference as a file name that is not in the
repository: GitHub accepts and lists them, without a code view.

Each image is judged with its Trivy vulnerability report (DWF401-DWF404):
the one given with --trivy-report, or else the newest one attached to the
image's digest or its platform manifests' digests in the registry (OCI 1.1
referrers, with the referrers tag fallback for registries without the API,
and cosign's sha256-<digest>.att tag). Which report was used is said on
standard error. DWF403 reports a report that names none of the image's
digests; with vulnerabilities.require_report, DWF404 reports an image
without one. Attached reports are trusted as far as write access to the
registry is: their signatures are not verified.`,
		Example: `  dwf-policy image ghcr.io/devflow/app:1.4.2
  dwf-policy image --platform linux/arm64 ghcr.io/devflow/app:1.4.2
  dwf-policy image --format sarif --output image.sarif --dockerfile Dockerfile ghcr.io/devflow/app:$GITHUB_SHA
  dwf-policy image --insecure-registry localhost:5000 localhost:5000/app:dev
  dwf-policy image oci-layout:./out tarball:app.tar
  dwf-policy image --trivy-report trivy.json ghcr.io/devflow/app@sha256:...`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runImage(cmd.Context(), fl, args)
		},
	}
	fl.outputFlags.register(cmd)
	fl.policyFlags.register(cmd)
	fl.registryFlags.register(cmd, "")
	cmd.Flags().StringSliceVar(&fl.platforms, "platform", nil, "check only these platforms of an index, `OS/ARCH[/VARIANT]` (repeatable or comma-separated; default: all)")
	cmd.Flags().StringVar(&fl.dockerfile, "dockerfile", "", "also place findings at the lines of the Dockerfile `PATH` the image is built from")
	cmd.Flags().StringVar(&fl.trivyReport, "trivy-report", "", "judge the Trivy report `FILE` (JSON or cosign-vuln) with the image: DWF401-DWF403 (default: the newest report attached to the image's digest in the registry)")
	cmd.Flags().BoolVar(&fl.noAttached, "no-attached-reports", false, "do not look for vulnerability reports attached to the image in the registry")
	cmd.MarkFlagsMutuallyExclusive("trivy-report", "no-attached-reports")
	return cmd
}

func (c Command) runImage(ctx context.Context, fl imageFlags, refs []string) error {
	dests, failOn, err := fl.validate()
	if err != nil {
		return err
	}
	for _, p := range fl.platforms {
		if pl, err := v1.ParsePlatform(p); err != nil || pl.OS == "" || pl.Architecture == "" || strings.Count(p, "/") > 2 {
			return usageError("--platform: %q is not OS/ARCH[/VARIANT], such as linux/arm64", p)
		}
	}
	wd, err := c.workDir()
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	for _, ref := range refs {
		if strings.Contains(ref, ":") && !strings.HasPrefix(ref, ".") && !filepath.IsAbs(ref) {
			continue // a transport prefix or a tag: not a bare path
		}
		path := ref
		if !filepath.IsAbs(path) {
			path = filepath.Join(wd, path)
		}
		if prefix := image.LocalPrefix(path); prefix != "" {
			return usageError("%s is a local image (%s), not a registry reference: write %s%s to check it", ref, strings.TrimSuffix(prefix, ":"), prefix, ref)
		}
	}
	imgOpts, err := c.imageOptions(wd, fl.registryFlags)
	if err != nil {
		return err
	}
	fl.deferred = true
	set, err := c.openPolicies(ctx, fl.policyFlags)
	if err != nil {
		return err
	}
	res, err := check.New(set, check.Options{Now: c.Now, Image: imgOpts}).Images(ctx, refs, check.ImagesOptions{
		Platforms:         fl.platforms,
		Dockerfile:        fl.dockerfile,
		TrivyReport:       fl.trivyReport,
		NoAttachedReports: fl.noAttached,
	})
	if oe, ok := errors.AsType[*check.OptionError](err); ok {
		flag := map[string]string{"Dockerfile": "--dockerfile", "TrivyReport": "--trivy-report"}[oe.Option]
		return usageError("%s: %v", flag, oe.Err)
	}
	if err := compileError(err, set); err != nil {
		return err
	}
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	return c.report(dests, failOn, set, res, fl.outputFlags)
}
