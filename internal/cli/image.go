package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/devflow/dwf-policy/engine"
	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/engine/input"
	"github.com/devflow/dwf-policy/engine/input/dockerfile"
	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/engine/report"
)

// maxImagesAtOnce bounds the images loaded at the same time, by `image` and
// by base-image resolution; each load fetches its platforms with bounded
// concurrency of its own.
const maxImagesAtOnce = 4

// registryFlags say how images are fetched; `image` and
// `check --resolve-base-images` share them.
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
		o.CacheDir = absPath(wd, r.cacheDir)
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
	platforms  []string
	dockerfile string
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
an OCI layout in a tar or a 'docker save' archive). Tags are resolved to
digests; every platform of an index is checked unless --platform names some.
Findings name the image by reference, digest and platform.

Registry credentials come from the Docker config (~/.docker/config.json or
$DOCKER_CONFIG/config.json) and its credential helpers, as for 'docker pull'
(without a Docker config, from Podman's auth.json); without any, requests
are anonymous.
Registries are reached over HTTPS only, except the hosts named with
--insecure-registry. Manifests, configs and users resolved from /etc/passwd
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
repository: GitHub accepts and lists them, without a code view.`,
		Example: `  dwf-policy image ghcr.io/devflow/app:1.4.2
  dwf-policy image --platform linux/arm64 ghcr.io/devflow/app:1.4.2
  dwf-policy image --format sarif --output image.sarif --dockerfile Dockerfile ghcr.io/devflow/app:$GITHUB_SHA
  dwf-policy image --insecure-registry localhost:5000 localhost:5000/app:dev
  dwf-policy image oci-layout:./out tarball:app.tar`,
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
	return cmd
}

// imageResult is what became of one reference.
type imageResult struct {
	findings []finding.Finding
	loaded   bool  // a document or a DWF000 finding
	err      error // the image could not be loaded or evaluated
}

func (c Command) runImage(ctx context.Context, fl imageFlags, refs []string) error {
	formatter, failOn, err := fl.validate()
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
	opts, err := c.imageOptions(wd, fl.registryFlags)
	if err != nil {
		return err
	}
	opts.Platforms = fl.platforms

	var place *anchors
	sources := map[string][]byte{}
	var dfFindings []finding.Finding
	st, err := c.loadSetup(wd, fl.policyFlags)
	if err != nil {
		return err
	}
	eng, err := st.engine(ctx)
	if err != nil {
		return err
	}
	if fl.dockerfile != "" {
		file := absPath(wd, fl.dockerfile)
		if info, err := os.Stat(file); err != nil || info.IsDir() {
			if err == nil {
				err = errors.New("is a directory")
			}
			return usageError("--dockerfile: %s: %v", fl.dockerfile, unwrapPath(err))
		}
		src := input.Source{Path: displayPath(wd, file), File: file, Kind: document.KindDockerfile}
		doc, perr := input.LoadDocument(src, input.LoadOptions{})
		if perr != nil {
			// A broken Dockerfile is a finding; the images are still
			// checked, their findings left at the image.
			dfFindings = append(dfFindings, eng.ParseErrorFinding(perr))
		} else {
			place = anchorsOf(doc)
			sources[doc.Path] = doc.Source
		}
	}

	results := c.checkImages(ctx, eng, refs, opts, place)
	findings := dfFindings
	var failed []error
	checked := 0
	for _, r := range results {
		findings = append(findings, r.findings...)
		if r.loaded {
			checked++
		}
		if r.err != nil {
			failed = append(failed, r.err)
		}
	}
	// Exceptions match image references as written. A comment in the
	// --dockerfile that names a rule of another kind (a DWF101 meant for
	// `check`) waits silently instead of being reported as unused.
	findings = c.suppress(eng, st.cfg, wd, findings, sources, document.KindImage)
	if st.cfg != nil {
		if _, ok := sources[st.cfg.Name]; !ok {
			sources[st.cfg.Name] = st.cfg.Source // DWF001 points into it
		}
	}

	for _, err := range failed {
		fmt.Fprintf(c.Stderr, "dwf-policy: %v\n", err)
		if h := loadHint(err, opts.Timeout); h != "" {
			fmt.Fprintf(c.Stderr, "dwf-policy:   %s\n", h)
		}
	}

	rep := &report.Report{
		Tool:           report.Tool{Name: "dwf-policy", Version: version(), InformationURI: InformationURI},
		Rules:          eng.Rules(),
		Findings:       findings,
		Sources:        sources,
		FilesChecked:   checked,
		Inputs:         "image",
		ShowSuppressed: fl.showSuppressed,
		URIBase:        imageURIBase(wd, refs),
	}
	if err := c.writeReport(formatter, rep, fl.output); err != nil {
		return &exitError{code: ExitError, err: err}
	}
	if len(failed) > 0 {
		return &exitError{code: ExitError, err: fmt.Errorf("%d of %d images could not be checked", len(failed), len(refs))}
	}
	if finding.CountAtLeast(findings, failOn) > 0 {
		return &exitError{code: ExitFindings}
	}
	return nil
}

// checkImages loads and evaluates the images, a few at a time; results
// keep the order of refs.
func (c Command) checkImages(ctx context.Context, eng *engine.Engine, refs []string, opts image.Options, place *anchors) []imageResult {
	results := make([]imageResult, len(refs))
	sem := make(chan struct{}, maxImagesAtOnce)
	var wg sync.WaitGroup
	for i, ref := range refs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = c.checkImage(ctx, eng, ref, opts, place)
		})
	}
	wg.Wait()
	return results
}

func (c Command) checkImage(ctx context.Context, eng *engine.Engine, ref string, opts image.Options, place *anchors) imageResult {
	docs, err := image.Load(ctx, c.localRef(ref), opts)
	if perr, ok := errors.AsType[*document.ParseError](err); ok {
		perr.Path = ref
		return imageResult{findings: []finding.Finding{eng.ParseErrorFinding(perr)}, loaded: true}
	}
	if err != nil {
		return imageResult{err: err}
	}
	var out []finding.Finding
	for _, doc := range docs {
		doc.Path = ref
		fs, err := eng.EvaluateOne(ctx, doc)
		if err != nil {
			return imageResult{err: err}
		}
		subject, _ := doc.Input["subject"].(string)
		for i := range fs {
			if fs[i].Subject == "" {
				fs[i].Subject = subject // a custom rule may leave it out
			}
			if place != nil {
				place.place(&fs[i])
			}
		}
		out = append(out, fs...)
	}
	return imageResult{findings: out, loaded: true}
}

// localRef resolves the path of an oci-layout: or tarball: reference
// against the working directory the command was given (tests); the process's
// own working directory needs nothing.
func (c Command) localRef(ref string) string {
	if c.WorkDir == "" {
		return ref
	}
	for _, prefix := range []string{"oci-layout:", "tarball:"} {
		if p, ok := strings.CutPrefix(ref, prefix); ok && p != "" && !filepath.IsAbs(p) {
			return prefix + filepath.Join(c.WorkDir, p)
		}
	}
	return ref
}

// anchors are the lines of a Dockerfile that image findings are placed at.
type anchors struct {
	path                   string
	user, entrypoint, from document.Location
}

// anchorsOf finds the final stage's effective USER and ENTRYPOINT (which
// may come from an earlier stage of its chain) and its FROM.
func anchorsOf(doc *document.Document) *anchors {
	a := &anchors{path: doc.Path}
	final, _ := doc.Input["final"].(map[string]any)
	a.from = locationValue(final["location"])
	a.user, a.entrypoint = a.from, a.from
	if u, ok := final["user"].(map[string]any); ok {
		a.user = locationValue(u["location"])
	}
	if e, ok := final["entrypoint"].(map[string]any); ok {
		a.entrypoint = locationValue(e["location"])
	}
	return a
}

// place moves an image finding to the Dockerfile line that causes it,
// keeping its Subject (reference, digest, platform).
func (a *anchors) place(f *finding.Finding) {
	switch f.RuleID {
	case "DWF301", "DWF302":
		f.Location = a.user
	case "DWF303":
		f.Location = a.entrypoint
	default: // DWF304, DWF305 and custom image rules: the image as a whole
		f.Location = a.from
	}
	f.Path = a.path
}

func locationValue(v any) document.Location {
	m, _ := v.(map[string]any)
	n := func(k string) int { i, _ := m[k].(int); return i }
	return document.Location{Line: n("line"), Column: n("column"), EndLine: n("end_line"), EndColumn: n("end_column")}
}

// imageURIBase maps finding paths to SARIF artifact URIs. Paths of files
// (the --dockerfile, the configuration) are relative to the repository root
// as for check.
//
// A finding about an image that is not placed in a Dockerfile has no file.
// GitHub code scanning rejects a result without a physical location
// ("locationFromSarifResult: expected at least one location"), so a result
// with only the logical location (reference@digest, which every image
// result carries) would make the whole upload fail. It accepts a relative
// URI that names no file of the repository and lists the alert without a
// code view, which is what Trivy's image reports do. So the URI is the
// reference as given without its digest ("ghcr.io/org/app:1.2"): stable
// across pushes of the tag, so an alert stays the same alert, and readable
// in the alert list; oci-layout: and tarball: references name their
// directory or file.
func imageURIBase(wd string, refs []string) func(string) string {
	files := repoRelative(wd)
	if files == nil {
		files = func(p string) string { return p }
	}
	uris := make(map[string]string, len(refs))
	for _, ref := range refs {
		uris[ref] = imageURI(ref, files)
	}
	return func(p string) string {
		if u, ok := uris[p]; ok {
			return u
		}
		return files(p)
	}
}

func imageURI(ref string, files func(string) string) string {
	for _, prefix := range []string{"oci-layout:", "tarball:"} {
		if p, ok := strings.CutPrefix(ref, prefix); ok {
			if i := strings.LastIndex(p, "@sha256:"); i > 0 {
				p = p[:i]
			}
			return files(filepath.ToSlash(p))
		}
	}
	if i := strings.Index(ref, "@"); i > 0 {
		ref = ref[:i]
	}
	return ref
}

// loadHint is a line of advice for an image that could not be loaded.
func loadHint(err error, timeout time.Duration) string {
	switch {
	case errors.Is(err, image.ErrUnauthorized):
		login := "docker login"
		if h := registryOf(err); h != name.DefaultRegistry {
			login += " " + h
		}
		return "hint: log in with `" + login + "` or configure a credential helper: dwf-policy reads the Docker config (~/.docker/config.json or $DOCKER_CONFIG/config.json) as docker pull does"
	case errors.Is(err, image.ErrNotFound):
		return "hint: check the repository and tag; some registries also answer 404 when the credentials may not read the repository"
	case errors.Is(err, image.ErrTimeout):
		return fmt.Sprintf("hint: the registry did not answer within --timeout %s; check the network or proxy, or raise --timeout", timeout)
	case errors.Is(err, image.ErrPlatformNotFound):
		return "hint: --platform names a platform the image does not have"
	case errors.Is(err, image.ErrRegistry):
		return "hint: the registry failed (5xx or 429) after retries; try again later"
	}
	if oe, ok := errors.AsType[*net.OpError](err); ok && oe.Op == "dial" {
		return "hint: nothing answers at " + registryOf(err) + ": check the registry host and port of the reference, and the network or proxy"
	}
	return ""
}

// registryOf finds the registry host in a load error's reference, for
// hints (index.docker.io for Docker Hub).
func registryOf(err error) string {
	ref, _, _ := strings.Cut(strings.TrimPrefix(err.Error(), "loading image "), ": ")
	if r, perr := name.ParseReference(ref); perr == nil {
		return r.Context().RegistryStr()
	}
	return "the registry"
}

// baseResolver fetches the configs of Dockerfiles' base images for
// `check --resolve-base-images`, each distinct reference and platform once
// per run, a few at a time, and merges what they set into the documents.
// A nil *baseResolver resolves nothing.
type baseResolver struct {
	opts    image.Options
	sem     chan struct{}
	mu      sync.Mutex
	fetches map[baseKey]*baseFetch
	// skipped lists Dockerfiles whose base reference uses a variable with
	// no value, by path.
	skipped map[string]string
}

type baseKey struct{ ref, platform string }

type baseFetch struct {
	once  sync.Once
	base  dockerfile.BaseImage
	err   error
	users []string // the Dockerfiles that wanted it, for the error message
}

func newBaseResolver(opts image.Options) *baseResolver {
	opts.SkipLayers = true // the config is all a Dockerfile inherits
	return &baseResolver{
		opts:    opts,
		sem:     make(chan struct{}, maxImagesAtOnce),
		fetches: map[baseKey]*baseFetch{},
		skipped: map[string]string{},
	}
}

// resolve merges the base image's user, entrypoint and cmd into doc when
// its final stage lacks a USER or an ENTRYPOINT. On failure doc is left as
// it is: the Dockerfile is checked on its own, and report says why.
func (r *baseResolver) resolve(ctx context.Context, doc *document.Document) {
	if r == nil {
		return
	}
	ref, ok := dockerfile.BaseImageRef(doc)
	if !ok {
		return
	}
	if !ref.Resolved {
		r.mu.Lock()
		r.skipped[doc.Path] = fmt.Sprintf("%s:%d: FROM %s uses a build argument with no default", doc.Path, ref.Location.Line, ref.Image)
		r.mu.Unlock()
		return
	}
	key := baseKey{ref: ref.Image, platform: ref.Platform}
	r.mu.Lock()
	f, ok := r.fetches[key]
	if !ok {
		f = &baseFetch{}
		r.fetches[key] = f
	}
	f.users = append(f.users, doc.Path)
	r.mu.Unlock()
	f.once.Do(func() {
		r.sem <- struct{}{}
		defer func() { <-r.sem }()
		f.base, f.err = r.fetch(ctx, key)
	})
	if f.err == nil {
		dockerfile.MergeBaseImage(doc, f.base)
	}
}

// fetch reads one base image's config for the platform of its FROM, else
// linux/amd64. An image that is not an index and has another platform is
// used as it is, as docker build would (with a warning).
func (r *baseResolver) fetch(ctx context.Context, key baseKey) (dockerfile.BaseImage, error) {
	o := r.opts
	platform := key.platform
	if platform == "" {
		platform = "linux/amd64"
	}
	o.Platforms = []string{platform}
	docs, err := image.Load(ctx, key.ref, o)
	if errors.Is(err, image.ErrPlatformNotFound) && key.platform == "" {
		o.Platforms = nil
		docs, err = image.Load(ctx, key.ref, o)
		if err == nil && len(platformsOf(docs[0])) != 1 {
			err = fmt.Errorf("loading image %s: %w: no linux/amd64 image; name one with FROM --platform", key.ref, image.ErrPlatformNotFound)
		}
	}
	if err != nil {
		if perr, ok := errors.AsType[*document.ParseError](err); ok {
			return dockerfile.BaseImage{}, fmt.Errorf("loading image %s: %s", key.ref, perr.Message)
		}
		return dockerfile.BaseImage{}, err
	}
	doc := docs[0]
	p := platformsOf(doc)[0]
	cfg, _ := p["config"].(map[string]any)
	base := dockerfile.BaseImage{
		User:       stringOf(cfg["user"]),
		Entrypoint: stringsOf(cfg["entrypoint"]),
		Cmd:        stringsOf(cfg["cmd"]),
	}
	base.Name, _ = doc.Input["subject"].(string)
	return base, nil
}

// report writes one message per base image that could not be fetched and
// per base reference that could not be known, and returns an error when
// any fetch failed.
func (r *baseResolver) report(w io.Writer) error {
	if r == nil {
		return nil
	}
	var notes []string
	for _, s := range r.skipped {
		notes = append(notes, s)
	}
	sort.Strings(notes)
	for _, n := range notes {
		fmt.Fprintf(w, "dwf-policy: %s: checked without its base image\n", n)
	}
	keys := make([]baseKey, 0, len(r.fetches))
	for k, f := range r.fetches {
		if f.err != nil {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].ref+" "+keys[i].platform < keys[j].ref+" "+keys[j].platform
	})
	for _, k := range keys {
		f := r.fetches[k]
		users := append([]string(nil), f.users...)
		sort.Strings(users)
		fmt.Fprintf(w, "dwf-policy: base image of %s: %v; checked the Dockerfile without it\n", strings.Join(users, ", "), f.err)
		if h := loadHint(f.err, r.opts.Timeout); h != "" {
			fmt.Fprintf(w, "dwf-policy:   %s\n", h)
		}
	}
	if len(keys) > 0 {
		return fmt.Errorf("%d of %d base images could not be resolved", len(keys), len(r.fetches))
	}
	return nil
}

func platformsOf(doc *document.Document) []map[string]any {
	items, _ := doc.Input["platforms"].([]any)
	out := make([]map[string]any, 0, len(items))
	for _, x := range items {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func stringOf(v any) string {
	s, _ := v.(string)
	return s
}

func stringsOf(v any) []string {
	items, _ := v.([]any)
	out := make([]string, 0, len(items))
	for _, x := range items {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
