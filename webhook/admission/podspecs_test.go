package admission

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/engine/policyset"
	"github.com/devflow/dwf-policy/internal/imagetest"
	"github.com/devflow/dwf-policy/internal/policytest"
)

// podSpecLookups returns the pod spec cache's hits and misses so far.
func (f *fixture) podSpecLookups() (hits, misses float64) {
	return testutil.ToFloat64(f.wh.metrics.cache.WithLabelValues("podspec", "hit")),
		testutil.ToFloat64(f.wh.metrics.cache.WithLabelValues("podspec", "miss"))
}

// reviewOf sends obj as a CREATE and returns the answer.
func (f *fixture) reviewOf(t *testing.T, obj any) *admissionv1.AdmissionResponse {
	t.Helper()
	return f.post(t, reviewJSON(t, obj, reviewOpts{}), "")
}

// TestPodSpecCacheSameObject: the same object reviewed again gets the
// same answer from the cache; another object, or the same one with
// another image, is evaluated.
func TestPodSpecCacheSameObject(t *testing.T) {
	f := newFixture(t, Options{})
	web := deployment("web", podOpts{image: f.good, runAsUser: ptr(1000)})
	first := f.reviewOf(t, web)
	if first.Allowed || !strings.Contains(message(first), "DWF602") {
		t.Fatalf("first review: %+v", first)
	}
	if hits, misses := f.podSpecLookups(); hits != 0 || misses != 1 {
		t.Fatalf("after one review: %v hits, %v misses", hits, misses)
	}
	again := f.reviewOf(t, web)
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("the cached answer differs (-first +again):\n%s", diff)
	}
	if hits, misses := f.podSpecLookups(); hits != 1 || misses != 1 {
		t.Fatalf("after the same review: %v hits, %v misses", hits, misses)
	}
	// Another name is another document (messages name the workload).
	other := f.reviewOf(t, deployment("api", podOpts{image: f.good, runAsUser: ptr(1000)}))
	if !strings.Contains(message(other), "Deployment `api`") {
		t.Errorf("other object: %s", message(other))
	}
	root := f.reviewOf(t, deployment("web", podOpts{image: f.root}))
	if root.Allowed || !strings.Contains(message(root), "DWF601") {
		t.Errorf("root image: %+v", root)
	}
	if hits, misses := f.podSpecLookups(); hits != 1 || misses != 3 {
		t.Fatalf("after two other objects: %v hits, %v misses", hits, misses)
	}
}

// TestPodSpecCacheImageChanged: the same object whose tag now names
// another image is judged on that image, not from the cache.
func TestPodSpecCacheImageChanged(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	f := newFixture(t, Options{Now: func() time.Time { return time.Unix(0, now.Load()) }})
	ref := f.reg.Ref("team/moving:1")
	f.reg.PushIndex(t, ref, imagetest.Index(t, imagetest.Spec{}.Images(t)...))
	web := deployment("web", podOpts{image: ref})
	if r := f.reviewOf(t, web); !r.Allowed {
		t.Fatalf("compliant image: %s", message(r))
	}
	user := "0"
	f.reg.PushIndex(t, ref, imagetest.Index(t, imagetest.Spec{PlatformSpec: imagetest.PlatformSpec{User: &user}}.Images(t)...))
	now.Add(int64(2 * DefaultTagTTL)) // the tag is resolved again
	r := f.reviewOf(t, web)
	if r.Allowed || !strings.Contains(message(r), "DWF601") {
		t.Fatalf("the tag now names a root image: %+v", r)
	}
	if hits, misses := f.podSpecLookups(); hits != 0 || misses != 2 {
		t.Fatalf("%v hits, %v misses; want 0 and 2", hits, misses)
	}
}

// reloadedChecker opens the built-in policy set with cfg as its
// configuration, judged at the time now gives, as the fixture's checker.
func reloadedChecker(t *testing.T, f *fixture, cfg string, now func() time.Time) (*check.Checker, string) {
	t.Helper()
	set, hash := policytest.Open(t, cfg, nil)
	return check.New(set, check.Options{Now: now, Image: image.Options{Transport: imagetest.Transport(), Retries: -1, Timeout: 10 * time.Second,
		UntrustedReferences: true, TrustedRegistries: []string{f.reg.Host}}}), hash
}

// TestPodSpecCacheNewPolicySet: a reloaded policy set starts with an
// empty cache: the same object is judged by the new rules.
func TestPodSpecCacheNewPolicySet(t *testing.T) {
	f := newFixture(t, Options{})
	web := deployment("web", podOpts{image: f.good, runAsUser: ptr(1000)})
	if r := f.reviewOf(t, web); r.Allowed {
		t.Fatal("runAsUser 1000 admitted with DWF602 on")
	}
	f.wh.SetPolicies(reloadedChecker(t, f, "rules:\n  DWF602: \"off\"\n", nil))
	if r := f.reviewOf(t, web); !r.Allowed {
		t.Fatalf("runAsUser 1000 refused with DWF602 off: %s", message(r))
	}
	if hits, misses := f.podSpecLookups(); hits != 0 || misses != 2 {
		t.Fatalf("%v hits, %v misses; want 0 and 2", hits, misses)
	}
}

