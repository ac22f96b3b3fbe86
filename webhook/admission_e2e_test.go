package webhook_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/engine/policyset"
	"github.com/devflow/dwf-policy/internal/imagetest"
	"github.com/devflow/dwf-policy/webhook"
	"github.com/devflow/dwf-policy/webhook/admission"
)

// TestAdmissionAgainstKubeAPIServer runs against the real kube-apiserver
// and etcd that scripts/kube-e2e.sh starts on 127.0.0.1:
//
//	DWF_REGISTRY_STATE=... bash scripts/kube-e2e.sh run -- go test ./webhook -run KubeAPIServer
//
// Without it the test is skipped, unless DWF_KUBE_E2E_REQUIRED is set (CI),
// where a missing apiserver fails it.
func TestAdmissionAgainstKubeAPIServer(t *testing.T) {
	cfg := kubeAPIServer(t)
	ctx := context.Background()
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}

	reg := imagetest.NewRegistry(t, nil)
	good, bad := reg.Ref("team/good:1"), reg.Ref("team/root:1")
	reg.PushIndex(t, good, imagetest.Index(t, imagetest.Spec{}.Images(t)...))
	root := "0"
	reg.PushIndex(t, bad, imagetest.Index(t, imagetest.Spec{PlatformSpec: imagetest.PlatformSpec{User: &root}}.Images(t)...))

	// A private registry: basic auth once its image is pushed.
	var private atomic.Bool
	preg := imagetest.NewRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); private.Load() && (!ok || u != "alice" || p != "s3cret") {
				w.Header().Set("WWW-Authenticate", `Basic realm="private"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	privateRoot := preg.Ref("team/root:1")
	preg.PushIndex(t, privateRoot, imagetest.Index(t, imagetest.Spec{PlatformSpec: imagetest.PlatformSpec{User: &root}}.Images(t)...))
	private.Store(true)

	dir := t.TempDir()
	caPEM := serveCert(t, dir)
	tokenFile := filepath.Join(dir, "api-token")
	if err := os.WriteFile(tokenFile, []byte(os.Getenv("DWF_KUBE_TOKEN")), 0o600); err != nil {
		t.Fatal(err)
	}
	api := &admission.KubeAPI{Host: cfg.Host, TokenFile: tokenFile, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if ca := os.Getenv("DWF_KUBE_CA"); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			t.Fatal(err)
		}
		api.Transport, api.RootCAs = nil, x509.NewCertPool()
		api.RootCAs.AppendCertsFromPEM(pem)
	}
	stop, addr := startAdmission(t, dir, api, reg.Host, preg.Host)

	ns := "apps"
	if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// No controller manager: the ServiceAccount admission plugin wants the
	// default service account, so it is created here.
	if _, err := kc.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	vwc := webhookConfig(t, "https://"+addr+"/validate", caPEM)
	if _, err := kc.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, vwc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deploy := func(name, img string, dryRun bool) error {
		opts := metav1.CreateOptions{}
		if dryRun {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		_, err := kc.AppsV1().Deployments(ns).Create(ctx, deployment(name, img), opts)
		return err
	}
	// The apiserver picks the configuration up within a second or two.
	deadline := time.Now().Add(30 * time.Second)
	for deploy("probe", bad, true) == nil {
		if time.Now().After(deadline) {
			t.Fatal("the webhook configuration never took effect")
		}
		time.Sleep(200 * time.Millisecond)
	}

	t.Run("root image refused with rule and fix", func(t *testing.T) {
		err := deploy("root", bad, false)
		if err == nil {
			t.Fatal("admitted")
		}
		t.Logf("refusal: %v", err)
		for _, want := range []string{"denied the request", "DWF301", "DWF601", "runAsNonRoot: true", "@sha256:"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q: %v", want, err)
			}
		}
	})
	t.Run("compliant admitted", func(t *testing.T) {
		if err := deploy("good", good, false); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("runAsUser 0 over a compliant image refused", func(t *testing.T) {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "rootpod"}, Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{RunAsUser: new(int64)},
			Containers:      []corev1.Container{{Name: "app", Image: good}},
		}}
		_, err := kc.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		if err == nil || !strings.Contains(err.Error(), "DWF601") || !strings.Contains(err.Error(), "runAsUser is 0") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("dry-run goes through the webhook", func(t *testing.T) {
		if err := deploy("dry", bad, true); err == nil || !strings.Contains(err.Error(), "DWF301") {
			t.Errorf("dry-run of a root image: %v", err)
		}
		if err := deploy("dry", good, true); err != nil {
			t.Errorf("dry-run of a compliant image: %v", err)
		}
		if _, err := kc.AppsV1().Deployments(ns).Get(ctx, "dry", metav1.GetOptions{}); err == nil {
			t.Error("a dry-run created the Deployment")
		}
	})
	t.Run("pull secrets read through the API", func(t *testing.T) {
		pod := func(name string, secrets ...string) *corev1.Pod {
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: privateRoot}}}}
			for _, s := range secrets {
				p.Spec.ImagePullSecrets = append(p.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: s})
			}
			return p
		}
		_, err := kc.CoreV1().Pods(ns).Create(ctx, pod("nocred"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil || !strings.Contains(err.Error(), "could not verify "+privateRoot) {
			t.Errorf("without a pull secret: %v", err)
		}
		cfg := `{"auths":{"` + preg.Host + `":{"username":"alice","password":"s3cret"}}}`
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "regcred"}, Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(cfg)}}
		if _, err := kc.CoreV1().Secrets(ns).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err = kc.CoreV1().Pods(ns).Create(ctx, pod("withcred", "regcred"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil || !strings.Contains(err.Error(), "DWF301") {
			t.Errorf("with the pod's pull secret, the private root image is judged and refused: %v", err)
		}
	})
	t.Run("kube-system exempt", func(t *testing.T) {
		if _, err := kc.AppsV1().Deployments("kube-system").Create(ctx, deployment("root", bad), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			t.Errorf("kube-system judged: %v", err)
		}
	})

	// The webhook stops: Fail refuses, Ignore admits.
	stop()
	if err := deploy("down-fail", good, true); err == nil || !strings.Contains(err.Error(), "failed calling webhook") {
		t.Errorf("webhook down with failurePolicy Fail: %v", err)
	}
	ignore := admissionregistrationv1.Ignore
	cur, err := kc.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, vwc.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.Webhooks[0].FailurePolicy = &ignore
	if _, err := kc.AdmissionregistrationV1().ValidatingWebhookConfigurations().Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		err := deploy("down-ignore", bad, true)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook down with failurePolicy Ignore: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func deployment(name, img string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: img}}},
			},
		},
	}
}

// webhookConfig is deploy/webhook.yaml, the configuration users apply,
// pointed at url with caBundle instead of the in-cluster Service that
// cert-manager injects the CA for.
func webhookConfig(t *testing.T, url string, caPEM []byte) *admissionregistrationv1.ValidatingWebhookConfiguration {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "deploy", "webhook.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	if err := yaml.UnmarshalStrict(raw, &vwc); err != nil {
		t.Fatalf("deploy/webhook.yaml: %v", err)
	}
	if len(vwc.Webhooks) != 1 {
		t.Fatalf("deploy/webhook.yaml has %d webhooks, want 1", len(vwc.Webhooks))
	}
	w := &vwc.Webhooks[0]
	if *w.SideEffects != admissionregistrationv1.SideEffectClassNone || *w.TimeoutSeconds != 3 || *w.FailurePolicy != admissionregistrationv1.Fail {
		t.Errorf("deploy/webhook.yaml: sideEffects %s, timeoutSeconds %d, failurePolicy %s", *w.SideEffects, *w.TimeoutSeconds, *w.FailurePolicy)
	}
	w.ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: caPEM}
	delete(vwc.Annotations, "cert-manager.io/inject-ca-from")
	return &vwc
}

// serveCert writes a self-signed certificate for 127.0.0.1 (tls.crt,
// tls.key) into dir and returns it as PEM, the caBundle.
func serveCert(t *testing.T, dir string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "dwf-policy"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	crt := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), crt, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return crt
}

// startAdmission serves the webhook over TLS on 127.0.0.1 with the
// certificate in dir, pods allowed to pull from registries only (which
// may then be on loopback) with their pull secrets read through api; stop
// shuts it down.
func startAdmission(t *testing.T, dir string, api *admission.KubeAPI, registries ...string) (stop func(), addr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- webhook.Serve(ctx, webhook.Options{
			Listen:    "127.0.0.1:0",
			CertFile:  filepath.Join(dir, "tls.crt"),
			KeyFile:   filepath.Join(dir, "tls.key"),
			Policy:    policyset.Options{WorkDir: dir, NoConfigSearch: true},
			Image:     image.Options{Transport: imagetest.Transport()},
			Admission: &admission.Options{ExemptNamespaces: append(admission.DefaultExemptNamespaces(), "dwf-policy"), AllowedRegistries: registries, KubeAPI: api},
			Listening: func(m, _ string) { ready <- m },
		})
	}()
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop, addr
}
