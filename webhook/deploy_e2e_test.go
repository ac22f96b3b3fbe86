package webhook_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
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
	cfg := kubeAPIServer(t)
	ctx := context.Background()
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

// helmBinary is the helm the test tools install (.tools/bin/helm), $HELM,
// or helm on PATH; "" when there is none.
func helmBinary() string {
	if h := os.Getenv("HELM"); h != "" {
		return h
	}
	if h, err := filepath.Abs(filepath.Join("..", ".tools", "bin", "helm")); err == nil {
		if _, err := os.Stat(h); err == nil {
			return h
		}
	}
	h, _ := exec.LookPath("helm")
	return h
}

// certManagerCRDs stand in for cert-manager's: the kinds the chart
// creates, schemaless, so that its Issuers and Certificates are stored
// (no controller issues anything here).
func certManagerCRDs(t *testing.T, ctx context.Context, dyn dynamic.Interface) {
	t.Helper()
	crds := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	for _, kind := range []string{"Certificate", "Issuer"} {
		plural := strings.ToLower(kind) + "s"
		crd := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
			"metadata": map[string]any{"name": plural + ".cert-manager.io"},
			"spec": map[string]any{
				"group": "cert-manager.io", "scope": "Namespaced",
				"names": map[string]any{"kind": kind, "plural": plural, "singular": strings.ToLower(kind), "listKind": kind + "List"},
				"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true,
					"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}},
			},
		}}
		if _, err := crds.Create(ctx, crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	for _, kind := range []string{"certificates", "issuers"} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, err := dyn.Resource(schema.GroupVersionResource{Group: "cert-manager.io", Version: "v1", Resource: kind}).Namespace("default").List(ctx, metav1.ListOptions{})
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the stand-in %s CRD is not served: %v", kind, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// TestHelmInstallAgainstKubeAPIServer installs the chart with the real
// helm into the real kube-apiserver, with the optional parts on (the
// registry gate, CEL matchConditions), and uninstalls it. failurePolicy
// is Ignore: no pod serves this webhook here, and other tests share the
// apiserver.
func TestHelmInstallAgainstKubeAPIServer(t *testing.T) {
	cfg := kubeAPIServer(t)
	helm := helmBinary()
	if helm == "" {
		if os.Getenv("DWF_KUBE_E2E_REQUIRED") != "" {
			t.Fatal("helm is not installed; make tools installs it")
		}
		t.Skip("helm is not installed; run make tools")
	}
	ctx := context.Background()
	cluster := "insecure-skip-tls-verify: true"
	if ca := os.Getenv("DWF_KUBE_CA"); ca != "" {
		cluster = "certificate-authority: " + ca
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	certManagerCRDs(t, ctx, dyn)

	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	kc := "apiVersion: v1\nkind: Config\nclusters:\n- name: e2e\n  cluster:\n    server: " + cfg.Host + "\n    " + cluster + "\n" +
		"users:\n- name: admin\n  user:\n    token: " + os.Getenv("DWF_KUBE_TOKEN") + "\n" +
		"contexts:\n- name: e2e\n  context: {cluster: e2e, user: admin}\ncurrent-context: e2e\n"
	if err := os.WriteFile(kubeconfig, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	helmRun := func(args ...string) (string, error) {
		cmd := exec.Command(helm, args...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "HELM_CONFIG_HOME="+filepath.Join(dir, "config"),
			"HELM_CACHE_HOME="+filepath.Join(dir, "cache"), "HELM_DATA_HOME="+filepath.Join(dir, "data"))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	const release, ns = "dwf-e2e", "dwf-e2e"
	out, err := helmRun("install", release, filepath.Join("..", "deploy", "helm", "dwf-policy"), "--namespace", ns, "--create-namespace",
		"--set", "webhook.failurePolicy=Ignore", "--set", "gate.enabled=true", "--set", "gate.upstream=http://registry.registry.svc:5000",
		"--set", "gate.eventsToken.secretName=registry-events", "--set", "webhook.dockerConfigSecret=regcred",
		"--set-json", `webhook.matchConditions=[{"name":"not-nodes","expression":"!request.userInfo.username.startsWith('system:node:')"}]`)
	if err != nil {
		t.Fatalf("helm install: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := helmRun("uninstall", release, "--namespace", ns); err != nil {
			t.Errorf("helm uninstall: %v\n%s", err, out)
		}
	})
	get := func(gvr schema.GroupVersionResource, namespace, name string) *unstructured.Unstructured {
		t.Helper()
		var ri dynamic.ResourceInterface = dyn.Resource(gvr)
		if namespace != "" {
			ri = dyn.Resource(gvr).Namespace(namespace)
		}
		obj, err := ri.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("after helm install: %s %s: %v", gvr.Resource, name, err)
			return &unstructured.Unstructured{Object: map[string]any{}}
		}
		return obj
	}
	vwcGVR := schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingwebhookconfigurations"}
	vwc := get(vwcGVR, "", release)
	hooks, _, _ := unstructured.NestedSlice(vwc.Object, "webhooks")
	if len(hooks) != 1 || hooks[0].(map[string]any)["matchConditions"] == nil {
		t.Errorf("the webhook configuration lacks its matchConditions: %v", hooks)
	}
	get(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, ns, release)
	get(schema.GroupVersionResource{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"}, ns, release)
	get(schema.GroupVersionResource{Version: "v1", Resource: "services"}, ns, release+"-gate")
	get(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, ns, release)
	get(schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}, "", release+"-pull-secrets")
	cert := get(schema.GroupVersionResource{Group: "cert-manager.io", Version: "v1", Resource: "certificates"}, ns, release+"-tls")
	if names, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames"); !slices.Contains(names, release+"-gate."+ns+".svc") {
		t.Errorf("the certificate's names %v lack the gate's Service", names)
	}
}
