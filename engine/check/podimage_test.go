package check_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/engine/policyset"
	"github.com/devflow/dwf-policy/internal/imagetest"
)

// TestPodImage: an admission webhook's view of one image. A windows
// platform beside linux ones is left out; the rules asked for are kept.
func TestPodImage(t *testing.T) {
	reg := imagetest.NewRegistry(t, nil)
	passwd := imagetest.Layer(t, compression.GZip, imagetest.File{Name: "etc/passwd", Body: "root:x:0:0::/root:/bin/sh\n"})
	ref := reg.Ref("team/mixed:1")
	reg.PushIndex(t, ref, imagetest.Index(t,
		imagetest.Image(t, "linux/amd64", v1.Config{User: "0", Cmd: []string{"/app"}}, passwd),
		imagetest.Image(t, "windows/amd64", v1.Config{User: "ContainerAdministrator"}, passwd),
	))
	set, err := policyset.Open(context.Background(), policyset.Options{WorkDir: t.TempDir(), NoConfigSearch: true})
	if err != nil {
		t.Fatal(err)
	}
	c := check.New(set, check.Options{Image: image.Options{Transport: imagetest.Transport()}})
	pi, err := c.PodImage(context.Background(), ref, check.PodImageOptions{Rules: []string{"DWF301"}})
	if err != nil {
		t.Fatal(err)
	}
	platforms := pi.Config["platforms"].([]any)
	if len(platforms) != 1 || platforms[0].(map[string]any)["platform"] != "linux/amd64" {
		t.Errorf("platforms %v, want linux/amd64 only", platforms)
	}
	if len(pi.Findings) != 1 || pi.Findings[0].RuleID != "DWF301" || !strings.Contains(pi.Findings[0].Subject, "@sha256:") {
		t.Errorf("findings %+v, want one DWF301 naming the digest", pi.Findings)
	}

	if _, err := c.PodImage(context.Background(), reg.Ref("team/missing:1"), check.PodImageOptions{}); err == nil {
		t.Error("a missing image loaded")
	}
}
