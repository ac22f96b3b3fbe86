package admission

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
)

// KubeAPI reaches the Kubernetes API to read the pull secrets of the pods
// judged: the secrets a pod names in imagePullSecrets and those of its
// service account. Only GETs of secrets and service accounts are made, so
// the webhook's RBAC needs `get` on both and nothing else.
type KubeAPI struct {
	// Host is the API's base URL, https://10.96.0.1:443.
	Host string
	// TokenFile holds the bearer token; it is read again for every
	// request, since projected service account tokens rotate.
	TokenFile string
	// RootCAs verify the API's certificate; nil means the system's.
	RootCAs *x509.CertPool
	// Transport, when not nil, carries the requests (tests).
	Transport http.RoundTripper
}

// In-cluster locations of the service account's token and CA.
const (
	inClusterTokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	inClusterCAFile    = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
)

// InClusterAPI is the API of the cluster the process runs in, reached
// with its service account as the kubelet mounts it.
func InClusterAPI() (*KubeAPI, error) {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, errors.New("not running in a Kubernetes pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset")
	}
	pem, err := os.ReadFile(inClusterCAFile)
	if err != nil {
		return nil, fmt.Errorf("reading the service account's CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no certificate", inClusterCAFile)
	}
	if _, err := os.Stat(inClusterTokenFile); err != nil {
		return nil, fmt.Errorf("reading the service account's token: %w", err)
	}
	return &KubeAPI{Host: "https://" + strings.Trim(host, "[]") + ":" + port, TokenFile: inClusterTokenFile, RootCAs: pool}, nil
}

// Timeouts and sizes of API reads.
const (
	apiTimeout      = 2 * time.Second
	maxAPIBodyBytes = 1 << 20
	pullSecretTTL   = 30 * time.Second
	maxPullSecrets  = 16
	// maxCachedAPIObjects bounds the secrets and service accounts kept.
	maxCachedAPIObjects = 256
	secretTypeDocker    = "kubernetes.io/dockerconfigjson"
	secretTypeCfg       = "kubernetes.io/dockercfg"
)

// apiClient reads objects through a KubeAPI.
type apiClient struct {
	api    *KubeAPI
	client *http.Client
}

func newAPIClient(api *KubeAPI) *apiClient {
	tr := api.Transport
	if tr == nil {
		tr = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: api.RootCAs, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 8}
	}
	return &apiClient{api: api, client: &http.Client{Transport: tr, Timeout: apiTimeout}}
}

// errNotFound: the object does not exist.
var errNotFound = errors.New("not found")

