// Package sarifvalidate checks SARIF files in tests with Microsoft's SARIF
// multitool, the validator GitHub's own documentation points to, including
// the GHxxxx rules that describe what GitHub code scanning ingests.
//
// Install the multitool with scripts/install-test-tools.sh. Tests that call
// Validate are skipped when it is missing, except when the CI environment
// variable is set: then they fail, so CI cannot pass without validating.
package sarifvalidate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	// EnvBinary names the environment variable that overrides the path of
	// the Sarif.Multitool binary.
	EnvBinary = "SARIF_MULTITOOL"
	// InstallCommand installs the multitool where Binary looks for it.
	InstallCommand = "scripts/install-test-tools.sh"
	// repoBinary is where InstallCommand puts the binary, from the repo root.
	repoBinary = ".tools/npm/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
	// timeout bounds one run of the multitool (it takes about a second).
	timeout = 2 * time.Minute
)

// ErrNotInstalled is returned by Binary when no multitool is found.
var ErrNotInstalled = errors.New("SARIF multitool not installed")

// Problem is one reason a SARIF file is not acceptable.
type Problem struct {
	RuleID  string // e.g. JSON1001, SARIF1002, GH1003
	Level   string // error or warning
	Message string
	// Line and Column locate the problem in the validated file; 0 if unknown.
	Line, Column int
}

func (p Problem) String() string {
	return fmt.Sprintf("%d:%d: %s %s: %s", p.Line, p.Column, p.Level, p.RuleID, p.Message)
}

// Validate fails t with every problem Check finds in the SARIF file at
// sarifPath. It skips t when the multitool is not installed, unless the CI
// environment variable is set.
func Validate(t testing.TB, sarifPath string) {
	t.Helper()
	bin, err := Binary()
	if errors.Is(err, ErrNotInstalled) && os.Getenv("CI") == "" {
		t.Skipf("%v; install it with %s (or set %s)", err, InstallCommand, EnvBinary)
	}
	if err != nil {
		t.Fatalf("validating %s: %v", sarifPath, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	problems, err := Check(ctx, bin, sarifPath, t.TempDir())
	if err != nil {
		t.Fatalf("validating %s: %v", sarifPath, err)
	}
	for _, p := range problems {
		t.Errorf("%s:%s", sarifPath, p)
	}
}

// Binary returns the path of the Sarif.Multitool binary: $SARIF_MULTITOOL if
// set, else the one scripts/install-test-tools.sh installs in the repository.
func Binary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s: %w", EnvBinary, err)
		}
		return p, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, filepath.FromSlash(repoBinary))
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w: %s", ErrNotInstalled, p)
	}
	return p, nil
}

// repoRoot is the nearest directory at or above the working directory that
// holds a go.mod (tests run in their package's directory).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("finding repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Check runs the multitool binary on sarifPath, using workDir (which must
// exist) for its output, and returns the problems found:
//
//   - every result of level "error": schema violations (JSON*), SARIF rules
//     (SARIF1xxx) and GitHub's ingestion rules (GHxxxx);
//   - every GHxxxx result of level "warning" too: those rules describe what
//     GitHub code scanning rejects or silently drops, so for us they are as
//     fatal as errors;
//   - tool errors reported in the output's invocations;
//   - the GitHub requirements the multitool does not check (see
//     githubProblems).
//
// SARIFxxxx warnings (and all notes) are advice on optional content, such as
// snippets, help URIs or PascalCase rule names, and are accepted.
//
// GH1001 to GH1007 (missing region, absolute URIs, message without text...)
// are off by default in the multitool; Check turns every GH rule on as an
// error with a configuration file. An error means the validation could not
// run.
func Check(ctx context.Context, binary, sarifPath, workDir string) ([]Problem, error) {
	data, err := os.ReadFile(sarifPath)
	if err != nil {
		return nil, fmt.Errorf("reading sarif: %w", err)
	}
	abs, err := filepath.Abs(sarifPath)
	if err != nil {
		return nil, fmt.Errorf("reading sarif: %w", err)
	}
	config := filepath.Join(workDir, "sarifvalidate.config.xml")
	if err := os.WriteFile(config, ghRulesConfig(), 0o644); err != nil {
		return nil, fmt.Errorf("writing multitool config: %w", err)
	}
	out := filepath.Join(workDir, "sarifvalidate.out.sarif")
	if err := os.Remove(out); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("removing old multitool output: %w", err) // never read a stale verdict
	}
	cmd := exec.CommandContext(ctx, binary, "validate", abs,
		"--output", out,
		"--rule-kind", "Sarif;Gh",
		"--level", "Error;Warning",
		"--config", config,
		"--quiet")
	cmd.Dir = workDir
	// The multitool is a .NET program: without ICU installed it aborts
	// unless globalization runs in invariant mode, which validation does
	// not need.
	cmd.Env = append(os.Environ(), "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1", "DOTNET_CLI_TELEMETRY_OPTOUT=1")
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	// The exit code says nothing about the verdict (it is 0 when the file
	// is invalid); the output log does. It is non-zero when the tool itself
	// failed, and then there is no output log.
	runErr := cmd.Run()
	verdict, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("running %s: %v: no output log: %w\n%s", binary, runErr, err, output.Bytes())
	}
	problems, err := parseVerdict(verdict)
	if err != nil {
		return nil, fmt.Errorf("reading multitool output: %w\n%s", err, output.Bytes())
	}
	return append(problems, githubProblems(data)...), nil
}

