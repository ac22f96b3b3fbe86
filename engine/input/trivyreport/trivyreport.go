// Package trivyreport turns a Trivy vulnerability report into a document:
// Trivy's JSON report (`trivy image|fs|rootfs --format json`, SchemaVersion
// 2) and Trivy's cosign vulnerability predicate (`--format cosign-vuln`,
// predicate type https://cosign.sigstore.dev/attestation/vuln/v1), bare, in
// an in-toto statement or in a DSSE envelope.
//
// The report is streamed with encoding/json's Decoder: the structure is
// walked token by token and each vulnerability object is decoded on its
// own, so its position (the line and column of its opening brace, and of
// its closing one) comes from the decoder's offsets, not from a search.
// Field names follow Trivy's pkg/types (Report, Result, Vulnerability,
// Metadata) and cosign's CosignVulnPredicate.
package trivyreport

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/devflow/dwf-policy/engine/document"
)

// PredicateType is the in-toto predicate type of Trivy's cosign-vuln
// output.
const PredicateType = "https://cosign.sigstore.dev/attestation/vuln/v1"

// DefaultMaxBytes caps one report. A Trivy JSON report carries every
// vulnerability's description and references, about 2 KiB each: a large
// image with a few thousand vulnerabilities is well over the 4 MiB other
// inputs are held to, so reports get more room.
const DefaultMaxBytes = 64 << 20

// MaxVulnerabilities caps the vulnerabilities taken from one report.
const MaxVulnerabilities = 200000

// Options tune Parse. The zero value is the default.
type Options struct {
	// MaxBytes caps the input; 0 means DefaultMaxBytes.
	MaxBytes int
}

// sniffHead is how much of a file Sniff reads: Trivy writes SchemaVersion
// first, and a statement names its predicate type near the top.
const sniffHead = 64 << 10

// Sniff reports whether data looks like a Trivy report or a cosign
// vulnerability attestation: a cheap look at the first bytes, not a parse.
func Sniff(data []byte) bool {
	head := data[:min(len(data), sniffHead)]
	head = bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf")
	if len(head) == 0 || head[0] != '{' {
		return false
	}
	if bytes.Contains(head, []byte(`"SchemaVersion"`)) &&
		(bytes.Contains(head, []byte(`"ArtifactName"`)) || bytes.Contains(head, []byte(`"Results"`))) {
		return true
	}
	if bytes.Contains(head, []byte(`"`+PredicateType+`"`)) {
		return true
	}
	// A DSSE envelope hides its statement in base64: decode it only when
	// the envelope says it carries an in-toto statement.
	if bytes.Contains(head, []byte(`"payloadType"`)) && bytes.Contains(head, []byte(`application/vnd.in-toto+json`)) {
		var env struct {
			Payload string `json:"payload"`
		}
		if json.Unmarshal(data, &env) != nil {
			return false
		}
		payload, err := base64.StdEncoding.DecodeString(env.Payload)
		return err == nil && bytes.Contains(payload, []byte(`"`+PredicateType+`"`))
	}
	return false
}

// Parse reads a report. Anything that is not a report this package knows
// (truncated JSON, another predicate type, a statement without a
// predicate) is a *document.ParseError that says what was found.
func Parse(path string, data []byte, opts Options) (*document.Document, error) {
	limit := opts.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	if len(data) > limit {
		return nil, &document.ParseError{Path: path, Message: fmt.Sprintf("the report is larger than the %d-byte limit", limit)}
	}
	p := &parser{path: path, data: data, lines: newLines(data)}
	r, err := p.parse()
	if err != nil {
		return nil, err
	}
	return &document.Document{Kind: document.KindTrivyReport, Path: path, Source: data, Input: r.input()}, nil
}

// parser walks one JSON text. base is the offset of data in the file, for
// a DSSE payload (whose positions are all the payload string's).
type parser struct {
	path  string
	data  []byte
	lines *lines
	dec   *json.Decoder
	// fixed, when set, is the location every position in data maps to (a
	// DSSE payload is base64 inside the file: its own offsets mean nothing
	// there).
	fixed *document.Location
}