// TestPodSpecCacheDayTurns: an exception that expires tomorrow covers
// today's reviews, from the cache too, and no longer tomorrow's.
func TestPodSpecCacheDayTurns(t *testing.T) {
	f := newFixture(t, Options{})
	var now atomic.Int64
	now.Store(time.Date(2026, 6, 1, 23, 59, 0, 0, time.UTC).UnixNano())
	cfg := "exceptions:\n  - rule: DWF602\n    paths: [\"Deployment/**\"]\n    reason: migrating to 1001\n    expires: 2026-06-02\n"
	f.wh.SetPolicies(reloadedChecker(t, f, cfg, func() time.Time { return time.Unix(0, now.Load()) }))
	web := deployment("web", podOpts{image: f.good, runAsUser: ptr(1000)})
	for range 2 {
		if r := f.reviewOf(t, web); !r.Allowed {
			t.Fatalf("the exception does not cover DWF602 today: %s", message(r))
		}
	}
	if hits, _ := f.podSpecLookups(); hits != 1 {
		t.Fatalf("%v hits on the same day, want 1", hits)
	}
	now.Add(int64(2 * time.Minute))
	if r := f.reviewOf(t, web); r.Allowed || !strings.Contains(message(r), "DWF602") {
		t.Fatalf("the exception expired, the review was admitted: %+v", r)
	}
	if hits, misses := f.podSpecLookups(); hits != 1 || misses != 2 {
		t.Fatalf("%v hits, %v misses; want 1 and 2", hits, misses)
	}
}

// TestPodSpecCacheOffForNondeterministicRules: with a kubernetes rule
// that reads the clock, every review is evaluated.
func TestPodSpecCacheOffForNondeterministicRules(t *testing.T) {
	dir := t.TempDir()
	rule := `# METADATA
# title: Clock
# description: A rule that reads the clock.
# schemas:
#   - input: schema.kubernetes
# custom:
#   id: ACME601
#   severity: note
#   kind: kubernetes
#   help: None.
package dwf.kubernetes.clock

deny contains {"msg": sprintf("evaluated at %d", [time.now_ns()])} if true
`
	if err := os.WriteFile(filepath.Join(dir, "clock.rego"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	f := newFixtureWith(t, Options{}, "", func(o *policyset.Options) { o.Policies = append(o.Policies, dir) })
	web := deployment("web", podOpts{image: f.good})
	first, second := f.reviewOf(t, web), f.reviewOf(t, web)
	if !strings.Contains(strings.Join(first.Warnings, " "), "evaluated at") || cmp.Equal(first.Warnings, second.Warnings) {
		t.Errorf("the clock rule was not evaluated twice: %q then %q", first.Warnings, second.Warnings)
	}
	if hits, misses := f.podSpecLookups(); hits != 0 || misses != 0 {
		t.Fatalf("%v hits, %v misses; want no lookups", hits, misses)
	}
}

// TestPodSpecCacheDryRunAndModes: a dry run then the real request (as
// `kubectl apply --dry-run=server` then `kubectl apply`) get the same
// answer in every mode, the second from the cache, each counted by its
// dry-run label.
func TestPodSpecCacheDryRunAndModes(t *testing.T) {
	for _, mode := range []Mode{Enforce, Warn, Audit} {
		t.Run(string(mode), func(t *testing.T) {
			f := newFixture(t, Options{Mode: mode})
			web := deployment("web", podOpts{image: f.good, runAsUser: ptr(0)})
			dry := f.post(t, reviewJSON(t, web, reviewOpts{dryRun: true}), "")
			applied := f.post(t, reviewJSON(t, web, reviewOpts{}), "")
			if diff := cmp.Diff(dry, applied); diff != "" {
				t.Errorf("dry run and real request differ (-dry +applied):\n%s", diff)
			}
			if mode == Enforce && (applied.Allowed || !strings.Contains(message(applied), "DWF601")) {
				t.Errorf("enforce: %+v", applied)
			}
			if mode == Warn && (!applied.Allowed || !strings.Contains(strings.Join(applied.Warnings, " "), "DWF601")) {
				t.Errorf("warn: %+v", applied)
			}
			if mode == Audit && (!applied.Allowed || !strings.Contains(applied.AuditAnnotations["findings"], "DWF601")) {
				t.Errorf("audit: %+v", applied)
			}
			if hits, misses := f.podSpecLookups(); hits != 1 || misses != 1 {
				t.Errorf("%v hits, %v misses; want 1 and 1", hits, misses)
			}
			decision := map[Mode]string{Enforce: "deny", Warn: "warn", Audit: "audit"}[mode]
			for _, dryRun := range []string{"true", "false"} {
				if got := testutil.ToFloat64(f.wh.metrics.reviews.WithLabelValues(decision, "CREATE", "Deployment", dryRun)); got != 1 {
					t.Errorf("reviews{decision=%s, dry_run=%s} = %v, want 1", decision, dryRun, got)
				}
			}
		})
	}
}

// TestPodSpecCacheMalformedObject: an object the kubernetes document
// refuses is denied with DWF000 every time: nothing of it is kept.
func TestPodSpecCacheMalformedObject(t *testing.T) {
	f := newFixture(t, Options{})
	web := deployment("web", podOpts{image: f.good})
	spec := web["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	spec["containers"].([]any)[0].(map[string]any)["securityContext"] = map[string]any{"runAsUser": "root"}
	for range 2 {
		r := f.reviewOf(t, web)
		if r.Allowed || !strings.Contains(message(r), "DWF000 error: runAsUser in the container securityContext is not an integer") {
			t.Fatalf("%+v", r)
		}
	}
	if hits, misses := f.podSpecLookups(); hits != 0 || misses != 0 {
		t.Fatalf("%v hits, %v misses; want no lookups", hits, misses)
	}
}