// ghRules are the GitHub rules of multitool 5.7.0. The GHAzDO rules are for
// Azure DevOps and stay off.
var ghRules = []string{
	"GH1001.ProvideRequiredLocationProperties",
	"GH1002.InlineThreadFlowLocations",
	"GH1003.ProvideRequiredRegionProperties",
	"GH1004.ReviewArraysThatExceedConfigurableDefaults",
	"GH1005.LocationsMustBeRelativeUrisOrFilePaths",
	"GH1006.ProvideCheckoutPath",
	"GH1007.ProvideFullyFormattedMessageStrings",
	"GH1011.GhasReferenceFinalSchema",
	"GH1013.GhProvideRequiredSarifLogProperties",
	"GH1014.GhasProvideRequiredRunProperties",
	"GH1015.GhasProvideRequiredResultProperties",
	"GH1016.GhasProvideRequiredLocationProperties",
	"GH1017.GhasProvideRequiredPhysicalLocationProperties",
	"GH1018.GhasProvideToolDriver",
	"GH2012.GhasProvideRequiredReportingDescriptorProperties",
}

// ghRulesConfig is a multitool configuration that turns on every GitHub
// rule as an error.
func ghRulesConfig() []byte {
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Properties>\n")
	for _, r := range ghRules {
		fmt.Fprintf(&b, "  <Properties Key=%q>\n", r+".Options")
		b.WriteString("    <Property Key=\"RuleEnabled\" Value=\"Error\" Type=\"Driver.RuleEnabledState\" />\n  </Properties>\n")
	}
	b.WriteString("</Properties>\n")
	return []byte(b.String())
}

