package webhook_test

import (
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/devflow/dwf-policy/engine/policyset"
	"github.com/devflow/dwf-policy/engine/report"
	"github.com/devflow/dwf-policy/internal/imagetest"
	"github.com/devflow/dwf-policy/internal/sarifvalidate"
	"github.com/devflow/dwf-policy/webhook"
	"github.com/devflow/dwf-policy/webhook/registrygate"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestVerdictSARIF: a verdict asked for as SARIF (?format=sarif or
// Accept: application/sarif+json) is the SARIF reporter's log of its
// findings, located in the image, with the policy set's rule catalogue;
// it passes the SARIF multitool. Without asking, it is JSON.
func TestVerdictSARIF(t *testing.T) {
	upstream := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(upstream.Close)
	g := serveGate(t, webhook.Options{
		Policy: policyset.Options{WorkDir: t.TempDir(), NoConfigSearch: true},
		Gate:   &webhook.GateOptions{Upstream: upstream.URL},
		Tool:   report.Tool{Name: "dwf-policy", Version: "v1.2.3", InformationURI: "https://github.com/devflow/dwf-policy"},
	})
	// A fixed image, so the golden's digest is fixed.
	empty := ""
	img := imagetest.Spec{Platforms: []string{"linux/amd64"}, PlatformSpec: imagetest.PlatformSpec{User: &empty}}.Images(t)[0]
	denied(t, remote.Write(ref(t, g.addr+"/team/app:1"), img))
	subject := "team/app@" + digestOf(t, img).String()

	get := func(query, accept string) (string, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+g.main+"/registry/verdicts/"+subject+query, nil)
		req.Header.Set("Authorization", "Bearer "+eventsToken)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s (Accept %q): %s %s", query, accept, resp.Status, b)
		}
		return resp.Header.Get("Content-Type"), b
	}
	ct, byQuery := get("?format=sarif", "")
	if ct != registrygate.SARIFMediaType {
		t.Errorf("Content-Type %q, want %s", ct, registrygate.SARIFMediaType)
	}
	if _, byAccept := get("", "application/json;q=0.5, application/sarif+json"); string(byAccept) != string(byQuery) {
		t.Error("Accept: application/sarif+json gave another answer than ?format=sarif")
	}
	if ct, _ := get("", "application/json"); ct != "application/json" {
		t.Errorf("a verdict asked for as JSON came as %q", ct)
	}
	if ct, _ := get("?format=json", registrygate.SARIFMediaType); ct != "application/json" {
		t.Errorf("?format=json came as %q", ct)
	}

	path := filepath.Join(t.TempDir(), "verdict.sarif")
	if err := os.WriteFile(path, byQuery, 0o600); err != nil {
		t.Fatal(err)
	}
	sarifvalidate.Validate(t, path)

	var log map[string]any
	if err := json.Unmarshal(byQuery, &log); err != nil {
		t.Fatal(err)
	}
	run := log["runs"].([]any)[0].(map[string]any)
	driver := run["tool"].(map[string]any)["driver"].(map[string]any)
	if rules := driver["rules"].([]any); len(rules) < 5 {
		t.Errorf("driver.rules has %d rules, want the whole catalogue", len(rules))
	}
	// The catalogue grows with every rule: the golden holds the results.
	delete(driver, "rules")
	for _, r := range run["results"].([]any) {
		delete(r.(map[string]any), "ruleIndex")
	}
	got, _ := json.MarshalIndent(log, "", "  ")
	golden := filepath.Join("testdata", "verdict.sarif")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	var w, g2 any
	json.Unmarshal(want, &w)
	json.Unmarshal(got, &g2)
	if d := cmp.Diff(w, g2); d != "" {
		t.Errorf("verdict SARIF differs from %s (-want +got):\n%s", golden, d)
	}
}
