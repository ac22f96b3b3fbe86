package admission

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestMalformedReviewBodies: what is not an AdmissionReview the webhook
// can judge gets a 4xx status with a plain reason (the apiserver then
// applies the failurePolicy), never a panic or a 5xx; a 10 MiB body is
// refused whether it announces its length or streams it.
func TestMalformedReviewBodies(t *testing.T) {
	f := newFixture(t, Options{})
	good := reviewJSON(t, deployment("web", podOpts{image: f.good}), reviewOpts{})
	chunked := func(b []byte) io.Reader { return io.MultiReader(bytes.NewReader(b)) } // no Content-Length: sent chunked
	big := append([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"x","object":"`), bytes.Repeat([]byte("a"), 10<<20)...)
	big = append(big, `"}}`...)
	for _, tc := range []struct {
		name, ct string
		body     io.Reader
		code     int
		want     string
	}{
		{"empty", "application/json", nil, 400, "empty body: expected an admission.k8s.io/v1 AdmissionReview"},
		{"whitespace", "application/json", strings.NewReader(" \n\t "), 400, "empty body"},
		{"invalid JSON", "application/json", strings.NewReader(`{"apiVersion":`), 400, "decoding the AdmissionReview"},
		{"a JSON array", "application/json", strings.NewReader(`[1,2]`), 400, "decoding the AdmissionReview"},
		{"request null", "application/json", strings.NewReader(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":null}`), 400, "has no request"},
		{"request without uid", "application/json", strings.NewReader(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}`), 400, "has no uid"},
		{"not a review", "application/json", strings.NewReader(`{"apiVersion":"v1","kind":"Pod"}`), 400, "expected apiVersion admission.k8s.io/v1 and kind AdmissionReview"},
		{"no content type", "", bytes.NewReader(good), 415, "Content-Type: application/json"},
		{"wrong content type", "application/yaml", bytes.NewReader(good), 415, "Content-Type: application/json"},
		{"malformed content type", "application/json; =", bytes.NewReader(good), 415, "Content-Type: application/json"},
		{"10 MiB with a length", "application/json", bytes.NewReader(big), 413, "request body larger than 7340032 bytes"},
		{"10 MiB chunked", "application/json", chunked(big), 413, "request body larger than 7340032 bytes"},
		{"object not an object", "application/json", bytes.NewReader(reviewJSON(t, "a string", reviewOpts{})), 400, "decoding the Deployment object"},
		{"charset parameter", "application/json; charset=utf-8", bytes.NewReader(good), 200, `"allowed":true`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/validate", tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if tc.ct != "" {
				req.Header.Set("Content-Type", tc.ct)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.want) {
				t.Errorf("%d %q, want %d with %q", resp.StatusCode, b, tc.code, tc.want)
			}
		})
	}
}

// TestUnjudgeableObjects: reviews that carry nothing to judge are allowed
// without asking the registry (DELETE with a null object, a CONNECT); a
// CREATE without an object is malformed; an unparseable image reference
// is denied naming its field path, whatever --on-error says, before any
// registry is asked.
func TestUnjudgeableObjects(t *testing.T) {
	for _, onError := range []OnError{Deny, Allow} {
		t.Run(string(onError), func(t *testing.T) {
			f := newFixture(t, Options{OnError: onError})
			for _, op := range []string{"DELETE", "CONNECT"} {
				r := f.post(t, reviewJSON(t, nil, reviewOpts{op: op, old: nil}), "")
				if !r.Allowed || r.Result != nil && r.Result.Message != "" {
					t.Errorf("%s with a null object: allowed %v, %s", op, r.Allowed, message(r))
				}
			}
			pod := func(spec map[string]any) map[string]any {
				return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p", "namespace": "apps"}, "spec": spec}
			}
			cronJob := map[string]any{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": map[string]any{"name": "nightly", "namespace": "apps"},
				"spec": map[string]any{"schedule": "@daily", "jobTemplate": map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
					"restartPolicy": "Never", "containers": []any{map[string]any{"name": "job", "image": "registry.example/app:"}}}}}}}}
			for _, tc := range []struct {
				name     string
				obj      map[string]any
				kind     string
				group    string
				sub      string
				want     []string
				notWants []string
			}{
				{"second container", pod(map[string]any{"containers": []any{
					map[string]any{"name": "ok", "image": f.good},
					map[string]any{"name": "bad", "image": "UPPER/Case::bad"},
				}}), "Pod", "", "", []string{`spec.containers[1].image: "UPPER/Case::bad" is not a valid image reference`}, []string{"spec.containers[0]"}},
				{"init container", pod(map[string]any{
					"initContainers": []any{map[string]any{"name": "init", "image": "bad image"}},
					"containers":     []any{map[string]any{"name": "app", "image": f.good}},
				}), "Pod", "", "", []string{`spec.initContainers[0].image: "bad image"`}, nil},
				{"empty image", pod(map[string]any{"containers": []any{map[string]any{"name": "app", "image": ""}}}),
					"Pod", "", "", []string{`spec.containers[0].image: "" is not a valid image reference`}, nil},
				{"ephemeral container", pod(map[string]any{
					"containers":          []any{map[string]any{"name": "app", "image": f.good}},
					"ephemeralContainers": []any{map[string]any{"name": "debug", "image": "busybox@sha256:short"}},
				}), "Pod", "", "ephemeralcontainers", []string{`spec.ephemeralContainers[0].image: "busybox@sha256:short"`}, nil},
				{"CronJob", cronJob, "CronJob", "batch", "", []string{`spec.jobTemplate.spec.template.spec.containers[0].image: "registry.example/app:"`}, nil},
			} {
				before := f.manifestGets.Load()
				r := f.post(t, reviewJSON(t, tc.obj, reviewOpts{kind: tc.kind, group: tc.group, sub: tc.sub}), "")
				msg := message(r)
				if r.Allowed {
					t.Errorf("%s: admitted with warnings %q", tc.name, r.Warnings)
				}
				for _, w := range tc.want {
					if !strings.Contains(msg, w) {
						t.Errorf("%s: message lacks %q:\n%s", tc.name, w, msg)
					}
				}
				for _, w := range tc.notWants {
					if strings.Contains(msg, w) {
						t.Errorf("%s: message names %q:\n%s", tc.name, w, msg)
					}
				}
				if n := f.manifestGets.Load() - before; n != 0 {
					t.Errorf("%s: asked the registry %d times for an object with an unparseable reference", tc.name, n)
				}
			}
		})
	}
}
