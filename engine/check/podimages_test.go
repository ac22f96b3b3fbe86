package check_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/engine/policyset"
	"github.com/devflow/dwf-policy/internal/imagetest"
)

// podImagesRegistry holds the images the manifests below run:
//
//	team/named:1   dwfuser (UID 1001 by /etc/passwd), ENTRYPOINT tini
//	team/mixed:1   an index: linux/amd64 runs as root with no ENTRYPOINT,
//	               linux/arm64 as 1001 with tini
//	team/other:1   UID 1000 by name, ENTRYPOINT /app
func podImagesRegistry(t *testing.T) *imagetest.Registry {
	reg := imagetest.NewRegistry(t, nil)
	passwd := imagetest.Layer(t, compression.GZip, imagetest.File{Name: "etc/passwd", Body: "root:x:0:0::/root:/bin/sh\ndwfuser:x:1001:1001::/home/dwfuser:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n"})
	tini := []string{"/usr/bin/tini", "--"}
	reg.Push(t, reg.Ref("team/named:1"), imagetest.Image(t, "linux/amd64", v1.Config{User: "dwfuser", Entrypoint: tini}, passwd))
	reg.PushIndex(t, reg.Ref("team/mixed:1"), imagetest.Index(t,
		imagetest.Image(t, "linux/amd64", v1.Config{Cmd: []string{"/app"}}, passwd),
		imagetest.Image(t, "linux/arm64", v1.Config{User: "1001", Entrypoint: tini}, passwd),
	))
	reg.Push(t, reg.Ref("team/other:1"), imagetest.Image(t, "linux/amd64", v1.Config{User: "app", Entrypoint: []string{"/app"}}, passwd))
	return reg
}

type podFinding struct {
	Rule string
	Line int
	Msg  string // a part of the message
}

func TestFilesResolveImages(t *testing.T) {
	reg := podImagesRegistry(t)
	manifest := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: named
          image: ` + reg.Ref("team/named:1") + `
        - name: mixed
          image: ` + reg.Ref("team/mixed:1") + `
        - name: other
          image: ` + reg.Ref("team/other:1") + `
        - name: missing
          image: ` + reg.Ref("team/missing:1") + `
        - name: again
          image: ` + reg.Ref("team/named:1") + `
          args: [serve]
`
	dir := repo(t, map[string]string{"deploy/web.yaml": manifest, "deploy/copy.yaml": manifest})
	set, err := policyset.Open(context.Background(), policyset.Options{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	c := check.New(set, check.Options{Image: image.Options{Transport: imagetest.Transport(), Retries: -1}})

	t.Run("off by default", func(t *testing.T) {
		res := c.Files(context.Background(), []string{"deploy/web.yaml"}, check.FilesOptions{})
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		var rules []string
		for _, f := range res.Findings {
			rules = append(rules, f.RuleID)
		}
		// Nothing in the manifest keeps any of the five off root.
		if diff := cmp.Diff([]string{"DWF601", "DWF601", "DWF601", "DWF601", "DWF601"}, rules); diff != "" {
			t.Errorf("findings (-want +got):\n%s", diff)
		}
	})

	t.Run("resolved", func(t *testing.T) {
		before := reg.Count("GET /v2/team/named/manifests/1")
		res := c.Files(context.Background(), []string{"deploy"}, check.FilesOptions{ResolveImages: true})
		if got := reg.Count("GET /v2/team/named/manifests/1") - before; got != 1 {
			t.Errorf("team/named:1 was fetched %d times for four containers in two files, want once", got)
		}
		if res.Err == nil || !strings.Contains(res.Err.Error(), "1 of 4 container images could not be resolved") {
			t.Errorf("Err = %v", res.Err)
		}
		if len(res.Problems) != 1 || !strings.Contains(res.Problems[0].Err.Error(), "container image of deploy/copy.yaml, deploy/web.yaml: loading image "+reg.Ref("team/missing:1")+": not found") {
			t.Errorf("Problems = %v", res.Problems)
		}
		var got []podFinding
		for _, f := range res.Findings {
			if f.Path != "deploy/web.yaml" {
				continue
			}
			got = append(got, podFinding{f.RuleID, f.Location.Line, f.Message})
		}
		want := []podFinding{
			{"DWF601", 12, "(linux/amd64) runs as root because its config sets no user"},
			{"DWF603", 12, "(linux/amd64) has no ENTRYPOINT"},
			{"DWF602", 14, "runs as UID 1000 from the image " + reg.Ref("team/other:1") + "@sha256:"},
			{"DWF603", 14, "makes `/app` PID 1"},
			{"DWF601", 16, "Nothing keeps the container `missing`"},
		}
		if len(got) != len(want) {
			t.Fatalf("findings %+v, want %d", got, len(want))
		}
		for i := range want {
			if got[i].Rule != want[i].Rule || got[i].Line != want[i].Line || !strings.Contains(got[i].Msg, want[i].Msg) {
				t.Errorf("finding %d = %+v, want %+v", i, got[i], want[i])
			}
		}
	})
}

// TestKubernetesSuppression: `# dwf-policy:ignore` works in a manifest,
// above the line or at its end.
func TestKubernetesSuppression(t *testing.T) {
	dir := repo(t, map[string]string{"pod.yaml": `apiVersion: v1
kind: Pod
spec:
  securityContext:
    # dwf-policy:ignore DWF601 the exporter reads /proc of the node as root
    runAsUser: 0
  containers:
    - name: exporter
      image: registry.example/exporter:1
      command: [/exporter] # dwf-policy:ignore DWF603 the exporter reaps its children
`})
	set, err := policyset.Open(context.Background(), policyset.Options{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	res := check.New(set, check.Options{}).Files(context.Background(), nil, check.FilesOptions{})
	if res.Err != nil || res.Checked != 1 {
		t.Fatalf("checked %d, err %v", res.Checked, res.Err)
	}
	want := []got{
		{Rule: "DWF601", Line: 6, Suppressed: "inSource"},
		{Rule: "DWF603", Line: 10, Suppressed: "inSource"},
	}
	if diff := cmp.Diff(want, summarise(res.Findings)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}
