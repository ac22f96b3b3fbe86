package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/devflow/dwf-policy/engine/document"
)

// Limits on what an image index may make Load do. An index is a few
// hundred bytes that can name any number of manifests and nested indexes;
// real ones list a few platforms and their attestations.
const (
	// maxIndexDepth bounds nested indexes: the root index and two levels
	// of indexes inside it.
	maxIndexDepth = 3
	// maxIndexManifests bounds the entries of an image's index and all its
	// nested indexes together, whatever they are.
	maxIndexManifests = 1000
	// maxListedPlatforms bounds the platforms named in one message.
	maxListedPlatforms = 16
)

// child is one image manifest to read: the root itself, or an index entry.
type child struct {
	desc v1.Descriptor
	raw  []byte // the manifest when already fetched
}

// build reads everything the document needs from src and returns it as the
// plain Go values Rego sees as input. The shape is engine/document/schemas/image.json.
func build(ctx context.Context, ref string, src source, o *Options) (map[string]any, error) {
	want, err := parsePlatforms(o.Platforms)
	if err != nil {
		return nil, err
	}
	desc, raw, err := src.root(ctx)
	if err != nil {
		return nil, err
	}
	mt := desc.MediaType
	if mt == "" {
		mt = sniffMediaType(raw)
	}
	meta := src.meta()
	subject := subjectOf(ref, desc.Digest.String())

	var children []child
	isIndex := false
	switch {
	case mt.IsIndex():
		isIndex = true
		total := 0
		if children, err = indexChildren(ctx, ref, src, raw, 1, &total); err != nil {
			return nil, err
		}
	case mt.IsImage():
		children = []child{{desc: desc, raw: raw}}
	case mt.IsSchema1():
		return nil, &document.ParseError{Path: ref, Message: "Docker schema 1 manifests are not supported; push the image again with a current Docker or BuildKit"}
	case len(bytes.TrimSpace(raw)) == 0:
		// Seen from registries (and proxies) that answer 200 to a request
		// they gave up on: say so rather than name a media type of "".
		return nil, &document.ParseError{Path: ref, Message: "the registry answered with an empty manifest; try again, and check the registry (or a proxy in front of it) if it persists"}
	default:
		return nil, &document.ParseError{Path: ref, Message: fmt.Sprintf("not an image or image index (media type %q)", mt)}
	}

	// Entries whose platform the index states are filtered before
	// fetching; the others after their config says what they are.
	var todo []child
	for _, c := range children {
		if c.desc.Platform == nil || len(want) == 0 || matchesAny(want, *c.desc.Platform) {
			todo = append(todo, c)
		}
	}

	// At most o.Concurrency workers; the first error, or the end of ctx,
	// stops them all.
	results := make([]*platformDoc, len(todo))
	errs := make([]error, len(todo))
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(o.Concurrency, len(todo)) {
		wg.Go(func() {
			for i := range next {
				results[i], errs[i] = readPlatform(wctx, ref, src, todo[i], subject, want, o)
				if errs[i] != nil {
					stop()
				}
			}
		})
	}
feed:
	for i := range todo {
		select {
		case next <- i:
		case <-wctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}

	// What the image offers: the index's entries (their stated platform,
	// or their config's), without artifacts.
	indexPlatforms := []any{}
	var all []v1.Platform
	read := map[v1.Hash]*platformDoc{}
	for i, r := range results {
		read[todo[i].desc.Digest] = r
	}
	for _, c := range children {
		p := c.desc.Platform
		if r, ok := read[c.desc.Digest]; ok {
			if r.artifact {
				continue
			}
			if p == nil {
				p = &r.platform
			}
		}
		if p == nil {
			continue
		}
		all = append(all, *p)
		indexPlatforms = append(indexPlatforms, platformEntry(*p, c.desc.Digest))
	}
	if len(all) == 0 {
		if isIndex {
			return nil, &document.ParseError{Path: ref, Message: "the index lists no container images"}
		}
		return nil, &document.ParseError{Path: ref, Message: "not a container image: its config is not an image config (an OCI artifact?)"}
	}

	platforms := []any{}
	for _, r := range results {
		if r.doc != nil {
			platforms = append(platforms, r.doc)
		}
	}
	for _, w := range want {
		if !slices.ContainsFunc(results, func(r *platformDoc) bool { return r.doc != nil && platformMatches(w, r.platform) }) {
			var have []string
			for _, p := range all {
				if len(have) == maxListedPlatforms {
					have = append(have, fmt.Sprintf("%d more", len(all)-maxListedPlatforms))
					break
				}
				have = append(have, platformString(p))
			}
			return nil, fmt.Errorf("%w: no %s image (the image has %s)", ErrPlatformNotFound, platformString(w), strings.Join(have, ", "))
		}
	}

	return map[string]any{
		"kind":            string(document.KindImage),
		"reference":       ref,
		"transport":       meta.Transport,
		"registry":        meta.Registry,
		"repository":      meta.Repository,
		"tag":             meta.Tag,
		"digest":          desc.Digest.String(),
		"media_type":      string(mt),
		"is_index":        isIndex,
		"subject":         subject,
		"index_platforms": indexPlatforms,
		"platforms":       platforms,
		// The front door that judges the image with its vulnerability
		// report fills this in (engine/check).
		"vulnerability_report": NoReportLookup(),
	}, nil
}

// indexChildren lists the image manifests of an index, descending into
// nested indexes and skipping attestations and other artifacts. depth is
// the index's level (the root index is 1); total counts the entries of every
// index read so far, against maxIndexManifests.
func indexChildren(ctx context.Context, ref string, src source, raw []byte, depth int, total *int) ([]child, error) {
	idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, &document.ParseError{Path: ref, Message: fmt.Sprintf("index is not valid: %v", err)}
	}
	if *total += len(idx.Manifests); *total > maxIndexManifests {
		return nil, fmt.Errorf("the image index and its nested indexes list more than %d manifests, the limit", maxIndexManifests)
	}
	var out []child
	for _, m := range idx.Manifests {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if isAttestation(m) || (m.ArtifactType != "" && !types.MediaType(m.ArtifactType).IsConfig()) {
			continue
		}
		switch {
		case m.MediaType.IsImage():
			out = append(out, child{desc: m})
		case m.MediaType.IsIndex():
			if depth >= maxIndexDepth {
				return nil, fmt.Errorf("the image index nests indexes more than %d levels deep, the limit", maxIndexDepth)
			}
			b, err := src.manifest(ctx, m)
			if err != nil {
				return nil, err
			}
			nested, err := indexChildren(ctx, ref, src, b, depth+1, total)
			if err != nil {
				return nil, err
			}
			out = append(out, nested...)
		}
	}
	if len(out) == 0 {
		return nil, &document.ParseError{Path: ref, Message: "the index lists no image manifests"}
	}
	return out, nil
}

