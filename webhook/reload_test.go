package webhook_test

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/engine/policyset"
	"github.com/devflow/dwf-policy/internal/imagetest"
	"github.com/devflow/dwf-policy/webhook"
	"github.com/devflow/dwf-policy/webhook/admission"
)

// TestAdmissionPolicyReload: a changed configuration judges the next
// reviews; a broken one keeps the old set and is counted once.
func TestAdmissionPolicyReload(t *testing.T) {
	reg := imagetest.NewRegistry(t, nil)
	root := "0"
	ref := reg.Ref("team/root:1")
	reg.PushIndex(t, ref, imagetest.Index(t, imagetest.Spec{PlatformSpec: imagetest.PlatformSpec{User: &root}}.Images(t)...))
	dir := t.TempDir()
	cfg := filepath.Join(dir, "dwf-policy.yaml")
	write := func(s string) {
		// Renamed into place, as a ConfigMap update is.
		if err := os.WriteFile(cfg+".tmp", []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(cfg+".tmp", cfg); err != nil {
			t.Fatal(err)
		}
	}
	write("uid: 1001\n")

	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- webhook.Serve(ctx, webhook.Options{
			Listen:       "127.0.0.1:0",
			Policy:       policyset.Options{WorkDir: dir, ConfigFile: cfg, NoConfigSearch: true},
			Image:        image.Options{Transport: imagetest.Transport()},
			Admission:    &admission.Options{AllowedRegistries: []string{reg.Host}},
			PolicyReload: 20 * time.Millisecond,
			Listening:    func(m, _ string) { ready <- m },
		})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	allowed := func() bool {
		body := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},` +
			`"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"apps","operation":"CREATE","userInfo":{},` +
			`"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"app","image":"` + ref + `"}]}}}}`
		resp, err := http.Post("http://"+addr+"/validate", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), `"allowed":true`)
	}
	metric := func(name string) string {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for line := range strings.Lines(string(b)) {
			if strings.HasPrefix(line, name+" ") {
				return strings.TrimSpace(strings.TrimPrefix(line, name))
			}
		}
		return ""
	}
	if allowed() {
		t.Fatal("a root image was admitted")
	}
	write("rules:\n  DWF301: warning\n  DWF302: warning\n  DWF601: warning\n  DWF602: warning\n")
	deadline := time.Now().Add(20 * time.Second)
	for !allowed() {
		if time.Now().After(deadline) {
			t.Fatal("the relaxed configuration never took effect")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := metric(`dwf_policy_reloads_total{result="ok"}`); got != "1" {
		t.Errorf("ok reloads %q, want 1", got)
	}
	write("rules: [not a map\n")
	for metric(`dwf_policy_reloads_total{result="error"}`) != "1" {
		if time.Now().After(deadline) {
			t.Fatal("the broken configuration was not counted")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // several more polls: counted once
	if got := metric(`dwf_policy_reloads_total{result="error"}`); got != "1" || !allowed() {
		t.Errorf("after a broken configuration: error reloads %q, admitted %v; want 1 and the relaxed set kept", got, allowed())
	}
}

// TestGatePolicyReload: the registry gate judges with a reloaded policy
// set (the same digest is judged again under it); a broken configuration
// keeps the set in use and is counted once.
func TestGatePolicyReload(t *testing.T) {
	upstream := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(upstream.Close)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "dwf-policy.yaml")
	write := func(s string) {
		if err := os.WriteFile(cfg+".tmp", []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(cfg+".tmp", cfg); err != nil {
			t.Fatal(err)
		}
	}
	write("uid: 1001\n")
	g := serveGate(t, webhook.Options{
		Policy:       policyset.Options{WorkDir: dir, ConfigFile: cfg, NoConfigSearch: true},
		Gate:         &webhook.GateOptions{Upstream: upstream.URL},
		PolicyReload: 20 * time.Millisecond,
	})
	img := unique(t, "")
	push := func() error { return remote.Write(ref(t, g.addr+"/reload/app:1"), img) }
	denied(t, push())

	write("rules:\n  DWF301: warning\n  DWF302: warning\n")
	deadline := time.Now().Add(20 * time.Second)
	for metric(t, g, `dwf_policy_reloads_total{result="ok"}`) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the relaxed configuration was never loaded")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := push(); err != nil {
		t.Fatalf("push under the relaxed policies: %v", err)
	}

	write("rules: [not a map\n")
	for metric(t, g, `dwf_policy_reloads_total{result="error"}`) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the broken configuration was not counted")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // several more polls: counted once
	if got := metric(t, g, `dwf_policy_reloads_total{result="error"}`); got != 1 {
		t.Errorf("error reloads = %v, want 1", got)
	}
	// The relaxed set is still the one judging: a new root image passes.
	if err := remote.Write(ref(t, g.addr+"/reload/app:2"), unique(t, "")); err != nil {
		t.Errorf("push after a broken configuration: %v", err)
	}
	if n := metric(t, g, "dwf_gate_judgements_total"); n != 3 {
		t.Errorf("judged %v times, want 3 (the first image under each set, then the second)", n)
	}
}
