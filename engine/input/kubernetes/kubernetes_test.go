package kubernetes

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/devflow/dwf-policy/engine/document"
)

// summary is what a test compares of a parsed file: per workload its kind,
// name, helm source and containers as "type/name image@line:col".
type summary struct {
	Kind, Name, Helm string
	Containers       []string
}

func summarise(in map[string]any) []summary {
	out := []summary{}
	for _, w := range in["workloads"].([]any) {
		w := w.(map[string]any)
		s := summary{Kind: w["kind"].(string), Name: w["name"].(string), Helm: w["helm_source"].(string), Containers: []string{}}
		for _, c := range w["containers"].([]any) {
			c := c.(map[string]any)
			img := c["image"].(map[string]any)
			loc := document.LocationOf(img["location"])
			s.Containers = append(s.Containers, c["type"].(string)+"/"+c["name"].(string)+" "+img["value"].(string)+"@"+loc.String())
		}
		out = append(out, s)
	}
	return out
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []summary
	}{
		{"pod", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: a\n      image: app:1\n",
			[]summary{{"Pod", "p", "", []string{"container/a app:1@8:7"}}}},
		{"every container list in start order", `apiVersion: v1
kind: Pod
spec:
  ephemeralContainers:
    - {name: e, image: debug}
  containers:
    - {name: c, image: app}
  initContainers:
    - {name: i, image: init}
`, []summary{{"Pod", "", "", []string{"init/i init@9:17", "container/c app@7:17", "ephemeral/e debug@5:17"}}}},
		{"multi-document with helm sources and other objects", `---
# Source: chart/templates/sa.yaml
apiVersion: v1
kind: ServiceAccount
metadata: {name: sa}
---
# Source: chart/templates/job.yaml
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  template:
    spec:
      containers: [{name: m, image: migrate}]
---
`, []summary{{"Job", "migrate", "chart/templates/job.yaml", []string{"container/m migrate@14:30"}}}},
		{"list items", `apiVersion: v1
kind: List
items:
  - apiVersion: apps/v1
    kind: DaemonSet
    spec: {template: {spec: {containers: [{name: d, image: agent}]}}}
  - apiVersion: v1
    kind: Service
  - apiVersion: apps/v1
    kind: DeploymentList
    items:
      - apiVersion: apps/v1
        kind: Deployment
        spec: {template: {spec: {containers: [{name: w, image: web}]}}}
`, []summary{{"DaemonSet", "", "", []string{"container/d agent@6:53"}}, {"Deployment", "", "", []string{"container/w web@14:57"}}}},
		{"cronjob and podtemplate", `apiVersion: batch/v1
kind: CronJob
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: c
              image: cron
---
apiVersion: v1
kind: PodTemplate
template:
  spec:
    containers:
      - name: t
        image: tpl
`, []summary{{"CronJob", "", "", []string{"container/c cron@10:15"}}, {"PodTemplate", "", "", []string{"container/t tpl@18:9"}}}},
		{"json", `{"apiVersion": "apps/v1", "kind": "StatefulSet",
 "spec": {"template": {"spec": {"containers": [
   {"name": "db", "image": "postgres"}]}}}}
`, []summary{{"StatefulSet", "", "", []string{"container/db postgres@3:19"}}}},
		{"a workload without a pod spec (a kustomize patch) has no containers",
			"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 3\n",
			[]summary{{"Deployment", "web", "", []string{}}}},
		{"YAML that is not Kubernetes", "name: ci\non: push\n", []summary{}},
		{"a list that holds no Kubernetes object (a playbook)", "- hosts: all\n  tasks: []\n", []summary{}},
		{"aliases are followed", `apiVersion: v1
kind: Pod
spec:
  containers:
    - &c {name: a, image: app}
    - *c
`, []summary{{"Pod", "", "", []string{"container/a app@5:20", "container/a app@5:20"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse("m.yaml", []byte(tc.src), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, summarise(doc.Input)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			matchSchema(t, doc.Input)
		})
	}
}

func TestSecurityContextAndCommand(t *testing.T) {
	src := `apiVersion: v1
kind: Pod
spec:
  securityContext:
    runAsUser: 0
    runAsNonRoot: true
  containers:
    - name: a
      image: app
      command: ["/sbin/tini", "--"]
      args: []
      securityContext:
        runAsUser: 1001
        runAsGroup: 1001
    - name: b
      image: app
      command:
        - /bin/sh
        - -c
        - tini -- app
`
	doc, err := Parse("m.yaml", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	matchSchema(t, doc.Input)
	cs := doc.Input["workloads"].([]any)[0].(map[string]any)["containers"].([]any)
	type eff struct {
		User    any
		UserAt  string
		From    any
		NonRoot any
		Prog    any
		Shell   any
		CmdAt   string
		Args    bool
	}
	var got []eff
	for _, c := range cs {
		c := c.(map[string]any)
		e := c["effective"].(map[string]any)
		u := e["run_as_user"].(map[string]any)
		nr := e["run_as_non_root"].(map[string]any)
		cmd := c["command"].(map[string]any)
		got = append(got, eff{u["value"], document.LocationOf(u["location"]).String(), u["from"], nr["value"],
			cmd["program"], cmd["via_shell"], document.LocationOf(cmd["location"]).String(), c["args"] != nil})
	}
	want := []eff{
		{1001, "13:9", "container", true, "tini", false, "10:7", false},
		{0, "5:5", "pod", true, "sh", true, "17:7", false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestMalformed(t *testing.T) {
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		bomb += n + ": &" + n + " [" + strings.Repeat("*"+prev+", ", 9) + "*" + prev + "]\n"
		prev = n
	}
	for _, tc := range []struct {
		name, src, want string
		line            int
	}{
		{"container without image", "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: a\n      command: [x]\n", `container "a" has no image`, 5},
		{"empty image", "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: a\n      image: \"\"\n", `container "a" has no image`, 6},
		{"containers not a list", "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    name: a\n", "spec.containers is not a list", 5},
		{"runAsUser a string", "apiVersion: v1\nkind: Pod\nspec:\n  securityContext:\n    runAsUser: \"0\"\n  containers: []\n", "runAsUser in the pod securityContext is not an integer", 5},
		{"runAsNonRoot a string", "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: a\n    securityContext: {runAsNonRoot: \"yes\"}\n", "runAsNonRoot in the container securityContext is not true or false", 6},
		{"command not a list", "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: a\n    command: tini\n", "command of container \"\" is not a list", 6},
		{"template not a mapping", "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template: []\n", "Deployment spec.template is not a mapping", 4},
		{"not YAML", "apiVersion: v1\nkind: Pod\nspec: [\n", "could not parse as YAML", 4},
		{"json array at the root", `[{"apiVersion": "v1", "kind": "Pod"}]`, "the document is a list, not a Kubernetes object", 1},
		{"alias bomb", "apiVersion: v1\nkind: List\n" + bomb, "YAML aliases expand the file", 0},
		{"recursive alias", "apiVersion: v1\nkind: List\nitems: &x [*x]\n", "refers to a node that contains it", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse("m.yaml", []byte(tc.src), Options{})
			pe, ok := errors.AsType[*document.ParseError](err)
			if !ok {
				t.Fatalf("Parse = %v, %v; want a ParseError", doc, err)
			}
			if !strings.Contains(pe.Message, tc.want) || (tc.line != 0 && pe.Location.Line != tc.line) {
				t.Errorf("ParseError %q at %s, want %q at line %d", pe.Message, pe.Location, tc.want, tc.line)
			}
		})
	}
}

func TestSizeCap(t *testing.T) {
	src := "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: " + strings.Repeat("x", 2000) + "\n"
	_, err := Parse("m.yaml", []byte(src), Options{MaxBytes: 1000})
	if pe, ok := errors.AsType[*document.ParseError](err); !ok || !strings.Contains(pe.Message, "limit") {
		t.Errorf("Parse of an oversized file = %v, want a ParseError about the limit", err)
	}
	many := strings.Repeat("---\na: 1\n", maxDocuments+1)
	if _, err := Parse("m.yaml", []byte(many), Options{}); err == nil {
		t.Errorf("Parse of %d documents succeeded", maxDocuments+1)
	}
}

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want bool
	}{
		{"apiVersion: v1\nkind: Pod\n", true},
		{"# Source: x\n---\nkind: Pod\napiVersion: v1\n", true},
		{`{"kind": "Pod", "apiVersion": "v1"}`, true},
		{"on: push\njobs: {}\n", false},
		{"spec:\n  apiVersion: v1\n  kind: Pod\n", false},
		{`[{"kind": "Pod", "apiVersion": "v1"}]`, false},
		{"version: 2\nservices: {}\n", false},
	} {
		if got := Sniff([]byte(tc.src)); got != tc.want {
			t.Errorf("Sniff(%q) = %v, want %v", tc.src, got, tc.want)
		}
	}
}

// matchSchema validates a document against kubernetes.json.
func matchSchema(t testing.TB, doc map[string]any) {
	t.Helper()
	schemas, err := document.Schemas()
	if err != nil {
		t.Fatal(err)
	}
	pq, err := rego.New(rego.Query(`r := json.match_schema(input.doc, input.schema)`)).PrepareForEval(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	v, err := ast.InterfaceToValue(map[string]any{"doc": doc, "schema": schemas["kubernetes"]})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := pq.Eval(context.Background(), rego.EvalParsedInput(v))
	if err != nil || len(rs) != 1 {
		t.Fatalf("matching schema: %v (%d results)", err, len(rs))
	}
	r, _ := rs[0].Bindings["r"].([]any)
	if ok, _ := r[0].(bool); !ok {
		t.Errorf("document does not match the kubernetes schema: %v", r[1])
	}
}