// isAttestation reports whether an index entry is a BuildKit attestation
// (provenance, SBOM) rather than an image for a platform.
func isAttestation(d v1.Descriptor) bool {
	if d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
		return true
	}
	return d.Platform != nil && d.Platform.OS == "unknown" && d.Platform.Architecture == "unknown"
}

// platformDoc is one platform's part of the document.
type platformDoc struct {
	platform v1.Platform
	// doc is nil when the platform is not among those asked for.
	doc map[string]any
	// artifact is true when the manifest is not a container image.
	artifact bool
}

// readPlatform fetches one image manifest, its config and, when the user
// needs resolving, /etc/passwd and /etc/group from its layers. Entries that
// turn out not to be wanted stop as soon as that is known.
func readPlatform(ctx context.Context, ref string, src source, c child, subject string, want []v1.Platform, o *Options) (*platformDoc, error) {
	raw := c.raw
	if raw == nil {
		var err error
		if raw, err = src.manifest(ctx, c.desc); err != nil {
			return nil, err
		}
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, &document.ParseError{Path: ref, Message: fmt.Sprintf("manifest %s is not valid: %v", c.desc.Digest, err)}
	}
	if mt := m.Config.MediaType; mt != "" && !mt.IsConfig() {
		return &platformDoc{artifact: true}, nil
	}
	cfgRaw, err := src.config(ctx, m.Config)
	if err != nil {
		return nil, err
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(cfgRaw))
	if err != nil {
		return nil, &document.ParseError{Path: ref, Message: fmt.Sprintf("config %s is not a valid image config: %v", m.Config.Digest, err)}
	}

	p := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant, OSVersion: cf.OSVersion}
	if c.desc.Platform != nil {
		p = *c.desc.Platform
	}
	if len(want) > 0 && !matchesAny(want, p) {
		return &platformDoc{platform: p}, nil
	}
	ps := platformString(p)

	spec := parseUser(cf.Config.User)
	var res resolution
	if spec.needsLookup() && !o.SkipLayers {
		if res, err = resolve(ctx, src, m, cf.RootFS.DiffIDs, spec, o); err != nil {
			return nil, err
		}
	}

	mt := m.MediaType
	if mt == "" {
		mt = c.desc.MediaType
	}
	layers := make([]any, 0, len(m.Layers))
	for _, l := range m.Layers {
		comp := compressionOf(l.MediaType)
		layers = append(layers, map[string]any{
			"digest":      l.Digest.String(),
			"media_type":  string(l.MediaType),
			"size":        int(l.Size),
			"compression": comp,
			"zstd":        comp == "zstd",
		})
	}
	env := map[string]any{}
	for _, kv := range cf.Config.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	labels := map[string]any{}
	for k, v := range cf.Config.Labels {
		labels[k] = v
	}
	digest := c.desc.Digest.String()
	return &platformDoc{platform: p, doc: map[string]any{
		"platform":      ps,
		"os":            p.OS,
		"architecture":  p.Architecture,
		"variant":       p.Variant,
		"digest":        digest,
		"media_type":    string(mt),
		"subject":       platformSubject(subject, ps),
		"config_digest": m.Config.Digest.String(),
		"config": map[string]any{
			"user":        cf.Config.User,
			"entrypoint":  stringsOrNil(cf.Config.Entrypoint),
			"cmd":         stringsOrNil(cf.Config.Cmd),
			"env":         env,
			"labels":      labels,
			"working_dir": cf.Config.WorkingDir,
		},
		"layers":     layers,
		"user":       userDoc(spec, res, spec.needsLookup() && !o.SkipLayers),
		"entrypoint": commandDoc(cf.Config.Entrypoint),
		"cmd":        commandDoc(cf.Config.Cmd),
	}}, nil
}

