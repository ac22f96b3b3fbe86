package admission

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/google/go-containerregistry/pkg/name"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/engine/input/kubernetes"
)

// Limits the apiserver puts on warnings: longer ones may be truncated,
// and past a total the rest are dropped. The total keeps room for other
// webhooks' warnings.
const (
	maxWarningChars      = 256
	maxWarningTotalChars = 3072
	// maxImagesAtOnce bounds the images of one review looked up at once.
	maxImagesAtOnce = 8
)

// reviewState is one review on its way to an answer.
type reviewState struct {
	req      *admissionv1.AdmissionRequest
	resp     *admissionv1.AdmissionResponse
	decision string
	warnings []string
	warnLen  int
}

// Review judges one admission request; the error means the request is
// malformed (no object to judge) and is answered 400.
func (w *Webhook) Review(ctx context.Context, req *admissionv1.AdmissionRequest) (*admissionv1.AdmissionResponse, error) {
	start := time.Now()
	st := &reviewState{req: req, resp: &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}, decision: "allow"}
	kind := req.Kind.Kind
	wk, isWorkload := workloadKinds[kind]
	judgedSub := req.SubResource == "" || (kind == "Pod" && req.SubResource == "ephemeralcontainers")
	switch {
	case !isWorkload || wk.group != req.Kind.Group || !judgedSub:
		st.decision = "skipped"
	case req.Operation != admissionv1.Create && req.Operation != admissionv1.Update:
		st.decision = "skipped"
	case slices.Contains(w.o.ExemptNamespaces, req.Namespace):
		st.decision = "exempt"
	case len(bytes.TrimSpace(req.Object.Raw)) == 0 || string(bytes.TrimSpace(req.Object.Raw)) == "null":
		return nil, fmt.Errorf("the %s request for %s %q carries no object", req.Operation, kind, req.Name)
	case req.Operation == admissionv1.Update && len(req.OldObject.Raw) > 0 && sameJudgedFields(kind, req.OldObject.Raw, req.Object.Raw):
		// Scaling, labels, status: nothing the rules read changed, so no
		// registry is asked again (an object admitted before the webhook
		// existed can still be scaled).
		st.decision = "unchanged"
	default:
		if err := w.judge(ctx, st); err != nil {
			return nil, err
		}
	}
	if len(st.warnings) > 0 {
		st.resp.Warnings = st.warnings
	}
	dry := req.DryRun != nil && *req.DryRun
	w.metrics.reviews.WithLabelValues(st.decision, string(req.Operation), kind, strconv.FormatBool(dry)).Inc()
	w.metrics.latency.Observe(time.Since(start).Seconds())
	return st.resp, nil
}

// line is one finding as a review reports it.
type line struct {
	text     string
	severity finding.Severity
	rule     string // "" for what is no rule's (a bad reference)
}

