package check

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/devflow/dwf-policy/engine"
	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/engine/input/image"
)

// PodImage is what an admission webhook needs of one container image to
// judge a pod: the image's own findings (the image rules, every runnable
// linux platform) and the config that the pod spec rules (DWF601-DWF603)
// combine the pod's securityContext with. It is immutable once returned, so
// a caller may cache it by digest and policy set.
type PodImage struct {
	// Ref is the reference the image was loaded by.
	Ref string
	// Findings are the image rules' findings, exceptions applied,
	// suppressed ones marked, sorted. Their Subject names the image by
	// digest and platform.
	Findings []finding.Finding
	// Config is the container's image_config (schema kubernetes.json): the
	// subject and, per linux platform, its user, entrypoint and cmd. Pass
	// it to kubernetes.SetImageConfig; do not change it.
	Config map[string]any
	// Image is the image loaded, for ImageReport (nil when it could not
	// be read: a DWF000 finding).
	Image *LoadedImage
}

// PodImageOptions tune PodImage. The zero value is the default.
type PodImageOptions struct {
	// Manifest, when not nil, is the root manifest (or index) of ref as the
	// caller already fetched it: it is not fetched again.
	Manifest []byte
	// Rules limits the image findings to these rule IDs (and DWF000, an
	// image that cannot be read); nil keeps every image rule.
	Rules []string
	// Keychain replaces the checker's credentials for this call: an
	// admission webhook pulls with the pod's own pull secrets.
	Keychain authn.Keychain
}

// PodImage loads one registry image, every platform, /etc/passwd included,
// keeps its runnable linux/* platforms (an index of only other platforms is
// kept whole) and evaluates the image rules. An image that cannot be loaded
// is an error wrapping image.Load's; an image that is malformed is a
// DWF000 finding.
func (c *Checker) PodImage(ctx context.Context, ref string, opts PodImageOptions) (*PodImage, error) {
	ctx = engine.WithNow(ctx, c.now())
	imgOpts := c.image
	imgOpts.Platforms = nil
	if opts.Keychain != nil {
		imgOpts.Keychain = opts.Keychain
	}
	var docs []*document.Document
	var err error
	if opts.Manifest != nil {
		docs, err = image.LoadManifest(ctx, ref, opts.Manifest, imgOpts)
	} else {
		docs, err = image.Load(ctx, ref, imgOpts)
	}
	eng := c.set.Engine
	if perr, ok := errors.AsType[*document.ParseError](err); ok {
		perr.Path = ref
		fs := c.finish([]finding.Finding{eng.ParseErrorFinding(perr)}, map[string][]byte{}, document.KindImage, nil)
		return &PodImage{Ref: ref, Findings: fs, Config: map[string]any{"subject": ref, "platforms": []any{}}}, nil
	}
	if err != nil {
		return nil, err
	}
	doc := docs[0]
	doc.Path = ref
	linuxOnly(doc)
	fs, err := eng.EvaluateOne(ctx, doc)
	if err != nil {
		return nil, fmt.Errorf("evaluating image %s: %w", ref, err)
	}
	subject, _ := doc.Input["subject"].(string)
	kept := fs[:0]
	for _, f := range fs {
		if opts.Rules != nil && !slices.Contains(opts.Rules, f.RuleID) && f.RuleID != engine.ParseErrorRuleID {
			continue
		}
		if f.Subject == "" {
			f.Subject = subject
		}
		kept = append(kept, f)
	}
	return &PodImage{
		Ref:      ref,
		Findings: c.finish(kept, map[string][]byte{}, document.KindImage, nil),
		Config:   podImageConfig(doc),
		Image:    loadedImage(ref, doc),
	}, nil
}

// linuxOnly drops the platforms of an image document that a Linux node
// would never run (windows/amd64 beside linux/amd64), unless no linux
// platform is left.
func linuxOnly(doc *document.Document) {
	items, _ := doc.Input["platforms"].([]any)
	var linux []any
	for _, it := range items {
		p, _ := it.(map[string]any)
		if s, _ := p["platform"].(string); strings.HasPrefix(s, "linux/") || s == "" {
			linux = append(linux, it)
		}
	}
	if len(linux) > 0 && len(linux) < len(items) {
		doc.Input["platforms"] = linux
	}
}
