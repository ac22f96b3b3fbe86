// Package suppress reads inline suppression comments in checked files and
// applies them to findings.
//
// A suppression is a comment
//
//	# dwf-policy:ignore DWF104 the cache would hold secrets
//	# dwf-policy:ignore DWF104,DWF105 vendored image, rebuilt upstream
//
// either on its own line, where it covers the next line that is not a
// comment (so several can be stacked above one line), or at the end of a
// line, where it covers that line. It covers a finding of a listed rule
// whose location spans the covered line. Rule IDs are comma-separated; the
// reason is required and becomes the SARIF justification. Suppressed
// findings are kept, marked with an "inSource" suppression. A suppression
// that covers nothing, or cannot be read, is reported as a DWF002 note so
// stale comments do not pile up. So is a comment that was meant as a
// suppression but is not one (`# dwf-policy: ignore`, `# DWF-POLICY:IGNORE`,
// `# dwf-policy:disable`): it suppresses nothing, and the note says what to
// write instead. A comment that merely mentions dwf-policy is not reported.
//
// The comment syntax is the same in every file kind that uses # comments
// (Dockerfiles, YAML, HCL), so the scan is textual: `#` must start the line
// or follow whitespace. JSON has no comments: in content that is JSON (a
// Trivy report, a JSON manifest, the object of an admission review) a `#`
// is inside a string, and the string's author, who may be the author of an
// image or a pod rather than of the repository, suppresses nothing.
package suppress

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
)

// UnusedRuleID is the rule reported for a suppression that suppresses
// nothing.
const UnusedRuleID = "DWF002"

// Marker introduces a suppression after `#`.
const Marker = "dwf-policy:ignore"

// Directive is one suppression comment.
type Directive struct {
	// Location spans the comment, from `#` to the end of the line.
	Location document.Location
	// Target is the line the directive covers; 0 when there is none (a
	// comment on the last line).
	Target int
	IDs    []string
	Reason string
	// Problem says why a malformed directive suppresses nothing; "" when
	// it is well-formed.
	Problem string
}

// Parse finds the suppression comments in a file's content.
func Parse(src []byte) []Directive {
	if !MayHold(src) {
		return nil
	}
	lines := strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n")
	var out []Directive
	for i, line := range lines {
		hash, ownLine, ok := findMarker(line)
		if !ok {
			continue
		}
		d := Directive{Location: document.Location{
			Line:      i + 1,
			Column:    utf8.RuneCountInString(line[:hash]) + 1,
			EndLine:   i + 1,
			EndColumn: utf8.RuneCountInString(strings.TrimRight(line, " \t")),
		}}
		body := strings.TrimLeft(line[hash+1:], " \t")
		if strings.HasPrefix(body, Marker) {
			d.IDs, d.Reason, d.Problem = parseBody(strings.TrimPrefix(body, Marker))
		} else if d.Problem = nearMiss(body); d.Problem == "" {
			continue
		}
		if ownLine {
			d.Target = nextCodeLine(lines, i)
		} else {
			d.Target = i + 1
		}
		out = append(out, d)
	}
	return out
}

// findMarker returns the byte offset of the `#` that starts a suppression
// on line, and whether the comment is alone on its line.
func findMarker(line string) (hash int, ownLine, ok bool) {
	for from := 0; ; {
		i := strings.IndexByte(line[from:], '#')
		if i < 0 {
			return 0, false, false
		}
		i += from
		before := line[:i]
		if (i == 0 || before[len(before)-1] == ' ' || before[len(before)-1] == '\t') &&
			hasToolPrefix(strings.TrimLeft(line[i+1:], " \t")) {
			return i, strings.TrimSpace(before) == "", true
		}
		from = i + 1
	}
}

// MayHold reports whether src may hold suppression comments: Parse finds
// none in content without it. A check keeps only such content for
// suppressions, and reads the rest again when a report needs it.
func MayHold(src []byte) bool {
	// Mentioning the tool is the rare case, at the cost of one scan; only
	// then is the content read as JSON, which has no comments.
	return mentionsTool(src) && !json.Valid(bytes.TrimPrefix(src, []byte("\xef\xbb\xbf")))
}