// report is what the walk collects.
type report struct {
	// format: trivy-json or cosign-vuln; envelope: none, in-toto or dsse.
	format, envelope string
	sawReport        bool
	reportLoc        document.Location
	schemaVersion    int
	createdAt        string
	createdLoc       document.Location
	artifactName     string
	artifactType     string
	imageID          string
	repoDigests      []string
	repoTags         []string
	osFamily, osName string
	results          []map[string]any
	vulns            []map[string]any
	// from the statement and predicate
	statementType   string
	predicateType   string
	predicateLoc    document.Location
	sawPredicate    bool
	subjectDigests  []string
	scanFinishedOn  string
	scanFinishedLoc document.Location
	scannerURI      string
	scannerVersion  string
	payloadType     string
	payload         string
	payloadLoc      document.Location
}

func (p *parser) parse() (*report, error) {
	r := &report{envelope: "none"}
	if err := p.walk(r); err != nil {
		return nil, err
	}
	switch {
	case r.payloadType != "" || r.payload != "":
		return p.dsse(r)
	case r.predicateType != "" || r.statementType != "":
		if r.predicateType != PredicateType {
			return nil, p.errorAt(r.predicateLoc, fmt.Sprintf("not a Trivy report: an in-toto statement of predicate type %q, not %s", r.predicateType, PredicateType))
		}
		if !r.sawReport {
			return nil, p.errorAt(r.predicateLoc, "the cosign vulnerability predicate holds no Trivy report in predicate.scanner.result")
		}
		r.envelope = "in-toto"
		r.format = "cosign-vuln"
	case r.sawPredicate:
		if !r.sawReport {
			return nil, p.errorAt(document.Location{}, "the cosign vulnerability predicate holds no Trivy report in scanner.result")
		}
		r.format = "cosign-vuln"
	case r.sawReport:
		r.format = "trivy-json"
	default:
		return nil, p.errorAt(document.Location{}, "not a Trivy report: a JSON object without SchemaVersion and Results, and not a cosign vulnerability attestation")
	}
	if r.schemaVersion != 2 {
		return nil, p.errorAt(r.reportLoc, fmt.Sprintf("unsupported Trivy report SchemaVersion %d: only 2 is read (Trivy 0.20 and later)", r.schemaVersion))
	}
	if r.createdAt == "" && r.scanFinishedOn != "" {
		r.createdAt, r.createdLoc = r.scanFinishedOn, r.scanFinishedLoc
	}
	return r, nil
}

// dsse unwraps a DSSE envelope and parses its statement.
func (p *parser) dsse(r *report) (*report, error) {
	if r.payloadType != "application/vnd.in-toto+json" {
		return nil, p.errorAt(r.payloadLoc, fmt.Sprintf("not a Trivy report: a DSSE envelope of payload type %q", r.payloadType))
	}
	payload, err := base64.StdEncoding.DecodeString(r.payload)
	if err != nil {
		return nil, p.errorAt(r.payloadLoc, "the DSSE payload is not valid base64")
	}
	loc := r.payloadLoc
	inner := &parser{path: p.path, data: payload, lines: newLines(payload), fixed: &loc}
	out, err := inner.parse()
	if err != nil {
		return nil, err
	}
	if out.envelope != "in-toto" {
		return nil, p.errorAt(r.payloadLoc, "the DSSE payload is not an in-toto statement")
	}
	out.envelope = "dsse"
	return out, nil
}

// errorAt is a ParseError at loc.
func (p *parser) errorAt(loc document.Location, msg string) error {
	if p.fixed != nil {
		loc = *p.fixed
	}
	return &document.ParseError{Path: p.path, Location: loc, Message: msg}
}

// syntax turns a decoding error into a ParseError at its offset.
func (p *parser) syntax(err error) error {
	off := p.dec.InputOffset()
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	msg := "invalid JSON: " + err.Error()
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		msg = "invalid JSON: the report ends early (truncated?)"
		off = int64(len(p.data))
	}
	return p.errorAt(p.point(off-1), msg)
}

// point is the location of the byte at offset off.
func (p *parser) point(off int64) document.Location {
	if p.fixed != nil {
		return *p.fixed
	}
	line, col := p.lines.at(p.data, int(max(off, 0)))
	return document.Location{Line: line, Column: col, EndLine: line, EndColumn: col}
}

// span is the location from the byte at start to the byte at end.
func (p *parser) span(start, end int64) document.Location {
	if p.fixed != nil {
		return *p.fixed
	}
	l1, c1 := p.lines.at(p.data, int(start))
	l2, c2 := p.lines.at(p.data, int(max(end, start)))
	return document.Location{Line: l1, Column: c1, EndLine: l2, EndColumn: c2}
}