// judge evaluates the object and its images and fills in the response.
func (w *Webhook) judge(ctx context.Context, st *reviewState) error {
	ps := w.policies.Load()
	req := st.req
	kind := req.Kind.Kind
	rawSum := sha256.Sum256(req.Object.Raw)
	obj, err := ps.object(kind, req.Object.Raw, rawSum)
	if err != nil {
		return fmt.Errorf("decoding the %s object: %w", kind, err)
	}
	objName := req.Name
	if objName == "" {
		objName = obj.name
		if objName == "" && obj.generateName != "" {
			objName = obj.generateName + "*"
		}
	}
	subject := kind + " " + objName
	if req.Namespace != "" {
		subject = kind + " " + req.Namespace + "/" + objName
	}
	var lines []line
	// References the registry could not even be asked about: named by
	// their field path, denied whatever --on-error says.
	images := obj.images
	for _, ci := range images {
		if _, err := name.ParseReference(ci.image); err != nil {
			lines = append(lines, line{severity: finding.SeverityError,
				text: fmt.Sprintf("%s: %q is not a valid image reference: %v", ci.field, ci.image, err)})
		}
	}
	if len(lines) > 0 {
		w.finish(st, subject, lines, nil)
		return nil
	}
	spec := podSpecInput{path: strings.ReplaceAll(subject, " ", "/"), raw: req.Object.Raw, sum: rawSum}
	refs, err := ps.imageRefs(&spec)
	if perr, ok := errors.AsType[*document.ParseError](err); ok {
		w.finish(st, subject, []line{{severity: finding.SeverityError, text: "DWF000 error: " + perr.Message}}, nil)
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the %s object: %w", kind, err)
	}

	kc := w.keychainFor(ctx, ps, req.Namespace, obj)
	judged := make([]judgedImage, len(refs))
	sem := make(chan struct{}, maxImagesAtOnce)
	var wg sync.WaitGroup
	for i, ref := range refs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			judged[i] = w.judgeImage(ctx, ps, ref, kc)
		})
	}
	wg.Wait()
	containersOf := func(ref string) string {
		var names []string
		for _, ci := range images {
			if ci.image == ref {
				names = append(names, strconv.Quote(ci.name))
			}
		}
		if len(names) == 1 {
			return "container " + names[0]
		}
		return "containers " + strings.Join(names, ", ")
	}
	byRef := map[string]judgedImage{}
	var unverified []judgedImage
	for _, j := range judged {
		byRef[j.ref] = j
		if errors.Is(j.err, errNotAllowed) {
			// Not a lookup that failed: a decision, whatever --on-error says.
			lines = append(lines, line{severity: finding.SeverityError,
				text: fmt.Sprintf("%s: image %s: %v", containersOf(j.ref), j.ref, j.err)})
			continue
		}
		if j.err != nil {
			// Judged on the manifest alone (imageConfig): unverified
			// images get the --on-error outcome below.
			unverified = append(unverified, j)
		}
	}
	for _, j := range judged {
		if j.image == nil {
			continue
		}
		findings := j.image.Findings
		var more []moreFindings
		if j.report != nil {
			var rfs []finding.Finding
			rfs, more = capReportFindings(j.report.Findings)
			findings = append(slices.Clip(findings), rfs...)
		}
		if j.reportErr != nil {
			// The image was judged; its report could not be: that
			// lookup gets the --on-error outcome.
			unverified = append(unverified, judgedImage{ref: j.ref, err: fmt.Errorf("looking up its vulnerability report: %w", j.reportErr)})
		}
		for _, f := range findings {
			if f.Suppressed() {
				continue
			}
			lines = append(lines, line{severity: f.Severity, rule: f.RuleID,
				text: fmt.Sprintf("%s: %s %s %s (%s): %s", containersOf(j.ref), f.RuleID, f.Severity, ps.ruleName(f.RuleID), f.Subject, f.Message)})
		}
		for _, m := range more {
			lines = append(lines, line{severity: m.severity, rule: m.rule,
				text: fmt.Sprintf("%s: and %d more %s findings of its vulnerability report (%s)", containersOf(j.ref), m.n, m.rule, j.pinned)})
		}
	}
	specFindings, err := w.podSpecFindings(ctx, ps, &spec, judged)
	if err != nil {
		// The rules could not be run (a rule past its evaluation
		// deadline, the memory budget): the object cannot be verified, and
		// --on-error decides, as for an image the registry did not give.
		// Not a bad request: the review itself was fine.
		w.log.Error("admission rules could not be evaluated", "object", subject, "uid", req.UID, "err", err)
		unverified = append(unverified, judgedImage{ref: subject, err: fmt.Errorf("evaluating its rules: %w", err)})
		w.finish(st, subject, lines, unverified)
		return nil
	}
	for _, sf := range specFindings {
		f := sf.Finding
		if f.Suppressed() {
			continue
		}
		l := line{severity: f.Severity, rule: f.RuleID, text: fmt.Sprintf("%s %s %s: %s", f.RuleID, f.Severity, ps.ruleName(f.RuleID), f.Message)}
		if sf.inContainer {
			ref, name := sf.image, sf.container
			j := byRef[ref]
			pinned := j.pinned
			if pinned == "" {
				pinned = ref
			}
			l.text = fmt.Sprintf("container %q (%s): %s", name, pinned, l.text)
		}
		lines = append(lines, l)
	}
	w.finish(st, subject, lines, unverified)
	return nil
}

