package workflow

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"github.com/devflow/dwf-policy/engine/analysis/shell"
	"github.com/devflow/dwf-policy/engine/analysis/trivycli"
	"github.com/devflow/dwf-policy/engine/document"
)

// envVal is an environment variable as a Trivy call sees it.
type envVal struct {
	value    string
	resolved bool
	expr     bool
	source   string // step_env, job_env, workflow_env, script_env, docker_env
	loc      document.Location
}

// flagVal is one occurrence of a Trivy flag.
type flagVal struct {
	val        word
	start, end syntax.Pos // from the flag to the end of its value
	hasValue   bool
}

// invocation is a Trivy scan found in a script.
type invocation struct {
	tool       string // trivy or docker
	subcommand string
	rawSub     string
	target     *word
	flags      map[string][]flagVal
	env        map[string]envVal // what Trivy reads as TRIVY_*; docker: only -e
	call       *syntax.CallExpr
	dir        dirState // the working directory the call runs in
}

// callSite is a simple command found by the collector.
type callSite struct {
	call  *syntax.CallExpr
	words []word
	env   map[string]envVal
	dir   dirState
}

// dirState is the working directory at a point of a script: a
// repository-relative path when known statically, else why not.
type dirState struct {
	dir string
	ok  bool
	why string // when !ok: what makes it unknown
}

// shVar is a shell variable the collector tracks.
type shVar struct {
	envVal
	exported bool
}

// collector walks a script in source order, tracking variable assignments
// and exports so that words and Trivy's environment can be resolved.
type collector struct {
	sc       *script
	vars     map[string]shVar
	sites    []callSite
	fallback document.Location
	depth    int
	// dir follows literal `cd` commands from the step's working directory
	dir    dirState
	lastCd string // the text of the last cd, pushd or popd
	// matrix is the job's matrix values, for a subcommand written as
	// `${{ matrix.NAME }}`
	matrix map[string][]string
}

func newCollector(sc *script, env map[string]envVal, fallback document.Location, dir dirState) *collector {
	co := &collector{sc: sc, vars: map[string]shVar{}, fallback: fallback, dir: dir}
	for k, v := range env {
		co.vars[k] = shVar{envVal: v, exported: true}
	}
	return co
}

const workspaceSentinel = "\x00workspace"

func (co *collector) lookup(name string) (string, bool, bool, bool) {
	v, ok := co.vars[name]
	if !ok {
		if name == "GITHUB_WORKSPACE" {
			return workspaceSentinel, true, false, true
		}
		return "", false, false, false
	}
	return v.value, v.resolved, v.expr, true
}

func (co *collector) loc(start, end syntax.Pos) document.Location {
	if l, ok := co.sc.loc(start, end); ok {
		return l
	}
	return co.fallback
}

func (co *collector) stmts(list []*syntax.Stmt) {
	for _, s := range list {
		co.stmt(s)
	}
}

func (co *collector) stmt(s *syntax.Stmt) {
	if s == nil || s.Cmd == nil || co.depth > 500 || len(co.sites) > 10000 {
		return
	}
	co.depth++
	defer func() { co.depth-- }()
	if s.Background || s.Coprocess {
		// a subshell: a cd inside does not change the script's directory
		dir := co.dir
		defer func() { co.dir = dir }()
	}
	switch c := s.Cmd.(type) {
	case *syntax.CallExpr:
		co.call(c)
	case *syntax.BinaryCmd:
		switch c.Op {
		case syntax.AndStmt:
			// `a && b && c` is ((a && b) && c): a always runs, and b and
			// c only after what is left of them succeeded, cd included (a
			// cd that fails leaves a directory whose config file does not
			// exist either)
			list := append(andList(c.X), andList(c.Y)...)
			co.stmt(list[0])
			co.branches(func() {
				for _, st := range list[1:] {
					co.stmt(st)
				}
			})
		case syntax.OrStmt:
			co.stmt(c.X)
			co.branches(func() { co.stmt(c.Y) })
		default: // every command of a pipeline runs in a subshell
			dir := co.dir
			co.stmt(c.X)
			co.dir = dir
			co.stmt(c.Y)
			co.dir = dir
		}
	case *syntax.Block:
		co.stmts(c.Stmts)
	case *syntax.Subshell:
		saved, dir := co.saveVars(), co.dir
		co.stmts(c.Stmts)
		co.vars, co.dir = saved, dir
	case *syntax.IfClause:
		var fns []func()
		for ic := c; ic != nil; ic = ic.Else {
			fns = append(fns, func() {
				co.stmts(ic.Cond)
				co.stmts(ic.Then)
			})
		}
		co.branches(fns...)
	case *syntax.WhileClause:
		co.branches(func() {
			co.stmts(c.Cond)
			co.stmts(c.Do)
		})
	case *syntax.ForClause:
		if wi, ok := c.Loop.(*syntax.WordIter); ok {
			co.vars[wi.Name.Value] = shVar{envVal: envVal{source: "script_env", loc: co.loc(wi.Name.Pos(), wi.Name.End())}}
		}
		co.branches(func() { co.stmts(c.Do) })
	case *syntax.CaseClause:
		var fns []func()
		for _, it := range c.Items {
			fns = append(fns, func() { co.stmts(it.Stmts) })
		}
		co.branches(fns...)
	case *syntax.FuncDecl:
		// the body runs when the function is called, wherever that is
		co.branches(func() { co.stmt(c.Body) })
	case *syntax.DeclClause:
		co.decl(c)
	case *syntax.TimeClause:
		co.stmt(c.Stmt)
	case *syntax.CoprocClause:
		dir := co.dir
		co.stmt(c.Stmt)
		co.dir = dir
	}
}

