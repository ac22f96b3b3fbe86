package kubernetes

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v4"

	"github.com/devflow/dwf-policy/engine/document"
)

// jsonCases are objects whose JSON reading must equal the YAML reading of
// the same JSON indented: the workloads of the rule fixtures of
// DWF601-DWF603, and JSON that only JSON writes.
func jsonCases(t *testing.T) map[string][]byte {
	t.Helper()
	cases := map[string][]byte{
		"numbers of every spelling": []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"n"},"spec":{"securityContext":{"runAsUser":1e3,"runAsGroup":-0},` +
			`"containers":[{"name":"a","image":"app","securityContext":{"runAsUser":1001.0,"runAsNonRoot":true}}]}}`),
		"an integer past 64 bits":         []byte(`{"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"name":"a","image":"app","securityContext":{"runAsUser":99999999999999999999}}]}}`),
		"a runAsNonRoot that is a string": []byte(`{"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"name":"a","image":"app","securityContext":{"runAsNonRoot":"true"}}]}}`),
		"escapes and wide characters": []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"caf\u00e9","annotations":{"a":"x\"y\\z\n\t\u003c","b":"日本語 ✓","ключ ✓":"значение"}},` +
			`"spec":{"containers":[{"name":"日本","image":"reg.example/app:1","command":["/bin/sh","-c","echo \"日本\""],"args":[],"securityContext":{"runAsUser":0}}]}}`),
		"empty collections and nulls": []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{},"spec":{"template":{"metadata":{"labels":{}},"spec":{"initContainers":null,` +
			`"containers":[{"name":"a","image":"app","command":[],"args":null,"securityContext":{}}],"ephemeralContainers":[]}}}}`),
		"blanks as a person writes them": []byte("{\n  \"apiVersion\" : \"v1\",\t\"kind\":\"Pod\",\r\n \"spec\": { \"containers\": [ { \"image\": \"app\" } ] } }"),
		"a container without an image":   []byte(`{"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"name":"a","image":""}]}}`),
		"containers that are not a list": []byte(`{"apiVersion":"v1","kind":"Pod","spec":{"containers":{"name":"a"}}}`),
		"a command that is not words":    []byte(`{"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"name":"a","image":"app","command":["tini",["x"]]}]}}`),
		"a list of objects":              []byte(`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"c"},"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"image":"a"}]}}}}}},{"apiVersion":"v1","kind":"Service"}]}`),
		"a bare list":                    []byte(`[{"apiVersion":"v1","kind":"Pod"}]`),
		"not an object":                  []byte(`"just a string"`),
	}
	for _, id := range []string{"DWF601", "DWF602", "DWF603"} {
		paths, err := filepath.Glob(filepath.Join("..", "..", "..", "testdata", "rules", id, "*.yaml"))
		if err != nil || len(paths) == 0 {
			t.Fatalf("no fixtures of %s: %v", id, err)
		}
		for _, p := range paths {
			src, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			dec := yaml.NewDecoder(bytes.NewReader(src))
			for i := 0; ; i++ {
				var obj any
				if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
					break
				} else if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				if obj == nil {
					continue
				}
				raw, err := json.Marshal(obj)
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				cases[filepath.Base(p)+"#"+string(rune('0'+i))] = raw
			}
		}
	}
	return cases
}

// viaYAML is what ParseJSON must equal: Parse of the indented object.
func viaYAML(t testing.TB, name string, raw []byte) (*document.Document, error) {
	t.Helper()
	var src bytes.Buffer
	if err := json.Indent(&src, raw, "", "  "); err != nil {
		t.Fatal(err)
	}
	return Parse(name, src.Bytes(), Options{})
}

