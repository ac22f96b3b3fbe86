package imagetest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Default contents of a Spec's first layer: a root filesystem whose
// /etc/passwd gives dwfuser UID 1001, with tini in /usr/bin.
const (
	DefaultPasswd = "root:x:0:0:root:/root:/bin/sh\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n" +
		"dwfuser:x:1001:1001::/home/dwfuser:/bin/sh\n"
	DefaultGroup = "root:x:0:\nstaff:x:50:dwfuser\ndwfuser:x:1001:\nnogroup:x:65534:\n"
)

// Spec declares a small image, or an index of images, to write as an OCI
// image layout (the image rule fixtures under testdata/rules/DWF30x are
// Specs in YAML). Every field is optional; the zero Spec is a compliant
// index: linux/amd64 and linux/arm64, USER 1001, ENTRYPOINT
// ["/usr/bin/tini", "--"], CMD ["/app/server"], one zstd layer holding
// DefaultPasswd, DefaultGroup and /usr/bin/tini.
type Spec struct {
	// Platforms are os/arch[/variant]; default linux/amd64 and linux/arm64.
	Platforms []string `yaml:"platforms"`
	// Index false writes the one platform's image manifest as the layout's
	// only entry instead of an index; default true.
	Index *bool `yaml:"index"`
	// Attestation adds a BuildKit attestation manifest for each image to
	// the index (platform unknown/unknown), which is not a platform.
	Attestation bool `yaml:"attestation"`
	// PlatformSpec applies to every platform.
	PlatformSpec `yaml:",inline"`
	// PerPlatform overrides fields for the platform named as in Platforms.
	PerPlatform map[string]PlatformSpec `yaml:"per_platform"`
	// TrivyReport is a Trivy report judged with the image (`dwf-policy
	// image --trivy-report`), as text in which ${DIGEST} is the digest of
	// the layout's entry (the index, or the single image) and ${DIGEST_HEX}
	// its hex part, ${DIGEST os/arch} a platform manifest's and ${CONFIG os/arch} a platform's
	// config digest; Report expands them.
	TrivyReport string `yaml:"trivy_report"`
}

// PlatformSpec is what one platform's image sets. A nil field keeps the
// value from the level above (the Spec, then the defaults).
type PlatformSpec struct {
	// User is the config's User; "" sets none.
	User *string `yaml:"user"`
	// Entrypoint and Cmd are the config's, exec form; [] sets none (a
	// Dockerfile's shell form is ["/bin/sh", "-c", "..."]).
	Entrypoint *[]string `yaml:"entrypoint"`
	Cmd        *[]string `yaml:"cmd"`
	// Files are put into the first layer by path ("etc/passwd") over the
	// default files; a null value leaves that file out.
	Files map[string]*string `yaml:"files"`
	// Layers are the compression of each layer, bottom first: zstd, gzip
	// or none; default one zstd layer. The files are in the first; every
	// other layer holds one file of its own.
	Layers []string `yaml:"layers"`
}

// defaults is the compliant image a Spec starts from.
func defaults() PlatformSpec {
	tini := "\x7fELF tini"
	passwd, group := DefaultPasswd, DefaultGroup
	return PlatformSpec{
		User:       ptr("1001"),
		Entrypoint: &[]string{"/usr/bin/tini", "--"},
		Cmd:        &[]string{"/app/server"},
		Files:      map[string]*string{"etc/passwd": &passwd, "etc/group": &group, "usr/bin/tini": &tini},
		Layers:     []string{"zstd"},
	}
}

func ptr[T any](v T) *T { return &v }

// over returns base with the fields o sets replaced; files merge.
func (base PlatformSpec) over(o PlatformSpec) PlatformSpec {
	out := base
	if o.User != nil {
		out.User = o.User
	}
	if o.Entrypoint != nil {
		out.Entrypoint = o.Entrypoint
	}
	if o.Cmd != nil {
		out.Cmd = o.Cmd
	}
	if o.Layers != nil {
		out.Layers = o.Layers
	}
	if o.Files != nil {
		out.Files = maps.Clone(base.Files)
		maps.Copy(out.Files, o.Files)
	}
	return out
}

