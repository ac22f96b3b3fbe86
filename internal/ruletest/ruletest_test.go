package ruletest

// One harness runs the rule fixtures of every input kind. The fixtures under
// testdata/rules/<RULEID>/ are written from the rule contract (the rule's
// description in docs/rules.md), not from the Rego, so they check the rules
// on cases the rules were not written from. A fixture is one of:
//
//	<case>.<ext>          a file of any kind the input table detects
//	                      (<case>.Dockerfile, <case>.yml, ...), checked as
//	                      `dwf-policy check <file>` would check it
//	<case>/               a repository: its files laid out as in a real one
//	                      (<case>/.github/workflows/ci.yml), checked as
//	                      `dwf-policy check .` from its root; the header is
//	                      the file <case>/want, which is not checked
//	<case>.image.yaml     an image, declared as an imagetest.Spec (platforms,
//	                      user, entrypoint, cmd, files such as /etc/passwd,
//	                      layer compression; unset fields are a compliant
//	                      image), written as an OCI layout and checked as
//	                      `dwf-policy image oci-layout:DIR` would check it
//
// The header is every leading line that is blank or a comment (so parser
// directives such as `# escape=` may come first):
//
//	# want: DWF101 12:1          a finding at line 12, column 1 of the file
//	# want: DWF206 PATH 2:1      in a repository: at PATH (slash-separated,
//	                             relative to its root), line 2, column 1
//	# want: DWF301 linux/arm64   an image finding about that platform
//	# want: DWF304               a finding about the whole input (an image's
//	                             index), with no line and no platform
//	# want: none                 no finding of the directory's rule
//	# target: STAGE              check with --target STAGE
//	# platform: OS/ARCH          check an image with --platform OS/ARCH
//	# root: NAME                 check a file inside the repository
//	                             testdata/rules/roots/NAME (default `repo`),
//	                             whose files (a trivy.yaml) a workflow reads;
//	                             an image is checked there too, and only
//	                             roots named config-* may hold a
//	                             .dwf-policy.yaml (config-require-report:
//	                             vulnerabilities.require_report)
//
// An image spec's trivy_report (a Trivy report with ${DIGEST}-style
// placeholders for the image's digests) is written beside the layout and
// judged with the image, as `dwf-policy image --trivy-report FILE`; the
// findings in the report are written by line and column like a file's.
//
// Only findings of the directory's rule are compared; other rules may fire.
// Image findings have no line: they are written by the platform their
// subject names, or by nothing for the index as a whole.
//
// Every check runs with the clock at fixtureNow (2026-06-01T00:00:00Z).
//
// How a fixture is checked: each file is copied into a temporary repository
// (a directory with .git) that holds its root's files, at <RULEID>/<file>,
// and each image is written there as an OCI layout at <RULEID>/<case>; a
// repository fixture is copied into a repository of its own. A policy set is
// opened once per repository (policyset.Open with that WorkDir) and the
// fixtures are checked with check.Checker.Files and .Images, the calls
// `dwf-policy check` and `dwf-policy image` make, so the kind of a file is
// detected by engine/input's table as for users. TestCLIAgreesWithEngine
// runs the real CLI in-process (cli.Command.Main, --format json) once per
// repository, command and option set over all its fixtures and requires
// every finding, of every rule, to be identical.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/engine/policyset"
	"github.com/devflow/dwf-policy/internal/cli"
	"github.com/devflow/dwf-policy/internal/imagetest"
)

// fixtureDir is testdata/rules, relative to this package.
const fixtureDir = "../../testdata/rules"

// rootsDir holds the repositories `# root:` names, below fixtureDir.
const rootsDir = "roots"

// defaultRoot is the repository a file is checked in without `# root:`.
const defaultRoot = "repo"

// imageSuffix marks an image fixture.
const imageSuffix = ".image.yaml"

// wantFile is the header of a repository fixture.
const wantFile = "want"

// fixtureNow is the clock of every fixture check, so that a report's age
// (DWF402) is judged against a fixed instant: 2026-06-01T00:00:00Z.
func fixtureNow() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }

// minFixtures is the least number of firing and of non-firing fixtures each
// rule directory must hold, so that coverage cannot silently shrink.
const minFixtures = 10

