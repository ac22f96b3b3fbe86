package dockerfile

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/devflow/dwf-policy/engine/document"
)

const baseName = "registry.example/devflow/base:1@sha256:0123456789012345678901234567890123456789012345678901234567890123"

// devflowBase is what a compliant base image's config sets.
var devflowBase = BaseImage{
	Name:       baseName,
	User:       "dwfuser",
	Entrypoint: []string{"/usr/bin/tini", "--"},
	Cmd:        []string{"/bin/sh"},
}

func TestBaseImageRef(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want BaseRef
		ok   bool
	}{
		{"nothing set", "FROM registry.example/devflow/base:1\nRUN make\n",
			BaseRef{Image: "registry.example/devflow/base:1", Resolved: true, Stage: 0, Location: document.Location{Line: 1, Column: 1, EndLine: 1, EndColumn: 36}}, true},
		{"only USER set", "FROM alpine:3\nUSER 1001\n",
			BaseRef{Image: "alpine:3", Resolved: true, Location: document.Location{Line: 1, Column: 1, EndLine: 1, EndColumn: 13}}, true},
		{"only ENTRYPOINT set", "FROM alpine:3\nENTRYPOINT [\"tini\"]\n",
			BaseRef{Image: "alpine:3", Resolved: true, Location: document.Location{Line: 1, Column: 1, EndLine: 1, EndColumn: 13}}, true},
		{"both set", "FROM alpine:3\nUSER 1001\nENTRYPOINT [\"tini\"]\n", BaseRef{}, false},
		{"scratch", "FROM scratch\nCOPY app /app\n", BaseRef{}, false},
		{"chain root through stages", "FROM alpine:3 AS base\nFROM golang:1 AS build\nFROM base AS final\nFROM base AS other\n",
			BaseRef{Image: "alpine:3", Resolved: true, Location: document.Location{Line: 1, Column: 1, EndLine: 1, EndColumn: 21}}, true},
		{"global ARG expanded", "ARG V=3.20\nFROM alpine:${V}\n",
			BaseRef{Image: "alpine:3.20", Resolved: true, Location: document.Location{Line: 2, Column: 1, EndLine: 2, EndColumn: 16}}, true},
		{"unset ARG", "ARG BASE\nFROM $BASE\n",
			BaseRef{Image: "$BASE", Resolved: false, Location: document.Location{Line: 2, Column: 1, EndLine: 2, EndColumn: 10}}, true},
		{"concrete platform", "FROM --platform=linux/arm64 alpine:3\n",
			BaseRef{Image: "alpine:3", Platform: "linux/arm64", Resolved: true, Location: document.Location{Line: 1, Column: 1, EndLine: 1, EndColumn: 36}}, true},
		{"platform variable", "FROM --platform=$BUILDPLATFORM alpine:3\n",
			BaseRef{Image: "alpine:3", Resolved: true, Location: document.Location{Line: 1, Column: 1, EndLine: 1, EndColumn: 39}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse("Dockerfile", []byte(tc.src), Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, ok := BaseImageRef(doc)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v (ref %+v)", ok, tc.ok, got)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("BaseImageRef (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMergeBaseImage(t *testing.T) {
	from1 := map[string]any{"line": 1, "column": 1, "end_line": 1, "end_column": 36}
	user := map[string]any{
		"raw": "dwfuser", "value": "dwfuser", "resolved": true, "reason": "", "name": "dwfuser", "group": "", "uid": nil,
		"inherited": true, "from_image": baseName, "stage": 0, "location": from1,
	}
	tini := map[string]any{
		"form": "exec", "words": []any{"/usr/bin/tini", "--"}, "raw": `["/usr/bin/tini","--"]`,
		"inherited": true, "from_image": baseName, "stage": 0, "location": from1,
	}
	sh := map[string]any{
		"form": "exec", "words": []any{"/bin/sh"}, "raw": `["/bin/sh"]`,
		"inherited": true, "from_image": baseName, "stage": 0, "location": from1,
	}
	tests := []struct {
		name string
		src  string
		base BaseImage
		// want holds the final user, entrypoint and cmd; nil keys are
		// compared as nil, "own" means what the Dockerfile sets.
		want   map[string]any
		merged bool
	}{{
		name:   "inherits user, entrypoint and cmd",
		src:    "FROM registry.example/devflow/base:1\nCOPY app /app\n",
		base:   devflowBase,
		want:   map[string]any{"user": user, "entrypoint": tini, "cmd": sh},
		merged: true,
	}, {
		name:   "own ENTRYPOINT resets the base CMD",
		src:    "FROM registry.example/devflow/base:1\nENTRYPOINT [\"/app\"]\n",
		base:   devflowBase,
		want:   map[string]any{"user": user, "entrypoint": "own", "cmd": nil},
		merged: true,
	}, {
		name:   "own CMD keeps the base ENTRYPOINT",
		src:    "FROM registry.example/devflow/base:1\nCMD [\"/app\"]\n",
		base:   devflowBase,
		want:   map[string]any{"user": user, "entrypoint": tini, "cmd": "own"},
		merged: true,
	}, {
		name:   "own USER wins",
		src:    "FROM registry.example/devflow/base:1\nUSER 1001\n",
		base:   devflowBase,
		want:   map[string]any{"user": "own", "entrypoint": tini, "cmd": sh},
		merged: true,
	}, {
		name:   "base sets nothing: still root",
		src:    "FROM registry.example/devflow/base:1\n",
		base:   BaseImage{Name: baseName},
		want:   map[string]any{"user": nil, "entrypoint": nil, "cmd": nil},
		merged: false,
	}, {
		name:   "both set: nothing to merge",
		src:    "FROM registry.example/devflow/base:1\nUSER 1001\nENTRYPOINT [\"tini\"]\n",
		base:   devflowBase,
		want:   map[string]any{"user": "own", "entrypoint": "own", "cmd": nil},
		merged: false,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse("Dockerfile", []byte(tc.src), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if merged := MergeBaseImage(doc, tc.base); merged != tc.merged {
				t.Errorf("MergeBaseImage = %v, want %v", merged, tc.merged)
			}
			final := doc.Input["final"].(map[string]any)
			stage := doc.Input["stages"].([]any)[0].(map[string]any)
			for _, k := range []string{"user", "entrypoint", "cmd"} {
				want, got := tc.want[k], final[k]
				if want == "own" {
					if m, ok := got.(map[string]any); !ok || m["from_image"] != "" || m["inherited"] != false {
						t.Errorf("final.%s = %v, want the Dockerfile's own", k, got)
					}
				} else if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("final.%s (-want +got):\n%s", k, diff)
				}
				if diff := cmp.Diff(final[k], stage[k]); diff != "" {
					t.Errorf("stages[0].%s differs from final.%s:\n%s", k, k, diff)
				}
			}
			checkSchema(t, doc.Input)
		})
	}
}

// TestMergeBaseImageChain: every stage of the final chain inherits, other
// stages do not, and positions are those of the root stage's FROM.
func TestMergeBaseImageChain(t *testing.T) {
	src := "FROM registry.example/devflow/base:1 AS base\n" +
		"RUN make\n" +
		"FROM golang:1.23 AS build\n" +
		"FROM base AS runtime\n" +
		"CMD [\"/app\"]\n" +
		"FROM runtime\n"
	doc, err := Parse("Dockerfile", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !MergeBaseImage(doc, devflowBase) {
		t.Fatal("nothing merged")
	}
	stages := doc.Input["stages"].([]any)
	for i, want := range []string{"dwfuser", "", "dwfuser", "dwfuser"} {
		u, _ := get(stages[i], "user").(map[string]any)
		got := ""
		if u != nil {
			got, _ = u["value"].(string)
		}
		if got != want {
			t.Errorf("stages[%d].user = %q, want %q", i, got, want)
		}
	}
	if got := get(doc.Input, "final", "user", "location", "line"); got != 1 {
		t.Errorf("final.user at line %v, want 1 (the root FROM)", got)
	}
	if got := get(doc.Input, "final", "cmd", "words"); !cmp.Equal(got, []any{"/app"}) {
		t.Errorf("final.cmd = %v, want the Dockerfile's own", got)
	}
	if got := get(stages[0], "cmd", "from_image"); got != baseName {
		t.Errorf("stages[0].cmd.from_image = %v, want the base CMD", got)
	}
	if got := get(doc.Input, "final", "entrypoint", "from_image"); got != baseName {
		t.Errorf("final.entrypoint.from_image = %v", got)
	}
	checkSchema(t, doc.Input)
}

func TestMergeBaseImageEmptyUserPart(t *testing.T) {
	doc, err := Parse("Dockerfile", []byte("FROM registry.example/devflow/base:1\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	MergeBaseImage(doc, BaseImage{Name: baseName, User: ":staff"})
	u := get(doc.Input, "final", "user").(map[string]any)
	if u["resolved"] != false || u["reason"] == "" || u["uid"] != nil {
		t.Errorf("user = %v, want unresolved with a reason", u)
	}
	checkSchema(t, doc.Input)
}

// checkSchema validates a Dockerfile document against dockerfile.json with
// OPA's json.match_schema, the validator policies' type checks agree with.
func checkSchema(t *testing.T, in map[string]any) {
	t.Helper()
	schemas, err := document.Schemas()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rego.New(
		rego.Query("r := json.match_schema(input.doc, input.schema)"),
		rego.Input(map[string]any{"doc": in, "schema": schemas["dockerfile"]}),
	).Eval(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := rs[0].Bindings["r"].([]any)
	if ok, _ := r[0].(bool); !ok {
		t.Errorf("document does not match dockerfile.json: %v", r[1])
	}
}