// Images builds one image per platform of s, in the order of Platforms.
func (s Spec) Images(t testing.TB) []v1.Image {
	t.Helper()
	platforms := s.Platforms
	if len(platforms) == 0 {
		platforms = []string{"linux/amd64", "linux/arm64"}
	}
	for p := range s.PerPlatform {
		if !slices.Contains(platforms, p) {
			t.Fatalf("per_platform names %s, which is not in platforms %v", p, platforms)
		}
	}
	var imgs []v1.Image
	for _, p := range platforms {
		ps := defaults().over(s.PlatformSpec).over(s.PerPlatform[p])
		cfg := v1.Config{User: *ps.User, Entrypoint: *ps.Entrypoint, Cmd: *ps.Cmd, Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin"}}
		var files []File
		for _, name := range slices.Sorted(maps.Keys(ps.Files)) {
			if body := ps.Files[name]; body != nil {
				files = append(files, File{Name: name, Body: *body})
			}
		}
		var layers []v1.Layer
		for i, c := range ps.Layers {
			comp, ok := compressions[c]
			if !ok {
				t.Fatalf("layer compression %q: want zstd, gzip or none", c)
			}
			fs := files
			if i > 0 {
				fs = []File{{Name: fmt.Sprintf("app/layer%d", i), Body: strings.Repeat("x", i)}}
			}
			layers = append(layers, Layer(t, comp, fs...))
		}
		imgs = append(imgs, Image(t, p, cfg, layers...))
	}
	return imgs
}

var compressions = map[string]compression.Compression{
	"zstd": compression.ZStd,
	"gzip": compression.GZip,
	"none": compression.None,
}

// WriteLayout writes s as an OCI image layout in dir (which must be empty
// or missing): an index, or with Index false the single image. It returns
// s.TrivyReport expanded for the image written, or "" when s has none.
func (s Spec) WriteLayout(t testing.TB, dir string) string {
	t.Helper()
	imgs := s.Images(t)
	vars := map[string]string{}
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		p := cf.Platform().String()
		d, _ := img.Digest()
		c, _ := img.ConfigName()
		vars["${DIGEST "+p+"}"], vars["${CONFIG "+p+"}"] = d.String(), c.String()
	}
	var entry interface{ Digest() (v1.Hash, error) }
	if s.Index != nil && !*s.Index {
		if len(imgs) != 1 || s.Attestation {
			t.Fatalf("index: false needs exactly one platform and no attestation")
		}
		entry = imgs[0]
		WriteLayout(t, dir, imgs[0])
	} else {
		idx := Index(t, imgs...)
		if s.Attestation {
			for _, img := range imgs {
				idx = mutate.AppendManifests(idx, Attestation(t, img))
			}
		}
		entry = idx
		WriteLayout(t, dir, idx)
	}
	d, err := entry.Digest()
	if err != nil {
		t.Fatal(err)
	}
	vars["${DIGEST}"], vars["${DIGEST_HEX}"] = d.String(), d.Hex
	report := s.TrivyReport
	for k, v := range vars {
		report = strings.ReplaceAll(report, k, v)
	}
	if strings.Contains(report, "${") {
		t.Fatalf("trivy_report: a placeholder is left after expansion (known: %v)", slices.Sorted(maps.Keys(vars)))
	}
	return report
}

// WriteLayout writes an OCI image layout in dir whose index.json has one
// entry: an image (v1.Image) or an index (v1.ImageIndex).
func WriteLayout(t testing.TB, dir string, entry any) {
	t.Helper()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	switch e := entry.(type) {
	case v1.ImageIndex:
		err = p.AppendIndex(e)
	case v1.Image:
		err = p.AppendImage(e)
	default:
		t.Fatalf("WriteLayout: %T is neither an image nor an index", entry)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// Attestation is a BuildKit-style attestation manifest for img, as an index
// entry: platform unknown/unknown, an in-toto layer, and the annotations
// that point at img. It is deterministic.
func Attestation(t testing.TB, of v1.Image) mutate.IndexAddendum {
	t.Helper()
	d, err := of.Digest()
	if err != nil {
		t.Fatal(err)
	}
	statement := static.NewLayer([]byte(`{"_type":"https://in-toto.io/Statement/v0.1","subject":[{"digest":{"sha256":"`+d.Hex+`"}}]}`), "application/vnd.in-toto+json")
	att := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	if att, err = mutate.AppendLayers(att, statement); err != nil {
		t.Fatal(err)
	}
	return mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
		Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
		Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": d.String()},
	}}
}
