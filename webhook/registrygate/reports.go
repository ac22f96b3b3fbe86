package registrygate

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/finding"
)

// Defaults of the report judgements' cache (see Options.ReportTTL).
const (
	// DefaultReportTTL: a newer report attached meanwhile, or one turning
	// stale (DWF402, days), shows within minutes.
	DefaultReportTTL = 5 * time.Minute
	// DefaultNoReportTTL: CI attaches the report right after the push; a
	// pull refused for want of it (require_report) is retried soon.
	DefaultNoReportTTL = 30 * time.Second
)

// withReport returns v with the judgement of the vulnerability report
// attached to repo@digest added (DWF401-DWF404): a verdict of its own,
// not cached with v, since what is attached to a digest changes while the
// image does not. v is returned as it is when reports are off, the policy
// set has no report rule, or v is an artifact's. Pushes are not judged on
// reports: nothing can be attached to a manifest before it is pushed.
func (g *Gate) withReport(ctx context.Context, repo, digest string, v *Verdict, kc authn.Keychain) (*Verdict, error) {
	pol := g.pol.Load() // one policy set for the whole lookup, even across a reload
	if v == nil || v.Artifact || v.image == nil || g.o.NoReports || !pol.checker.NeedsReports() {
		return v, nil
	}
	key := cacheKey(repo+"@"+digest, pol.hash)
	rep, ok := g.reports.Get(key)
	g.metrics.reportCache.WithLabelValues(hitOrMiss(ok)).Inc()
	if !ok {
		ch := g.flight.DoChan("report "+key, func() (any, error) {
			jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.o.JudgeTimeout)
			defer cancel()
			r, err := pol.checker.ImageReport(jctx, v.image, check.ImageReportOptions{Keychain: kc, Ref: g.host + "/" + repo + "@" + digest})
			if err != nil {
				return nil, err
			}
			ttl := g.o.ReportTTL
			if !r.Found {
				ttl = g.o.NoReportTTL
			}
			g.reports.Put(key, r, ttl)
			return r, nil
		})
		select {
		case res := <-ch:
			if res.Err != nil {
				return nil, fmt.Errorf("looking up its vulnerability report: %w", res.Err)
			}
			rep = res.Val.(*check.ImageReport)
		case <-ctx.Done():
			return nil, fmt.Errorf("looking up its vulnerability report: %w", context.Cause(ctx))
		}
	}
	if len(rep.Findings) == 0 {
		return v, nil
	}
	fs := append(append([]finding.Finding{}, v.Findings...), rep.Findings...)
	for i := len(v.Findings); i < len(fs); i++ {
		f := &fs[i]
		f.Subject = strings.ReplaceAll(f.Subject, g.host+"/", "")
		f.Path = strings.ReplaceAll(f.Path, g.host+"/", "")
		f.Message = strings.ReplaceAll(f.Message, g.host+"/", "")
	}
	out := newVerdict(repo, digest, v.PolicyHash, v.By, g.o.FailOn, fs, v.JudgedAt)
	out.image = v.image
	return out, nil
}

func hitOrMiss(hit bool) string {
	if hit {
		return "hit"
	}
	return "miss"
}
