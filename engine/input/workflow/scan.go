package workflow

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/devflow/dwf-policy/engine/analysis/shell"
	"github.com/devflow/dwf-policy/engine/analysis/trivycli"
	"github.com/devflow/dwf-policy/engine/document"
)

// setting is one effective Trivy setting and where its value comes from.
// Trivy's precedence is flag (or action input) > environment > config file >
// default.
type setting struct {
	value    string
	source   string // flag, input, step_env, job_env, workflow_env, script_env, docker_env, config, default
	resolved bool   // the value is known statically
	expr     bool   // the value contains a GitHub ${{ }} expression
	loc      document.Location
}

func (s setting) base() map[string]any {
	return map[string]any{
		"value":      s.value,
		"source":     s.source,
		"resolved":   s.resolved,
		"expression": s.expr,
		"location":   s.loc.Value(),
	}
}

func (s setting) exitCode() map[string]any {
	m := s.base()
	m["code"] = nil
	if s.resolved {
		if n, ok := trivycli.ExitStatus(s.value); ok {
			m["code"] = n
		}
	}
	return m
}

func (s setting) withList() map[string]any {
	m := s.base()
	m["list"] = nil
	if s.source != "default" && s.resolved {
		m["list"] = splitList(s.value)
	}
	return m
}

func splitList(v string) []any {
	items := trivycli.SplitList(v)
	out := make([]any, len(items))
	for i, p := range items {
		out[i] = p
	}
	return out
}

func envSetting(e envVal) *setting {
	return &setting{value: e.value, source: e.source, resolved: e.resolved && !e.expr, expr: e.expr, loc: e.loc}
}

func first(cands ...*setting) setting {
	for _, c := range cands {
		if c != nil {
			return *c
		}
	}
	return setting{}
}

// trivyConfig is a trivy.yaml a scan reads.
type trivyConfig struct {
	path     string
	explicit bool
	status   string // read, not_found, not_read, invalid, error
	errMsg   string
	loc      document.Location
	exitCode *string
	severity *string
	scanners *string
	format   *string
}

func (c *trivyConfig) value() map[string]any {
	str := func(p *string) any {
		if p == nil {
			return nil
		}
		return *p
	}
	return map[string]any{
		"path":      c.path,
		"explicit":  c.explicit,
		"status":    c.status,
		"error":     c.errMsg,
		"exit_code": str(c.exitCode),
		"severity":  str(c.severity),
		"scanners":  str(c.scanners),
		"format":    str(c.format),
		"location":  c.loc.Value(),
	}
}

func (c *trivyConfig) setting(p *string) *setting {
	if c == nil || c.status != "read" || p == nil {
		return nil
	}
	return &setting{value: *p, source: "config", resolved: true, loc: c.loc}
}

