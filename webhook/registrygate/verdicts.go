package registrygate

import (
	"container/list"
	"strings"
	"sync"
	"time"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/finding"
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
		v.Message = "dwf-policy refused " + repo + "@" + digest + ": " + strings.Join(lines, "; ")
	}
	return v
}

// verdictCache is a bounded LRU of verdicts keyed by (digest, policy
// hash). Verdicts are immutable once made: a digest names fixed content.
type verdictCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *Verdict, most recent first
	byKey map[string]*list.Element
}

func newVerdictCache(max int) *verdictCache {
	return &verdictCache{max: max, order: list.New(), byKey: map[string]*list.Element{}}
}

func cacheKey(digest, hash string) string { return digest + " " + hash }

func (c *verdictCache) get(digest, hash string) (*Verdict, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[cacheKey(digest, hash)]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*Verdict), true
}

func (c *verdictCache) put(v *Verdict) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := cacheKey(v.Digest, v.PolicyHash)
	if e, ok := c.byKey[k]; ok {
		e.Value = v
		c.order.MoveToFront(e)
		return
	}
	c.byKey[k] = c.order.PushFront(v)
	for c.order.Len() > c.max {
		last := c.order.Back()
		old := last.Value.(*Verdict)
		delete(c.byKey, cacheKey(old.Digest, old.PolicyHash))
		c.order.Remove(last)
	}
}

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
