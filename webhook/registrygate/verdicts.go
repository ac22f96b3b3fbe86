package registrygate

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/webhook/internal/lru"
	"github.com/devflow/dwf-policy/webhook/internal/memsize"
)

// Verdict is what the gate decided about one image, by digest, under one
// policy set. It is what GET /registry/verdicts/<name>@<digest> returns.
type Verdict struct {
	// Repository is where the image was first judged; the verdict holds
	// for the digest in every repository.
	Repository string `json:"repository"`
	Digest     string `json:"digest"`
	// PolicyHash identifies the policy set that judged it.
	PolicyHash string `json:"policy_hash"`
	// Compliant is false when a finding is at or above the fail-on
	// severity: a push or pull of it is refused in enforce mode.
	Compliant bool `json:"compliant"`
	// Artifact is true for a signature, SBOM, attestation or other
	// artifact: it passes unjudged.
	Artifact bool `json:"artifact,omitempty"`
	// Findings are every finding, suppressed ones marked.
	Findings []finding.Finding `json:"findings"`
	// Message is the registry error message of a refusal: one line per
	// finding at or above fail-on, naming the rule and the fix.
	Message  string    `json:"message,omitempty"`
	JudgedAt time.Time `json:"judged_at"`
	// By says which front door judged it: push, pull, event or
	// reconcile.
	By string `json:"judged_by"`
	// image is the image judged, for its attached reports (withReport);
	// nil for an artifact.
	image *check.LoadedImage
}

// newVerdict decides from the findings of a check.
func newVerdict(repo, digest, hash, by string, failOn finding.Severity, findings []finding.Finding, now time.Time) *Verdict {
	v := &Verdict{Repository: repo, Digest: digest, PolicyHash: hash, Compliant: true, Findings: findings, JudgedAt: now, By: by}
	if v.Findings == nil {
		v.Findings = []finding.Finding{}
	}
	var lines []string
	for _, f := range findings {
		if f.Suppressed() || f.Severity < failOn || f.Severity == finding.SeverityNone {
			continue
		}
		v.Compliant = false
		subject := f.Subject
		if subject == "" {
			subject = repo + "@" + digest
		}
		lines = append(lines, f.RuleID+" "+f.Severity.String()+" "+subject+": "+f.Message)
	}
	if !v.Compliant {
		if n := len(lines) - maxMessageLines; n > 0 {
			lines = append(lines[:maxMessageLines], fmt.Sprintf("and %d more findings (GET /registry/verdicts/%s@%s lists them all)", n, repo, digest))
		}
		v.Message = "dwf-policy refused " + repo + "@" + digest + ": " + strings.Join(lines, "; ")
	}
	return v
}

// maxMessageLines bounds the findings a refusal's message names: an
// attached vulnerability report may give thousands, and the message is
// the client's error, a log line per request and a Warning header.
const maxMessageLines = 20

// verdictCache is a bounded LRU of verdicts keyed by (digest, policy
// hash). Verdicts are immutable once made: a digest names fixed content,
// so they never expire.
type verdictCache struct{ c *lru.Cache[*Verdict] }

func newVerdictCache(max int, budget int64) *verdictCache {
	return &verdictCache{c: lru.NewSized(max, budget, (*Verdict).bytes, time.Now)}
}

// bytes estimates what a verdict holds, for the cache's budget: its
// findings and message, and the image's document kept for its reports.
func (v *Verdict) bytes() int64 {
	return 256 + int64(len(v.Message)) + memsize.Findings(v.Findings) + memsize.Value(v.image.Input())
}

func cacheKey(digest, hash string) string { return digest + " " + hash }

func (c *verdictCache) get(digest, hash string) (*Verdict, bool) {
	return c.c.Get(cacheKey(digest, hash))
}

func (c *verdictCache) put(v *Verdict) { c.c.Put(cacheKey(v.Digest, v.PolicyHash), v, 0) }

// recentSet remembers the last n keys seen (event ids), in order.
type recentSet struct {
	mu   sync.Mutex
	ring []string
	next int
	has  map[string]bool
}

func newRecentSet(n int) *recentSet {
	return &recentSet{ring: make([]string, n), has: map[string]bool{}}
}

// add records key and reports whether it was new.
func (s *recentSet) add(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.has[key] {
		return false
	}
	if old := s.ring[s.next]; old != "" {
		delete(s.has, old)
	}
	s.ring[s.next] = key
	s.next = (s.next + 1) % len(s.ring)
	s.has[key] = true
	return true
}