// get decodes the object at path (/api/v1/namespaces/NS/secrets/NAME).
func (c *apiClient) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(c.api.Host, "/")+path, nil)
	if err != nil {
		return err
	}
	if c.api.TokenFile != "" {
		tok, err := os.ReadFile(c.api.TokenFile)
		if err != nil {
			return fmt.Errorf("reading the API token: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIBodyBytes))
	if err != nil {
		return err
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return errNotFound
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.Unmarshal(body, v)
}

// registryAuth is one registry's credentials from a Docker config.
type registryAuth struct {
	host string
	cfg  authn.AuthConfig
}

// pullKeychain is what one review pulls with: the pod's pull secrets first
// (in the order the kubelet tries them), then the static keychain.
type pullKeychain struct {
	auths    []registryAuth
	fallback authn.Keychain
}

func (k *pullKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	reg := r.RegistryStr()
	for _, a := range k.auths {
		if a.host == reg {
			return authn.FromConfig(a.cfg), nil
		}
	}
	if k.fallback == nil {
		return authn.Anonymous, nil
	}
	return k.fallback.Resolve(r)
}

// id tells credentials apart, so that a fetch made with one pod's secrets
// is not shared with a review that has others.
func (k *pullKeychain) id() string {
	if k == nil || len(k.auths) == 0 {
		return ""
	}
	var b []byte
	for _, a := range k.auths {
		c, _ := json.Marshal(a.cfg)
		b = append(append(b, a.host...), c...)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// secretObject and serviceAccountObject are the fields read.
type secretObject struct {
	Type string            `json:"type"`
	Data map[string]string `json:"data"`
}

type serviceAccountObject struct {
	ImagePullSecrets []struct {
		Name string `json:"name"`
	} `json:"imagePullSecrets"`
}

// pullSecretNames lists the secrets a pod spec's images are pulled with:
// its imagePullSecrets, then its service account's.
func (w *Webhook) pullSecretNames(ctx context.Context, ns string, pod *objectFacts) []string {
	var names []string
	add := func(n string) {
		if n != "" && !slices.Contains(names, n) && len(names) < maxPullSecrets {
			names = append(names, n)
		}
	}
	for _, n := range pod.pullSecrets {
		add(n)
	}
	sa := pod.serviceAccount
	if sa == "" {
		sa = "default"
	}
	var obj serviceAccountObject
	if err := w.cachedGet(ctx, "/api/v1/namespaces/"+url.PathEscape(ns)+"/serviceaccounts/"+url.PathEscape(sa), &obj); err != nil {
		if !errors.Is(err, errNotFound) {
			w.log.Warn("reading a service account's pull secrets", "namespace", ns, "service_account", sa, "err", err)
		}
	}
	for _, s := range obj.ImagePullSecrets {
		add(s.Name)
	}
	return names
}

// keychainFor builds the keychain of a pod spec in namespace ns. A secret
// that cannot be read is skipped (the kubelet would fail to pull with it
// too) and logged.
func (w *Webhook) keychainFor(ctx context.Context, ps *policyState, ns string, obj *objectFacts) *pullKeychain {
	// A checker without a keychain leaves the fallback nil: anonymous,
	// never the Docker config (and credential helpers) of whoever runs
	// the server, which the image package would default to.
	k := &pullKeychain{fallback: ps.checker.ImageOptions().Keychain}
	if w.apiClient == nil || !obj.hasSpec {
		return k
	}
	for _, name := range w.pullSecretNames(ctx, ns, obj) {
		var s secretObject
		if err := w.cachedGet(ctx, "/api/v1/namespaces/"+url.PathEscape(ns)+"/secrets/"+url.PathEscape(name), &s); err != nil {
			w.log.Warn("reading a pull secret", "namespace", ns, "secret", name, "err", err)
			continue
		}
		k.auths = append(k.auths, dockerConfigAuths(s)...)
	}
	return k
}

// cachedGet is get with the answer kept for pullSecretTTL.
func (w *Webhook) cachedGet(ctx context.Context, path string, v any) error {
	if raw, ok := w.apiCache.Get(path); ok {
		return json.Unmarshal(raw, v)
	}
	var raw json.RawMessage
	if err := w.apiClient.get(ctx, path, &raw); err != nil {
		return err
	}
	w.apiCache.Put(path, raw, pullSecretTTL)
	return json.Unmarshal(raw, v)
}

// dockerConfigAuths reads a kubernetes.io/dockerconfigjson (or the older
// dockercfg) secret.
func dockerConfigAuths(s secretObject) []registryAuth {
	var key string
	switch s.Type {
	case secretTypeDocker:
		key = ".dockerconfigjson"
	case secretTypeCfg:
		key = ".dockercfg"
	default:
		return nil
	}
	raw, err := base64.StdEncoding.DecodeString(s.Data[key])
	if err != nil {
		return nil
	}
	out, _ := parseDockerConfig(raw, key == ".dockerconfigjson")
	return out
}

// parseDockerConfig reads the credentials of a Docker config: a
// config.json (`{"auths": {HOST: {...}}}`) or, when !withAuths, the older
// .dockercfg (`{HOST: {...}}`). Credential helpers are not run.
func parseDockerConfig(raw []byte, withAuths bool) ([]registryAuth, error) {
	type entry struct {
		Auth          string `json:"auth"`
		Username      string `json:"username"`
		Password      string `json:"password"`
		IdentityToken string `json:"identitytoken"`
		RegistryToken string `json:"registrytoken"`
	}
	var entries map[string]entry
	if withAuths {
		var cfg struct {
			Auths map[string]entry `json:"auths"`
		}
		if err := json.Unmarshal(raw, &cfg); err != nil {
			return nil, err
		}
		entries = cfg.Auths
	} else if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, err
	}
	var out []registryAuth
	for _, host := range slices.Sorted(maps.Keys(entries)) {
		e := entries[host]
		cfg := authn.AuthConfig{Username: e.Username, Password: e.Password, IdentityToken: e.IdentityToken, RegistryToken: e.RegistryToken}
		if e.Auth != "" {
			if b, err := base64.StdEncoding.DecodeString(e.Auth); err == nil {
				if u, p, ok := strings.Cut(string(b), ":"); ok {
					cfg.Username, cfg.Password = u, p
				}
			}
		}
		out = append(out, registryAuth{host: registryHost(host), cfg: cfg})
	}
	return out, nil
}

// registryHost normalises a Docker config key ("https://index.docker.io/v1/",
// "registry.example:5000") to the host go-containerregistry names.
func registryHost(key string) string {
	h := strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://")
	h, _, _ = strings.Cut(h, "/")
	if h == "docker.io" || h == "registry-1.docker.io" {
		h = "index.docker.io"
	}
	return strings.ToLower(h)
}