// userSpec is a config's User split the way the runtime splits it.
type userSpec struct {
	raw, name, group string
	uid, gid         *int
}

func parseUser(raw string) userSpec {
	s := userSpec{raw: raw}
	s.name, s.group, _ = strings.Cut(raw, ":")
	if n, ok := parseID(s.name); ok {
		s.uid = &n
	}
	if n, ok := parseID(s.group); ok {
		s.gid = &n
	}
	return s
}

// needsLookup reports whether /etc/passwd says anything the rules need: not
// for an unset user or root, which fail DWF301 whatever the file says.
func (s userSpec) needsLookup() bool {
	if s.name == "" || s.name == "root" {
		return false
	}
	return s.uid == nil || *s.uid != 0
}

// needsGroup reports whether the group part is a name to look up.
func (s userSpec) needsGroup() bool { return s.group != "" && s.gid == nil }

// resolution is what /etc/passwd and /etc/group say about a config's user.
// It is cached under recordKey, and records the digests it was derived from
// (the config fixes the user and, by its diff IDs, every layer's content;
// the layer digests name the blobs that were read), which a cache hit must
// match again.
type resolution struct {
	Format      int          `json:"format"`
	Config      v1.Hash      `json:"config"`
	Layers      []v1.Hash    `json:"layers"`
	PasswdFound bool         `json:"passwd_found"`
	Passwd      *passwdEntry `json:"passwd,omitempty"` // the entry matching the user
	GroupFound  bool         `json:"group_found"`
	Group       *groupEntry  `json:"group,omitempty"` // the entry matching the group name
	Error       string       `json:"error,omitempty"`
}

const resolutionFormat = 2

// recordKey is the cache key of the user resolved for manifest m: a digest
// of its config digest and all its layer digests.
func recordKey(m *v1.Manifest) v1.Hash {
	var b strings.Builder
	b.WriteString("dwf-policy users\n" + m.Config.Digest.String() + "\n")
	for _, l := range m.Layers {
		b.WriteString(l.Digest.String() + "\n")
	}
	return sha256Hash([]byte(b.String()))
}

