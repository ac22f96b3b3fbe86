package config

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/devflow/dwf-policy/engine/finding"
)

// ExpiredExceptionRuleID is the rule reported for an exception whose
// expiry date has passed.
const ExpiredExceptionRuleID = "DWF001"

// UnusedExceptionRuleID is the rule reported for an exception whose paths
// match no file of a run over the whole repository: the rule of unused
// inline suppressions, as both are suppressions that suppress nothing.
const UnusedExceptionRuleID = "DWF002"

// ApplyOptions tunes ApplyExceptions. The zero value is the default.
type ApplyOptions struct {
	// Now is the current time, injectable so tests freeze the clock; zero
	// means time.Now().
	Now time.Time
	// WorkDir is the directory relative finding paths are relative to; ""
	// means the process's working directory.
	WorkDir string
	// ExpiredSeverity is the severity of DWF001 findings (the rule's
	// severity after overrides); SeverityNone reports none.
	ExpiredSeverity finding.Severity
	// CheckedFiles, when not nil, are every file of a run over the whole
	// repository (as findings name them): a live exception whose paths
	// match none of them is reported as unused, with UnusedSeverity. Nil
	// (a run over some files only, or over images) reports none, since
	// the files it covers may simply not be part of the run.
	CheckedFiles []string
	// UnusedSeverity is the severity of unused-exception findings (DWF002
	// after overrides); SeverityNone reports none.
	UnusedSeverity finding.Severity
}

// ApplyExceptions marks every finding a live exception covers as suppressed
// (kind "external", the exception's reason as justification) and returns
// the findings with one DWF001 finding per expired exception appended. An
// expired exception suppresses nothing. Findings are changed in place and
// kept: a suppressed finding still appears in SARIF.
func (cfg *Config) ApplyExceptions(fs []finding.Finding, opts ApplyOptions) []finding.Finding {
	if cfg == nil || len(cfg.Exceptions) == 0 {
		return fs
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	y, m, d := now.UTC().Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	var live []Exception
	for _, ex := range cfg.Exceptions {
		if !ex.Expires.IsZero() && !today.Before(ex.Expires) {
			if opts.ExpiredSeverity != finding.SeverityNone {
				fs = append(fs, cfg.expiredFinding(ex, opts.ExpiredSeverity))
			}
			continue
		}
		live = append(live, ex)
	}
	if len(live) == 0 {
		return fs
	}
	rel := cfg.relativizer(opts.WorkDir)
	if opts.CheckedFiles != nil && opts.UnusedSeverity != finding.SeverityNone {
		for _, ex := range live {
			if !slices.ContainsFunc(opts.CheckedFiles, func(f string) bool { return ex.covers(rel(f)) }) {
				fs = append(fs, cfg.unusedFinding(ex, opts.UnusedSeverity))
			}
		}
	}
	for i := range fs {
		f := &fs[i]
		for _, ex := range live {
			if ex.Rule == f.RuleID && ex.covers(rel(f.Path)) {
				f.Suppressions = append(f.Suppressions, finding.Suppression{Kind: "external", Justification: ex.Reason})
				break
			}
		}
	}
	return fs
}

func (ex Exception) covers(path string) bool {
	for _, p := range ex.Paths {
		if matchGlob(p, path) {
			return true
		}
	}
	return false
}

func (cfg *Config) expiredFinding(ex Exception, sev finding.Severity) finding.Finding {
	return finding.Finding{
		RuleID:   ExpiredExceptionRuleID,
		Severity: sev,
		Message: fmt.Sprintf("the exception for %s in %s expired on %s and no longer suppresses its findings: fix them, or renew the exception with a new date and reason",
			ex.Rule, strings.Join(ex.Paths, ", "), ex.Expires.Format(time.DateOnly)),
		Path:     cfg.Name,
		Location: ex.Location,
	}
}

func (cfg *Config) unusedFinding(ex Exception, sev finding.Severity) finding.Finding {
	return finding.Finding{
		RuleID:   UnusedExceptionRuleID,
		Severity: sev,
		Message: fmt.Sprintf("the exception for %s matches no file checked in this run over the whole repository (paths: %s), so it suppresses nothing: correct its paths, or remove it",
			ex.Rule, strings.Join(ex.Paths, ", ")),
		Path:     cfg.Name,
		Location: ex.Location,
	}
}

// Excluder returns the function input discovery calls with each reported
// path (relative to workDir) to leave it out, or nil when nothing is
// excluded.
func (cfg *Config) Excluder(workDir string) func(path string) bool {
	if cfg == nil || len(cfg.Exclude) == 0 {
		return nil
	}
	rel := cfg.relativizer(workDir)
	return func(p string) bool {
		r := rel(p)
		for _, g := range cfg.Exclude {
			if matchGlob(g, r) {
				return true
			}
		}
		return false
	}
}

// relativizer maps a reported path (relative to workDir, or absolute) to a
// slash-separated path relative to the configuration file's directory,
// which is what the globs are written against.
func (cfg *Config) relativizer(workDir string) func(string) string {
	if workDir == "" {
		workDir, _ = filepath.Abs(".")
	}
	return func(p string) string {
		abs := filepath.FromSlash(p)
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(workDir, abs)
		}
		rel, err := filepath.Rel(cfg.Dir, abs)
		if err != nil {
			return filepath.ToSlash(abs)
		}
		return filepath.ToSlash(rel)
	}
}
