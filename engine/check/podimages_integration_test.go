package check_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/engine/policyset"
	"github.com/devflow/dwf-policy/internal/imagetest"
)

// TestIntegrationResolveImages: check --resolve-images against the real
// docker-registry the test setup starts: an image whose user is a name in
// its own /etc/passwd, and an index judged on every platform.
func TestIntegrationResolveImages(t *testing.T) {
	addr := imagetest.RealRegistry(t, "./engine/check")
	imgRepo := fmt.Sprintf("%s/dwf-it/pod-%d", addr, time.Now().UnixNano())
	passwd := imagetest.Layer(t, compression.ZStd, imagetest.File{Name: "etc/passwd", Body: "root:x:0:0::/root:/bin/sh\ndwfuser:x:1001:1001::/home/dwfuser:/bin/sh\n"})
	tini := []string{"/usr/bin/tini", "--"}
	good := imgRepo + ":good"
	imagetest.WriteIndex(t, good, imagetest.Index(t,
		imagetest.Image(t, "linux/amd64", v1.Config{User: "dwfuser", Entrypoint: tini}, passwd),
		imagetest.Image(t, "linux/arm64", v1.Config{User: "dwfuser", Entrypoint: tini}, passwd),
	), http.DefaultTransport)
	mixed := imgRepo + ":mixed"
	imagetest.WriteIndex(t, mixed, imagetest.Index(t,
		imagetest.Image(t, "linux/amd64", v1.Config{User: "dwfuser", Entrypoint: tini}, passwd),
		imagetest.Image(t, "linux/arm64", v1.Config{Entrypoint: tini}, passwd),
	), http.DefaultTransport)

	dir := repo(t, map[string]string{"deploy/app.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  template:
    spec:
      containers:
        - name: good
          image: ` + good + `
        - name: mixed
          image: ` + mixed + `
`})
	set, err := policyset.Open(context.Background(), policyset.Options{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	c := check.New(set, check.Options{Image: image.Options{
		InsecureRegistries: []string{addr},
		Keychain:           authn.NewMultiKeychain(),
		RetryDelay:         10 * time.Millisecond,
	}})
	res := c.Files(context.Background(), []string{"deploy"}, check.FilesOptions{ResolveImages: true})
	if res.Err != nil {
		t.Fatalf("Err = %v; problems %v", res.Err, res.Problems)
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, fmt.Sprintf("%s %d %s", f.RuleID, f.Location.Line, f.Message))
	}
	// The good image passes on both platforms: dwfuser is UID 1001 in its
	// /etc/passwd and tini is its ENTRYPOINT. The mixed one runs as root on
	// linux/arm64 only, and the finding says so at its image: line.
	if len(got) != 1 || !strings.HasPrefix(got[0], "DWF601 12 ") || !strings.Contains(got[0], "linux/arm64") {
		t.Fatalf("findings %q, want one DWF601 at line 12 naming linux/arm64", got)
	}
}
