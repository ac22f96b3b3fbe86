package dockerfile

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/devflow/dwf-policy/engine/document"
)

func mustParse(t *testing.T, src string, opts Options) map[string]any {
	t.Helper()
	d, err := Parse("Dockerfile", []byte(src), opts)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return d.Input
}

// get walks a document by keys and indexes: get(doc, "final", "user", "uid").
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			s, ok := v.([]any)
			if !ok || k >= len(s) {
				return nil
			}
			v = s[k]
		}
	}
	return v
}

func TestEffectiveUser(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		target   string
		value    any // expanded value, nil when no USER
		resolved any
		uid      any
		reason   string
	}{
		{"no user", "FROM alpine:3\n", "", nil, nil, nil, ""},
		{"plain", "FROM alpine:3\nUSER 1001\n", "", "1001", true, int64(1001), ""},
		{"builder only", "FROM golang:1 AS b\nUSER 1001\nFROM alpine:3\n", "", nil, nil, nil, ""},
		{"inherited via stage", "FROM alpine:3 AS base\nUSER dwfuser\nFROM base AS final\n", "", "dwfuser", true, nil, ""},
		{"later user wins", "FROM alpine:3\nUSER 1001\nUSER root\n", "", "root", true, nil, ""},
		{"root uid spellings", "FROM alpine:3\nUSER 000:0\n", "", "000:0", true, int64(0), ""},
		{"plus zero", "FROM alpine:3\nUSER +0\n", "", "+0", true, int64(0), ""},
		{"minus zero", "FROM alpine:3\nUSER -0\n", "", "-0", true, int64(0), ""},
		{"global arg not redeclared", "ARG UID=1001\nFROM alpine:3\nUSER ${UID}\n", "", "", false, nil, "uses a variable with no value: UID"},
		{"global arg redeclared", "ARG UID=1001\nFROM alpine:3\nARG UID\nUSER ${UID}\n", "", "1001", true, int64(1001), ""},
		{"default expansion", "FROM alpine:3\nUSER ${UID:-1001}\n", "", "1001", true, int64(1001), ""},
		{"env wins over arg", "FROM alpine:3\nARG U=0\nENV U=1001\nUSER $U\n", "", "1001", true, int64(1001), ""},
		{"env inherited, arg not", "FROM alpine:3 AS a\nENV U=1001\nARG V=7\nFROM a\nUSER $U:$V\n", "", "1001:", false, nil, "uses a variable with no value: V"},
		{"empty after expansion", "FROM alpine:3\nARG U=\nUSER $U\n", "", "", false, nil, "expands to an empty value"},
		{"empty user part", "FROM alpine:3\nUSER :1001\n", "", ":1001", false, nil, "has an empty user part"},
		{"target stage", "FROM alpine:3 AS runtime\nUSER 1001\nFROM alpine:3 AS debug\nUSER root\n", "runtime", "1001", true, int64(1001), ""},
		{"lowercase instructions", "from alpine:3\nuser 1001\n", "", "1001", true, int64(1001), ""},
		{"escape backtick", "# escape=`\nFROM alpine:3\nUSER `\n  1001\n", "", "1001", true, int64(1001), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := mustParse(t, tc.src, Options{Target: tc.target})
			user := get(doc, "final", "user")
			if tc.value == nil {
				if user != nil {
					t.Fatalf("final user = %v, want none", user)
				}
				return
			}
			got := map[string]any{"value": get(user, "value"), "resolved": get(user, "resolved"), "uid": get(user, "uid"), "reason": get(user, "reason")}
			want := map[string]any{"value": tc.value, "resolved": tc.resolved, "uid": tc.uid, "reason": tc.reason}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("final user (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEffectiveEntrypoint(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		form  any
		words []any
		cmd   []any
	}{
		{"none", "FROM alpine:3\n", nil, nil, nil},
		{"exec", "FROM alpine:3\nENTRYPOINT [\"/sbin/tini\", \"--\"]\n", "exec", []any{"/sbin/tini", "--"}, nil},
		{"shell", "FROM alpine:3\nENTRYPOINT tini -- app\n", "shell", []any{"/bin/sh", "-c", "tini -- app"}, nil},
		{"trailing comma is shell form", "FROM alpine:3\nENTRYPOINT [\"tini\", \"--\",]\n", "shell", []any{"/bin/sh", "-c", "[\"tini\", \"--\",]"}, nil},
		{"SHELL changes shell form", "FROM alpine:3\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\nENTRYPOINT app\n", "shell", []any{"/bin/bash", "-o", "pipefail", "-c", "app"}, nil},
		{"reset", "FROM alpine:3\nENTRYPOINT [\"tini\"]\nENTRYPOINT []\n", "exec", []any{}, nil},
		{"inherited", "FROM alpine:3 AS a\nENTRYPOINT [\"tini\"]\nFROM a\n", "exec", []any{"tini"}, nil},
		{"entrypoint resets inherited cmd", "FROM alpine:3 AS a\nCMD [\"x\"]\nFROM a\nENTRYPOINT [\"tini\"]\n", "exec", []any{"tini"}, nil},
		{"cmd only", "FROM alpine:3\nCMD [\"tini\", \"app\"]\n", nil, nil, []any{"tini", "app"}},
		{"variable kept as written", "FROM alpine:3\nENV TINI=/tini\nENTRYPOINT [\"${TINI}\", \"--\"]\n", "exec", []any{"${TINI}", "--"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := mustParse(t, tc.src, Options{})
			ep := get(doc, "final", "entrypoint")
			if tc.form == nil && ep != nil {
				t.Errorf("entrypoint = %v, want none", ep)
			}
			if tc.form != nil {
				if diff := cmp.Diff(map[string]any{"form": tc.form, "words": tc.words}, map[string]any{"form": get(ep, "form"), "words": get(ep, "words")}); diff != "" {
					t.Errorf("entrypoint (-want +got):\n%s", diff)
				}
			}
			if tc.cmd != nil {
				if diff := cmp.Diff(tc.cmd, get(doc, "final", "cmd", "words")); diff != "" {
					t.Errorf("cmd (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestUsersCreated(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []any // name, uid pairs in the final chain
	}{
		{"useradd -u", "FROM debian:12\nRUN useradd -u 1001 app\n", []any{"app", int64(1001)}},
		{"useradd --uid=", "FROM debian:12\nRUN useradd --uid=1001 -m app\n", []any{"app", int64(1001)}},
		{"useradd attached", "FROM debian:12\nRUN useradd -u1001 -g 1001 app\n", []any{"app", int64(1001)}},
		{"adduser busybox", "FROM alpine:3\nRUN addgroup -S g && adduser -S -D -u 1001 -G g app\n", []any{"app", int64(1001)}},
		{"adduser debian", "FROM debian:12\nRUN adduser --system --uid 1001 --home /app dwfuser\n", []any{"dwfuser", int64(1001)}},
		{"no uid", "FROM debian:12\nRUN useradd -m app\n", []any{"app", nil}},
		{"arg uid", "FROM debian:12\nARG UID=1001\nRUN useradd -u \"$UID\" app\n", []any{"app", int64(1001)}},
		{"inside sh -c", "FROM debian:12\nRUN [\"sh\", \"-c\", \"useradd -u 1001 app\"]\n", []any{"app", int64(1001)}},
		{"heredoc", "FROM debian:12\nRUN <<EOF\nset -e\nuseradd -u 1001 app\nEOF\n", []any{"app", int64(1001)}},
		{"builder stage does not count", "FROM debian:12 AS b\nRUN useradd -u 1001 app\nFROM debian:12\n", nil},
		{"parent stage counts", "FROM debian:12 AS base\nRUN useradd -u 1001 app\nFROM base\n", []any{"app", int64(1001)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := mustParse(t, tc.src, Options{})
			var got []any
			for _, u := range get(doc, "final", "users_created").([]any) {
				got = append(got, get(u, "name"), get(u, "uid"))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("users created (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBaseImages(t *testing.T) {
	src := `ARG BASE=debian:12
ARG UNSET
FROM golang:1.22@sha256:abc AS build
FROM --platform=linux/amd64 registry:5000/team/app AS a
FROM ${BASE}
FROM build
FROM scratch
FROM ${UNSET}
`
	doc := mustParse(t, src, Options{})
	type from struct {
		Repo, Tag, Digest, Platform string
		Stage                       any
		Scratch, Resolved           bool
	}
	var got []from
	for _, s := range get(doc, "stages").([]any) {
		f := get(s, "from")
		got = append(got, from{get(f, "repository").(string), get(f, "tag").(string), get(f, "digest").(string), get(f, "platform").(string), get(f, "stage"), get(f, "scratch").(bool), get(f, "resolved").(bool)})
	}
	want := []from{
		{"golang", "1.22", "sha256:abc", "", nil, false, true},
		{"registry:5000/team/app", "", "", "linux/amd64", nil, false, true},
		{"debian", "12", "", "", nil, false, true},
		{"", "", "", "", 0, false, true},
		{"", "", "", "", nil, true, true},
		{"", "", "", "", nil, false, false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FROM facts (-want +got):\n%s", diff)
	}
}

func TestRunCommandsAndMounts(t *testing.T) {
	src := "FROM debian:12\nRUN --mount=type=cache,target=/var/cache/apt \\\n    DEBIAN_FRONTEND=noninteractive sudo apt-get -y install curl | tee log\nRUN python3 <<EOF\nimport os\nEOF\n"
	doc := mustParse(t, src, Options{})
	runs := get(doc, "stages", 0, "runs").([]any)
	if len(runs) != 2 {
		t.Fatalf("runs = %d, want 2", len(runs))
	}
	if diff := cmp.Diff([]any{"apt-get", "-y", "install", "curl"}, get(runs[0], "commands", 0, "words")); diff != "" {
		t.Errorf("words (-want +got):\n%s", diff)
	}
	if got := get(runs[0], "mounts", 0, "type"); got != "cache" {
		t.Errorf("mount type = %v, want cache", got)
	}
	if got := get(runs[1], "commands", 0, "name"); got != "python3" {
		t.Errorf("heredoc data must not be read as shell; first command = %v", got)
	}
	if n := len(get(runs[1], "commands").([]any)); n != 1 {
		t.Errorf("python heredoc produced %d commands, want 1", n)
	}
}

func TestLocations(t *testing.T) {
	src := "FROM alpine:3\n  RUN apk add \\\n      curl   \nRUN <<EOF\necho hi\nEOF\nUSER 1001\n"
	doc := mustParse(t, src, Options{})
	var got []document.Location
	for _, in := range get(doc, "instructions").([]any) {
		l := get(in, "location").(map[string]any)
		got = append(got, document.Location{Line: l["line"].(int), Column: l["column"].(int), EndLine: l["end_line"].(int), EndColumn: l["end_column"].(int)})
	}
	want := []document.Location{
		{Line: 1, Column: 1, EndLine: 1, EndColumn: 13},
		{Line: 2, Column: 3, EndLine: 3, EndColumn: 10},
		{Line: 4, Column: 1, EndLine: 6, EndColumn: 3},
		{Line: 7, Column: 1, EndLine: 7, EndColumn: 9},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("locations (-want +got):\n%s", diff)
	}
}

func TestBadInput(t *testing.T) {
	huge := bytes.Repeat([]byte("RUN echo hello world\n"), 5<<20/21+1)
	tests := []struct {
		name string
		src  []byte
		line int
		msg  string
	}{
		{"empty", nil, 1, "empty Dockerfile"},
		{"blank", []byte("\n  \n"), 1, "empty Dockerfile"},
		{"only comments", []byte("# just a comment\n"), 1, "no instructions"},
		{"binary", []byte("FROM alpine\n\x00\x01\x02"), 2, "binary file"},
		{"invalid utf-8", []byte("FROM alpine\nRUN echo \xff\xfe\n"), 2, "invalid UTF-8"},
		{"unterminated heredoc", []byte("FROM alpine\nRUN <<EOF\necho hi\n"), 2, "unterminated heredoc"},
		{"no FROM", []byte("RUN echo hi\n"), 1, "before the first FROM"},
		{"only ARGs", []byte("ARG A=1\n"), 1, "no FROM instruction"},
		{"5 MB", append([]byte("FROM alpine\n"), huge...), 0, "larger than"},
		{"unknown target", []byte("FROM alpine AS a\n"), 1, "target stage"},
		{"bad json array type", []byte("FROM alpine\nCMD [1, 2]\n"), 2, "string"},
		{"unknown instruction", []byte("FROM alpine\nFORM x\n"), 2, "unknown instruction: FORM"},
		{"FROM without image", []byte("FROM\n"), 1, "FROM requires either one or three arguments"},
		{"instruction before FROM", []byte("ARG A=1\nRUN echo\nFROM alpine\n"), 2, "RUN before the first FROM"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{}
			if tc.name == "unknown target" {
				opts.Target = "missing"
			}
			_, err := Parse("x/Dockerfile", tc.src, opts)
			var pe *document.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v (%T), want *document.ParseError", err, err)
			}
			if pe.Path != "x/Dockerfile" || pe.Location.Line != tc.line || !strings.Contains(pe.Message, tc.msg) {
				t.Errorf("got %s at line %d, want line %d and a message containing %q", pe.Message, pe.Location.Line, tc.line, tc.msg)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"FROM alpine\nUSER 1001\n",
		"ARG A=1\nFROM ${A} AS b\nRUN <<EOF\nuseradd -u 1 x\nEOF\nFROM b\nENTRYPOINT [\"tini\"]\n",
		"# escape=`\nFROM x\nRUN a `\n b\n",
		"FROM x\nRUN sh -c 'sh -c \"apt-get install y\"'\nUSER ${U:-0}:${G}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		doc, err := Parse("Dockerfile", src, Options{})
		if err != nil {
			var pe *document.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error is %T, want *document.ParseError: %v", err, err)
			}
			return
		}
		if doc.Input["final"] == nil {
			t.Fatal("document without final stage")
		}
	})
}
