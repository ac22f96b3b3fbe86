package trivyreport

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/devflow/dwf-policy/engine/document"
)

// Trivy's SARIF output (`trivy image --format sarif`, pkg/report/sarif.go)
// is one run whose driver is named Trivy. Each vulnerability is a result:
// ruleId is the vulnerability ID; the rule carries the severity in its
// tags ("vulnerability", "security", "HIGH"), properties.security-severity
// (the CVSS v3 score, or a stand-in per severity when there is none) and
// the CVSS data (cvssv3_baseScore, cvssv3_vector); the result's message is
// "Package: p\nInstalled Version: v\nVulnerability ID\nSeverity: S\nFixed
// Version: f\nLink: [ID](url)" and its location's URI is the target (an
// image's repository for OS packages, the package's path for language
// packages). Misconfigurations, secrets and licenses share the log and are
// left out. The run's properties name the image: imageName, repoDigests,
// repoTags and imageID. There is no creation time.

// sarifRun is what one run of a SARIF log holds.
type sarifRun struct {
	driver, fullName string
	version          string
	rules            []sarifRule
	results          []sarifResult
}

type sarifRule struct {
	id, name, title, helpURI string
	tags                     []string
	securitySeverity         string
	cvssScore                float64
	cvssVector               string
}

type sarifResult struct {
	ruleID    string
	ruleIndex int
	level     string
	message   string
	uri       string
	loc       document.Location
}

// sarif reads the runs array of a SARIF log.
func (p *parser) sarif(r *report) error {
	r.sawSARIF = true
	if p.peek() != '[' {
		return p.skip()
	}
	return p.array(func() error {
		if p.peek() != '{' {
			return p.skip()
		}
		run := sarifRun{}
		err := p.object(func(key string) error {
			switch key {
			case "tool":
				return p.sarifTool(&run)
			case "results":
				return p.sarifResults(&run)
			case "properties":
				var props struct {
					ImageName   string   `json:"imageName"`
					ImageID     string   `json:"imageID"`
					RepoTags    []string `json:"repoTags"`
					RepoDigests []string `json:"repoDigests"`
				}
				if err := p.decode(&props); err != nil {
					return err
				}
				if props.ImageName != "" {
					r.artifactName, r.artifactType = props.ImageName, "container_image"
				}
				r.imageID = props.ImageID
				r.repoTags = append(r.repoTags, props.RepoTags...)
				r.repoDigests = append(r.repoDigests, props.RepoDigests...)
				return nil
			}
			return p.skip()
		})
		if err != nil {
			return err
		}
		r.sarifRuns = append(r.sarifRuns, run)
		return nil
	})
}

func (p *parser) sarifTool(run *sarifRun) error {
	if p.peek() != '{' {
		return p.skip()
	}
	return p.object(func(key string) error {
		if key != "driver" || p.peek() != '{' {
			return p.skip()
		}
		return p.object(func(key string) error {
			switch key {
			case "name":
				return p.str(&run.driver, nil)
			case "fullName":
				return p.str(&run.fullName, nil)
			case "version":
				return p.str(&run.version, nil)
			case "rules":
				if p.peek() != '[' {
					return p.skip()
				}
				return p.array(func() error {
					var rule sarifRule
					if p.peek() != '{' {
						run.rules = append(run.rules, rule)
						return p.skip()
					}
					err := p.object(func(key string) error {
						switch key {
						case "id":
							return p.str(&rule.id, nil)
						case "name":
							return p.str(&rule.name, nil)
						case "helpUri":
							return p.str(&rule.helpURI, nil)
						case "shortDescription":
							return p.text(&rule.title)
						case "properties":
							var props struct {
								Tags             []string `json:"tags"`
								SecuritySeverity any      `json:"security-severity"`
								CVSSv3Score      float64  `json:"cvssv3_baseScore"`
								CVSSv3Vector     string   `json:"cvssv3_vector"`
							}
							if err := p.decode(&props); err != nil {
								return err
							}
							rule.tags = props.Tags
							rule.securitySeverity = fmt.Sprint(props.SecuritySeverity)
							rule.cvssScore, rule.cvssVector = props.CVSSv3Score, props.CVSSv3Vector
							return nil
						}
						return p.skip()
					})
					run.rules = append(run.rules, rule)
					return err
				})
			}
			return p.skip()
		})
	})
}

// text reads a SARIF message object's text.
func (p *parser) text(s *string) error {
	if p.peek() != '{' {
		return p.skip()
	}
	return p.object(func(key string) error {
		if key == "text" {
			return p.str(s, nil)
		}
		return p.skip()
	})
}

func (p *parser) sarifResults(run *sarifRun) error {
	start := p.ws()
	if p.literal("null") {
		return nil
	}
	if p.peek() != '[' {
		return p.errorAt(p.point(start), "runs[].results must be an array")
	}
	return p.array(func() error {
		rstart := p.ws()
		if p.peek() != '{' {
			return p.errorAt(p.point(rstart), "each of runs[].results must be an object")
		}
		if len(run.results) >= MaxVulnerabilities {
			return p.errorAt(p.point(rstart), fmt.Sprintf("the report lists more than %d results", MaxVulnerabilities))
		}
		res := sarifResult{ruleIndex: -1}
		err := p.object(func(key string) error {
			switch key {
			case "ruleId":
				return p.str(&res.ruleID, nil)
			case "ruleIndex":
				var f float64 = -1
				if err := p.number(&f); err != nil {
					return err
				}
				res.ruleIndex = int(f)
				return nil
			case "level":
				return p.str(&res.level, nil)
			case "message":
				return p.text(&res.message)
			case "locations":
				var locs []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
					} `json:"physicalLocation"`
				}
				if err := p.decode(&locs); err != nil {
					return err
				}
				if len(locs) > 0 {
					res.uri = locs[0].PhysicalLocation.ArtifactLocation.URI
				}
				return nil
			}
			return p.skip()
		})
		if err != nil {
			return err
		}
		res.loc = p.span(rstart, p.pos-1)
		run.results = append(run.results, res)
		return nil
	})
}

