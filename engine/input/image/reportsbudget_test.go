package image

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/devflow/dwf-policy/internal/imagetest"
)

// TestReportsBudget: the reports attached to an image are read up to a
// budget for the whole lookup; those past it are listed unread, not
// fetched.
func TestReportsBudget(t *testing.T) {
	old := maxReportsBytes
	maxReportsBytes = 2500
	t.Cleanup(func() { maxReportsBytes = old })

	reg := imagetest.NewRegistry(t, nil)
	ref := reg.Ref("team/app:1")
	img := imagetest.Spec{Platforms: []string{"linux/amd64"}}.Images(t)[0]
	digest := reg.Push(t, ref, img)
	mt, _ := img.MediaType()
	size, _ := img.Size()
	subject := v1Descriptor(mt, digest, size)
	for i := range 3 {
		data := []byte(`{"SchemaVersion":2,"ArtifactName":"` + strings.Repeat("x", 1000) + `","n":` + string(rune('0'+i)) + `}`)
		imagetest.Attach(t, ref, subject, imagetest.Referrer{ArtifactType: ArtifactTypeTrivyJSON, Data: data}, imagetest.Transport())
	}
	found, err := Reports(context.Background(), ref, []string{digest.String()},
		Options{Transport: imagetest.Transport(), Keychain: authn.NewMultiKeychain(), CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	read, unread := 0, 0
	for _, a := range found {
		switch {
		case a.Data != nil:
			read++
		case strings.Contains(a.Unread, "together too large"):
			unread++
		}
	}
	if len(found) != 3 || read != 2 || unread != 1 {
		t.Errorf("%d reports, %d read, %d unread over the budget; want 3, 2, 1", len(found), read, unread)
	}
}

func v1Descriptor(mt types.MediaType, d v1.Hash, size int64) v1.Descriptor {
	return v1.Descriptor{MediaType: mt, Digest: d, Size: size}
}