// ruleDirRE names the rule directories of fixtureDir.
var ruleDirRE = regexp.MustCompile(`^DWF\d{3}$`)

// withoutFixtures are built-in rules that need no fixture directory, and why.
var withoutFixtures = map[string]string{
	"DWF001": "an expired exception needs a configuration and a clock; engine/check and internal/cli test it",
	"DWF002": "unused suppressions are tested with the suppression logic in engine/suppress and internal/cli",
}

// knownBugs are fixtures that fail because of a bug in a parser or a rule,
// keyed by subtest name (<RULE>/<case>). They are reported with t.Log and
// skipped. Remove an entry when the bug is fixed: a known bug whose fixture
// passes fails the test.
var knownBugs = map[string]string{}

// form is how a fixture is checked.
type form int

const (
	fileForm  form = iota // a file, by check.Checker.Files
	repoForm              // a repository directory, by Files of its root
	imageForm             // an image spec, by check.Checker.Images
)

// options are the header keys that become check options.
type options struct {
	Target   string // # target: -> FilesOptions.Target, --target
	Platform string // # platform: -> ImagesOptions.Platforms, --platform
	Root     string // # root: -> the repository a file is checked in
	// Report is the report an image spec carries, written beside its
	// layout: ImagesOptions.TrivyReport, --trivy-report.
	Report string
}

// pos is one finding as the fixtures describe it.
type pos struct {
	Rule     string
	Path     string // "" for the fixture's own file or image
	Line     int    // 0 for a finding without a line
	Column   int
	Platform string // an image finding's platform, when it has no line
}

func (p pos) String() string {
	s := p.Rule
	if p.Path != "" {
		s += " " + p.Path
	}
	switch {
	case p.Line > 0:
		s += fmt.Sprintf(" %d:%d", p.Line, p.Column)
	case p.Platform != "":
		s += " " + p.Platform
	}
	return s
}

func comparePos(a, b pos) int {
	if c := strings.Compare(a.Rule, b.Rule); c != 0 {
		return c
	}
	if c := strings.Compare(a.Path, b.Path); c != 0 {
		return c
	}
	if a.Line != b.Line {
		return a.Line - b.Line
	}
	if a.Column != b.Column {
		return a.Column - b.Column
	}
	return strings.Compare(a.Platform, b.Platform)
}

// fixture is one case under fixtureDir.
type fixture struct {
	Rule string // directory name, e.g. DWF101
	Name string // case name: the file name without its extension
	Base string // file or directory name in the rule directory
	Src  string // absolute path of the file or directory
	Form form
	Opts options
	Want []pos // sorted; empty for `# want: none`
}

func (f fixture) id() string { return f.Rule + "/" + f.Name }

// rel is where the fixture lives in its checking repository.
func (f fixture) rel() string {
	switch f.Form {
	case fileForm:
		return f.Rule + "/" + f.Base
	case imageForm:
		return f.Rule + "/" + f.Name
	}
	return "."
}

// ref is what the fixture is checked as: a path, or an image reference.
func (f fixture) ref() string {
	if f.Form == imageForm {
		return "oci-layout:" + f.rel()
	}
	return f.rel()
}

// space names the repository the fixture is checked in.
func (f fixture) space() string {
	if f.Form == repoForm {
		return "repository " + f.id()
	}
	return "root " + f.Opts.Root
}

var (
	wantRE     = regexp.MustCompile(`^want:\s*(.*?)\s*$`)
	keyRE      = regexp.MustCompile(`^(target|platform|root):\s*(\S+)\s*$`)
	lineColRE  = regexp.MustCompile(`^(\d+):(\d+)$`)
	platformRE = regexp.MustCompile(`^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$`)
)

