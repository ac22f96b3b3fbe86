// Package defaults holds the defaults of the server's settings that the
// command line shows (dwf-policy serve --help). It is apart from the server
// so that the dwf-policy binary can define the serve command without linking
// the server, which dwf-policy-server runs: the servers' metrics, Kubernetes
// types and HTTP stack cost every pre-commit run about a millisecond of
// start-up.
package defaults

// ExemptNamespaces returns the namespaces the admission webhook never judges
// unless told otherwise; the webhook's own belongs there too.
func ExemptNamespaces() []string { return []string{"kube-system", "kube-node-lease"} }

// MaxManifestBytes is the largest manifest the registry gate reads.
const MaxManifestBytes = 4 << 20

// ReconcileRate is how many registry requests per second a reconciliation
// makes.
const ReconcileRate = 5.0