// andList flattens a statement that is an && list into its commands.
func andList(s *syntax.Stmt) []*syntax.Stmt {
	b, ok := s.Cmd.(*syntax.BinaryCmd)
	if !ok || b.Op != syntax.AndStmt || s.Negated || s.Background || s.Coprocess || len(s.Redirs) > 0 {
		return []*syntax.Stmt{s}
	}
	return append(andList(b.X), andList(b.Y)...)
}

// branches walks code that may or may not run (the right side of && and
// ||, the branches of if and case, loop bodies, function bodies), each from
// the directory before them. Inside a branch a cd applies to what follows
// it; after them, the directory is unknown if any of them changed it.
func (co *collector) branches(fns ...func()) {
	before := co.dir
	changed := false
	for _, f := range fns {
		co.dir = before
		f()
		if co.dir != before {
			changed = true
		}
	}
	co.dir = before
	if changed {
		co.dir = dirState{why: fmt.Sprintf("`%s` runs only when a condition holds, so the working directory after it is not known statically", co.lastCd)}
	}
}

// chdir follows `cd DIR` (its value known statically, relative to a known
// directory or to $GITHUB_WORKSPACE); any other cd, pushd or popd makes the
// directory unknown.
func (co *collector) chdir(c *syntax.CallExpr, name string, args []word) {
	text := co.sc.text(c.Pos(), c.End())
	co.lastCd = text
	unknown := func(why string) { co.dir = dirState{why: fmt.Sprintf("`%s` %s", text, why)} }
	if name != "cd" {
		unknown("changes to a directory that is not known statically")
		return
	}
	for len(args) > 0 && args[0].resolved && strings.HasPrefix(args[0].value, "-") && args[0].value != "-" {
		done := args[0].value == "--"
		args = args[1:]
		if done {
			break
		}
	}
	switch {
	case len(args) == 0:
		unknown("changes to the home directory, outside the repository")
		return
	case !args[0].resolved || args[0].expr || args[0].value == "-":
		unknown("changes to a directory that is not known statically")
		return
	}
	v := args[0].value
	base := co.dir
	if strings.HasPrefix(v, workspaceSentinel) {
		v = strings.TrimPrefix(strings.TrimPrefix(v, workspaceSentinel), "/")
		base = dirState{dir: ".", ok: true}
	}
	switch {
	case path.IsAbs(v) || strings.Contains(v, workspaceSentinel):
		unknown("leaves the repository")
	case !base.ok:
		// still unknown, for the reason it already was
	default:
		p := path.Clean(path.Join(base.dir, v))
		if p == ".." || strings.HasPrefix(p, "../") {
			unknown("leaves the repository")
			return
		}
		co.dir = dirState{dir: p, ok: true}
	}
}

func (co *collector) saveVars() map[string]shVar {
	saved := make(map[string]shVar, len(co.vars))
	for k, v := range co.vars {
		saved[k] = v
	}
	return saved
}

// substs walks the command substitutions inside w as subshells.
func (co *collector) substs(w *syntax.Word) {
	if w == nil {
		return
	}
	for _, cs := range shell.CmdSubsts(w) {
		saved, dir := co.saveVars(), co.dir
		co.stmts(cs.Stmts)
		co.vars, co.dir = saved, dir
	}
}

func (co *collector) setVar(a *syntax.Assign, exported bool) {
	if a.Name == nil {
		return
	}
	v := envVal{source: "script_env", loc: co.loc(a.Pos(), a.End())}
	if a.Value != nil {
		w := co.sc.word(a.Value, co.lookup)
		v.value, v.resolved, v.expr = w.value, w.resolved, w.expr
	} else if a.Array == nil {
		v.resolved = true
	}
	if a.Append || a.Index != nil || a.Array != nil {
		v.resolved = false
	}
	old, had := co.vars[a.Name.Value]
	co.vars[a.Name.Value] = shVar{envVal: v, exported: exported || (had && old.exported)}
}

