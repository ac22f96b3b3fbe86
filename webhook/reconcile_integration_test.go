package webhook_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/devflow/dwf-policy/internal/imagetest"
	"github.com/devflow/dwf-policy/webhook/registrygate"
)

// verdictOf polls GET /registry/verdicts/<name>@<digest> until it answers
// 200 or 30s pass, and returns the verdict's JSON.
func verdictOf(t testing.TB, g gate, nameAtDigest string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, "http://"+g.main+"/registry/verdicts/"+nameAtDigest, nil)
		req.Header.Set("Authorization", "Bearer "+eventsToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			var v map[string]any
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("no verdict for %s after 30s: %s %s", nameAtDigest, resp.Status, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestIntegrationReconcile: images pushed while no gate was running (so no
// event reached it) are judged by the gate's reconciliation when it
// starts, from a named repository and from the registry's catalog
// (filtered by --gate-only); a second run finds their verdicts and judges
// nothing again.
func TestIntegrationReconcile(t *testing.T) {
	upstream := imagetest.RealRegistry(t, "./webhook")
	prefix := fmt.Sprintf("recon-%d", time.Now().UnixNano())
	named, listed, outside := prefix+"/named", prefix+"/listed", "outside-"+prefix+"/app"
	root, good, other := unique(t, ""), unique(t, "1001"), unique(t, "")
	for _, p := range []struct {
		ref string
		img v1.Image
	}{{named + ":1", root}, {listed + ":1", good}, {listed + ":2", good}, {outside + ":1", other}} {
		if err := remote.Write(ref(t, upstream+"/"+p.ref), p.img); err != nil {
			t.Fatal(err)
		}
	}

	g := startGate(t, "http://"+upstream, registrygate.Options{
		Only: []string{prefix + "/*", named},
		Reconcile: registrygate.Reconcile{
			Interval:     300 * time.Millisecond,
			Repositories: []string{named},
			Catalog:      true,
			Rate:         200,
		},
	})
	v := verdictOf(t, g, named+"@"+digestOf(t, root).String())
	if v["compliant"] != false || v["judged_by"] != "reconcile" {
		t.Errorf("verdict of the root image = %v, want non-compliant, judged by reconcile", v)
	}
	v = verdictOf(t, g, listed+"@"+digestOf(t, good).String())
	if v["compliant"] != true || v["judged_by"] != "reconcile" {
		t.Errorf("verdict of the listed image = %v, want compliant, judged by reconcile", v)
	}
	// The verdict refuses a pull through the gate, without judging again.
	if _, err := remote.Get(ref(t, g.addr+"/"+named+":1")); err == nil {
		t.Error("pull of the root image reconciled as non-compliant succeeded")
	}

	deadline := time.Now().Add(30 * time.Second)
	for metric(t, g, `dwf_gate_reconcile_runs_total{result="ok"}`) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no second reconciliation run: %v ok, %v error", metric(t, g, `dwf_gate_reconcile_runs_total{result="ok"}`), metric(t, g, `dwf_gate_reconcile_runs_total{result="error"}`))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := metric(t, g, "dwf_gate_judgements_total"); n != 2 {
		t.Errorf("judged %v times, want 2 (two digests, each once; the repository outside --gate-only never)", n)
	}
	if n := metric(t, g, `dwf_gate_reconcile_images_total{outcome="known"}`); n < 3 {
		t.Errorf("known = %v, want the second run to find the three tags' verdicts", n)
	}
	if n := metric(t, g, `dwf_gate_reconcile_images_total{outcome="failed"}`); n != 0 {
		t.Errorf("failed = %v, want 0", n)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+g.main+"/registry/verdicts/"+outside+"@"+digestOf(t, other).String(), nil)
	req.Header.Set("Authorization", "Bearer "+eventsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("verdict of an image outside --gate-only: %s, want 404", resp.Status)
	}
}