// The parts of the multitool's output log that carry its verdict.
type outLog struct {
	Runs []struct {
		Tool struct {
			Driver struct {
				Rules []outRule `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Invocations []struct {
			ExecutionSuccessful            *bool       `json:"executionSuccessful"`
			ToolExecutionNotifications     []outResult `json:"toolExecutionNotifications"`
			ToolConfigurationNotifications []outResult `json:"toolConfigurationNotifications"`
		} `json:"invocations"`
		Results []outResult `json:"results"`
	} `json:"runs"`
}

type outRule struct {
	ID                   string `json:"id"`
	DefaultConfiguration *struct {
		Level string `json:"level"`
	} `json:"defaultConfiguration"`
	MessageStrings map[string]struct {
		Text string `json:"text"`
	} `json:"messageStrings"`
}

type outResult struct {
	RuleID    string `json:"ruleId"`
	RuleIndex *int   `json:"ruleIndex"`
	Level     string `json:"level"`
	Message   struct {
		Text      string   `json:"text"`
		ID        string   `json:"id"`
		Arguments []string `json:"arguments"`
	} `json:"message"`
	Locations []struct {
		PhysicalLocation struct {
			Region struct {
				StartLine   int `json:"startLine"`
				StartColumn int `json:"startColumn"`
			} `json:"region"`
		} `json:"physicalLocation"`
	} `json:"locations"`
	// Notifications name their rule here instead of in ruleId.
	Descriptor struct {
		ID string `json:"id"`
	} `json:"descriptor"`
}

// parseVerdict returns the problems recorded in the multitool's output log.
func parseVerdict(data []byte) ([]Problem, error) {
	var log outLog
	if err := json.Unmarshal(data, &log); err != nil {
		return nil, err
	}
	if len(log.Runs) == 0 {
		return nil, errors.New("no run in output log")
	}
	var problems []Problem
	for _, run := range log.Runs {
		rules := run.Tool.Driver.Rules
		for _, inv := range run.Invocations {
			// A notification is the tool speaking about its own run, such as
			// a file it could not read or skipped: errors and warnings there
			// mean the file was not (fully) validated.
			for _, n := range append(inv.ToolExecutionNotifications, inv.ToolConfigurationNotifications...) {
				if p := toProblem(n, nil); p.Level == "error" || p.Level == "warning" {
					if p.RuleID == "" {
						p.RuleID = "tool"
					}
					problems = append(problems, p)
				}
			}
			if inv.ExecutionSuccessful != nil && !*inv.ExecutionSuccessful && len(problems) == 0 {
				problems = append(problems, Problem{RuleID: "tool", Level: "error", Message: "the multitool reports an unsuccessful execution"})
			}
		}
		for _, r := range run.Results {
			p := toProblem(r, rules)
			if p.Level == "error" || (p.Level == "warning" && strings.HasPrefix(p.RuleID, "GH")) {
				problems = append(problems, p)
			}
		}
	}
	return problems, nil
}

// toProblem resolves a result's effective level (its own, else its rule's
// default, else "warning" as SARIF says) and its message text.
func toProblem(r outResult, rules []outRule) Problem {
	id := r.RuleID
	if id == "" {
		id = r.Descriptor.ID
	}
	var rule *outRule
	if r.RuleIndex != nil && *r.RuleIndex >= 0 && *r.RuleIndex < len(rules) {
		rule = &rules[*r.RuleIndex]
	} else {
		for i := range rules {
			if rules[i].ID == id {
				rule = &rules[i]
				break
			}
		}
	}
	level := r.Level
	if level == "" && rule != nil && rule.DefaultConfiguration != nil {
		level = rule.DefaultConfiguration.Level
	}
	if level == "" {
		level = "warning"
	}
	text := r.Message.Text
	if text == "" && rule != nil {
		text = rule.MessageStrings[r.Message.ID].Text
	}
	if text == "" {
		text = r.Message.ID
	}
	p := Problem{RuleID: id, Level: level, Message: formatMessage(text, r.Message.Arguments)}
	if len(r.Locations) > 0 {
		p.Line = r.Locations[0].PhysicalLocation.Region.StartLine
		p.Column = r.Locations[0].PhysicalLocation.Region.StartColumn
	}
	return p
}

// formatMessage fills a SARIF message string: {n} is argument n, and {{
// and }} are literal braces.
func formatMessage(text string, args []string) string {
	var sb strings.Builder
	for i := 0; i < len(text); i++ {
		c := text[i]
		if (c == '{' || c == '}') && i+1 < len(text) && text[i+1] == c {
			sb.WriteByte(c)
			i++
			continue
		}
		if c == '{' {
			if end := strings.IndexByte(text[i:], '}'); end > 0 {
				if n, err := strconv.Atoi(text[i+1 : i+end]); err == nil && n >= 0 && n < len(args) {
					sb.WriteString(args[n])
					i += end
					continue
				}
			}
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

// githubProblems checks what GitHub code scanning requires and the
// multitool 5.7.0 does not check: a rule's properties.security-severity
// must be a string holding a number from 0.0 to 10.0 (GitHub ignores other
// values, and the alert loses its severity), and properties.tags must be an
// array of strings. It reads the file leniently: the multitool reports
// malformed JSON.
func githubProblems(data []byte) []Problem {
	var log struct {
		Runs []struct {
			Tool struct {
				Driver     descriptorsHolder   `json:"driver"`
				Extensions []descriptorsHolder `json:"extensions"`
			} `json:"tool"`
		} `json:"runs"`
	}
	if json.Unmarshal(data, &log) != nil {
		return nil
	}
	var problems []Problem
	for ri, run := range log.Runs {
		components := append([]descriptorsHolder{run.Tool.Driver}, run.Tool.Extensions...)
		for ci, c := range components {
			for i, rule := range c.Rules {
				where := fmt.Sprintf("runs[%d].tool.driver.rules[%d]", ri, i)
				if ci > 0 {
					where = fmt.Sprintf("runs[%d].tool.extensions[%d].rules[%d]", ri, ci-1, i)
				}
				problems = append(problems, checkRuleProperties(where, rule.Properties)...)
			}
		}
	}
	return problems
}

type descriptorsHolder struct {
	Rules []struct {
		Properties map[string]json.RawMessage `json:"properties"`
	} `json:"rules"`
}

func checkRuleProperties(where string, props map[string]json.RawMessage) []Problem {
	var problems []Problem
	bad := func(format string, args ...any) {
		problems = append(problems, Problem{RuleID: "GitHub", Level: "error", Message: where + ".properties: " + fmt.Sprintf(format, args...)})
	}
	if raw, ok := props["security-severity"]; ok {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			bad("security-severity must be a string such as \"8.0\", not %s", raw)
		} else if f, err := strconv.ParseFloat(s, 64); err != nil || f < 0 || f > 10 {
			bad("security-severity %q is not a number from 0.0 to 10.0", s)
		}
	}
	if raw, ok := props["tags"]; ok {
		var tags []string
		if err := json.Unmarshal(raw, &tags); err != nil {
			bad("tags must be an array of strings, not %s", raw)
		}
	}
	return problems
}