// tool is the name every directive starts with, matched without regard to
// case when looking for comments that were meant as suppressions.
const tool = "dwf-policy"

// mentionsTool reports whether src contains "dwf-policy" in any case.
func mentionsTool(src []byte) bool {
	for from := 0; ; {
		i := bytes.IndexByte(src[from:], '-')
		if i < 0 {
			return false
		}
		i += from
		if i >= 3 && i+7 <= len(src) && bytes.EqualFold(src[i-3:i+7], []byte(tool)) {
			return true
		}
		from = i + 1
	}
}

// hasToolPrefix reports whether a comment's text starts with "dwf-policy"
// in any case.
func hasToolPrefix(s string) bool {
	return len(s) >= len(tool) && strings.EqualFold(s[:len(tool)], tool)
}

// suppressionWords are the directive words other linters use for a
// suppression; after `dwf-policy:` they mean the writer wanted one.
var suppressionWords = map[string]bool{
	"ignore": true, "ignore-next-line": true, "ignore-line": true, "disable": true, "disable-next-line": true,
	"disable-line": true, "suppress": true, "skip": true, "nolint": true, "noqa": true, "off": true,
}

// nearMiss returns the problem of a comment that starts with dwf-policy
// and was meant as a suppression but is not one (`dwf-policy: ignore` with
// a space, `DWF-POLICY:IGNORE`, `dwf-policy:disable`), or "" for a comment
// that merely mentions the tool.
func nearMiss(body string) string {
	rest := strings.TrimLeft(body[len(tool):], " \t")
	colon := strings.HasPrefix(rest, ":")
	if colon {
		rest = strings.TrimLeft(rest[1:], " \t")
	}
	word, tail := rest, ""
	if i := strings.IndexAny(rest, " \t"); i >= 0 {
		word, tail = rest[:i], strings.TrimSpace(rest[i:])
	}
	switch {
	case colon && suppressionWords[strings.ToLower(word)]:
	case !colon && strings.EqualFold(word, "ignore"):
	default:
		return ""
	}
	if tail == "" {
		tail = "DWF104 why this is acceptable"
	}
	written := body[:len(body)-len(rest)+len(word)]
	return fmt.Sprintf("`# %s` is not a suppression comment, so it suppresses nothing; did you mean `# %s %s`?", written, Marker, tail)
}

// usage says how to write a suppression, for the rules the comment names
// (uppercased, as rule IDs are written) or an example rule when it names
// none.
func usage(ids []string) string {
	named := "DWF104"
	if len(ids) > 0 {
		named = strings.ToUpper(strings.Join(ids, ","))
	}
	return "write it as `# " + Marker + " " + named + " why this is acceptable`"
}

