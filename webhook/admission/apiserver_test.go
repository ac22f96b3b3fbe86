package admission

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/testcerts"
	webhooktesting "k8s.io/apiserver/pkg/admission/plugin/webhook/testing"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/validating"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/warning"
)

// dispatcher is k8s.io/apiserver's validating admission webhook plugin,
// the code inside kube-apiserver that calls webhooks, pointed at a
// webhook over mutual TLS (the testing helpers' certificates): request
// building, ?timeout=, response verification, warnings and audit
// annotations are the apiserver's own.
type dispatcher struct {
	plugin *validating.Plugin
	ns     string
	ifaces admission.ObjectInterfaces
}

func newDispatcher(t *testing.T, f *fixture, timeoutSeconds int32) *dispatcher {
	t.Helper()
	srv := webhooktesting.NewTestServerWithHandler(t, f.wh.ServeHTTP)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	u, err := url.ParseRequestURI(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	endpoint := u.String() + "/validate"
	none := admissionregistrationv1.SideEffectClassNone
	fail := admissionregistrationv1.Fail
	ops := []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}
	hooks := []admissionregistrationv1.ValidatingWebhook{{
		Name:                    "validate.dwf-policy.devflow.dev",
		ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &endpoint, CABundle: caBundle()},
		AdmissionReviewVersions: []string{"v1"},
		SideEffects:             &none,
		FailurePolicy:           &fail,
		TimeoutSeconds:          &timeoutSeconds,
		Rules: []admissionregistrationv1.RuleWithOperations{
			{Operations: ops, Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}}},
			{Operations: ops, Rule: admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}}},
		},
		NamespaceSelector: &metav1.LabelSelector{},
		ObjectSelector:    &metav1.LabelSelector{},
	}}
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	const ns = "apps"
	client, informer := webhooktesting.NewFakeValidatingDataSource(ns, hooks, stop)
	plugin, err := validating.NewValidatingAdmissionWebhook(nil)
	if err != nil {
		t.Fatal(err)
	}
	plugin.SetAuthenticationInfoResolverWrapper(webhooktesting.Wrapper(webhooktesting.NewAuthenticationInfoResolver(new(int32))))
	plugin.SetServiceResolver(webhooktesting.NewServiceResolver(*u))
	plugin.SetExternalKubeClientSet(client)
	plugin.SetExternalKubeInformerFactory(informer)
	if err := plugin.ValidateInitialization(); err != nil {
		t.Fatal(err)
	}
	informer.Start(stop)
	informer.WaitForCacheSync(stop)
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := appsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	return &dispatcher{plugin: plugin, ns: ns, ifaces: admission.NewObjectInterfacesFromScheme(scheme)}
}

// caBundle is the testing helpers' CA, which signed their server
// certificate.
func caBundle() []byte { return testcerts.CACert }

// warnings records what the apiserver would send kubectl as Warning headers.
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) AddWarning(_, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

// validate runs obj through the plugin as the apiserver does for a
// request; the error is what kubectl would print.
func (d *dispatcher) validate(obj runtime.Object, old runtime.Object, op admission.Operation, dryRun bool) ([]string, error) {
	m := obj.(metav1.Object)
	m.SetNamespace(d.ns)
	gvk := obj.GetObjectKind().GroupVersionKind()
	resource := map[string]string{"Pod": "pods", "Deployment": "deployments"}[gvk.Kind]
	var opts runtime.Object = &metav1.CreateOptions{}
	if op == admission.Update {
		opts = &metav1.UpdateOptions{}
	}
	attr := admission.NewAttributesRecord(obj, old, gvk, d.ns, m.GetName(), gvk.GroupVersion().WithResource(resource), "", op, opts, dryRun, &user.DefaultInfo{Name: "alice"})
	var rec warnings
	ctx := warning.WithWarningRecorder(context.Background(), &rec)
	err := d.plugin.Validate(ctx, attr, d.ifaces)
	return rec.list, err
}

func typedDeployment(name, img string, runAsUser *int64) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	c := corev1.Container{Name: "app", Image: img}
	if runAsUser != nil {
		c.SecurityContext = &corev1.SecurityContext{RunAsUser: runAsUser}
	}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{c}},
			},
		},
	}
}

func TestThroughTheAPIServerDispatcher(t *testing.T) {
	f := newFixture(t, Options{})
	d := newDispatcher(t, f, 3)

	_, err := d.validate(typedDeployment("root", f.root, nil), nil, admission.Create, false)
	if err == nil {
		t.Fatal("a root image was admitted")
	}
	for _, want := range []string{`admission webhook "validate.dwf-policy.devflow.dev" denied the request`, "DWF301", "DWF601", "@sha256:", "runAsNonRoot: true"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal lacks %q: %v", want, err)
		}
	}
	if _, err := d.validate(typedDeployment("good", f.good, nil), nil, admission.Create, false); err != nil {
		t.Errorf("a compliant Deployment was refused: %v", err)
	}
	zero := int64(0)
	if _, err := d.validate(typedDeployment("zero", f.good, &zero), nil, admission.Create, false); err == nil || !strings.Contains(err.Error(), "runAsUser is 0") {
		t.Errorf("runAsUser: 0 over a compliant image: %v", err)
	}
	if _, err := d.validate(typedDeployment("dry", f.root, nil), nil, admission.Create, true); err == nil {
		t.Error("a dry-run of a root image was admitted")
	}
	// Scaling a Deployment that is already there is not judged again.
	old := typedDeployment("root", f.root, nil)
	scaled := typedDeployment("root", f.root, nil)
	scaled.Spec.Replicas = new(int32)
	if _, err := d.validate(scaled, old, admission.Update, false); err != nil {
		t.Errorf("scaling: %v", err)
	}
}

func TestDispatcherWarningsAndFailClosedWithinTimeout(t *testing.T) {
	f := newFixture(t, Options{Mode: Warn})
	d := newDispatcher(t, f, 2)
	warns, err := d.validate(typedDeployment("root", f.root, nil), nil, admission.Create, false)
	if err != nil || len(warns) == 0 || !strings.Contains(strings.Join(warns, "\n"), "DWF301") {
		t.Errorf("warn mode: err %v, warnings %q", err, warns)
	}

	// A stalled registry: the answer comes from the webhook, in time,
	// not from the apiserver's own timeout.
	f2 := newFixture(t, Options{})
	d2 := newDispatcher(t, f2, 2)
	f2.stall.Store(true)
	start := time.Now()
	_, err = d2.validate(typedDeployment("slow", f2.good, nil), nil, admission.Create, false)
	if took := time.Since(start); took >= 2*time.Second {
		t.Errorf("took %s, the apiserver's whole timeout", took)
	}
	if err == nil || !strings.Contains(err.Error(), "could not verify "+f2.good) || strings.Contains(err.Error(), "failed calling webhook") {
		t.Errorf("fail-closed: %v", err)
	}
}