// boundTo reports whether a cached resolution was derived from m.
func (r resolution) boundTo(m *v1.Manifest) bool {
	if r.Format != resolutionFormat || r.Config != m.Config.Digest || len(r.Layers) != len(m.Layers) {
		return false
	}
	for i, l := range m.Layers {
		if r.Layers[i] != l.Digest {
			return false
		}
	}
	return true
}

// resolve looks the user up in the image's /etc/passwd and /etc/group.
// Every layer it reads is read to its end and verified against the
// manifest's layer digest and the config's diff ID (diffIDs); a mismatch is
// an error wrapping ErrDigestMismatch, never a resolution.
func resolve(ctx context.Context, src source, m *v1.Manifest, diffIDs []v1.Hash, spec userSpec, o *Options) (resolution, error) {
	cache := newDiskCache(o.CacheDir, o.Stats)
	key := recordKey(m)
	var res resolution
	if cache.record("users", key, &res, func() bool { return res.boundTo(m) }) {
		return res, nil
	}
	paths := []string{"etc/passwd"}
	if spec.needsGroup() {
		paths = append(paths, "etc/group")
	}
	if len(diffIDs) != len(m.Layers) {
		return resolution{}, fmt.Errorf("resolving user %q: %w: the manifest lists %d layers, the config's rootfs %d diff IDs",
			spec.raw, ErrDigestMismatch, len(m.Layers), len(diffIDs))
	}
	openers := make([]layerOpener, len(m.Layers))
	for i, l := range m.Layers {
		openers[i] = func(ctx context.Context) (io.ReadCloser, error) {
			return openVerifiedLayer(ctx, func() (io.ReadCloser, error) { return src.layer(ctx, l) }, l, diffIDs[i], o.MaxLayerBytes)
		}
	}
	files, n, err := findFiles(ctx, openers, paths, o.MaxPasswdBytes)
	o.Stats.LayersRead.Add(int64(n))
	if err != nil {
		return resolution{}, fmt.Errorf("resolving user %q: %w", spec.raw, err)
	}
	res = resolution{Format: resolutionFormat, Config: m.Config.Digest}
	for _, l := range m.Layers {
		res.Layers = append(res.Layers, l.Digest)
	}
	var problems []string
	pw := files["etc/passwd"]
	res.PasswdFound = pw.Found
	switch {
	case pw.Err != "":
		problems = append(problems, "/etc/passwd: "+pw.Err)
	case pw.TooLarge:
		problems = append(problems, fmt.Sprintf("/etc/passwd is larger than %d bytes", o.MaxPasswdBytes))
	case pw.Found:
		entries := parsePasswd(pw.Data)
		var e passwdEntry
		var ok bool
		if spec.uid != nil {
			e, ok = lookupUID(entries, *spec.uid)
		} else {
			e, ok = lookupUser(entries, spec.name)
		}
		if ok {
			res.Passwd = &e
		}
	}
	if spec.needsGroup() {
		gr := files["etc/group"]
		res.GroupFound = gr.Found
		switch {
		case gr.Err != "":
			problems = append(problems, "/etc/group: "+gr.Err)
		case gr.TooLarge:
			problems = append(problems, fmt.Sprintf("/etc/group is larger than %d bytes", o.MaxPasswdBytes))
		case gr.Found:
			if e, ok := lookupGroup(parseGroup(gr.Data), spec.group); ok {
				res.Group = &e
			}
		}
	}
	res.Error = strings.Join(problems, "; ")
	// Stored only now that every layer read has been verified (findFiles
	// failed otherwise); errors depend on the caps in force: not cached.
	if res.Error == "" {
		cache.putRecord("users", key, res)
	}
	return res, nil
}

