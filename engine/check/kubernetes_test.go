package check_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/policyset"
)

// TestKubernetesBadInputInTheWalk: a walk over manifests next to YAML
// bombs, a file over the size cap, YAML that is not Kubernetes, a JSON
// array and a workflow kept outside .github/workflows. Bad manifests are a
// DWF000 each, the rest is skipped without a word, and the good manifest
// and the real workflow are still checked.
func TestKubernetesBadInputInTheWalk(t *testing.T) {
	laughs := "apiVersion: v1\nkind: List\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		laughs += n + ": &" + n + " [" + strings.Repeat("*"+prev+", ", 9) + "*" + prev + "]\n"
		prev = n
	}
	huge := "apiVersion: v1\nkind: ConfigMap\ndata:\n  blob: " + strings.Repeat("x", 5<<20) + "\n"
	good := "apiVersion: v1\nkind: Pod\nspec:\n  securityContext: {runAsNonRoot: true, runAsUser: 1001}\n  containers:\n    - {name: a, image: app, command: [tini, --, app]}\n"
	dir := repo(t, map[string]string{
		"k8s/good.yaml":            good,
		"k8s/laughs.yaml":          laughs,
		"k8s/recursive.yml":        "apiVersion: v1\nkind: List\nitems: &x [*x]\n",
		"k8s/huge.yaml":            huge,
		"k8s/broken.yaml":          "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    name: a\n",
		"k8s/not-yaml.yaml":        "apiVersion: v1\nkind: Pod\nspec: [\n",
		"config/app.yaml":          "server:\n  port: 8080\n  user: root\n",
		"config/array.json":        `[{"apiVersion": "v1", "kind": "Pod"}]`,
		"config/package.json":      `{"name": "x", "version": "1.0.0"}`,
		"templates/ci.yml":         "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n",
		".github/workflows/ci.yml": "on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n",
	})
	set, err := policyset.Open(context.Background(), policyset.Options{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	res := check.New(set, check.Options{}).Files(context.Background(), nil, check.FilesOptions{})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Checked != 7 {
		t.Errorf("checked %d inputs, want 7 (six manifests and the workflow)", res.Checked)
	}
	var got []string
	for _, f := range res.Findings {
		if f.RuleID == "DWF000" || strings.HasPrefix(f.RuleID, "DWF6") {
			got = append(got, f.RuleID+" "+f.Path+" "+f.Location.String())
		}
	}
	want := []string{
		"DWF000 k8s/broken.yaml 5:5",
		"DWF000 k8s/huge.yaml 0:0",    // the whole file: over the size cap
		"DWF000 k8s/laughs.yaml 7:44", // the alias at which the expansion passes the cap
		"DWF000 k8s/not-yaml.yaml 4:1",
		"DWF000 k8s/recursive.yml 3:12",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}
