// Package trivyreport turns a Trivy vulnerability report into a document:
// Trivy's JSON report (`trivy image|fs|rootfs --format json`, SchemaVersion
// 2), its SARIF log (`--format sarif`, sarif.go) and its cosign
// vulnerability predicate (`--format cosign-vuln`,
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
	"fmt"
	"strconv"
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
	if bytes.Contains(head, []byte(`"`+PredicateType+`"`)) || sniffSARIF(head) {
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

// parser walks one JSON text with a scanner of its own: encoding/json's
// Decoder takes about 100 ms for a 5,000-vulnerability report (13 MB with
// descriptions and references), most of it on values no rule reads. The
// scanner reads the structure and the few values rules read, and skips
// the rest quickly (strings by searching for the closing quote); skipped
// values are checked for balance and termination, not for every detail of
// JSON's grammar. Values that are read are decoded by encoding/json.
type parser struct {
	path  string
	data  []byte
	pos   int
	lines *lines
	// fixed, when set, is the location every position in data maps to (a
	// DSSE payload is base64 inside the file: its own offsets mean nothing
	// there).
	fixed *document.Location
	// strings are the strings read shared (see readString).
	strings map[string]string
	// vuln is the vulnerability being read.
	vuln vuln
}

// vulnBytes is about the least a vulnerability takes in Trivy's JSON report
// (with its description, references and CVSS scores; 2 to 3 KiB is usual).
const vulnBytes = 2048

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
	vulns            Vulnerabilities
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
	// from a SARIF log (sarif.go)
	sawSARIF  bool
	sarifRuns []sarifRun
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
	case r.sawSARIF:
		r.format = "trivy-sarif"
		return r, p.sarifReport(r)
	default:
		return nil, p.errorAt(document.Location{}, "not a Trivy report (a JSON object without SchemaVersion and Results, not a SARIF log and not a cosign vulnerability attestation), nor a Kubernetes manifest (no apiVersion and kind); name its kind with --kind if it is one")
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

// syntax is an invalid-JSON ParseError at the byte at off (the end of the
// file: truncated).
func (p *parser) syntax(off int, what string) error {
	if off >= len(p.data) {
		return p.errorAt(p.point(len(p.data)-1), "invalid JSON: the report ends early (truncated?)")
	}
	return p.errorAt(p.point(off), "invalid JSON: "+what)
}

// point is the location of the byte at offset off.
func (p *parser) point(off int) document.Location {
	if p.fixed != nil {
		return *p.fixed
	}
	line, col := p.lines.at(p.data, max(off, 0))
	return document.Location{Line: line, Column: col, EndLine: line, EndColumn: col}
}

// span is the location from the byte at start to the byte at end.
func (p *parser) span(start, end int) document.Location {
	if p.fixed != nil {
		return *p.fixed
	}
	l1, c1 := p.lines.at(p.data, start)
	l2, c2 := p.lines.at(p.data, max(end, start))
	return document.Location{Line: l1, Column: c1, EndLine: l2, EndColumn: c2}
}

// ws skips white space and returns the offset of the next byte.
func (p *parser) ws() int {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\r', '\n':
			p.pos++
			continue
		}
		break
	}
	return p.pos
}

// peek is the next byte after white space, or 0 at the end.
func (p *parser) peek() byte {
	if p.ws() < len(p.data) {
		return p.data[p.pos]
	}
	return 0
}

// walk reads the top-level object.
func (p *parser) walk(r *report) error {
	if bytes.HasPrefix(p.data, []byte("\xef\xbb\xbf")) {
		p.pos = 3
	}
	start := p.ws()
	if start >= len(p.data) {
		return p.syntax(start, "")
	}
	if p.data[start] != '{' {
		return p.errorAt(p.point(start), "not a Trivy report, nor a Kubernetes manifest: the file is not a JSON object (a list of manifests goes in a kind: List)")
	}
	r.reportLoc = p.point(start)
	err := p.object(func(key string) error {
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
		case "runs":
			return p.sarif(r)
		case "scanner", "metadata", "invocation":
			r.sawPredicate = true
			return p.predicateKey(r, key)
		}
		return p.reportKey(r, key)
	})
	if err != nil {
		return err
	}
	if end := p.ws(); end < len(p.data) {
		return p.errorAt(p.point(end), "invalid JSON: more than one value in the file")
	}
	return nil
}