// podSpecFindings evaluates the pod spec rules over the document of spec
// with the images judged, or returns the findings the same document got
// before (podspecs.go). The findings are shared: not to be changed.
func (w *Webhook) podSpecFindings(ctx context.Context, ps *policyState, spec *podSpecInput, judged []judgedImage) ([]specFinding, error) {
	var key, day string
	if ps.podSpecs != nil {
		day = today(ps.checker.Now())
		key = podSpecKey(spec.path, spec.raw, judged, day)
		if fs, ok := ps.podSpecs.Get(key); ok {
			w.metrics.cache.WithLabelValues("podspec", "hit").Inc()
			return fs, nil
		}
		w.metrics.cache.WithLabelValues("podspec", "miss").Inc()
	}
	doc, err := spec.document()
	if err != nil {
		return nil, err
	}
	for _, j := range judged {
		kubernetes.SetImageConfig(doc, j.ref, imageConfig(j))
	}
	// The pod spec rules are compute only: the review's deadline does not
	// cut them short.
	res := ps.checker.Document(context.WithoutCancel(ctx), doc)
	if res.Err != nil {
		return nil, res.Err
	}
	out := make([]specFinding, len(res.Findings))
	for i, f := range res.Findings {
		out[i].Finding = f
		if c := containerAt(doc, f.Location); c != nil {
			img, _ := c["image"].(map[string]any)
			out[i].image, _ = img["value"].(string)
			out[i].container, _ = c["name"].(string)
			out[i].inContainer = true
		}
	}
	// Kept unless the day turned during the evaluation: the result
	// belongs to the day it was evaluated on.
	if ps.podSpecs != nil && today(ps.checker.Now()) == day && cacheable(res.Findings) {
		ps.podSpecs.Put(key, out, 0)
	}
	return out, nil
}

// imageConfig is the image_config the pod spec rules see for a judged
// image: its verdict's, or, for an image that was not judged, one with no
// platforms: judged on the manifest alone, with the benefit of the doubt,
// it raises nothing that needs the image (its user, its entrypoint), while
// what the manifest says by itself (runAsUser: 0) still counts.
func imageConfig(j judgedImage) any {
	if j.err != nil {
		return map[string]any{"subject": j.ref, "platforms": []any{}}
	}
	return j.config
}

// ruleName is the rule's name (kubernetes/runtime-non-root), or its ID.
func (ps *policyState) ruleName(id string) string {
	if r, ok := ps.rules[id]; ok && r.Name != "" {
		return r.Name
	}
	return id
}

// containerAt finds the container of doc whose entry holds loc.
func containerAt(doc *document.Document, loc document.Location) map[string]any {
	ws, _ := doc.Input["workloads"].([]any)
	for _, wv := range ws {
		wm, _ := wv.(map[string]any)
		cs, _ := wm["containers"].([]any)
		for _, cv := range cs {
			c, _ := cv.(map[string]any)
			span := document.LocationOf(c["location"])
			if span.Line == 0 {
				continue
			}
			after := loc.Line > span.Line || (loc.Line == span.Line && loc.Column >= span.Column)
			before := loc.Line < span.EndLine || (loc.Line == span.EndLine && loc.Column <= span.EndColumn)
			if after && before {
				return c
			}
		}
	}
	return nil
}