func TestParseJSONEqualsParseOfIndentedJSON(t *testing.T) {
	workloads := 0
	for name, raw := range jsonCases(t) {
		t.Run(name, func(t *testing.T) {
			want, wantErr := viaYAML(t, "Pod/apps/web", raw)
			got, gotErr := ParseJSON("Pod/apps/web", raw, Options{})
			if diff := cmp.Diff(errString(wantErr), errString(gotErr)); diff != "" {
				t.Fatalf("error (-yaml +json):\n%s", diff)
			}
			if wantErr != nil {
				if diff := cmp.Diff(wantErr, gotErr); diff != "" {
					t.Fatalf("parse error (-yaml +json):\n%s", diff)
				}
				return
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("document (-yaml +json):\n%s", diff)
			}
			workloads += len(got.Input["workloads"].([]any))
		})
	}
	if workloads < 30 {
		t.Fatalf("only %d workloads compared: the fixtures were not read", workloads)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestJSONScannerNodes compares the scanner's node tree with the YAML
// parser's, node by node: what the builder reads of a node (kind, style,
// tag, value, position) must not depend on who built it.
func TestJSONScannerNodes(t *testing.T) {
	for name, raw := range jsonCases(t) {
		t.Run(name, func(t *testing.T) {
			var src bytes.Buffer
			if err := json.Indent(&src, raw, "", "  "); err != nil {
				t.Fatal(err)
			}
			var want yaml.Node
			if err := yaml.Unmarshal(src.Bytes(), &want); err != nil {
				t.Fatal(err)
			}
			s := &jsonScanner{src: src.Bytes(), line: 1, col: 1}
			s.space()
			got, err := s.value(0)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(nodeText(want.Content[0]), nodeText(got)); diff != "" {
				t.Fatalf("nodes (-yaml +json):\n%s", diff)
			}
		})
	}
}

// nodeText lists a node tree, one node a line.
func nodeText(n *yaml.Node) []string {
	var out []string
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		out = append(out, strings.Repeat(" ", depth)+
			strings.Join([]string{kindName[n.Kind], styleName(n.Style), n.ShortTag(), n.Value, itoa(n.Line) + ":" + itoa(n.Column)}, " "))
		for _, c := range n.Content {
			walk(c, depth+1)
		}
	}
	walk(n, 0)
	return out
}

var kindName = map[yaml.Kind]string{yaml.DocumentNode: "doc", yaml.SequenceNode: "seq", yaml.MappingNode: "map", yaml.ScalarNode: "scalar", yaml.AliasNode: "alias"}

func styleName(s yaml.Style) string {
	switch s {
	case 0:
		return "plain"
	case yaml.FlowStyle:
		return "flow"
	case yaml.DoubleQuotedStyle:
		return "double"
	}
	return "style" + itoa(int(s))
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// TestParseJSONReadsWhatYAMLCannot: JSON escapes YAML does not know, and
// keys past YAML's 1024-character limit on implicit keys, are read as
// encoding/json reads them.
func TestParseJSONReadsWhatYAMLCannot(t *testing.T) {
	long := strings.Repeat("k", 1100)
	raw := []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a\/b \ud83d\ude00","labels":{"` + long + `":"v"}},"spec":{"containers":[{"image":"app"}]}}`)
	if _, err := viaYAML(t, "p", raw); err == nil {
		t.Fatal("YAML reads this JSON now: move it to jsonCases")
	}
	doc, err := ParseJSON("p", raw, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := doc.Input["workloads"].([]any)[0].(map[string]any)["name"]; got != "a/b 😀" {
		t.Fatalf("name %q", got)
	}
}

func TestParseJSONLimits(t *testing.T) {
	raw := []byte(`{"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"image":"app"}]}}`)
	// The limit applies to the indented text, as Parse's to the file.
	_, err := ParseJSON("p", raw, Options{MaxBytes: len(raw) + 10})
	if pe, ok := errors.AsType[*document.ParseError](err); !ok || !strings.Contains(pe.Message, "limit") {
		t.Fatalf("got %v, want a ParseError about the limit", err)
	}
	_, err = ParseJSON("p", []byte(`{"apiVersion":`), Options{})
	if pe, ok := errors.AsType[*document.ParseError](err); !ok || !strings.Contains(pe.Message, "could not parse as JSON") {
		t.Fatalf("got %v, want a ParseError naming JSON", err)
	}
	deep := strings.Repeat(`{"a":`, maxJSONDepth+10) + "1" + strings.Repeat("}", maxJSONDepth+10)
	if _, err := ParseJSON("p", []byte(deep), Options{}); err == nil {
		t.Fatal("no error for JSON nested past the depth limit")
	} else if _, ok := errors.AsType[*document.ParseError](err); !ok {
		t.Fatalf("got %T %v, want a ParseError", err, err)
	}
}