// predicate reads a cosign vuln predicate object.
func (p *parser) predicate(r *report) error {
	if p.peek() != '{' {
		return p.skip()
	}
	r.sawPredicate = true
	return p.object(func(key string) error { return p.predicateKey(r, key) })
}

func (p *parser) predicateKey(r *report, key string) error {
	if p.peek() != '{' {
		return p.skip()
	}
	switch key {
	case "scanner":
		return p.object(func(key string) error {
			switch key {
			case "uri":
				return p.str(&r.scannerURI, nil)
			case "version":
				return p.str(&r.scannerVersion, nil)
			case "result":
				if p.peek() != '{' {
					return p.skip()
				}
				r.reportLoc = p.point(p.pos)
				return p.object(func(key string) error { return p.reportKey(r, key) })
			}
			return p.skip()
		})
	case "metadata":
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
			return p.errorAt(r.reportLoc, fmt.Sprintf("SchemaVersion %q is not an integer", n))
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
			ImageConfig json.RawMessage // large, unread: kept raw, not decoded
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
	start := p.ws()
	if p.literal("null") {
		return nil // "Results": null, as Trivy writes for a clean artifact
	}
	if p.peek() != '[' {
		return p.errorAt(p.point(start), "Results must be an array")
	}
	return p.array(func() error {
		rstart := p.ws()
		if p.peek() != '{' {
			return p.errorAt(p.point(rstart), "each of Results must be an object")
		}
		res := map[string]any{"target": "", "class": "", "type": "", "location": p.point(rstart).Value()}
		vulnStart := len(r.vulns)
		err := p.object(func(key string) error {
			var s string
			switch key {
			case "Target", "Class", "Type":
				if err := p.str(&s, nil); err != nil {
					return err
				}
				res[strings.ToLower(key)] = s
				return nil
			case "Vulnerabilities":
				return p.vulnerabilities(r)
			}
			return p.skip()
		})
		if err != nil {
			return err
		}
		// Target and Class may follow Vulnerabilities in the object.
		target, class, typ := res["target"].(string), res["class"].(string), res["type"].(string)
		for i := range r.vulns[vulnStart:] {
			v := &r.vulns[vulnStart+i]
			v.Target, v.Class, v.Type = target, class, typ
		}
		r.results = append(r.results, res)
		return nil
	})
}

// vuln is the part of Trivy's types.DetectedVulnerability a rule reads.
type vuln struct {
	VulnerabilityID  string
	PkgID            string
	PkgName          string
	PkgPath          string
	PURL             string
	InstalledVersion string
	FixedVersion     string
	Status           string
	Severity         string
	Title            string
	PrimaryURL       string
	CVSS             []sourceScore // by source, in the report's order
}

// sourceScore is one source's entry of a vulnerability's CVSS object (a
// slice of two or three, not a map: one map per vulnerability was a tenth
// of a large report's parse).
type sourceScore struct {
	source string
	cvssScore
}

// setScore records src's score, replacing an earlier entry of src as a
// JSON decoder would.
func (v *vuln) setScore(src string, c cvssScore) {
	for i := range v.CVSS {
		if v.CVSS[i].source == src {
			v.CVSS[i].cvssScore = c
			return
		}
	}
	v.CVSS = append(v.CVSS, sourceScore{src, c})
}

// score returns src's score.
func (v *vuln) score(src string) (cvssScore, bool) {
	for _, c := range v.CVSS {
		if c.source == src {
			return c.cvssScore, true
		}
	}
	return cvssScore{}, false
}

type cvssScore struct {
	V3Score  float64
	V3Vector string
	V2Score  float64
}

// vulnerabilities reads one result's Vulnerabilities array, each object
// with its position.
func (p *parser) vulnerabilities(r *report) error {
	start := p.ws()
	if p.literal("null") {
		return nil
	}
	if p.peek() != '[' {
		return p.errorAt(p.point(start), "Vulnerabilities must be an array")
	}
	if r.vulns == nil {
		// Room for as many as the file may hold, so that thousands are not
		// copied each time the slice grows.
		r.vulns = make(Vulnerabilities, 0, min(len(p.data)/vulnBytes+1, MaxVulnerabilities))
	}
	return p.array(func() error {
		vstart := p.ws()
		if p.peek() != '{' {
			return p.errorAt(p.point(vstart), "each of Vulnerabilities must be an object")
		}
		if len(r.vulns) >= MaxVulnerabilities {
			return p.errorAt(p.point(vstart), fmt.Sprintf("the report lists more than %d vulnerabilities", MaxVulnerabilities))
		}
		v := &p.vuln // one for every vulnerability: it is copied out
		*v = vuln{CVSS: v.CVSS[:0]}
		err := p.object(func(key string) error {
			switch key {
			case "VulnerabilityID":
				return p.str(&v.VulnerabilityID, nil)
			case "PkgID":
				return p.sharedStr(&v.PkgID)
			case "PkgName":
				return p.sharedStr(&v.PkgName)
			case "PkgPath":
				return p.str(&v.PkgPath, nil)
			case "PkgIdentifier":
				if p.peek() != '{' {
					return p.skip()
				}
				return p.object(func(key string) error {
					if key == "PURL" {
						return p.str(&v.PURL, nil)
					}
					return p.skip()
				})
			case "InstalledVersion":
				return p.sharedStr(&v.InstalledVersion)
			case "FixedVersion":
				return p.sharedStr(&v.FixedVersion)
			case "Status":
				return p.sharedStr(&v.Status)
			case "Severity":
				return p.sharedStr(&v.Severity)
			case "Title":
				return p.str(&v.Title, nil)
			case "PrimaryURL":
				return p.str(&v.PrimaryURL, nil)
			case "CVSS":
				return p.cvss(v)
			}
			return p.skip()
		})
		if err != nil {
			return err
		}
		r.vulns = append(r.vulns, v.vulnerability(p.span(vstart, p.pos-1)))
		return nil
	})
}

// cvss reads a vulnerability's CVSS object: scores by source.
func (p *parser) cvss(v *vuln) error {
	if p.peek() != '{' {
		return p.skip()
	}
	v.CVSS = v.CVSS[:0]
	return p.object(func(src string) error {
		if p.peek() != '{' {
			return p.skip()
		}
		var c cvssScore
		err := p.object(func(key string) error {
			switch key {
			case "V3Score":
				return p.number(&c.V3Score)
			case "V2Score":
				return p.number(&c.V2Score)
			case "V3Vector":
				return p.sharedStr(&c.V3Vector)
			}
			return p.skip()
		})
		v.setScore(src, c)
		return err
	})
}

// number reads a number (anything else is skipped and leaves f as it
// was).
func (p *parser) number(f *float64) error {
	start := p.ws()
	if err := p.skip(); err != nil {
		return err
	}
	if n, err := strconv.ParseFloat(string(p.data[start:p.pos]), 64); err == nil {
		*f = n
	}
	return nil
}

// cvssSources are the CVSS sources whose score is taken, in order: the
// NVD's, then the vendors Trivy knows best.
var cvssSources = []string{"nvd", "redhat", "ghsa"}

// vulnerability is v as the document has it, at loc; the result's target,
// class and type and the derived fields are filled in later (report.input).
func (v *vuln) vulnerability(loc document.Location) Vulnerability {
	var score Score
	vector := ""
	for _, src := range cvssSources {
		if c, ok := v.score(src); ok && (c.V3Score > 0 || c.V2Score > 0) {
			s := c.V3Score
			if s == 0 {
				s = c.V2Score
			}
			score, vector = Score{s, true}, c.V3Vector
			break
		}
	}
	if !score.Valid {
		best := 0.0
		for _, c := range v.CVSS { // any other source: the highest v3 score
			if c.V3Score > best {
				best, vector = c.V3Score, c.V3Vector
			}
		}
		if best > 0 {
			score = Score{best, true}
		}
	}
	return Vulnerability{
		ID:               v.VulnerabilityID,
		PkgID:            v.PkgID,
		PkgName:          v.PkgName,
		PkgPath:          v.PkgPath,
		PURL:             v.PURL,
		InstalledVersion: v.InstalledVersion,
		FixedVersion:     v.FixedVersion,
		Status:           v.Status,
		Severity:         severity(v.Severity),
		Title:            v.Title,
		PrimaryURL:       v.PrimaryURL,
		CVSSScore:        score,
		CVSSVector:       vector,
		Location:         loc,
	}
}

// severity is a report's severity in upper case, UNKNOWN for anything but
// the four Trivy knows.
func severity(s string) string {
	switch s {
	case "CRITICAL", "HIGH", "MEDIUM", "LOW":
		return s // as Trivy writes them: no copy
	}
	switch sev := strings.ToUpper(strings.TrimSpace(s)); sev {
	case "CRITICAL", "HIGH", "MEDIUM", "LOW":
		return sev
	}
	return "UNKNOWN"
}

// object reads an object at the current position, calling fn with each
// key before its value; fn must consume the value.
func (p *parser) object(fn func(key string) error) error {
	p.ws()
	p.pos++ // {
	if p.peek() == '}' {
		p.pos++
		return nil
	}
	for {
		if p.peek() != '"' {
			return p.syntax(p.pos, "an object key must be a string")
		}
		key, err := p.readString(true)
		if err != nil {
			return err
		}
		if p.peek() != ':' {
			return p.syntax(p.pos, "expected a colon after an object key")
		}
		p.pos++
		if p.ws() >= len(p.data) {
			return p.syntax(p.pos, "")
		}
		if err := fn(key); err != nil {
			return err
		}
		switch p.peek() {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return nil
		default:
			return p.syntax(p.pos, "expected a comma or } in an object")
		}
	}
}

// array reads an array at the current position, calling fn for each
// element; fn must consume it.
func (p *parser) array(fn func() error) error {
	p.ws()
	p.pos++ // [
	if p.peek() == ']' {
		p.pos++
		return nil
	}
	for {
		if p.ws() >= len(p.data) {
			return p.syntax(p.pos, "")
		}
		if err := fn(); err != nil {
			return err
		}
		switch p.peek() {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return nil
		default:
			return p.syntax(p.pos, "expected a comma or ] in an array")
		}
	}
}

// literal consumes word (null, true, false) when it comes next.
func (p *parser) literal(word string) bool {
	p.ws()
	if bytes.HasPrefix(p.data[p.pos:], []byte(word)) {
		p.pos += len(word)
		return true
	}
	return false
}

// readString reads a string at the current position; shared reads one
// that repeats (an object key, a severity, a package name) as the same
// string every time instead of a copy each.
func (p *parser) readString(shared bool) (string, error) {
	start := p.pos
	end, err := p.stringEnd()
	if err != nil {
		return "", err
	}
	p.pos = end
	if raw := p.data[start+1 : end-1]; bytes.IndexByte(raw, '\\') < 0 {
		if shared {
			return p.shared(raw), nil
		}
		return string(raw), nil
	}
	var s string
	if err := json.Unmarshal(p.data[start:end], &s); err != nil {
		return "", p.syntax(start, "a string with an invalid escape")
	}
	return s, nil
}

// maxShared bounds the strings a parser shares.
const maxShared = 4096

// shared is raw as a string, the same string for the same bytes.
func (p *parser) shared(raw []byte) string {
	if s, ok := p.strings[string(raw)]; ok {
		return s
	}
	s := string(raw)
	if p.strings == nil {
		p.strings = map[string]string{}
	}
	if len(p.strings) < maxShared {
		p.strings[s] = s
	}
	return s
}

// stringEnd returns the offset just after the string that starts at the
// current position.
func (p *parser) stringEnd() (end int, err error) {
	start := p.pos + 1
	for i := start; ; {
		j := bytes.IndexByte(p.data[i:], '"')
		if j < 0 {
			return 0, p.syntax(len(p.data), "")
		}
		i += j
		// The quote ends the string unless an odd number of backslashes
		// escapes it.
		n := 0
		for k := i - 1; k >= start && p.data[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return i + 1, nil
		}
		i++
	}
}

// str reads a string value (anything else is skipped and leaves s empty)
// and its location when loc is not nil.
func (p *parser) str(s *string, loc *document.Location) error {
	return p.readStr(s, loc, false)
}

// sharedStr is str of a value that repeats (see readString).
func (p *parser) sharedStr(s *string) error {
	return p.readStr(s, nil, true)
}

func (p *parser) readStr(s *string, loc *document.Location, shared bool) error {
	start := p.ws()
	if p.peek() != '"' {
		return p.skip()
	}
	v, err := p.readString(shared)
	if err != nil {
		return err
	}
	*s = v
	if loc != nil {
		*loc = p.span(start, p.pos-1)
	}
	return nil
}

// decode reads the next value into v with encoding/json; a value of the
// wrong shape leaves v as it was.
func (p *parser) decode(v any) error {
	start := p.ws()
	if err := p.skip(); err != nil {
		return err
	}
	_ = json.Unmarshal(p.data[start:p.pos], v)
	return nil
}

// skip reads and drops the next value: strings to their closing quote,
// objects and arrays to their balanced end, scalars to the next
// delimiter.
func (p *parser) skip() error {
	start := p.ws()
	if start >= len(p.data) {
		return p.syntax(start, "")
	}
	switch c := p.data[start]; c {
	case '"':
		end, err := p.stringEnd()
		if err != nil {
			return err
		}
		p.pos = end
		return nil
	case '{', '[':
		var stack []byte
		for p.pos < len(p.data) {
			switch b := p.data[p.pos]; b {
			case '"':
				end, err := p.stringEnd()
				if err != nil {
					return err
				}
				p.pos = end
				continue
			case '{', '[':
				stack = append(stack, b)
			case '}', ']':
				if len(stack) == 0 || (b == '}') != (stack[len(stack)-1] == '{') {
					return p.syntax(p.pos, "unbalanced brackets")
				}
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					p.pos++
					return nil
				}
			}
			p.pos++
		}
		return p.syntax(len(p.data), "")
	}
	end := p.pos
	for end < len(p.data) && !strings.ContainsRune(",}] \t\r\n", rune(p.data[end])) {
		end++
	}
	if end == p.pos {
		return p.syntax(p.pos, "expected a value")
	}
	if !json.Valid(p.data[p.pos:end]) {
		return p.syntax(p.pos, fmt.Sprintf("%q is not a JSON value", excerpt(p.data[p.pos:end])))
	}
	p.pos = end
	return nil
}