var workspaceExpr = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^\$\{\{\s*github\.workspace\s*\}\}`)
})

// configPath resolves a config path against the working directory to a
// repository-relative path; ok is false when it is not known statically or
// points outside the repository, and dirUnknown true when that is because
// it is relative to a working directory not known statically.
func configPath(raw string, resolved bool, dir dirState) (p string, ok, dirUnknown bool) {
	p = workspaceExpr().ReplaceAllString(raw, workspaceSentinel)
	if strings.HasPrefix(p, workspaceSentinel) {
		p = strings.TrimPrefix(strings.TrimPrefix(p, workspaceSentinel), "/")
		dir = dirState{dir: ".", ok: true}
	} else if !resolved {
		return "", false, false
	}
	if strings.Contains(p, "${{") || strings.Contains(p, workspaceSentinel) || path.IsAbs(p) || p == "" {
		return "", false, false
	}
	if !dir.ok {
		return "", false, true
	}
	p = path.Clean(path.Join(dir.dir, p))
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", false, false
	}
	return p, true, false
}

// rootDir is the repository root, where actions run.
var rootDir = dirState{dir: ".", ok: true}

// readConfig reads a trivy.yaml once per Parse. A relative path in a
// working directory not known statically (after `cd "$DIR"`) has the
// status unknown_directory and, as its error, the reason.
func (b *builder) readConfig(raw string, resolved, explicit bool, dir dirState, loc document.Location) *trivyConfig {
	p, ok, dirUnknown := configPath(raw, resolved, dir)
	c := &trivyConfig{path: p, explicit: explicit, loc: loc}
	switch {
	case dirUnknown:
		c.path, c.status, c.errMsg = raw, "unknown_directory", dir.why
		return c
	case !ok:
		c.path, c.status, c.errMsg = raw, "not_read", "the path is not known statically or is outside the repository"
		return c
	}
	if b.opts.ReadFile == nil {
		c.status, c.errMsg = "not_read", "configuration files are not read in this check"
		return c
	}
	if cached, ok := b.configs[p]; ok {
		cp := *cached
		cp.explicit, cp.loc = explicit, loc
		return &cp
	}
	b.configs[p] = c
	data, err := b.opts.ReadFile(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.status = "not_found"
	case err != nil:
		c.status, c.errMsg = "error", err.Error()
	case len(data) > maxConfigBytes:
		c.status, c.errMsg = "invalid", fmt.Sprintf("the file is %d bytes, more than the %d-byte limit", len(data), maxConfigBytes)
	default:
		c.status = "read"
		parsed, err := trivycli.ParseConfig(data)
		if err != nil {
			c.status, c.errMsg = "invalid", err.Error()
		}
		c.exitCode, c.severity, c.scanners, c.format = parsed.ExitCode, parsed.Severity, parsed.Scanners, parsed.Format
	}
	cp := *c
	return &cp
}

// subcommand is the canonical name of a Trivy subcommand, or "".
func subcommand(name string) string {
	c, _ := trivycli.Subcommand(name)
	return c
}

// stepCtx is what a step's scans need from the step.
type stepCtx struct {
	loc    document.Location   // the step's uses:/run: entry
	dir    dirState            // the step's working directory
	env    map[string]envVal   // effective GitHub env (workflow < job < step)
	matrix map[string][]string // the job's matrix values (matrixValues)
}

// matrixRef matches a value that is one `${{ matrix.NAME }}` expression.
var matrixRef = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^\$\{\{\s*matrix\.([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}$`)
})