// valueStart is the offset of the next value's first byte: after the
// decoder's offset, past white space, commas and colons.
func (p *parser) valueStart() int64 {
	off := p.dec.InputOffset()
	for int(off) < len(p.data) {
		switch p.data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
			continue
		}
		break
	}
	return off
}

// walk reads the top-level object.
func (p *parser) walk(r *report) error {
	p.dec = json.NewDecoder(bytes.NewReader(p.data))
	p.dec.UseNumber()
	start := p.valueStart()
	tok, err := p.dec.Token()
	if err != nil {
		return p.syntax(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return p.errorAt(p.point(start), "not a Trivy report: the file is not a JSON object")
	}
	r.reportLoc = p.point(start)
	err = p.object(func(key string) error {
		switch key {
		case "_type":
			return p.str(&r.statementType, nil)
		case "predicateType":
			return p.str(&r.predicateType, &r.predicateLoc)
		case "subject":
			var subjects []struct {
				Digest map[string]string `json:"digest"`
			}
			if err := p.decode(&subjects); err != nil {
				return err
			}
			for _, s := range subjects {
				for alg, hex := range s.Digest {
					r.subjectDigests = append(r.subjectDigests, alg+":"+hex)
				}
			}
			return nil
		case "predicate":
			return p.predicate(r)
		case "payloadType":
			return p.str(&r.payloadType, &r.payloadLoc)
		case "payload":
			return p.str(&r.payload, &r.payloadLoc)
		case "scanner", "metadata", "invocation":
			r.sawPredicate = true
			return p.predicateKey(r, key)
		}
		return p.reportKey(r, key)
	})
	if err != nil {
		return err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return p.errorAt(p.point(p.valueStart()), "invalid JSON: more than one value in the file")
	}
	return nil
}

// predicate reads a cosign vuln predicate object.
func (p *parser) predicate(r *report) error {
	if ok, err := p.openObject(); !ok || err != nil {
		return err
	}
	r.sawPredicate = true
	return p.object(func(key string) error { return p.predicateKey(r, key) })
}

func (p *parser) predicateKey(r *report, key string) error {
	switch key {
	case "scanner":
		if ok, err := p.openObject(); !ok || err != nil {
			return err
		}
		return p.object(func(key string) error {
			switch key {
			case "uri":
				return p.str(&r.scannerURI, nil)
			case "version":
				return p.str(&r.scannerVersion, nil)
			case "result":
				start := p.valueStart()
				ok, err := p.openObject()
				if !ok || err != nil {
					return err
				}
				r.reportLoc = p.point(start)
				return p.object(func(key string) error { return p.reportKey(r, key) })
			}
			return p.skip()
		})
	case "metadata":
		if ok, err := p.openObject(); !ok || err != nil {
			return err
		}
		return p.object(func(key string) error {
			if key == "scanFinishedOn" {
				return p.str(&r.scanFinishedOn, &r.scanFinishedLoc)
			}
			return p.skip()
		})
	}
	return p.skip()
}

// reportKey reads one key of a Trivy report object.
func (p *parser) reportKey(r *report, key string) error {
	switch key {
	case "SchemaVersion":
		r.sawReport = true
		var n json.Number
		if err := p.decode(&n); err != nil {
			return err
		}
		v, err := n.Int64()
		if err != nil {
			return p.errorAt(r.reportLoc, fmt.Sprintf("SchemaVersion %s is not an integer", n))
		}
		r.schemaVersion = int(v)
		return nil
	case "CreatedAt":
		return p.str(&r.createdAt, &r.createdLoc)
	case "ArtifactName":
		return p.str(&r.artifactName, nil)
	case "ArtifactType":
		return p.str(&r.artifactType, nil)
	case "Metadata":
		var m struct {
			OS *struct {
				Family string
				Name   string
			}
			ImageID     string
			RepoTags    []string
			RepoDigests []string
		}
		if err := p.decode(&m); err != nil {
			return err
		}
		r.imageID, r.repoTags, r.repoDigests = m.ImageID, m.RepoTags, m.RepoDigests
		if m.OS != nil {
			r.osFamily, r.osName = m.OS.Family, m.OS.Name
		}
		return nil
	case "Results":
		r.sawReport = true
		return p.results(r)
	}
	return p.skip()
}

// results reads Results: null, or an array of result objects.
func (p *parser) results(r *report) error {
	start := p.valueStart()
	tok, err := p.dec.Token()
	if err != nil {
		return p.syntax(err)
	}
	if tok == nil {
		return nil // "Results": null, as Trivy writes for a clean artifact
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return p.errorAt(p.point(start), "Results must be an array")
	}
	for p.dec.More() {
		rstart := p.valueStart()
		ok, err := p.openObject()
		if err != nil {
			return err
		}
		if !ok {
			return p.errorAt(p.point(rstart), "each of Results must be an object")
		}
		res := map[string]any{"target": "", "class": "", "type": "", "location": p.point(rstart).Value()}
		var vulnStart int
		err = p.object(func(key string) error {
			var s string
			switch key {
			case "Target", "Class", "Type":
				if err := p.str(&s, nil); err != nil {
					return err
				}
				res[strings.ToLower(key)] = s
				return nil
			case "Vulnerabilities":
				vulnStart = len(r.vulns)
				return p.vulnerabilities(r)
			}
			return p.skip()
		})
		if err != nil {
			return err
		}
		// Target and Class may follow Vulnerabilities in the object.
		for _, v := range r.vulns[vulnStart:] {
			v["target"], v["class"], v["type"] = res["target"], res["class"], res["type"]
		}
		r.results = append(r.results, res)
	}
	if _, err := p.dec.Token(); err != nil { // ]
		return p.syntax(err)
	}
	return nil
}

// vuln is the part of Trivy's types.DetectedVulnerability a rule reads.
type vuln struct {
	VulnerabilityID  string
	PkgID            string
	PkgName          string
	PkgPath          string
	PkgIdentifier    struct{ PURL string }
	InstalledVersion string
	FixedVersion     string
	Status           string
	Severity         string
	Title            string
	PrimaryURL       string
	CVSS             map[string]struct {
		V3Score  float64
		V3Vector string
		V2Score  float64
	}
}

// vulnerabilities reads one result's Vulnerabilities array, each object
// decoded on its own with its position.
func (p *parser) vulnerabilities(r *report) error {
	start := p.valueStart()
	tok, err := p.dec.Token()
	if err != nil {
		return p.syntax(err)
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return p.errorAt(p.point(start), "Vulnerabilities must be an array")
	}
	for p.dec.More() {
		vstart := p.valueStart()
		if vstart < int64(len(p.data)) && p.data[vstart] != '{' {
			return p.errorAt(p.point(vstart), "each of Vulnerabilities must be an object")
		}
		var v vuln
		if err := p.dec.Decode(&v); err != nil {
			return p.syntax(err)
		}
		if len(r.vulns) >= MaxVulnerabilities {
			return p.errorAt(p.point(vstart), fmt.Sprintf("the report lists more than %d vulnerabilities", MaxVulnerabilities))
		}
		end := p.dec.InputOffset() - 1
		r.vulns = append(r.vulns, v.value(p.span(vstart, end)))
	}
	if _, err := p.dec.Token(); err != nil { // ]
		return p.syntax(err)
	}
	return nil
}

// cvssSources are the CVSS sources whose score is taken, in order: the
// NVD's, then the vendors Trivy knows best.
var cvssSources = []string{"nvd", "redhat", "ghsa"}

func (v *vuln) value(loc document.Location) map[string]any {
	var score any
	vector := ""
	for _, src := range cvssSources {
		if c, ok := v.CVSS[src]; ok && (c.V3Score > 0 || c.V2Score > 0) {
			s := c.V3Score
			if s == 0 {
				s = c.V2Score
			}
			score, vector = s, c.V3Vector
			break
		}
	}
	if score == nil {
		best := 0.0
		for _, c := range v.CVSS { // any other source: the highest v3 score
			if c.V3Score > best {
				best, vector = c.V3Score, c.V3Vector
			}
		}
		if best > 0 {
			score = best
		}
	}
	sev := strings.ToUpper(strings.TrimSpace(v.Severity))
	if sev == "" {
		sev = "UNKNOWN"
	}
	return map[string]any{
		"id":                v.VulnerabilityID,
		"pkg_id":            v.PkgID,
		"pkg_name":          v.PkgName,
		"pkg_path":          v.PkgPath,
		"purl":              v.PkgIdentifier.PURL,
		"installed_version": v.InstalledVersion,
		"fixed_version":     v.FixedVersion,
		"status":            v.Status,
		"severity":          sev,
		"title":             v.Title,
		"primary_url":       v.PrimaryURL,
		"cvss_score":        score,
		"cvss_vector":       vector,
		"location":          loc.Value(),
	}
}

// object reads the keys of an object whose '{' has been read, calling fn
// with the decoder before each value; fn must consume the value.
func (p *parser) object(fn func(key string) error) error {
	for p.dec.More() {
		tok, err := p.dec.Token()
		if err != nil {
			return p.syntax(err)
		}
		key, _ := tok.(string)
		if err := fn(key); err != nil {
			return err
		}
	}
	if _, err := p.dec.Token(); err != nil { // }
		return p.syntax(err)
	}
	return nil
}

// openObject reads a '{' and returns true, or skips a null and returns
// false; anything else is skipped too.
func (p *parser) openObject() (bool, error) {
	if off := p.valueStart(); int(off) < len(p.data) && p.data[off] != '{' {
		return false, p.skip()
	}
	if _, err := p.dec.Token(); err != nil {
		return false, p.syntax(err)
	}
	return true, nil
}

// str reads a string value (anything else leaves s empty) and its
// location when loc is not nil.
func (p *parser) str(s *string, loc *document.Location) error {
	start := p.valueStart()
	var v any
	if err := p.dec.Decode(&v); err != nil {
		return p.syntax(err)
	}
	*s, _ = v.(string)
	if loc != nil {
		*loc = p.span(start, p.dec.InputOffset()-1)
	}
	return nil
}

// decode reads the next value into v; a value of the wrong shape leaves v
// as it was.
func (p *parser) decode(v any) error {
	var raw json.RawMessage
	if err := p.dec.Decode(&raw); err != nil {
		return p.syntax(err)
	}
	_ = json.Unmarshal(raw, v)
	return nil
}

// skip reads and drops the next value.
func (p *parser) skip() error {
	var raw json.RawMessage
	if err := p.dec.Decode(&raw); err != nil {
		return p.syntax(err)
	}
	return nil
}

// digests are the image digests the report names: the digest part of
// each Metadata.RepoDigests entry and the in-toto subjects' digests.
func (r *report) digests() []any {
	seen := map[string]bool{}
	out := []any{}
	add := func(d string) {
		if d != "" && !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	for _, rd := range r.repoDigests {
		if _, d, ok := strings.Cut(rd, "@"); ok {
			add(d)
		}
	}
	for _, d := range r.subjectDigests {
		add(d)
	}
	return out
}

// input is the document policies read (schemas/trivy-report.json).
func (r *report) input() map[string]any {
	vulns := make([]any, len(r.vulns))
	seen := make(map[string]bool, len(r.vulns))
	for i, v := range r.vulns {
		key := v["id"].(string) + "\x00" + v["pkg_name"].(string)
		v["duplicate"] = seen[key]
		seen[key] = true
		vulns[i] = v
	}
	results := make([]any, len(r.results))
	for i, res := range r.results {
		results[i] = res
	}
	return map[string]any{
		"kind":                string(document.KindTrivyReport),
		"format":              r.format,
		"envelope":            r.envelope,
		"schema_version":      r.schemaVersion,
		"created_at":          r.createdAt,
		"created_at_location": r.createdLoc.Value(),
		"artifact_name":       r.artifactName,
		"artifact_type":       r.artifactType,
		"image_id":            r.imageID,
		"repo_digests":        anyStrings(r.repoDigests),
		"repo_tags":           anyStrings(r.repoTags),
		"os":                  map[string]any{"family": r.osFamily, "name": r.osName},
		"scanner":             map[string]any{"uri": r.scannerURI, "version": r.scannerVersion},
		"digests":             r.digests(),
		"location":            r.reportLoc.Value(),
		"results":             results,
		"vulnerabilities":     vulns,
		"image":               nil,
	}
}

func anyStrings(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// lines maps byte offsets to 1-based lines and columns (in code points).
type lines struct{ starts []int }

func newLines(data []byte) *lines {
	l := &lines{starts: []int{0}}
	for i := 0; ; {
		j := bytes.IndexByte(data[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
		l.starts = append(l.starts, i)
	}
	return l
}

func (l *lines) at(data []byte, off int) (line, col int) {
	off = min(off, len(data))
	lo, hi := 0, len(l.starts)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if l.starts[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo + 1, utf8.RuneCount(data[l.starts[lo]:off]) + 1
}