func excerpt(b []byte) string {
	if len(b) > 24 {
		return string(b[:24]) + "…"
	}
	return string(b)
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
	vulns := r.vulns
	if vulns == nil {
		vulns = Vulnerabilities{}
	}
	type idPkg struct{ id, pkg string }
	seen := make(map[idPkg]bool, len(vulns))
	counts := map[string]int{"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": 0, "UNKNOWN": 0}
	for i := range vulns {
		v := &vulns[i]
		counts[v.Severity]++
		key := idPkg{v.ID, v.PkgName}
		v.Duplicate = seen[key]
		seen[key] = true
		v.Message = message(v)
		v.Fingerprint = v.ID + "|" + v.PkgName + "|" + r.artifactName
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
		"severity_counts":     map[string]any{"CRITICAL": counts["CRITICAL"], "HIGH": counts["HIGH"], "MEDIUM": counts["MEDIUM"], "LOW": counts["LOW"], "UNKNOWN": counts["UNKNOWN"]},
		"image":               nil,
	}
}

// NoFixText is what a vulnerability without a fixed version says instead
// of the upgrade to make.
const NoFixText = "no fix yet: add it to vulnerabilities.ignore with a reason and an expiry"

// message is the vulnerability in one sentence at its own severity, as
// DWF401 reports it: "CVE-1 (HIGH, CVSS 7.5) in openssl 1.0 (target):
// upgrade openssl to 3.0.14." Built here so that a report of thousands
// of findings costs the rule a field read per finding, not a dozen string
// operations (the rule builds the rarer UNKNOWN-counted-as and
// over-the-maximum messages itself).
func message(v *Vulnerability) string {
	var b strings.Builder
	id, sev, pkg, installed, target, fixed := v.ID, v.Severity, v.PkgName, v.InstalledVersion, v.Target, v.FixedVersion
	// One allocation: the longest the sentence can be.
	b.Grow(len(id) + len(sev) + 2*len(pkg) + len(installed) + len(target) + max(len(fixed)+len("upgrade  to "), len(NoFixText)) + 48)
	b.WriteString(id)
	b.WriteString(" (")
	b.WriteString(sev)
	if v.CVSSScore.Valid {
		score := v.CVSSScore.Value
		var num [32]byte
		b.WriteString(", CVSS ")
		b.Write(strconv.AppendFloat(num[:0], score, 'f', -1, 64))
	}
	b.WriteString(") in ")
	b.WriteString(pkg)
	b.WriteString(" ")
	b.WriteString(installed)
	if target != "" {
		b.WriteString(" (")
		b.WriteString(target)
		b.WriteString(")")
	}
	b.WriteString(": ")
	if fixed != "" {
		b.WriteString("upgrade ")
		b.WriteString(pkg)
		b.WriteString(" to ")
		b.WriteString(fixed)
	} else {
		b.WriteString(NoFixText)
	}
	b.WriteString(".")
	return b.String()
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
	starts := make([]int, 1, bytes.Count(data, []byte{'\n'})+1)
	l := &lines{starts: starts}
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