// finish decides from the lines and the images that could not be
// verified, by mode and on-error.
func (w *Webhook) finish(st *reviewState, subject string, lines []line, unverified []judgedImage) {
	// Rules with a mode of their own (--rule-mode) leave the denial to
	// the others: warn ones come back as warnings, audit ones are only
	// recorded.
	var blocking, rest, audited []string
	for _, l := range lines {
		switch {
		case l.severity < w.o.FailOn:
			rest = append(rest, l.text)
		case w.o.RuleModes[l.rule] == Warn && w.o.Mode == Enforce:
			st.warn("dwf-policy would deny: " + l.text)
		case w.o.RuleModes[l.rule] == Audit && w.o.Mode != Audit:
			audited = append(audited, l.text)
		default:
			blocking = append(blocking, l.text)
		}
	}
	if len(audited) > 0 {
		st.annotate("audited-findings", strings.Join(audited, "; "))
		w.log.Info("admission audited findings", "object", subject, "uid", st.req.UID, "findings", strings.Join(audited, "; "))
	}
	var couldNot []string
	budgetHit := false
	for _, j := range unverified {
		couldNot = append(couldNot, fmt.Sprintf("could not verify %s: %s", j.ref, cause(j.ref, j.err)))
		budgetHit = budgetHit || errors.Is(j.err, errBudget)
	}
	if budgetHit {
		w.metrics.budgetExceeded.Inc()
	}
	failClosed := len(couldNot) > 0 && w.o.OnError == Deny
	if len(couldNot) > 0 && w.o.OnError == Allow {
		w.metrics.failOpen.Inc()
		st.annotate("unverified-images", strings.Join(couldNot, "; "))
		for _, c := range couldNot {
			st.warn("dwf-policy admitted without verifying: " + c)
		}
	}
	denyLines := append(append([]string{}, couldNot...), blocking...)
	if !failClosed {
		denyLines = blocking
	}
	switch {
	case len(denyLines) == 0:
		if len(couldNot) > 0 {
			st.decision = "error-allow"
		}
	case w.o.Mode == Enforce:
		st.resp.Allowed = false
		st.resp.Result = &metav1.Status{
			Status:  metav1.StatusFailure,
			Code:    http.StatusForbidden,
			Reason:  metav1.StatusReasonForbidden,
			Message: "dwf-policy denied " + subject + ":\n" + strings.Join(denyLines, "\n"),
		}
		st.decision = "deny"
		if failClosed && len(blocking) == 0 {
			st.decision = "error-deny"
		}
		w.log.Info("admission denied", "object", subject, "uid", st.req.UID, "operation", st.req.Operation, "findings", len(blocking), "unverified", len(couldNot), "dry_run", st.req.DryRun != nil && *st.req.DryRun)
	case w.o.Mode == Warn:
		st.decision = "warn"
		for _, l := range denyLines {
			st.warn("dwf-policy would deny: " + l)
		}
		w.log.Info("admission warned", "object", subject, "uid", st.req.UID, "findings", len(blocking))
	default: // audit
		st.decision = "audit"
		st.annotate("findings", strings.Join(denyLines, "; "))
		w.log.Info("admission audited", "object", subject, "uid", st.req.UID, "findings", strings.Join(denyLines, "; "))
	}
	for _, l := range rest {
		st.warn("dwf-policy: " + l)
	}
}

// warn adds a warning within the apiserver's limits: printable, one line,
// at most maxWarningChars, and none past maxWarningTotalChars.
func (st *reviewState) warn(s string) {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
	if r := []rune(s); len(r) > maxWarningChars {
		s = string(r[:maxWarningChars-1]) + "…"
	}
	if st.warnLen+len(s) > maxWarningTotalChars {
		return
	}
	st.warnLen += len(s)
	st.warnings = append(st.warnings, s)
}

// annotate adds an audit annotation (the apiserver prefixes the key with
// the webhook's name).
func (st *reviewState) annotate(key, value string) {
	if st.resp.AuditAnnotations == nil {
		st.resp.AuditAnnotations = map[string]string{}
	}
	if len(value) > 4096 {
		value = value[:4096]
	}
	st.resp.AuditAnnotations[key] = value
}

// maxReportLines bounds the lines one image's vulnerability report adds to
// a review's answer: a report may hold thousands of findings, the
// apiserver shows a message, not a report.
const maxReportLines = 10

// moreFindings stands for the findings of one rule left out of an
// answer: how many, and the highest severity among them (so that they
// still decide as they would have, by severity and by the rule's mode).
type moreFindings struct {
	n        int
	severity finding.Severity
	rule     string
}

// capReportFindings keeps the maxReportLines most severe of a report's
// findings that are not suppressed, and tallies the rest by rule, in
// rule order.
func capReportFindings(fs []finding.Finding) ([]finding.Finding, []moreFindings) {
	var open []finding.Finding
	for _, f := range fs {
		if !f.Suppressed() {
			open = append(open, f)
		}
	}
	if len(open) <= maxReportLines {
		return open, nil
	}
	slices.SortStableFunc(open, func(a, b finding.Finding) int { return int(b.Severity) - int(a.Severity) })
	byRule := map[string]*moreFindings{}
	for _, f := range open[maxReportLines:] {
		m := byRule[f.RuleID]
		if m == nil {
			m = &moreFindings{severity: f.Severity, rule: f.RuleID}
			byRule[f.RuleID] = m
		}
		m.severity = max(m.severity, f.Severity)
		m.n++
	}
	var more []moreFindings
	for _, id := range slices.Sorted(maps.Keys(byRule)) {
		more = append(more, *byRule[id])
	}
	return open[:maxReportLines], more
}
