package webhook_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// TestDeployManifestsAgainstKubeAPIServer: every object of deploy/*.yaml
// (the Helm chart's default rendering) is accepted by the real
// kube-apiserver: the namespace is created, everything else is created
// with a server-side dry run (validated and defaulted, not stored, so the
// webhook configuration does not send this apiserver's requests to a
// Service that has no pods). cert-manager's objects need its CRDs, which
// this apiserver does not have: they are only parsed.
func TestDeployManifestsAgainstKubeAPIServer(t *testing.T) {
	host := os.Getenv("DWF_KUBE_APISERVER")
	if host == "" {
		if os.Getenv("DWF_KUBE_E2E_REQUIRED") != "" {
			t.Fatal("DWF_KUBE_E2E_REQUIRED is set but no apiserver runs: use scripts/kube-e2e.sh run -- go test ...")
		}
		t.Skip("no kube-apiserver: run under scripts/kube-e2e.sh")
	}
	ctx := context.Background()
	cfg := &rest.Config{Host: host, BearerToken: os.Getenv("DWF_KUBE_TOKEN"), TLSClientConfig: rest.TLSClientConfig{Insecure: true}, Timeout: 20 * time.Second}
	if ca := os.Getenv("DWF_KUBE_CA"); ca != "" {
		cfg.TLSClientConfig = rest.TLSClientConfig{CAFile: ca}
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}

	files, _ := filepath.Glob(filepath.Join("..", "deploy", "*.yaml"))
	// The namespace first, as the README's snippet applies it.
	for i, f := range files {
		if filepath.Base(f) == "namespace.yaml" {
			files[0], files[i] = files[i], files[0]
		}
	}
	applied := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
		for {
			var obj unstructured.Unstructured
			if err := dec.Decode(&obj.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				t.Fatalf("%s: %v", f, err)
			}
			if obj.Object == nil {
				continue
			}
			gvk := obj.GroupVersionKind()
			what := filepath.Base(f) + ": " + gvk.Kind + " " + obj.GetName()
			if gvk.Group == "cert-manager.io" {
				continue
			}
			m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				t.Errorf("%s: %v", what, err)
				continue
			}
			var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
			switch ns := obj.GetNamespace(); {
			case ns != "":
				ri = dyn.Resource(m.Resource).Namespace(ns)
			case gvk.Kind != "Namespace":
				// Cluster-wide names are shared with the admission test,
				// which creates its own dwf-policy webhook configuration.
				obj.SetName(obj.GetName() + "-deploy-check")
			}
			opts := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"}
			if gvk.Kind == "Namespace" {
				opts.DryRun = nil
			}
			if _, err := ri.Create(ctx, &obj, opts); err != nil && !(gvk.Kind == "Namespace" && apierrors.IsAlreadyExists(err)) {
				t.Errorf("%s: %v", what, err)
				continue
			}
			applied++
		}
	}
	if applied < 9 {
		t.Errorf("applied %d objects of deploy/, want the namespace, RBAC, ConfigMap, Deployment, PDB, Service and webhook configuration", applied)
	}
	if t.Failed() {
		return
	}
	t.Logf("the apiserver accepted %d objects of deploy/ (%s)", applied, strings.Join(files, ", "))
}
