package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// xmlNode is a parsed element: enough of XML to check a document against
// the structure a schema documents.
type xmlNode struct {
	Name     string
	Attrs    map[string]string
	Children []*xmlNode
	Text     string
}

func parseXML(t *testing.T, data []byte) *xmlNode {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []*xmlNode
	var root *xmlNode
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &xmlNode{Name: tok.Name.Local, Attrs: map[string]string{}}
			if tok.Name.Space != "" {
				t.Errorf("element %s in namespace %q", tok.Name.Local, tok.Name.Space)
			}
			for _, a := range tok.Attr {
				n.Attrs[a.Name.Local] = a.Value
			}
			if len(stack) == 0 {
				if root != nil {
					t.Fatal("more than one root element")
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(tok)
			}
		}
	}
	if root == nil {
		t.Fatal("no root element")
	}
	return root
}

var (
	junitTimestampPattern = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$`)
	xsDecimal             = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$`)
)

// checkJUnit fails unless doc follows the Apache Ant JUnit XML schema
// (JUnit.xsd as published by Windy Road, Apache License 2.0), the
// strictest JUnit dialect, element by element: the attributes each element
// must and may have with their types, the children in their order and
// number, and the counts of each suite agreeing with its test cases.
func checkJUnit(t *testing.T, data []byte) *xmlNode {
	t.Helper()
	root := parseXML(t, data)
	if root.Name != "testsuites" {
		t.Fatalf("root element %s, want testsuites", root.Name)
	}
	attrs := func(n *xmlNode, required, optional string) {
		t.Helper()
		allowed := map[string]bool{}
		for _, a := range strings.Fields(required) {
			allowed[a] = true
			if _, ok := n.Attrs[a]; !ok {
				t.Errorf("<%s> lacks the required attribute %s", n.Name, a)
			}
		}
		for _, a := range strings.Fields(optional) {
			allowed[a] = true
		}
		for a := range n.Attrs {
			if !allowed[a] {
				t.Errorf("<%s> has the undeclared attribute %s", n.Name, a)
			}
		}
	}
	integer := func(n *xmlNode, a string) int {
		t.Helper()
		v, err := strconv.Atoi(n.Attrs[a])
		if err != nil {
			t.Errorf("<%s %s=%q>: not an xs:int", n.Name, a, n.Attrs[a])
		}
		return v
	}
	attrs(root, "", "")
	for i, s := range root.Children {
		if s.Name != "testsuite" {
			t.Errorf("<testsuites> holds <%s>", s.Name)
			continue
		}
		attrs(s, "name package id timestamp hostname tests failures errors time", "skipped")
		if strings.TrimSpace(s.Attrs["name"]) == "" || strings.TrimSpace(s.Attrs["hostname"]) == "" {
			t.Errorf("testsuite %d: empty name or hostname", i)
		}
		if integer(s, "id") != i {
			t.Errorf("testsuite %d has id %s", i, s.Attrs["id"])
		}
		if !junitTimestampPattern.MatchString(s.Attrs["timestamp"]) {
			t.Errorf("testsuite %d: timestamp %q", i, s.Attrs["timestamp"])
		}
		if !xsDecimal.MatchString(s.Attrs["time"]) {
			t.Errorf("testsuite %d: time %q", i, s.Attrs["time"])
		}
		// properties, testcase*, system-out, system-err.
		var names []string
		for _, c := range s.Children {
			names = append(names, c.Name)
		}
		seq := strings.Join(names, " ")
		if !regexp.MustCompile(`^properties( testcase)* system-out system-err$`).MatchString(seq) {
			t.Errorf("testsuite %d: children %q, want properties, testcase*, system-out, system-err", i, seq)
		}
		var tests, failures, errs, skipped int
		for _, c := range s.Children {
			switch c.Name {
			case "properties":
				attrs(c, "", "")
				for _, p := range c.Children {
					if p.Name != "property" {
						t.Errorf("<properties> holds <%s>", p.Name)
					}
					attrs(p, "name value", "")
				}
			case "system-out", "system-err":
				if len(c.Children) > 0 {
					t.Errorf("<%s> holds elements", c.Name)
				}
			case "testcase":
				tests++
				attrs(c, "name classname time", "")
				if !xsDecimal.MatchString(c.Attrs["time"]) {
					t.Errorf("testcase time %q", c.Attrs["time"])
				}
				if len(c.Children) > 1 {
					t.Errorf("testcase %q has %d results, the schema allows one", c.Attrs["name"], len(c.Children))
				}
				for _, r := range c.Children {
					switch r.Name {
					case "failure", "error":
						attrs(r, "type", "message")
						if len(r.Children) > 0 {
							t.Errorf("<%s> holds elements", r.Name)
						}
						if r.Name == "failure" {
							failures++
						} else {
							errs++
						}
					case "skipped":
						skipped++
					default:
						t.Errorf("testcase holds <%s>", r.Name)
					}
				}
			}
		}
		if integer(s, "tests") != tests || integer(s, "failures") != failures || integer(s, "errors") != errs {
			t.Errorf("testsuite %d counts tests=%s failures=%s errors=%s, has %d, %d, %d", i, s.Attrs["tests"], s.Attrs["failures"], s.Attrs["errors"], tests, failures, errs)
		}
		if v, ok := s.Attrs["skipped"]; ok && v != strconv.Itoa(skipped) {
			t.Errorf("testsuite %d counts skipped=%s, has %d", i, v, skipped)
		}
	}
	return root
}