// userDoc is the derived "user" object of a platform.
func userDoc(s userSpec, r resolution, checked bool) map[string]any {
	var resolvedUID, resolvedGID any
	if s.uid != nil {
		resolvedUID = *s.uid
	} else if r.Passwd != nil {
		resolvedUID = r.Passwd.UID
	}
	switch {
	case s.gid != nil:
		resolvedGID = *s.gid
	case s.group != "" && r.Group != nil:
		resolvedGID = r.Group.GID
	case s.group == "" && r.Passwd != nil:
		resolvedGID = r.Passwd.GID
	}
	return map[string]any{
		"raw":            s.raw,
		"set":            s.raw != "",
		"name":           s.name,
		"group":          s.group,
		"uid":            intOrNil(s.uid),
		"gid":            intOrNil(s.gid),
		"resolved_uid":   resolvedUID,
		"resolved_gid":   resolvedGID,
		"passwd_checked": checked,
		"passwd_found":   r.PasswdFound,
		"in_passwd":      r.Passwd != nil,
		"group_found":    r.GroupFound,
		"in_group":       r.Group != nil,
		"lookup_error":   r.Error,
	}
}

// commandDoc is the derived "entrypoint" or "cmd" object: nil when there
// is none. An image config always holds the exec form; a Dockerfile's shell
// form arrives as ["/bin/sh", "-c", script], which via_shell flags.
func commandDoc(words []string) any {
	if len(words) == 0 {
		return nil
	}
	prog := path.Base(words[0])
	viaShell := len(words) >= 2 && words[1] == "-c" && slices.Contains([]string{"sh", "bash", "ash", "dash", "zsh", "ksh"}, prog)
	return map[string]any{
		"words":     stringsOrNil(words),
		"form":      "exec",
		"program":   prog,
		"via_shell": viaShell,
	}
}

// compressionOf names a layer's compression from its media type: zstd,
// gzip, none or unknown.
func compressionOf(mt types.MediaType) string {
	s := string(mt)
	switch {
	case strings.HasSuffix(s, "+zstd") || strings.HasSuffix(s, ".zstd"):
		return "zstd"
	case strings.HasSuffix(s, "+gzip") || strings.HasSuffix(s, ".gzip"):
		return "gzip"
	case strings.HasSuffix(s, ".tar") || strings.HasSuffix(s, "v1.tar"):
		return "none"
	}
	return "unknown"
}

// parsePlatforms parses the Platforms option.
func parsePlatforms(specs []string) ([]v1.Platform, error) {
	var out []v1.Platform
	for _, s := range specs {
		p, err := v1.ParsePlatform(s)
		if err != nil || p.OS == "" || p.Architecture == "" {
			return nil, fmt.Errorf("platform %q: want os/arch or os/arch/variant, such as linux/arm64", s)
		}
		out = append(out, *p)
	}
	return out, nil
}

func matchesAny(want []v1.Platform, have v1.Platform) bool {
	return slices.ContainsFunc(want, func(w v1.Platform) bool { return platformMatches(w, have) })
}

// platformMatches reports whether have is the platform asked for: same OS
// and architecture, and the same variant when one is asked for (arm64's
// variant v8 is the default).
func platformMatches(want, have v1.Platform) bool {
	if want.OS != have.OS || want.Architecture != have.Architecture {
		return false
	}
	return want.Variant == "" || variantOf(want) == variantOf(have)
}

func variantOf(p v1.Platform) string {
	if p.Architecture == "arm64" && p.Variant == "" {
		return "v8"
	}
	return p.Variant
}

// platformString writes os/arch[/variant], or "" for a config that states
// neither an OS nor an architecture (so messages never say "the / image").
func platformString(p v1.Platform) string {
	if p.OS == "" && p.Architecture == "" && p.Variant == "" {
		return ""
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

func platformEntry(p v1.Platform, digest v1.Hash) map[string]any {
	return map[string]any{
		"platform":     platformString(p),
		"os":           p.OS,
		"architecture": p.Architecture,
		"variant":      p.Variant,
		"digest":       digest.String(),
	}
}

// platformSubject names one platform's image: the subject with its
// platform in parentheses, or the subject alone when the platform is not
// stated.
func platformSubject(subject, platform string) string {
	if platform == "" {
		return subject
	}
	return subject + " (" + platform + ")"
}

// subjectOf names an image by reference and digest, for messages.
func subjectOf(ref, digest string) string {
	if digest == "" || strings.HasSuffix(ref, "@"+digest) {
		return ref
	}
	return ref + "@" + digest
}

func stringsOrNil(ss []string) any {
	if ss == nil {
		return nil
	}
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func intOrNil(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}
