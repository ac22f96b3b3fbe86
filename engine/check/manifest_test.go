package check_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/engine/policyset"
	"github.com/devflow/dwf-policy/internal/imagetest"
)

// TestManifest judges manifests the registry does not hold yet: only their
// blobs (and, for an index, its child manifests) are there, as when a
// registry gate holds a manifest PUT.
func TestManifest(t *testing.T) {
	reg := imagetest.NewRegistry(t, nil)
	set, err := policyset.Open(context.Background(), policyset.Options{WorkDir: t.TempDir(), NoConfigSearch: true})
	if err != nil {
		t.Fatal(err)
	}
	c := check.New(set, check.Options{Image: image.Options{Transport: imagetest.Transport(), Keychain: authn.NewMultiKeychain()}})

	layer := imagetest.Layer(t, compression.ZStd, imagetest.File{Name: "etc/passwd", Body: imagetest.DefaultPasswd}, imagetest.File{Name: "usr/bin/tini", Body: "tini"})
	good := imagetest.Image(t, "linux/amd64", v1.Config{User: "dwfuser", Entrypoint: []string{"/usr/bin/tini", "--"}}, layer)
	root := imagetest.Image(t, "linux/arm64", v1.Config{Entrypoint: []string{"/usr/bin/tini", "--"}}, layer)
	// The blobs and child manifests go up under other tags; the manifests
	// judged are never pushed at the reference judged.
	reg.Push(t, reg.Ref("app:blobs-good"), good)
	reg.Push(t, reg.Ref("app:blobs-root"), root)

	rules := func(res *check.Result) []string {
		var out []string
		for _, f := range res.Findings {
			if f.Severity.String() == "error" && !f.Suppressed() {
				out = append(out, f.RuleID)
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	raw := func(m interface{ RawManifest() ([]byte, error) }) []byte {
		b, err := m.RawManifest()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name     string
		manifest []byte
		want     []string
	}{
		{"compliant image", raw(good), nil},
		{"root image", raw(root), []string{"DWF301"}},
		{"index with one root platform", raw(imagetest.Index(t, good, root)), []string{"DWF301"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := c.Manifest(context.Background(), reg.Ref("app:pushed"), tc.manifest, check.ManifestOptions{})
			if res.Err != nil {
				t.Fatalf("Err = %v", res.Err)
			}
			if got := rules(res); !slices.Equal(got, tc.want) {
				t.Errorf("error rules = %v, want %v (findings %v)", got, tc.want, res.Findings)
			}
		})
	}
	t.Run("missing config is a problem", func(t *testing.T) {
		other := imagetest.Image(t, "linux/amd64", v1.Config{User: "1002"}, layer)
		res := c.Manifest(context.Background(), reg.Ref("app:pushed"), raw(other), check.ManifestOptions{})
		if res.Err == nil || len(res.Problems) != 1 {
			t.Fatalf("Err = %v, problems %v; want one problem", res.Err, res.Problems)
		}
	})
}
