package corpus

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Manifest returns the i-th file of the manifest corpus: its file name and
// content. About two thirds are Kubernetes manifests (Deployments with a
// Service, helm template output, CronJobs, Lists, JSON), compliant or not;
// the rest are YAML that is not Kubernetes (Compose files, Helm values,
// application config, OpenAPI fragments), as a real repository holds.
func Manifest(i int) (string, string) {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	name := fmt.Sprintf("app%04d", i)
	switch r.IntN(9) {
	case 0, 1, 2:
		return "deployment.yaml", deployment(r, name) + "---\n" + service(name)
	case 3:
		return "rendered.yaml", helm(r, name)
	case 4:
		return "cronjob.yml", cronJob(r, name)
	case 5:
		return "list.yaml", "apiVersion: v1\nkind: List\nitems:\n" + indent(strings.TrimPrefix(deployment(r, name), ""), "  ", true)
	case 6:
		return "pod.json", fmt.Sprintf(`{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": %q},
 "spec": {"securityContext": {"runAsNonRoot": true, "runAsUser": %d},
  "containers": [{"name": "app", "image": "registry.example/%s:1.%d", "args": ["serve"]}]}}
`, name, []int{1001, 1000, 0}[r.IntN(3)], name, r.IntN(20))
	case 7:
		return "docker-compose.yml", fmt.Sprintf("services:\n  %s:\n    image: registry.example/%s:1.0\n    user: \"1001\"\n    ports:\n      - \"8080:8080\"\n    environment:\n      LOG_LEVEL: info\n  db:\n    image: postgres:16\n    volumes:\n      - db:/var/lib/postgresql/data\nvolumes:\n  db: {}\n", name, name)
	default:
		return "values.yaml", fmt.Sprintf("replicaCount: %d\nimage:\n  repository: registry.example/%s\n  tag: \"1.0\"\nsecurityContext:\n  runAsUser: 1001\nresources:\n  limits:\n    cpu: 500m\n    memory: 256Mi\ningress:\n  enabled: false\n  hosts:\n    - host: %s.example.com\n      paths: [/]\n", 1+r.IntN(3), name, name)
	}
}

func indent(s, prefix string, item bool) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i, l := range lines {
		switch {
		case i == 0 && item:
			lines[i] = prefix[:len(prefix)-2] + "- " + l
		default:
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// securityContext is a compliant container securityContext, or one of the
// usual mistakes.
func securityContext(r *rand.Rand) string {
	switch r.IntN(4) {
	case 0:
		return "          securityContext:\n            runAsNonRoot: true\n            runAsUser: 1001\n"
	case 1:
		return "          securityContext:\n            runAsUser: 0\n"
	case 2:
		return "          securityContext:\n            runAsNonRoot: true\n"
	}
	return ""
}

func command(r *rand.Rand, name string) string {
	switch r.IntN(3) {
	case 0:
		return fmt.Sprintf("          command: [\"/usr/bin/tini\", \"--\", \"/app/%s\"]\n", name)
	case 1:
		return fmt.Sprintf("          command: [\"/bin/sh\", \"-c\", \"exec /app/%s\"]\n", name)
	}
	return "          args: [\"serve\", \"--port\", \"8080\"]\n"
}

func deployment(r *rand.Rand, name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\n  labels:\n    app.kubernetes.io/name: %s\nspec:\n  replicas: %d\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: %s\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: %s\n    spec:\n", name, name, 1+r.IntN(3), name, name)
	if r.IntN(2) == 0 {
		b.WriteString("      securityContext:\n        runAsNonRoot: true\n        runAsUser: 1001\n")
	}
	if r.IntN(3) == 0 {
		fmt.Fprintf(&b, "      initContainers:\n        - name: migrate\n          image: registry.example/%s-migrate:1.%d\n%s", name, r.IntN(10), securityContext(r))
	}
	fmt.Fprintf(&b, "      containers:\n        - name: app\n          image: registry.example/%s:1.%d\n%s%s          ports:\n            - containerPort: 8080\n          resources:\n            limits:\n              cpu: 500m\n              memory: 256Mi\n", name, r.IntN(20), command(r, name), securityContext(r))
	if r.IntN(3) == 0 {
		fmt.Fprintf(&b, "        - name: proxy\n          image: registry.example/proxy:3.%d\n%s", r.IntN(5), securityContext(r))
	}
	return b.String()
}

func service(name string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata:\n  name: %s\nspec:\n  selector:\n    app.kubernetes.io/name: %s\n  ports:\n    - port: 80\n      targetPort: 8080\n", name, name)
}

func helm(r *rand.Rand, name string) string {
	return fmt.Sprintf("---\n# Source: %s/templates/serviceaccount.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: %s\n---\n# Source: %s/templates/service.yaml\n%s---\n# Source: %s/templates/deployment.yaml\n%s", name, name, name, service(name), name, deployment(r, name))
}

func cronJob(r *rand.Rand, name string) string {
	d := deployment(r, name)
	spec := d[strings.Index(d, "    spec:\n")+len("    spec:\n"):]
	return fmt.Sprintf("apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: %s\nspec:\n  schedule: \"0 3 * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure\n%s", name, indent(spec, "    ", false))
}

// WriteManifests writes n files of the manifest corpus under dir, in
// subdirectories of 100, and returns dir.
func WriteManifests(dir string, n int) (string, error) {
	for i := range n {
		file, content := Manifest(i)
		sub := filepath.Join(dir, fmt.Sprintf("deploy%02d", i/100), fmt.Sprintf("app%04d", i))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return "", fmt.Errorf("writing corpus: %w", err)
		}
		if err := os.WriteFile(filepath.Join(sub, file), []byte(content), 0o644); err != nil {
			return "", fmt.Errorf("writing corpus: %w", err)
		}
	}
	return dir, nil
}