func TestJUnit(t *testing.T) {
	t.Parallel()
	r := testReport()
	r.Time = time.Date(2026, 3, 1, 12, 30, 0, 0, time.FixedZone("CET", 3600))
	var buf bytes.Buffer
	if err := formatJUnit(&buf, r); err != nil {
		t.Fatal(err)
	}
	root := checkJUnit(t, buf.Bytes())
	validateJUnitXSD(t, "report", buf.Bytes())
	suites := map[string]*xmlNode{}
	for _, s := range root.Children {
		suites[s.Attrs["name"]] = s
		if s.Attrs["timestamp"] != "2026-03-01T11:30:00" {
			t.Errorf("timestamp %q, want UTC", s.Attrs["timestamp"])
		}
	}
	// Every file with a source or a finding is a suite, in path order.
	if len(root.Children) != 3 || root.Children[0].Attrs["name"] != ".github/workflows/ci.yml" {
		t.Fatalf("suites: %s", buf.String())
	}
	df := suites["Dockerfile"]
	cases := map[string]*xmlNode{}
	for _, c := range df.Children {
		if c.Name == "testcase" {
			cases[strings.SplitN(c.Attrs["name"], ":", 2)[0]] = c
		}
	}
	// DWF101 and DWF102 are suppressed in Dockerfile: skipped, not failed.
	for _, id := range []string{"DWF101", "DWF102"} {
		if c := cases[id]; c == nil || len(c.Children) != 1 || c.Children[0].Name != "skipped" {
			t.Errorf("%s on Dockerfile is not skipped: %+v", id, c)
		}
	}
	if c := cases["DWF401"]; c == nil || c.Children[0].Name != "failure" || c.Children[0].Attrs["type"] != "error" ||
		!strings.Contains(c.Children[0].Text, "Dockerfile:1:1: error DWF401 The image has 2 fixable critical vulnerabilities") {
		t.Errorf("DWF401 on Dockerfile: %+v", c)
	}
	if c := cases["DWF401"]; c != nil && c.Attrs["name"] != "DWF401: Images must not have critical vulnerabilities" {
		t.Errorf("test case name %q", c.Attrs["name"])
	}

	// No findings: one passing test case per file.
	buf.Reset()
	if err := formatJUnit(&buf, &Report{Tool: testTool, Rules: testRules, Sources: map[string][]byte{"Dockerfile": nil}, FilesChecked: 1}); err != nil {
		t.Fatal(err)
	}
	root = checkJUnit(t, buf.Bytes())
	if len(root.Children) != 1 || root.Children[0].Attrs["tests"] != "1" || root.Children[0].Attrs["failures"] != "0" {
		t.Errorf("a clean file:\n%s", buf.String())
	}
}

// TestJUnitGoldenIsValid: the CLI's golden follows the schema too.
func TestJUnitGoldenIsValid(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "golden", "demo.junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	checkJUnit(t, raw)
}

// validateJUnitXSD validates a JUnit report against the schema in
// testdata/schemas/junit.xsd with libxml2's xmllint (installed by
// scripts/install-test-tools.sh; CI fails without it, a local run skips).
func validateJUnitXSD(t *testing.T, name string, data []byte) {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("xmllint is not installed; scripts/install-test-tools.sh installs it (libxml2-utils)")
		}
		t.Skip("xmllint is not installed (apt-get install libxml2-utils)")
	}
	f := filepath.Join(t.TempDir(), name+".xml")
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("..", "..", "testdata", "schemas", "junit.xsd"), f).CombinedOutput()
	if err != nil {
		t.Errorf("%s does not validate against the JUnit schema: %v\n%s", name, err, out)
	}
}

// TestJUnitGoldenAgainstXSD: the demo's JUnit golden follows the schema.
func TestJUnitGoldenAgainstXSD(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "golden", "demo.junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	validateJUnitXSD(t, "demo.junit", data)
}