func (co *collector) decl(c *syntax.DeclClause) {
	exported := c.Variant != nil && c.Variant.Value == "export"
	for _, a := range c.Args {
		if a.Naked && a.Name == nil && a.Value != nil {
			if f := a.Value.Lit(); strings.HasPrefix(f, "-") && strings.ContainsRune(f, 'x') {
				exported = true
			}
		}
	}
	for _, a := range c.Args {
		co.substs(a.Value)
		switch {
		case a.Naked && a.Name != nil:
			if v, ok := co.vars[a.Name.Value]; ok && exported {
				v.exported = true
				co.vars[a.Name.Value] = v
			}
		case !a.Naked:
			co.setVar(a, exported)
		}
	}
}

func (co *collector) call(c *syntax.CallExpr) {
	for _, a := range c.Assigns {
		co.substs(a.Value)
	}
	for _, w := range c.Args {
		co.substs(w)
	}
	if len(c.Args) == 0 {
		for _, a := range c.Assigns {
			co.setVar(a, false)
		}
		return
	}
	words := make([]word, len(c.Args))
	for i, w := range c.Args {
		words[i] = co.sc.word(w, co.lookup)
	}
	if words[0].resolved && words[0].value == "unset" {
		for _, w := range words[1:] {
			delete(co.vars, w.value)
		}
	}
	env := map[string]envVal{}
	for k, v := range co.vars {
		if v.exported && strings.HasPrefix(k, trivycli.EnvPrefix) {
			env[k] = v.envVal
		}
	}
	for _, a := range c.Assigns {
		if a.Name != nil && strings.HasPrefix(a.Name.Value, trivycli.EnvPrefix) {
			v := envVal{source: "script_env", loc: co.loc(a.Pos(), a.End())}
			if a.Value != nil {
				w := co.sc.word(a.Value, co.lookup)
				v.value, v.resolved, v.expr = w.value, w.resolved, w.expr
			} else {
				v.resolved = true
			}
			env[a.Name.Value] = v
		}
	}
	co.sites = append(co.sites, callSite{call: c, words: words, env: env, dir: co.dir})
	values := make([]string, len(words))
	for i, w := range words {
		values[i] = w.value
	}
	if u, ok := shell.Unwrap(values); ok && words[u.Index].resolved {
		switch u.Name {
		case "cd", "pushd", "popd":
			co.chdir(c, u.Name, words[u.Index+1:])
		}
	}
}

// detect recognises a Trivy scan in a simple command, looking through
// wrappers (sudo, env, timeout, nice, xargs, ...: shell.Unwrap) and through
// `docker run ... aquasec/trivy ...`. The wrappers and the program must be
// known statically; `env TRIVY_X=v` and `sudo TRIVY_X=v` set Trivy's
// environment.
func (co *collector) detect(site callSite) *invocation {
	words := site.words
	values := make([]string, len(words))
	for i, w := range words {
		values[i] = w.value
	}
	c, ok := shell.Unwrap(values)
	if !ok {
		return nil
	}
	for _, i := range c.Wrappers {
		if !words[i].resolved {
			return nil
		}
	}
	env := site.env
	for _, i := range c.Assigns {
		w := words[i]
		if !w.resolved && !w.expr {
			return nil
		}
		if name, val, _ := strings.Cut(w.value, "="); strings.HasPrefix(name, trivycli.EnvPrefix) {
			env = copyEnv(env)
			env[name] = envVal{value: val, resolved: w.resolved, expr: w.expr, source: "script_env", loc: co.loc(w.start, w.end)}
		}
	}
	if !words[c.Index].resolved {
		return nil
	}
	args := words[c.Index+1:]
	switch c.Name {
	case "trivy":
		inv := parseTrivyArgs(args, co.matrix)
		if inv == nil {
			return nil
		}
		inv.tool, inv.env, inv.call, inv.dir = "trivy", env, site.call, site.dir
		return inv
	case "docker", "podman", "nerdctl":
		return co.dockerRun(site, args, env)
	}
	return nil
}