// matrixSubcommands resolves a subcommand written as `${{ matrix.NAME }}`
// to the canonical subcommands the job's matrix gives it, the values that
// are not scans left out; nil when it is not such a reference or no value
// scans.
func matrixSubcommands(raw string, matrix map[string][]string) []string {
	m := matrixRef().FindStringSubmatch(strings.TrimSpace(raw))
	if m == nil {
		return nil
	}
	var out []string
	for _, v := range matrix[m[1]] {
		if c := subcommand(v); c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// subcommandList is what the document's `subcommands` holds: the
// subcommand when it is known statically, else what a matrix makes it.
func subcommandList(sub, raw string, matrix map[string][]string) []any {
	list := []string{sub}
	if sub == "" {
		list = matrixSubcommands(raw, matrix)
	}
	out := make([]any, 0, len(list))
	for _, s := range list {
		out = append(out, s)
	}
	return out
}

// input is an action input from `with:`.
type input struct {
	name  string
	value string
	expr  bool
	loc   document.Location
	entry document.Location
}

const actionSeverityDefault = "UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL"

// actionScan describes an aquasecurity/trivy-action step. The action passes
// an input to Trivy (as TRIVY_* variables) only when it is non-empty and
// differs from the input's default, so step, job and workflow env apply
// otherwise.
func (b *builder) actionScan(sc stepCtx, with map[string]input, usesRaw string) map[string]any {
	in := func(name string, def string) *setting {
		i, ok := with[name]
		if !ok || i.value == "" || (def != "" && i.value == def) {
			return nil
		}
		return &setting{value: i.value, source: "input", resolved: !i.expr, expr: i.expr, loc: i.loc}
	}
	env := func(name string) *setting {
		if e, ok := sc.env[name]; ok {
			return envSetting(e)
		}
		return nil
	}
	sub, rawSub := "image", "image"
	if st, ok := with["scan-type"]; ok && st.value != "" {
		rawSub, sub = st.value, subcommand(st.value)
	}
	var cfg *trivyConfig
	switch {
	case in("trivy-config", "") != nil:
		s := in("trivy-config", "")
		cfg = b.readConfig(s.value, s.resolved || s.expr, true, rootDir, s.loc)
	case env(trivycli.EnvConfig) != nil:
		s := env(trivycli.EnvConfig)
		cfg = b.readConfig(s.value, s.resolved || s.expr, true, rootDir, s.loc)
	default:
		cfg = b.readConfig(trivycli.DefaultConfigFile, true, false, rootDir, sc.loc)
	}
	def := func(v string) *setting { return &setting{value: v, source: "default", resolved: true, loc: sc.loc} }
	var target any
	for _, k := range []string{"image-ref", "scan-ref", "input"} {
		if i, ok := with[k]; ok && i.value != "" {
			target = i.value
			break
		}
	}
	return map[string]any{
		"tool":             "trivy-action",
		"subcommand":       sub,
		"subcommand_raw":   rawSub,
		"subcommands":      subcommandList(sub, rawSub, sc.matrix),
		"command":          usesRaw,
		"target":           target,
		"exit_code":        first(in("exit-code", ""), env(trivycli.EnvExitCode), cfg.setting(cfg.exitCode), def(trivycli.DefaultExitCode)).exitCode(),
		"severity":         first(in("severity", actionSeverityDefault), env(trivycli.EnvSeverity), cfg.setting(cfg.severity), def("")).withList(),
		"scanners":         first(in("scanners", ""), env(trivycli.EnvScanners), cfg.setting(cfg.scanners), def("")).withList(),
		"format":           first(in("format", "table"), env(trivycli.EnvFormat), cfg.setting(cfg.format), def(trivycli.DefaultFormat)).base(),
		"config":           cfg.value(),
		"propagation":      string(shell.Fails),
		"neutralised":      nil,
		"also_neutralised": []any{},
		"location":         sc.loc.Value(),
	}
}

// dockerActionScan describes a `uses: docker://aquasec/trivy...` step: the
// runner starts the image with the step's `args:` as Trivy's command line,
// in the workspace (so a trivy.yaml at the repository root is read), with
// the step, job and workflow env; the step fails when Trivy exits
// non-zero. The args are split at whitespace, as the runner does for a
// Docker action's args; settings from them are located at the `args:`
// value. Nil when the args are not a scan (`--version`, none at all).
func (b *builder) dockerActionScan(sc stepCtx, with map[string]input, usesRaw string) map[string]any {
	a, ok := with["args"]
	if !ok {
		return nil
	}
	var words []word
	for _, f := range strings.Fields(a.value) {
		expr := strings.Contains(f, "${{")
		words = append(words, word{raw: f, value: f, resolved: !expr, expr: expr})
	}
	inv := parseTrivyArgs(words, sc.matrix)
	if inv == nil {
		return nil
	}
	flag := func(names ...string) *setting {
		var vals []string
		s := &setting{source: "flag", resolved: true, loc: a.loc}
		for _, n := range names {
			for _, fv := range inv.flags[n] {
				if !fv.hasValue || !fv.val.resolved {
					s.resolved = false
				}
				if fv.val.expr {
					s.expr = true
				}
				if fv.hasValue {
					vals = append(vals, fv.val.value)
				}
			}
		}
		if vals == nil && s.resolved {
			return nil
		}
		s.value = strings.Join(vals, ",")
		if s.expr {
			s.resolved = false
		}
		return s
	}
	single := func(name string) *setting {
		occ := inv.flags[name]
		if len(occ) == 0 {
			return nil
		}
		fv := occ[len(occ)-1]
		return &setting{source: "flag", value: fv.val.value, resolved: fv.hasValue && fv.val.resolved && !fv.val.expr, expr: fv.val.expr, loc: a.loc}
	}
	env := func(name string) *setting {
		if e, ok := sc.env[name]; ok {
			return envSetting(e)
		}
		return nil
	}
	var cfg *trivyConfig
	switch {
	case single("config") != nil:
		c := single("config")
		cfg = b.readConfig(c.value, c.resolved || c.expr, true, rootDir, a.loc)
	case env(trivycli.EnvConfig) != nil:
		c := env(trivycli.EnvConfig)
		cfg = b.readConfig(c.value, c.resolved || c.expr, true, rootDir, c.loc)
	default:
		cfg = b.readConfig(trivycli.DefaultConfigFile, true, false, rootDir, sc.loc)
	}
	def := func(v string) *setting { return &setting{value: v, source: "default", resolved: true, loc: sc.loc} }
	var target any
	if inv.target != nil {
		target = inv.target.value
	}
	return map[string]any{
		"tool":             "docker",
		"subcommand":       inv.subcommand,
		"subcommand_raw":   inv.rawSub,
		"subcommands":      subcommandList(inv.subcommand, inv.rawSub, sc.matrix),
		"command":          strings.TrimSpace(usesRaw) + " " + a.value,
		"target":           target,
		"exit_code":        first(single("exit-code"), env(trivycli.EnvExitCode), cfg.setting(cfg.exitCode), def(trivycli.DefaultExitCode)).exitCode(),
		"severity":         first(flag("severity"), env(trivycli.EnvSeverity), cfg.setting(cfg.severity), def("")).withList(),
		"scanners":         first(flag("scanners", "security-checks"), env(trivycli.EnvScanners), cfg.setting(cfg.scanners), def("")).withList(),
		"format":           first(single("format"), env(trivycli.EnvFormat), cfg.setting(cfg.format), def(trivycli.DefaultFormat)).base(),
		"config":           cfg.value(),
		"propagation":      string(shell.Fails),
		"neutralised":      nil,
		"also_neutralised": []any{},
		"location":         sc.loc.Value(),
	}
}

// maxFollowingDrops bounds the re-evaluations that look for what discards a
// failure after the first construct is fixed (pipefail, then -e).
const maxFollowingDrops = 2

// cliScan describes a Trivy call in a run: script.
func (b *builder) cliScan(inv *invocation, sc *script, co *collector, st stepCtx, sh shellInfo, shellLoc document.Location) map[string]any {
	callLoc := co.loc(inv.call.Pos(), inv.call.End())
	flag := func(names ...string) *setting {
		var occ []flagVal
		for _, n := range names {
			occ = append(occ, inv.flags[n]...)
		}
		if len(occ) == 0 {
			return nil
		}
		s := &setting{source: "flag", resolved: true}
		var vals []string
		for _, fv := range occ {
			if !fv.hasValue {
				s.resolved = false
				continue
			}
			vals = append(vals, fv.val.value)
			if !fv.val.resolved {
				s.resolved = false
			}
			if fv.val.expr {
				s.expr = true
			}
		}
		s.value = strings.Join(vals, ",")
		if s.expr {
			s.resolved = false
		}
		last := occ[len(occ)-1]
		s.loc = co.loc(occ[0].start, last.end)
		return s
	}
	single := func(name string) *setting {
		// a scalar flag: the last occurrence wins
		occ := inv.flags[name]
		if len(occ) == 0 {
			return nil
		}
		fv := occ[len(occ)-1]
		s := &setting{source: "flag", value: fv.val.value, resolved: fv.hasValue && fv.val.resolved && !fv.val.expr, expr: fv.val.expr}
		s.loc = co.loc(fv.start, fv.end)
		return s
	}
	env := func(name string) *setting {
		if e, ok := inv.env[name]; ok {
			return envSetting(e)
		}
		return nil
	}
	var cfg *trivyConfig
	switch c := single("config"); {
	case c != nil && inv.tool == "docker":
		cfg = &trivyConfig{path: c.value, explicit: true, status: "not_read", errMsg: "the path is inside the container", loc: c.loc}
	case c != nil:
		cfg = b.readConfig(c.value, c.resolved || c.expr, true, inv.dir, c.loc)
	case env(trivycli.EnvConfig) != nil:
		s := env(trivycli.EnvConfig)
		if inv.tool == "docker" {
			cfg = &trivyConfig{path: s.value, explicit: true, status: "not_read", errMsg: "the path is inside the container", loc: s.loc}
		} else {
			cfg = b.readConfig(s.value, s.resolved || s.expr, true, inv.dir, s.loc)
		}
	case inv.tool == "trivy":
		cfg = b.readConfig(trivycli.DefaultConfigFile, true, false, inv.dir, callLoc)
	}
	def := func(v string) *setting { return &setting{value: v, source: "default", resolved: true, loc: callLoc} }
	var target any
	if inv.target != nil {
		target = inv.target.value
	}
	var cfgVal any
	var cfgExit, cfgSev, cfgScan, cfgFmt *setting
	if cfg != nil {
		cfgVal = cfg.value()
		cfgExit, cfgSev, cfgScan, cfgFmt = cfg.setting(cfg.exitCode), cfg.setting(cfg.severity), cfg.setting(cfg.scanners), cfg.setting(cfg.format)
	}
	drop := func(d *shell.Drop) map[string]any {
		n := map[string]any{"kind": d.Kind}
		switch {
		case d.Shell:
			n["text"] = sh.command
			n["location"] = shellLoc.Value()
		default:
			n["text"] = sc.text(d.Start, d.End)
			n["location"] = co.loc(d.Start, d.End).Value()
		}
		return n
	}
	prop, d := shell.Propagate(sc.file, inv.call, sh.options())
	var neut any
	also := []any{}
	if d != nil {
		neut = drop(d)
		// What still discards the failure once the first construct is
		// fixed, so that one finding can list every fix: fixing a pipe
		// means pipefail, fixing a shell without -e means -e; the script
		// is evaluated again under those options.
		opts := sh.options()
		for cur := d; cur != nil && len(also) < maxFollowingDrops; {
			switch {
			case cur.Kind == "pipe" && !opts.Pipefail:
				opts.Pipefail = true
			case cur.Kind == "errexit_off" && cur.Shell && !opts.Errexit:
				opts.Errexit = true
			default:
				cur = nil
				continue
			}
			p, next := shell.Propagate(sc.file, inv.call, opts)
			if p != shell.Ignored || next == nil {
				break
			}
			also = append(also, drop(next))
			cur = next
		}
	}
	return map[string]any{
		"tool":             inv.tool,
		"subcommand":       inv.subcommand,
		"subcommand_raw":   inv.rawSub,
		"subcommands":      subcommandList(inv.subcommand, inv.rawSub, st.matrix),
		"command":          sc.text(inv.call.Pos(), inv.call.End()),
		"target":           target,
		"exit_code":        first(single("exit-code"), env(trivycli.EnvExitCode), cfgExit, def(trivycli.DefaultExitCode)).exitCode(),
		"severity":         first(flag("severity"), env(trivycli.EnvSeverity), cfgSev, def("")).withList(),
		"scanners":         first(flag("scanners", "security-checks"), env(trivycli.EnvScanners), cfgScan, def("")).withList(),
		"format":           first(single("format"), env(trivycli.EnvFormat), cfgFmt, def(trivycli.DefaultFormat)).base(),
		"config":           cfgVal,
		"propagation":      string(prop),
		"neutralised":      neut,
		"also_neutralised": also,
		"location":         callLoc.Value(),
	}
}