// idsIn returns the comma-separated rule IDs at the start of s, as written.
func idsIn(s string) []string {
	word := strings.TrimSpace(s)
	if i := strings.IndexAny(word, " \t"); i >= 0 {
		word = word[:i]
	}
	var ids []string
	for _, id := range strings.Split(word, ",") {
		if id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// parseBody reads "DWF104,DWF105 reason text" after the marker.
func parseBody(body string) (ids []string, reason, problem string) {
	if body != "" && body[0] != ' ' && body[0] != '\t' {
		word, after := body, ""
		if i := strings.IndexAny(body, " \t"); i >= 0 {
			word, after = body[:i], body[i:]
		}
		return nil, "", fmt.Sprintf("unknown directive %q: %s", Marker+word, usage(idsIn(after)))
	}
	rest := strings.TrimSpace(body)
	// IDs: comma-separated, spaces allowed after a comma.
	for {
		word, after := rest, ""
		if i := strings.IndexAny(rest, " \t"); i >= 0 {
			word, after = rest[:i], rest[i:]
		}
		for _, id := range strings.Split(word, ",") {
			if id != "" {
				ids = append(ids, id)
			}
		}
		rest = strings.TrimSpace(after)
		if !strings.HasSuffix(word, ",") || rest == "" {
			break
		}
	}
	if len(ids) == 0 {
		return nil, "", "the suppression names no rule: " + usage(nil)
	}
	for _, id := range ids {
		if !finding.RuleIDPattern.MatchString(id) {
			return nil, "", fmt.Sprintf("%q is not a rule ID: %s", id, usage(ids))
		}
	}
	if rest == "" {
		return nil, "", "the suppression gives no reason: " + usage(ids)
	}
	return ids, rest, ""
}

// nextCodeLine returns the 1-based number of the first line after index i
// that is not a comment line, or 0 at the end of the file.
func nextCodeLine(lines []string, i int) int {
	for j := i + 1; j < len(lines); j++ {
		if !strings.HasPrefix(strings.TrimLeft(lines[j], " \t"), "#") {
			if j == len(lines)-1 && lines[j] == "" {
				return 0 // the empty "line" after a final newline
			}
			return j + 1
		}
	}
	return 0
}

// Options tunes Apply. The zero value is the default.
type Options struct {
	// UnusedSeverity is the severity of DWF002 findings (the rule's
	// severity after overrides); SeverityNone reports none.
	UnusedSeverity finding.Severity
	// Rules says whether a rule ID exists and is turned on. A suppression
	// of a rule that is turned off is not reported as unused (the rule may
	// be turned back on). Nil counts every ID as existing and on.
	Rules func(id string) (exists, on bool)
}

// Apply marks every finding that a suppression in its file covers as
// suppressed (kind "inSource", the comment's reason as justification) and
// returns the findings with one DWF002 finding appended per rule ID of a
// suppression that covered nothing, and per malformed suppression. sources
// maps a finding's path to the file's content; files without a source have
// no suppressions. Findings are changed in place and kept.
func Apply(fs []finding.Finding, sources map[string][]byte, opts Options) []finding.Finding {
	// Only content that mentions the tool holds directives (see Parse):
	// a check of many files indexes the findings of those few.
	var paths []string
	for p, src := range sources {
		if mentionsTool(src) {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	byPath := make(map[string][]int, len(paths))
	for _, p := range paths {
		byPath[p] = nil
	}
	for i, f := range fs {
		if idx, ok := byPath[f.Path]; ok {
			byPath[f.Path] = append(idx, i)
		}
	}
	var unused []finding.Finding
	report := func(p string, d Directive, msg string) {
		if opts.UnusedSeverity != finding.SeverityNone {
			unused = append(unused, finding.Finding{
				RuleID: UnusedRuleID, Severity: opts.UnusedSeverity, Message: msg, Path: p, Location: d.Location,
			})
		}
	}
	for _, p := range paths {
		for _, d := range Parse(sources[p]) {
			if d.Problem != "" {
				report(p, d, d.Problem)
				continue
			}
			for _, id := range d.IDs {
				used := false
				for _, i := range byPath[p] {
					f := &fs[i]
					if f.RuleID != id || !spans(f.Location, d.Target) {
						continue
					}
					used = true
					if !slices.ContainsFunc(f.Suppressions, func(s finding.Suppression) bool { return s.Kind == "inSource" }) {
						f.Suppressions = append(f.Suppressions, finding.Suppression{Kind: "inSource", Justification: d.Reason})
					}
				}
				if used {
					continue
				}
				exists, on := true, true
				if opts.Rules != nil {
					exists, on = opts.Rules(id)
				}
				switch {
				case !exists:
					report(p, d, fmt.Sprintf("%s is not a rule ID, so this suppression suppresses nothing: correct the ID or remove the comment", id))
				case !on:
					// The rule is turned off; the comment waits for it.
				case d.Target == 0:
					report(p, d, fmt.Sprintf("the suppression of %s is followed by no line to cover: put it above or at the end of the offending line", id))
				default:
					report(p, d, fmt.Sprintf("no %s finding on line %d to suppress: remove the suppression, or move it above or to the end of the offending line", id, d.Target))
				}
			}
		}
	}
	return append(fs, unused...)
}

// spans reports whether loc covers line; a finding without a position is
// at line 1.
func spans(loc document.Location, line int) bool {
	n := loc.Normalized()
	return line >= n.Line && line <= n.EndLine
}