// parseHeader reads the expectations and options of one fixture. With all
// set, every non-blank line must be a header line (a `want` file).
func parseHeader(rule string, data []byte, all bool) (want []pos, opts options, err error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	none := false
	seen := map[string]bool{}
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(strings.TrimSuffix(sc.Text(), "\r"))
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "#") {
			if all {
				return nil, options{}, fmt.Errorf("line %d: %q is not a header comment", n, line)
			}
			break
		}
		body := strings.TrimSpace(strings.TrimPrefix(line, "#"))
		if m := keyRE.FindStringSubmatch(body); m != nil {
			if seen[m[1]] {
				return nil, options{}, fmt.Errorf("line %d: second `# %s:`", n, m[1])
			}
			seen[m[1]] = true
			switch m[1] {
			case "target":
				opts.Target = m[2]
			case "platform":
				opts.Platform = m[2]
			case "root":
				opts.Root = m[2]
			}
			continue
		}
		if !strings.HasPrefix(body, "want") {
			continue // a comment that explains the case
		}
		m := wantRE.FindStringSubmatch(body)
		if m == nil {
			return nil, options{}, fmt.Errorf("line %d: malformed %q", n, line)
		}
		if m[1] == "none" {
			none = true
			continue
		}
		p, err := parseWant(rule, m[1])
		if err != nil {
			return nil, options{}, fmt.Errorf("line %d: %v", n, err)
		}
		want = append(want, p)
	}
	// A fixture with binary content after its header may not scan to the
	// end; the header has been read by then.
	switch {
	case none && len(want) > 0:
		return nil, options{}, errors.New("both `# want: none` and findings")
	case !none && len(want) == 0:
		return nil, options{}, errors.New("no `# want:` comment")
	}
	slices.SortFunc(want, comparePos)
	return want, opts, nil
}

// parseWant reads `RULE`, `RULE L:C`, `RULE PATH L:C` or `RULE PLATFORM`.
func parseWant(rule, s string) (pos, error) {
	f := strings.Fields(s)
	bad := fmt.Errorf("malformed `# want: %s` (want RULE [[PATH] LINE:COL | PLATFORM] or none)", s)
	if len(f) == 0 || len(f) > 3 || !ruleDirRE.MatchString(f[0]) {
		return pos{}, bad
	}
	if f[0] != rule {
		return pos{}, fmt.Errorf("%s expected in the %s directory", f[0], rule)
	}
	p := pos{Rule: f[0]}
	at := ""
	switch len(f) {
	case 2:
		at = f[1]
	case 3:
		p.Path, at = f[1], f[2]
	}
	switch m := lineColRE.FindStringSubmatch(at); {
	case at == "":
	case m != nil:
		p.Line, _ = strconv.Atoi(m[1])
		p.Column, _ = strconv.Atoi(m[2])
	case p.Path == "" && platformRE.MatchString(at):
		p.Platform = at
	default:
		return pos{}, bad
	}
	return p, nil
}

// loadFixtures reads every fixture of every rule directory.
func loadFixtures(t *testing.T) []fixture {
	t.Helper()
	root, err := filepath.Abs(fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var out []fixture
	ids := map[string]string{}
	for _, d := range dirs {
		if !d.IsDir() || !ruleDirRE.MatchString(d.Name()) {
			continue
		}
		rule := d.Name()
		entries, err := os.ReadDir(filepath.Join(root, rule))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			fx := fixture{Rule: rule, Base: e.Name(), Src: filepath.Join(root, rule, e.Name())}
			header := fx.Src
			switch {
			case e.IsDir():
				fx.Form, fx.Name = repoForm, e.Name()
				header = filepath.Join(fx.Src, wantFile)
			case strings.HasSuffix(e.Name(), imageSuffix):
				fx.Form, fx.Name = imageForm, strings.TrimSuffix(e.Name(), imageSuffix)
			default:
				fx.Form, fx.Name = fileForm, strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))
			}
			data, err := os.ReadFile(header)
			if err != nil {
				t.Fatal(err)
			}
			if fx.Want, fx.Opts, err = parseHeader(rule, data, fx.Form == repoForm); err != nil {
				t.Fatalf("%s: %v", header, err)
			}
			if err := fx.validate(); err != nil {
				t.Fatalf("%s: %v", header, err)
			}
			if fx.Form == imageForm {
				var spec imagetest.Spec
				if err := yaml.Unmarshal(data, &spec); err != nil {
					t.Fatalf("%s: %v", header, err)
				}
				if spec.TrivyReport != "" {
					fx.Opts.Report = fx.rel() + reportSuffix
				}
			}
			if prev, ok := ids[fx.id()]; ok {
				t.Fatalf("%s and %s are both the case %s", prev, fx.Src, fx.id())
			}
			ids[fx.id()] = fx.Src
			out = append(out, fx)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no fixtures in %s", root)
	}
	return out
}

