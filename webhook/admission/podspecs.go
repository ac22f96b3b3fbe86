package admission

import (
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/engine/input/kubernetes"
)

// The pod spec findings cache (policyState.podSpecs): the same object
// reviewed again (a re-applied manifest, a dry run then the real request,
// a retry) gets the findings DWF601-DWF603 gave it before, without a Rego
// evaluation, which is most of a warm review's CPU.
//
// It is correct by construction: an entry is the result of
// check.Checker.Document for a document (with, per finding, the container
// of the document that holds it), kept under a key that determines the
// document and everything else the result depends on. The document is
// kubernetes.ParseJSON of the object's raw JSON under its path (a pure
// function of both) with each image's config set: a verdict's, named by
// the verdict's id, or the empty one of an image that was not judged. The
// result also depends on the policy set (one cache per policy set, so a
// reload starts empty), on the day (exceptions expire by the UTC day) and
// on nothing else when the kubernetes rules call no nondeterministic
// builtin such as time.now_ns or http.send (no cache at all otherwise).
// Results that are errors (a deadline, the memory budget) are not kept.
const (
	// podSpecCacheSize bounds the entries.
	podSpecCacheSize = 1024
	// maxCachedFindingBytes bounds the message bytes of an entry, so the
	// cache stays within a few MiB whatever the objects: a result with
	// more is not kept.
	maxCachedFindingBytes = 16 << 10
)

// podSpecInput is the object of a review as the pod spec rules read it:
// its document is kubernetes.ParseJSON of raw under path, read at most
// once, and only when the rules run or no earlier review of the same raw
// object left its image references (policyState.podSpecRefs).
type podSpecInput struct {
	path string
	raw  []byte
	sum  [sha256.Size]byte // of raw
	doc  *document.Document
}

// document returns the document of the object, read once.
func (in *podSpecInput) document() (*document.Document, error) {
	if in.doc == nil {
		doc, err := kubernetes.ParseJSON(in.path, in.raw, kubernetes.Options{MaxBytes: 2 * MaxBodyBytes})
		if err != nil {
			return nil, err
		}
		in.doc = doc
	}
	return in.doc, nil
}

// imageRefs returns the distinct images of the object's document, in the
// order kubernetes.ImageRefs gives them, without reading the object again
// when an earlier review read the same raw object: they are a function of
// raw alone.
func (ps *policyState) imageRefs(in *podSpecInput) ([]string, error) {
	var key string
	if ps.podSpecRefs != nil {
		key = string(in.sum[:])
		if refs, ok := ps.podSpecRefs.Get(key); ok {
			return refs, nil
		}
	}
	doc, err := in.document()
	if err != nil {
		return nil, err
	}
	refs := kubernetes.ImageRefs(doc)
	if ps.podSpecRefs != nil {
		ps.podSpecRefs.Put(key, refs, 0)
	}
	return refs, nil
}

// object returns the facts of the object of kind whose raw JSON (of
// SHA-256 sum) a review carries, decoding it only when no earlier review
// under this policy set did.
func (ps *policyState) object(kind string, raw []byte, sum [sha256.Size]byte) (*objectFacts, error) {
	key := kind + " " + string(sum[:])
	if f, ok := ps.objects.Get(key); ok {
		return f, nil
	}
	f, err := readObject(kind, raw)
	if err != nil {
		return nil, err
	}
	ps.objects.Put(key, f, 0)
	return f, nil
}

// specFinding is a finding of the pod spec rules and the container whose
// entry holds its location, if one does: its name and image reference.
type specFinding struct {
	finding.Finding
	inContainer      bool
	container, image string
}

// podSpecKey is the cache key of the pod spec document read from raw
// under path, whose images are judged (in the order of
// kubernetes.ImageRefs), evaluated on day.
func podSpecKey(path string, raw []byte, judged []judgedImage, day string) string {
	h := sha256.New()
	field := func(b []byte) {
		h.Write(binary.AppendUvarint(nil, uint64(len(b))))
		h.Write(b)
	}
	field([]byte(day))
	field([]byte(path))
	field(raw)
	for _, j := range judged {
		field([]byte(j.ref))
		var id [9]byte
		if j.err == nil {
			id[0] = 1
			binary.BigEndian.PutUint64(id[1:], j.configID)
		}
		field(id[:])
	}
	return string(h.Sum(nil))
}

// today is the UTC day of now, the granularity of exceptions' expiry.
func today(now time.Time) string { return now.UTC().Format(time.DateOnly) }

// cacheable reports whether findings are small enough to keep (the
// container names and references of specFinding come from the object,
// which is capped).
func cacheable(fs []finding.Finding) bool {
	n := 0
	for _, f := range fs {
		n += len(f.Message) + len(f.Subject) + len(f.Path)
	}
	return n <= maxCachedFindingBytes
}