func copyEnv(m map[string]envVal) map[string]envVal {
	out := make(map[string]envVal, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (co *collector) dockerRun(site callSite, args []word, hostEnv map[string]envVal) *invocation {
	j := 0
	for j < len(args) && strings.HasPrefix(args[j].value, "-") {
		switch args[j].value {
		case "-H", "--host", "--context", "-c", "--config", "-l", "--log-level":
			j++
		}
		j++
	}
	if j < len(args) && args[j].value == "container" {
		j++
	}
	if j >= len(args) || args[j].value != "run" {
		return nil
	}
	j++
	env := map[string]envVal{}
	addEnv := func(w word, val string) {
		name, v, ok := strings.Cut(val, "=")
		if !strings.HasPrefix(name, trivycli.EnvPrefix) {
			return
		}
		if !ok {
			if h, ok := co.vars[name]; ok {
				env[name] = h.envVal
			} else if h, ok := hostEnv[name]; ok {
				env[name] = h
			}
			return
		}
		env[name] = envVal{value: v, resolved: w.resolved, expr: w.expr, source: "docker_env", loc: co.loc(w.start, w.end)}
	}
	entrypoint := ""
	var image *word
	for j < len(args) {
		a := args[j]
		v := a.value
		if !a.resolved && !strings.HasPrefix(a.raw, "-") {
			return nil // the image is not known
		}
		if v == "--" {
			j++
			continue
		}
		if strings.HasPrefix(v, "--") {
			name, val, eq := strings.Cut(v[2:], "=")
			vw := a
			if trivycli.DockerRunTakesValue(name) && !eq && j+1 < len(args) {
				vw = args[j+1]
				val = vw.value
				j++
			}
			switch name {
			case "env":
				addEnv(vw, val)
			case "entrypoint":
				entrypoint = val
			}
			j++
			continue
		}
		if strings.HasPrefix(v, "-") && len(v) > 1 {
			for k := 1; k < len(v); k++ {
				long, ok := trivycli.DockerRunShort(v[k])
				if !ok {
					continue
				}
				val, vw := strings.TrimPrefix(v[k+1:], "="), a
				if val == "" && j+1 < len(args) {
					vw = args[j+1]
					val = vw.value
					j++
				}
				switch long {
				case "env":
					addEnv(vw, val)
				}
				break
			}
			j++
			continue
		}
		image = &args[j]
		j++
		break
	}
	if image == nil || !trivycli.IsImage(image.value) || (entrypoint != "" && shell.Base(entrypoint) != "trivy") {
		return nil
	}
	inv := parseTrivyArgs(args[j:], co.matrix)
	if inv == nil {
		return nil
	}
	inv.tool, inv.env, inv.call, inv.dir = "docker", env, site.call, site.dir
	return inv
}

// parseTrivyArgs reads a Trivy command line (after the program name) with
// trivycli.Parse. It returns nil for calls that do not scan. A subcommand
// written as `${{ matrix.NAME }}` (a matrix-driven scan) is read as the
// matrix's first value that scans, and recorded with an empty canonical
// subcommand: the scan's `subcommands` list what the matrix makes it.
func parseTrivyArgs(args []word, matrix map[string][]string) *invocation {
	if inv := parseTrivyCall(args); inv != nil {
		return inv
	}
	for i, a := range args {
		m := matrixRef().FindStringSubmatch(strings.TrimSpace(a.raw))
		if m == nil {
			continue
		}
		for _, v := range matrix[m[1]] {
			if subcommand(v) == "" {
				continue
			}
			sub := slices.Clone(args)
			sub[i] = word{raw: a.raw, value: v, resolved: true, start: a.start, end: a.end}
			if inv := parseTrivyCall(sub); inv != nil && inv.rawSub == v {
				inv.subcommand, inv.rawSub = "", a.raw
				return inv
			}
		}
	}
	return nil
}

// parseTrivyCall is parseTrivyArgs without matrix references.
func parseTrivyCall(args []word) *invocation {
	cli := make([]trivycli.Arg, len(args))
	for i, a := range args {
		cli[i] = trivycli.Arg{Text: a.value, Known: a.resolved}
		if !a.resolved {
			cli[i].Text = a.raw
		}
	}
	c := trivycli.Parse(cli)
	if c == nil {
		return nil
	}
	inv := &invocation{subcommand: c.Subcommand, rawSub: c.RawSubcommand, flags: make(map[string][]flagVal, len(c.Flags))}
	if c.Target >= 0 {
		t := args[c.Target]
		inv.target = &t
	}
	for name, fs := range c.Flags {
		for _, f := range fs {
			a := args[f.Arg]
			fv := flagVal{start: a.start, end: a.end}
			switch {
			case f.Value == f.Arg:
				fv.val, fv.hasValue = suffixWord(a, f.Offset), true
			case f.Value >= 0:
				fv.val, fv.hasValue, fv.end = args[f.Value], true, args[f.Value].end
			}
			inv.flags[name] = append(inv.flags[name], fv)
		}
	}
	return inv
}

// suffixWord is the part of w after its first n bytes (--flag=VALUE).
func suffixWord(w word, n int) word {
	out := w
	if n <= len(w.raw) {
		out.raw = w.raw[n:]
	} else {
		out.raw = ""
	}
	if w.resolved {
		if n <= len(w.value) {
			out.value = w.value[n:]
		} else {
			out.value = ""
		}
	} else {
		out.value = out.raw
	}
	out.expr = strings.Contains(out.raw, "${{")
	if out.expr {
		out.resolved = false
	}
	return out
}
