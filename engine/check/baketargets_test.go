package check_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/policyset"
)

// TestBakeTargetsSelectDockerfileStages: a bake file's targets choose the
// Dockerfile and the stage DWF101-DWF105 judge; a Dockerfile built by two
// targets at different stages is judged once per stage, the finding
// naming the targets; a dockerfile-inline is judged too, at its
// attribute; a Dockerfile no target builds is judged as usual.
func TestBakeTargetsSelectDockerfileStages(t *testing.T) {
	dir := repo(t, map[string]string{
		"docker-bake.hcl": `group "default" {
  targets = ["app", "debug", "tools", "inline"]
}
target "_common" {
  platforms = ["linux/amd64", "linux/arm64"]
}
target "app" {
  inherits   = ["_common"]
  context    = "svc"
  target     = "runtime"
}
target "debug" {
  inherits   = ["_common"]
  context    = "svc"
  target     = "debug"
}
target "tools" {
  inherits   = ["_common"]
  context    = "svc"
  target     = "runtime"
  tags       = ["tools"]
}
target "inline" {
  dockerfile-inline = "FROM alpine:3.20\nCMD [\"sh\"]\n"
}
`,
		// runtime is compliant; debug runs as root; the last stage (never
		// built by a target) would be judged without a USER.
		"svc/Dockerfile": `FROM alpine:3.20 AS runtime
RUN adduser -D -u 1001 dwfuser && apk add --no-cache tini
USER dwfuser
ENTRYPOINT ["/sbin/tini", "--"]
CMD ["/app"]

FROM runtime AS debug
USER root

FROM alpine:3.20 AS unused
`,
		"other/Dockerfile": "FROM alpine:3.20\n",
	})
	set, err := policyset.Open(context.Background(), policyset.Options{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	res := check.New(set, check.Options{}).Files(context.Background(), nil, check.FilesOptions{})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	var got []string
	for _, f := range res.Findings {
		if f.RuleID < "DWF101" || f.RuleID > "DWF105" {
			continue
		}
		got = append(got, fmt.Sprintf("%s %s:%d [%s]", f.RuleID, f.Path, f.Location.Line, f.Subject))
	}
	want := []string{
		"DWF101 docker-bake.hcl:24 [bake target inline]",
		"DWF103 docker-bake.hcl:24 [bake target inline]",
		"DWF101 other/Dockerfile:1 []",
		"DWF103 other/Dockerfile:1 []",
		// Every stage counts for DWF104, so both judgements report it.
		"DWF104 svc/Dockerfile:2 [bake target debug]",
		"DWF104 svc/Dockerfile:2 [bake targets app, tools]",
		"DWF101 svc/Dockerfile:8 [bake target debug]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Dockerfile findings (-want +got):\n%s", diff)
	}
	// The bake file, the inline Dockerfile, both Dockerfiles (svc once per
	// stage: runtime for app and tools, debug for debug).
	if res.Checked != 5 {
		t.Errorf("checked %d inputs, want 5", res.Checked)
	}
	if src, _ := res.Source("docker-bake.hcl"); !strings.HasPrefix(string(src), "group") {
		t.Errorf("the bake file's own content is not its source for fingerprints")
	}
}