// validate rejects header keys that mean nothing for the fixture's form,
// and fills in the default root.
func (f *fixture) validate() error {
	switch {
	case f.Form == repoForm && f.Opts.Root != "":
		return errors.New("`# root:` in a repository fixture, which is its own root")
	case f.Form == imageForm && f.Opts.Target != "":
		return errors.New("`# target:` is for files, not images")
	case f.Form != imageForm && f.Opts.Platform != "":
		return errors.New("`# platform:` is for images")
	}
	for _, p := range f.Want {
		if (p.Path != "") != (f.Form == repoForm) {
			return fmt.Errorf("`# want: %s`: a path names a file of a repository fixture, and only there", p)
		}
		if p.Platform != "" && f.Form != imageForm {
			return fmt.Errorf("`# want: %s`: a platform is for images", p)
		}
	}
	if f.Form != repoForm && f.Opts.Root == "" {
		f.Opts.Root = defaultRoot
	}
	return nil
}

// workspace is a temporary repository fixtures are checked in, with the
// policy set opened there. A repository fixture's workspace serves one
// fixture: its policy set is opened when it is checked and dropped after,
// so that the compiled policies of a few hundred repositories are not all
// alive at once (the engine's memory budget counts the whole process).
type workspace struct {
	dir     string
	checker *check.Checker // nil: open one per run
}

// suite is every fixture with the repositories they are checked in.
type suite struct {
	fixtures []fixture
	spaces   map[string]*workspace // by fixture.space()
}

// prepare copies every fixture into its repository, writes the images, and
// opens a policy set per repository.
func prepare(t *testing.T) *suite {
	t.Helper()
	s := &suite{fixtures: loadFixtures(t), spaces: map[string]*workspace{}}
	tmp := t.TempDir()
	for _, fx := range s.fixtures {
		ws, ok := s.spaces[fx.space()]
		if !ok {
			ws = &workspace{dir: filepath.Join(tmp, strconv.Itoa(len(s.spaces)))}
			s.spaces[fx.space()] = ws
			if err := os.MkdirAll(filepath.Join(ws.dir, ".git"), 0o755); err != nil {
				t.Fatal(err)
			}
			if fx.Form != repoForm {
				rootDir := filepath.Join(fixtureDir, rootsDir, fx.Opts.Root)
				if err := copyTree(rootDir, ws.dir, nil); err != nil {
					t.Fatalf("%s: `# root: %s`: %v", fx.Src, fx.Opts.Root, err)
				}
			}
		}
		dst := filepath.Join(ws.dir, filepath.FromSlash(fx.rel()))
		switch fx.Form {
		case fileForm:
			if err := copyFile(fx.Src, dst); err != nil {
				t.Fatal(err)
			}
		case repoForm:
			if err := copyTree(fx.Src, ws.dir, func(rel string) bool { return rel == wantFile }); err != nil {
				t.Fatal(err)
			}
		case imageForm:
			if report := writeImage(t, fx.Src, dst); report != "" {
				if err := os.WriteFile(dst+reportSuffix, []byte(report), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for name, ws := range s.spaces {
		if strings.HasPrefix(name, "repository ") {
			continue // opened by run
		}
		ws.checker = openChecker(t, name, ws.dir)
	}
	return s
}

// reportSuffix names the report of an image fixture beside its layout.
const reportSuffix = ".trivy.json"

// writeImage turns the image spec in file into an OCI layout at dir and
// returns its Trivy report, expanded, or "".
func writeImage(t *testing.T, file, dir string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var spec imagetest.Spec
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&spec); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return spec.WriteLayout(t, dir)
}

// copyTree copies the regular files below src into dst, except those whose
// slash-separated path relative to src skip reports.
func copyTree(src, dst string, skip func(rel string) bool) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if skip != nil && skip(filepath.ToSlash(rel)) {
			return nil
		}
		return copyFile(p, filepath.Join(dst, rel))
	})
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}

// run checks fixtures of one repository, command and option set together,
// as one invocation of the CLI would.
// openChecker opens the policy set of the repository dir, the space name.
func openChecker(t *testing.T, name, dir string) *check.Checker {
	t.Helper()
	set, err := policyset.Open(t.Context(), policyset.Options{WorkDir: dir})
	if err != nil {
		t.Fatalf("opening the policies in %s: %v", name, err)
	}
	if set.Config != nil && !strings.HasPrefix(name, "root config-") {
		t.Fatalf("%s: a configuration was found at %s", name, set.Config.Name)
	}
	return check.New(set, check.Options{Now: fixtureNow})
}