// sarifReport turns the runs read into vulnerabilities and results. A log
// that no Trivy wrote is not a Trivy report.
func (p *parser) sarifReport(r *report) error {
	for _, run := range r.sarifRuns {
		if !strings.EqualFold(run.driver, "Trivy") && !strings.HasPrefix(run.fullName, "Trivy") {
			tool := run.driver
			if tool == "" {
				tool = "an unnamed tool"
			}
			return p.errorAt(r.reportLoc, fmt.Sprintf("not a Trivy report: a SARIF log of %s, not of Trivy", tool))
		}
		if r.scannerVersion == "" {
			r.scannerURI, r.scannerVersion = "https://github.com/aquasecurity/trivy", run.version
		}
		byID := make(map[string]int, len(run.rules))
		for i, rule := range run.rules {
			if _, dup := byID[rule.id]; !dup {
				byID[rule.id] = i
			}
		}
		targets := map[string]bool{}
		for _, res := range run.results {
			var rule sarifRule
			if i, ok := byID[res.ruleID]; ok {
				rule = run.rules[i]
			} else if res.ruleIndex >= 0 && res.ruleIndex < len(run.rules) {
				rule = run.rules[res.ruleIndex]
			}
			fields := messageFields(res.message)
			if !isVulnerability(rule, fields) {
				continue
			}
			if len(r.vulns) >= MaxVulnerabilities {
				return p.errorAt(res.loc, fmt.Sprintf("the report lists more than %d vulnerabilities", MaxVulnerabilities))
			}
			id := res.ruleID
			if id == "" {
				id = rule.id
			}
			v := vuln{
				VulnerabilityID:  id,
				PkgName:          fields["Package"],
				InstalledVersion: fields["Installed Version"],
				FixedVersion:     fields["Fixed Version"],
				Severity:         sarifSeverity(rule, fields["Severity"], res.level),
				Title:            rule.title,
				PrimaryURL:       rule.helpURI,
			}
			if v.FixedVersion != "" {
				v.Status = "fixed"
			}
			if rule.cvssScore > 0 {
				v.CVSS = []sourceScore{{"sarif", cvssScore{V3Score: rule.cvssScore, V3Vector: rule.cvssVector}}}
			}
			class := sarifClass(rule.name)
			val := v.vulnerability(res.loc)
			val.Target, val.Class = res.uri, class
			r.vulns = append(r.vulns, val)
			if key := res.uri + "\x00" + class; !targets[key] {
				targets[key] = true
				r.results = append(r.results, map[string]any{"target": res.uri, "class": class, "type": "", "location": res.loc.Value()})
			}
		}
	}
	return nil
}

// isVulnerability tells a vulnerability result from a misconfiguration,
// secret or license one: by the rule's first tag, else by the message.
func isVulnerability(rule sarifRule, fields map[string]string) bool {
	if len(rule.tags) > 0 {
		return rule.tags[0] == "vulnerability"
	}
	_, ok := fields["Installed Version"]
	return ok
}

// messageFields reads the "Key: value" lines of a Trivy result message;
// "Vulnerability ID" has no colon and is left out.
func messageFields(msg string) map[string]string {
	out := map[string]string{}
	for line := range strings.SplitSeq(msg, "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}

var severities = map[string]bool{"CRITICAL": true, "HIGH": true, "MEDIUM": true, "LOW": true, "UNKNOWN": true}

// sarifSeverity is Trivy's severity of a result: the rule's severity tag,
// else the message's Severity line, else the security-severity score's
// band (GitHub's: 9.0 critical, 7.0 high, 4.0 medium, above 0 low), else
// the level (error as HIGH: SARIF's level does not tell CRITICAL from it).
func sarifSeverity(rule sarifRule, fromMessage, level string) string {
	for _, t := range rule.tags {
		if severities[t] {
			return t
		}
	}
	if s := strings.ToUpper(fromMessage); severities[s] {
		return s
	}
	if f, err := strconv.ParseFloat(rule.securitySeverity, 64); err == nil {
		switch {
		case f >= 9:
			return "CRITICAL"
		case f >= 7:
			return "HIGH"
		case f >= 4:
			return "MEDIUM"
		case f > 0:
			return "LOW"
		}
	}
	switch level {
	case "error":
		return "HIGH"
	case "warning":
		return "MEDIUM"
	case "note":
		return "LOW"
	}
	return "UNKNOWN"
}

// sarifClass is the Trivy result class a SARIF rule name stands for.
func sarifClass(name string) string {
	switch name {
	case "OsPackageVulnerability":
		return "os-pkgs"
	case "LanguageSpecificPackageVulnerability":
		return "lang-pkgs"
	}
	return ""
}

// sniffSARIF reports whether head starts a SARIF log that Trivy wrote: its
// driver's fullName (written by the SARIF writer and by the older
// contrib/sarif.tpl template alike) comes before the rules. A driver
// name alone would be too weak a sign: "Trivy" may be any rule's name.
func sniffSARIF(head []byte) bool {
	return bytes.Contains(head, []byte(`"runs"`)) && bytes.Contains(head, []byte(`"Trivy Vulnerability Scanner"`))
}