func (ws *workspace) run(t *testing.T, fxs []fixture) *check.Result {
	t.Helper()
	checker := ws.checker
	if checker == nil {
		checker = openChecker(t, fxs[0].space(), ws.dir)
	}
	refs := make([]string, len(fxs))
	for i, fx := range fxs {
		refs[i] = fx.ref()
	}
	o := fxs[0].Opts
	if fxs[0].Form == imageForm {
		var platforms []string
		if o.Platform != "" {
			platforms = []string{o.Platform}
		}
		res, err := checker.Images(t.Context(), refs, check.ImagesOptions{Platforms: platforms, TrivyReport: o.Report})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	return checker.Files(t.Context(), refs, check.FilesOptions{Target: o.Target})
}

// failed reports what could not be checked.
func failed(res *check.Result) error {
	errs := []error{res.Err}
	for _, p := range res.Problems {
		errs = append(errs, p.Err)
	}
	return errors.Join(errs...)
}

// positionOf describes a finding as the fixture fx would.
func positionOf(fx fixture, f finding.Finding) pos {
	p := pos{Rule: f.RuleID, Path: f.Path, Line: f.Location.Line, Column: f.Location.Column}
	if fx.Form != repoForm && (p.Path == fx.ref() || (fx.Opts.Report != "" && p.Path == fx.Opts.Report)) {
		p.Path = ""
	}
	if p.Line == 0 && strings.HasSuffix(f.Subject, ")") {
		if i := strings.LastIndex(f.Subject, " ("); i >= 0 {
			p.Platform = f.Subject[i+2 : len(f.Subject)-1]
		}
	}
	return p
}

func TestRuleFixtures(t *testing.T) {
	s := prepare(t)
	for _, fx := range s.fixtures {
		t.Run(fx.id(), func(t *testing.T) {
			t.Parallel()
			res := s.spaces[fx.space()].run(t, []fixture{fx})
			if err := failed(res); err != nil {
				t.Fatalf("checking %s: %v", fx.ref(), err)
			}
			if res.Checked == 0 || (res.Checked != 1 && fx.Form != repoForm) {
				t.Fatalf("%s: %d inputs checked; is it a kind the input table detects?", fx.ref(), res.Checked)
			}
			got := []pos{}
			var msgs []string
			for _, f := range res.Findings {
				if f.RuleID != fx.Rule {
					continue
				}
				p := positionOf(fx, f)
				got = append(got, p)
				msgs = append(msgs, p.String()+": "+f.Message)
			}
			slices.SortFunc(got, comparePos)
			want := fx.Want
			if want == nil {
				want = []pos{}
			}
			diff := cmp.Diff(want, got)
			reason, known := knownBugs[fx.id()]
			switch {
			case diff == "" && known:
				t.Errorf("%s passes now: remove it from knownBugs (%s)", fx.id(), reason)
			case diff != "" && known:
				t.Logf("known bug: %s\n%s findings (-want +got):\n%s", reason, fx.Rule, diff)
				t.Skip("known bug, listed in knownBugs")
			case diff != "":
				t.Errorf("%s: %s findings mismatch (-want +got):\n%s\nfindings:\n  %s",
					fx.Src, fx.Rule, diff, strings.Join(msgs, "\n  "))
			}
		})
	}
}

// TestFixtureCoverage keeps at least minFixtures firing and minFixtures
// non-firing fixtures in every rule directory, and a directory for every
// built-in rule.
func TestFixtureCoverage(t *testing.T) {
	firing := map[string]int{}
	quiet := map[string]int{}
	ids := map[string]bool{}
	for _, fx := range loadFixtures(t) {
		ids[fx.id()] = true
		if len(fx.Want) > 0 {
			firing[fx.Rule]++
		} else {
			quiet[fx.Rule]++
		}
	}
	for id := range knownBugs {
		if !ids[id] {
			t.Errorf("knownBugs names %s, which is not a fixture", id)
		}
	}
	set, err := policyset.Open(t.Context(), policyset.Options{WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	builtin := map[string]bool{}
	for _, r := range set.Engine.Rules() {
		if !r.Builtin {
			continue
		}
		builtin[r.ID] = true
		_, exempt := withoutFixtures[r.ID]
		if has := firing[r.ID]+quiet[r.ID] > 0; has == exempt {
			t.Errorf("%s: fixtures %v, listed in withoutFixtures %v", r.ID, has, exempt)
		}
	}
	rules := slices.Sorted(func(yield func(string) bool) {
		for r := range firing {
			yield(r)
		}
		for r := range quiet {
			if firing[r] == 0 {
				yield(r)
			}
		}
	})
	for _, rule := range rules {
		t.Logf("%s: %d firing, %d non-firing", rule, firing[rule], quiet[rule])
		if !builtin[rule] {
			t.Errorf("%s: a fixture directory for a rule that is not built in", rule)
		}
		if firing[rule] < minFixtures || quiet[rule] < minFixtures {
			t.Errorf("%s: %d firing and %d non-firing fixtures, want at least %d of each",
				rule, firing[rule], quiet[rule], minFixtures)
		}
	}
}

// cliFinding is what the CLI agreement compares of a finding.
type cliFinding struct {
	Path    string
	Rule    string
	Line    int
	Column  int
	Subject string
	Message string
}

// TestCLIAgreesWithEngine runs the real command line over the fixtures,
// one in-process run per repository, command and option set, and requires
// the same findings (all rules, positions, subjects and messages) as the
// service layer gives TestRuleFixtures.
func TestCLIAgreesWithEngine(t *testing.T) {
	s := prepare(t)
	type group struct {
		space string
		form  form // fileForm and repoForm are both `check`
		opts  options
	}
	groups := map[group][]fixture{}
	for _, fx := range s.fixtures {
		g := group{space: fx.space(), form: fx.Form, opts: fx.Opts}
		if g.form == repoForm {
			g.form = fileForm
		}
		groups[g] = append(groups[g], fx)
	}
	for g, fxs := range groups {
		name := fmt.Sprintf("%s/target=%s/platform=%s", g.space, g.opts.Target, g.opts.Platform)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ws := s.spaces[g.space]
			args := []string{"dwf-policy", "check"}
			if g.form == imageForm {
				args = []string{"dwf-policy", "image", "--no-cache"}
			}
			args = append(args, "--format", "json", "--fail-on", "none")
			if g.opts.Target != "" {
				args = append(args, "--target", g.opts.Target)
			}
			if g.opts.Platform != "" {
				args = append(args, "--platform", g.opts.Platform)
			}
			if g.opts.Report != "" {
				args = append(args, "--trivy-report", g.opts.Report)
			}
			for _, fx := range fxs {
				args = append(args, fx.ref())
			}
			var stdout, stderr bytes.Buffer
			code := cli.Command{Stdout: &stdout, Stderr: &stderr, WorkDir: ws.dir, Now: fixtureNow}.Main(t.Context(), args)
			if code != cli.ExitOK {
				t.Fatalf("%v: exit %d, stderr:\n%s", args[1:], code, stderr.String())
			}
			var rep struct {
				Findings []struct {
					RuleID   string `json:"rule_id"`
					Message  string `json:"message"`
					Path     string `json:"path"`
					Location struct {
						Line   int `json:"line"`
						Column int `json:"column"`
					} `json:"location"`
					Subject string `json:"subject"`
				} `json:"findings"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("decoding --format json: %v\n%s", err, stdout.String())
			}
			got := []cliFinding{}
			for _, f := range rep.Findings {
				got = append(got, cliFinding{Path: f.Path, Rule: f.RuleID, Line: f.Location.Line, Column: f.Location.Column, Subject: f.Subject, Message: f.Message})
			}
			res := ws.run(t, fxs)
			if err := failed(res); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(summarise(res.Findings), got); diff != "" {
				t.Errorf("CLI and service layer disagree (-service +cli):\n%s", diff)
			}
		})
	}
}

func summarise(fs []finding.Finding) []cliFinding {
	out := []cliFinding{}
	for _, f := range fs {
		out = append(out, cliFinding{Path: f.Path, Rule: f.RuleID, Line: f.Location.Line, Column: f.Location.Column, Subject: f.Subject, Message: f.Message})
	}
	return out
}
