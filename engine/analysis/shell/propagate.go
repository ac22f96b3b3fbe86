package shell

import (
	"strconv"

	"mvdan.cc/sh/v3/syntax"
)

// The question this file answers for one call in a script (a Trivy scan, a
// test run): if the call exits non-zero, does the script fail? The script is evaluated abstractly: the target call fails,
// every other command succeeds, tests on `$?` are evaluated, other tests
// are unknown. Shell rules that matter are followed: `set -e`/`set +e`,
// pipefail, `&&`/`||` lists and conditions (where -e is ignored), `!`,
// subshells, command substitutions (no -e inside), functions, `exit`.
//
// When the failure does not reach the step's exit status, the first place
// that discarded it is reported (`|| true`, a pipe, `set +e` followed by
// another command, ...).

type code uint8

const (
	stZero code = iota
	stFail
	stUnknown
)

type flow uint8

const (
	flowNormal flow = iota
	flowExit
	flowReturn
)

type status struct {
	c         code
	taint     bool  // the status depends on the target call's failure
	noErrexit bool  // failed where -e was ignored; compound commands pass it on
	why       *Drop // the construct that made -e ignore the failure
}

// Drop is the construct that discarded the target call's failing status.
type Drop struct {
	// Kind is or, pipe, negated, background, condition, errexit_off,
	// errexit_ignored or command_substitution.
	Kind string
	// Start and End delimit the construct in the script (`|| true`,
	// `| tee log`, `set +e`, ...); unset when Shell is true.
	Start, End syntax.Pos
	// Shell is true when errexit is off because of how the shell was
	// started (Options.Errexit false), not because of the script.
	Shell bool
}

type ctx struct {
	exempt bool  // -e is ignored here
	why    *Drop // why it is ignored
}

type istate struct {
	errexit, pipefail bool
	offAt             *Drop // where errexit was turned off
	vars              map[string]status
	last              status
}

func (s *istate) clone() *istate {
	c := *s
	c.vars = make(map[string]status, len(s.vars))
	for k, v := range s.vars {
		c.vars[k] = v
	}
	return &c
}

type interp struct {
	target    *syntax.CallExpr
	funcs     map[string]*syntax.Stmt
	depth     int
	budget    int
	drops     []Drop
	reached   bool
	uncertain bool
}

// Propagation is whether a failing call fails the script.
type Propagation string

// Propagation results; the values are those of the documents (a workflow
// step's scans).
const (
	// Fails: the script exits non-zero when the call does.
	Fails Propagation = "fails_step"
	// Ignored: the failure is discarded; Drop says where first.
	Ignored Propagation = "ignored"
	// Unknown: it depends on what other commands or tests return.
	Unknown Propagation = "unknown"
	// NotReached: the script never runs the call.
	NotReached Propagation = "not_reached"
)

// Options are the shell options in force when a script starts.
type Options struct {
	Errexit  bool // -e
	Pipefail bool // -o pipefail
}

// Propagate evaluates script f for the call target (a CallExpr of f) under
// opts, reporting whether target's failure fails the script and, when it
// does not, the first construct that discarded it.
func Propagate(f *syntax.File, target *syntax.CallExpr, opts Options) (Propagation, *Drop) {
	in := &interp{target: target, funcs: map[string]*syntax.Stmt{}, budget: 20000}
	syntax.Walk(f, func(n syntax.Node) bool {
		if fd, ok := n.(*syntax.FuncDecl); ok && fd.Name != nil {
			in.funcs[fd.Name.Value] = fd.Body
		}
		return true
	})
	st := &istate{errexit: opts.Errexit, pipefail: opts.Pipefail, vars: map[string]status{}}
	if !opts.Errexit {
		st.offAt = &Drop{Kind: "errexit_off", Shell: true}
	}
	final, _ := in.stmts(f.Stmts, st, ctx{})
	switch {
	case in.budget < 0:
		return Unknown, nil
	case !in.reached:
		return NotReached, nil
	case final.c == stFail:
		return Fails, nil
	case final.c == stUnknown && final.taint, in.uncertain, len(in.drops) == 0:
		return Unknown, nil
	}
	d := in.drops[0]
	return Ignored, &d
}

func after(p syntax.Pos, n uint) syntax.Pos {
	return syntax.NewPos(p.Offset()+n, p.Line(), p.Col()+n)
}

func merge(a, b status) status {
	out := a
	if a.c != b.c {
		out.c = stUnknown
	}
	out.taint = a.taint || b.taint
	out.noErrexit = a.noErrexit || b.noErrexit
	if out.why == nil {
		out.why = b.why
	}
	return out
}

// fork evaluates two alternatives and joins them into st.
func (in *interp) fork(st *istate, a, b func(*istate) (status, flow)) (status, flow) {
	sa, sb := st.clone(), st.clone()
	ra, fa := a(sa)
	rb, fb := b(sb)
	keep := sa
	switch {
	case fa == fb:
	case fa != flowNormal:
		keep = sb
		in.uncertain = in.uncertain || ra.taint || rb.taint
		fa = flowNormal
	default:
		in.uncertain = in.uncertain || ra.taint || rb.taint
	}
	for k, v := range sb.vars {
		if w, ok := keep.vars[k]; !ok || w != v {
			keep.vars[k] = merge(w, v)
		}
	}
	*st = *keep
	m := merge(ra, rb)
	st.last = m
	return m, fa
}

func (in *interp) stmts(list []*syntax.Stmt, st *istate, cx ctx) (status, flow) {
	res := status{}
	for i, s := range list {
		in.budget--
		if in.budget < 0 {
			return status{c: stUnknown, taint: true}, flowExit
		}
		if i > 0 && res.taint && res.c != stZero {
			in.dropFor(res, st, cx)
		}
		r, fl := in.stmt(s, st, cx)
		st.last = r
		if fl != flowNormal {
			return r, fl
		}
		if st.errexit && !cx.exempt && !r.noErrexit {
			if r.c == stFail {
				return r, flowExit
			}
			if r.c == stUnknown && r.taint {
				in.uncertain = true
			}
		}
		res = r
	}
	return res, flowNormal
}

// dropFor records why a failing status was overwritten by the next command.
func (in *interp) dropFor(res status, st *istate, cx ctx) {
	switch {
	case res.noErrexit && res.why != nil:
		in.drops = append(in.drops, *res.why)
	case cx.exempt && cx.why != nil:
		in.drops = append(in.drops, *cx.why)
	case !st.errexit && st.offAt != nil:
		in.drops = append(in.drops, *st.offAt)
	}
}

func (in *interp) stmt(s *syntax.Stmt, st *istate, cx ctx) (status, flow) {
	if s.Cmd == nil {
		return status{}, flowNormal
	}
	if s.Background || s.Coprocess || s.Disown {
		sub := st.clone()
		r, _ := in.cmd(s.Cmd, sub, cx)
		if r.taint && r.c != stZero {
			in.drops = append(in.drops, Drop{Kind: "background", Start: s.Semicolon, End: after(s.Semicolon, 1)})
		}
		return status{}, flowNormal
	}
	inner := cx
	if s.Negated {
		inner = ctx{exempt: true, why: &Drop{Kind: "negated", Start: s.Position, End: after(s.Position, 1)}}
	}
	r, fl := in.cmd(s.Cmd, st, inner)
	if fl != flowNormal || !s.Negated {
		return r, fl
	}
	switch r.c {
	case stFail:
		if r.taint {
			in.drops = append(in.drops, *inner.why)
		}
		return status{}, flowNormal
	case stZero:
		return status{c: stFail, noErrexit: true, why: inner.why}, flowNormal
	}
	r.noErrexit, r.why = true, inner.why
	return r, flowNormal
}

func (in *interp) cmd(c syntax.Command, st *istate, cx ctx) (status, flow) {
	switch c := c.(type) {
	case *syntax.CallExpr:
		return in.call(c, st, cx)
	case *syntax.BinaryCmd:
		switch c.Op {
		case syntax.AndStmt, syntax.OrStmt:
			return in.list(c, st, cx)
		case syntax.Pipe, syntax.PipeAll:
			return in.pipeline(c, st, cx), flowNormal
		}
	case *syntax.Block:
		return in.stmts(c.Stmts, st, cx)
	case *syntax.Subshell:
		sub := st.clone()
		r, _ := in.stmts(c.Stmts, sub, cx)
		r.noErrexit, r.why = false, nil
		return r, flowNormal
	case *syntax.IfClause:
		return in.ifClause(c, st, cx)
	case *syntax.WhileClause:
		return in.while(c, st, cx)
	case *syntax.ForClause:
		if wi, ok := c.Loop.(*syntax.WordIter); ok && wi.InPos.IsValid() && len(wi.Items) == 0 {
			return status{}, flowNormal
		}
		return in.stmts(c.Do, st, cx)
	case *syntax.CaseClause:
		return in.caseClause(c, st, cx)
	case *syntax.DeclClause:
		return in.decl(c, st), flowNormal
	case *syntax.TestClause:
		return in.testExpr(c.X, st), flowNormal
	case *syntax.ArithmCmd, *syntax.LetClause:
		return status{c: stUnknown, taint: in.mentionsTainted(c, st)}, flowNormal
	case *syntax.TimeClause:
		if c.Stmt != nil {
			return in.stmt(c.Stmt, st, cx)
		}
	case *syntax.CoprocClause:
		if c.Stmt != nil {
			sub := st.clone()
			r, _ := in.stmt(c.Stmt, sub, cx)
			if r.taint && r.c != stZero {
				in.drops = append(in.drops, Drop{Kind: "background", Start: c.Coproc, End: after(c.Coproc, 6)})
			}
		}
	}
	return status{}, flowNormal
}

func (in *interp) list(c *syntax.BinaryCmd, st *istate, cx ctx) (status, flow) {
	xcx := ctx{exempt: true, why: &Drop{Kind: "errexit_ignored", Start: c.OpPos, End: c.Y.End()}}
	rx, fl := in.stmt(c.X, st, xcx)
	if fl != flowNormal {
		return rx, fl
	}
	st.last = rx
	runY := func(s *istate) (status, flow) {
		ry, fl := in.stmt(c.Y, s, cx)
		if c.Op == syntax.OrStmt && rx.taint && ry.c != stZero {
			ry.taint = true
		}
		return ry, fl
	}
	if c.Op == syntax.AndStmt {
		failed := status{c: stFail, taint: rx.taint, noErrexit: true, why: xcx.why}
		switch rx.c {
		case stZero:
			return runY(st)
		case stFail:
			return failed, flowNormal
		}
		return in.fork(st, runY, func(*istate) (status, flow) { return failed, flowNormal })
	}
	switch rx.c {
	case stZero:
		return rx, flowNormal
	case stFail:
		if rx.taint {
			in.drops = append(in.drops, Drop{Kind: "or", Start: c.OpPos, End: c.Y.End()})
		}
		return runY(st)
	}
	if rx.taint {
		in.drops = append(in.drops, Drop{Kind: "or", Start: c.OpPos, End: c.Y.End()})
	}
	return in.fork(st, func(*istate) (status, flow) { return status{}, flowNormal }, runY)
}

func (in *interp) pipeline(c *syntax.BinaryCmd, st *istate, cx ctx) status {
	var elems []*syntax.Stmt
	var ops []syntax.Pos
	var flatten func(c *syntax.BinaryCmd)
	side := func(s *syntax.Stmt) {
		if b, ok := s.Cmd.(*syntax.BinaryCmd); ok && (b.Op == syntax.Pipe || b.Op == syntax.PipeAll) &&
			!s.Negated && !s.Background && len(s.Redirs) == 0 {
			flatten(b)
			return
		}
		elems = append(elems, s)
	}
	flatten = func(c *syntax.BinaryCmd) {
		side(c.X)
		ops = append(ops, c.OpPos)
		side(c.Y)
	}
	flatten(c)
	rs := make([]status, len(elems))
	for i, e := range elems {
		sub := st.clone()
		r, _ := in.stmt(e, sub, cx)
		r.noErrexit, r.why = false, nil
		rs[i] = r
	}
	if st.pipefail {
		for i := len(rs) - 1; i >= 0; i-- {
			switch rs[i].c {
			case stFail:
				return rs[i]
			case stUnknown:
				out := rs[i]
				for _, r := range rs[:i] {
					out.taint = out.taint || r.taint
				}
				return out
			}
		}
		return status{}
	}
	for i := 0; i < len(rs)-1; i++ {
		if rs[i].taint && rs[i].c != stZero {
			in.drops = append(in.drops, Drop{Kind: "pipe", Start: ops[i], End: c.End()})
		}
	}
	return rs[len(rs)-1]
}

func (in *interp) ifClause(c *syntax.IfClause, st *istate, cx ctx) (status, flow) {
	if !c.ThenPos.IsValid() { // a plain else
		return in.stmts(c.Then, st, cx)
	}
	ccx := ctx{exempt: true, why: &Drop{Kind: "condition", Start: c.Position, End: after(c.Position, 2)}}
	cr, fl := in.stmts(c.Cond, st, ccx)
	if fl != flowNormal {
		return cr, fl
	}
	if cr.taint && cr.c != stZero {
		in.drops = append(in.drops, *ccx.why)
	}
	then := func(s *istate) (status, flow) { return in.stmts(c.Then, s, cx) }
	other := func(s *istate) (status, flow) {
		if c.Else == nil {
			return status{}, flowNormal
		}
		return in.ifClause(c.Else, s, cx)
	}
	switch cr.c {
	case stZero:
		return then(st)
	case stFail:
		return other(st)
	}
	return in.fork(st, then, other)
}

func (in *interp) while(c *syntax.WhileClause, st *istate, cx ctx) (status, flow) {
	ccx := ctx{exempt: true, why: &Drop{Kind: "condition", Start: c.WhilePos, End: after(c.WhilePos, 5)}}
	cr, fl := in.stmts(c.Cond, st, ccx)
	if fl != flowNormal {
		return cr, fl
	}
	if cr.taint && cr.c != stZero {
		in.drops = append(in.drops, *ccx.why)
	}
	body := func(s *istate) (status, flow) { return in.stmts(c.Do, s, cx) }
	none := func(*istate) (status, flow) { return status{}, flowNormal }
	run := cr.c == stZero
	if c.Until {
		run = cr.c == stFail
	}
	switch {
	case cr.c == stUnknown:
		return in.fork(st, body, none)
	case run:
		return body(st)
	}
	return status{}, flowNormal
}

func (in *interp) caseClause(c *syntax.CaseClause, st *istate, cx ctx) (status, flow) {
	if len(c.Items) == 0 {
		return status{}, flowNormal
	}
	catchAll := false
	for _, it := range c.Items {
		for _, p := range it.Patterns {
			if p.Lit() == "*" {
				catchAll = true
			}
		}
	}
	var eval func(i int, s *istate) (status, flow)
	eval = func(i int, s *istate) (status, flow) {
		if i == len(c.Items)-1 {
			item := func(s *istate) (status, flow) { return in.stmts(c.Items[i].Stmts, s, cx) }
			if catchAll {
				return item(s)
			}
			return in.fork(s, item, func(*istate) (status, flow) { return status{}, flowNormal })
		}
		return in.fork(s,
			func(s *istate) (status, flow) { return in.stmts(c.Items[i].Stmts, s, cx) },
			func(s *istate) (status, flow) { return eval(i+1, s) })
	}
	return eval(0, st)
}

func (in *interp) call(c *syntax.CallExpr, st *istate, cx ctx) (status, flow) {
	subst, hasSubst := status{}, false
	for _, a := range c.Assigns {
		if a.Value != nil {
			for _, cs := range CmdSubsts(a.Value) {
				subst, hasSubst = in.cmdSubst(cs, st), true
			}
		}
	}
	for _, w := range c.Args {
		for _, cs := range CmdSubsts(w) {
			if r := in.cmdSubst(cs, st); r.taint && r.c != stZero {
				in.drops = append(in.drops, Drop{Kind: "command_substitution", Start: cs.Pos(), End: cs.End()})
			}
		}
	}
	if len(c.Args) == 0 {
		for _, a := range c.Assigns {
			in.assign(a, st)
		}
		if hasSubst {
			subst.noErrexit, subst.why = false, nil
			return subst, flowNormal
		}
		return status{}, flowNormal
	}
	if c == in.target {
		in.reached = true
		return status{c: stFail, taint: true}, flowNormal
	}
	switch name := Base(c.Args[0].Lit()); name {
	case "true", ":":
		return status{}, flowNormal
	case "false":
		return status{c: stFail}, flowNormal
	case "exit", "return":
		fl := flowExit
		if name == "return" && in.depth > 0 {
			fl = flowReturn
		}
		if len(c.Args) < 2 {
			return st.last, fl
		}
		return in.valueStatus(c.Args[1], st), fl
	case "set":
		in.set(c, st)
		return status{}, flowNormal
	case "[", "test":
		args := c.Args[1:]
		if name == "[" && len(args) > 0 && args[len(args)-1].Lit() == "]" {
			args = args[:len(args)-1]
		}
		return in.test(args, st), flowNormal
	case "wait":
		if len(c.Args) > 1 {
			return status{c: stUnknown}, flowNormal
		}
		return status{}, flowNormal
	default:
		if body, ok := in.funcs[name]; ok && in.depth < 8 {
			in.depth++
			r, fl := in.stmt(body, st, cx)
			in.depth--
			if fl == flowReturn {
				fl = flowNormal
			}
			r.noErrexit, r.why = false, nil
			return r, fl
		}
	}
	return status{}, flowNormal
}

// cmdSubst runs a command substitution: a subshell in which bash turns -e off.
func (in *interp) cmdSubst(cs *syntax.CmdSubst, st *istate) status {
	sub := st.clone()
	if sub.errexit {
		sub.errexit = false
		sub.offAt = &Drop{Kind: "command_substitution", Start: cs.Pos(), End: cs.End()}
	}
	r, _ := in.stmts(cs.Stmts, sub, ctx{})
	r.noErrexit, r.why = false, nil
	return r
}

// CmdSubsts returns the outermost command substitutions in w, $(...) and
// backquotes.
func CmdSubsts(w *syntax.Word) []*syntax.CmdSubst {
	var out []*syntax.CmdSubst
	syntax.Walk(w, func(n syntax.Node) bool {
		if cs, ok := n.(*syntax.CmdSubst); ok {
			out = append(out, cs)
			return false
		}
		return true
	})
	return out
}

func (in *interp) assign(a *syntax.Assign, st *istate) {
	if a.Name == nil {
		return
	}
	if a.Value != nil {
		if ref, ok := statusRef(a.Value); ok {
			if s, ok := in.ref(ref, st); ok {
				st.vars[a.Name.Value] = s
				return
			}
		}
	}
	delete(st.vars, a.Name.Value)
}

func (in *interp) decl(c *syntax.DeclClause, st *istate) status {
	for _, a := range c.Args {
		if a.Value != nil {
			for _, cs := range CmdSubsts(a.Value) {
				if r := in.cmdSubst(cs, st); r.taint && r.c != stZero {
					in.drops = append(in.drops, Drop{Kind: "command_substitution", Start: cs.Pos(), End: cs.End()})
				}
			}
		}
		if !a.Naked {
			in.assign(a, st)
		}
	}
	return status{}
}

// set applies -e/+e, -o/+o errexit and -o/+o pipefail.
func (in *interp) set(c *syntax.CallExpr, st *istate) {
	args := c.Args[1:]
	for i := 0; i < len(args); i++ {
		a := args[i].Lit()
		if len(a) < 2 || (a[0] != '-' && a[0] != '+') || a == "--" {
			if a == "--" || a == "-" {
				return
			}
			continue
		}
		on := a[0] == '-'
		for _, ch := range a[1:] {
			switch ch {
			case 'e':
				in.setErrexit(st, on, c)
			case 'o':
				if i+1 < len(args) {
					i++
					switch args[i].Lit() {
					case "errexit":
						in.setErrexit(st, on, c)
					case "pipefail":
						st.pipefail = on
					}
				}
			}
		}
	}
}

func (in *interp) setErrexit(st *istate, on bool, c *syntax.CallExpr) {
	st.errexit = on
	if !on {
		st.offAt = &Drop{Kind: "errexit_off", Start: c.Pos(), End: c.End()}
	}
}

// statusRef recognises $?, $name, ${name} and their double-quoted forms.
func statusRef(w *syntax.Word) (string, bool) {
	if len(w.Parts) != 1 {
		return "", false
	}
	p := w.Parts[0]
	if dq, ok := p.(*syntax.DblQuoted); ok && len(dq.Parts) == 1 {
		p = dq.Parts[0]
	}
	pe, ok := p.(*syntax.ParamExp)
	if !ok || pe.Param == nil || pe.Exp != nil || pe.Repl != nil || pe.Slice != nil || pe.Length || pe.Excl || pe.Index != nil {
		return "", false
	}
	return pe.Param.Value, true
}

func (in *interp) ref(name string, st *istate) (status, bool) {
	switch name {
	case "?":
		return st.last, true
	case "PIPESTATUS":
		// the statuses of the last pipeline's commands, which may be Trivy's
		return status{c: stUnknown, taint: in.reached}, true
	}
	s, ok := st.vars[name]
	return s, ok
}

// valueStatus is the status `exit WORD` produces. A value that is not
// known may be the scan's status (`exit ${PIPESTATUS[0]}`, `exit "$code"`).
func (in *interp) valueStatus(w *syntax.Word, st *istate) status {
	if lit := w.Lit(); lit != "" {
		n, err := strconv.Atoi(lit)
		if err != nil {
			return status{c: stUnknown, taint: in.reached}
		}
		if n&0xff == 0 {
			return status{}
		}
		return status{c: stFail}
	}
	if ref, ok := statusRef(w); ok {
		if s, ok := in.ref(ref, st); ok {
			s.noErrexit, s.why = false, nil
			return s
		}
	}
	return status{c: stUnknown, taint: in.reached}
}

func (in *interp) test(args []*syntax.Word, st *istate) status {
	if len(args) >= 1 && args[0].Lit() == "!" {
		r := in.test(args[1:], st)
		switch r.c {
		case stZero:
			r.c = stFail
		case stFail:
			r.c = stZero
		}
		return r
	}
	if len(args) != 3 {
		return status{c: stUnknown, taint: in.wordsTainted(args, st)}
	}
	return in.compare(args[0], args[1].Lit(), args[2], st)
}

func (in *interp) testExpr(x syntax.TestExpr, st *istate) status {
	switch x := x.(type) {
	case *syntax.UnaryTest:
		if x.Op == syntax.TsNot {
			r := in.testExpr(x.X, st)
			switch r.c {
			case stZero:
				r.c = stFail
			case stFail:
				r.c = stZero
			}
			return r
		}
	case *syntax.ParenTest:
		return in.testExpr(x.X, st)
	case *syntax.BinaryTest:
		xw, ok1 := x.X.(*syntax.Word)
		yw, ok2 := x.Y.(*syntax.Word)
		if ok1 && ok2 {
			return in.compare(xw, x.Op.String(), yw, st)
		}
	}
	return status{c: stUnknown, taint: in.mentionsTainted(x, st)}
}

// compare evaluates `a OP b` when one side is a tracked exit status and the
// other an integer literal. A failing status is known to be non-zero but
// not which number it is.
func (in *interp) compare(a *syntax.Word, op string, b *syntax.Word, st *istate) status {
	s, lit, ok := in.statusAndLiteral(a, b, st)
	if !ok {
		if s2, lit2, ok2 := in.statusAndLiteral(b, a, st); ok2 {
			s, lit, ok = s2, lit2, true
			op = mirror(op)
		}
	}
	if !ok {
		return status{c: stUnknown, taint: in.wordsTainted([]*syntax.Word{a, b}, st)}
	}
	k, err := strconv.Atoi(lit)
	if err != nil || s.c == stUnknown {
		return status{c: stUnknown, taint: s.taint}
	}
	var truth int // 1 true, 0 false, -1 unknown
	if s.c == stZero {
		truth = boolInt(cmpInt(0, op, k))
	} else {
		switch {
		case (op == "-eq" || op == "=" || op == "==") && k == 0:
			truth = 0
		case (op == "-ne" || op == "!=") && k == 0:
			truth = 1
		case op == "-gt" && k <= 0, op == "-ge" && k <= 1:
			truth = 1
		case op == "-lt" && k <= 1, op == "-le" && k <= 0:
			truth = 0
		default:
			truth = -1
		}
	}
	switch truth {
	case 1:
		return status{taint: s.taint}
	case 0:
		return status{c: stFail, taint: s.taint}
	}
	return status{c: stUnknown, taint: s.taint}
}

func (in *interp) statusAndLiteral(a, b *syntax.Word, st *istate) (status, string, bool) {
	ref, ok := statusRef(a)
	if !ok {
		return status{}, "", false
	}
	s, ok := in.ref(ref, st)
	if !ok {
		return status{}, "", false
	}
	lit := b.Lit()
	if lit == "" {
		if len(b.Parts) == 1 {
			switch q := b.Parts[0].(type) {
			case *syntax.SglQuoted:
				lit = q.Value
			case *syntax.DblQuoted:
				if len(q.Parts) == 1 {
					if l, ok := q.Parts[0].(*syntax.Lit); ok {
						lit = l.Value
					}
				}
			}
		}
	}
	return s, lit, lit != ""
}

func mirror(op string) string {
	switch op {
	case "-gt":
		return "-lt"
	case "-lt":
		return "-gt"
	case "-ge":
		return "-le"
	case "-le":
		return "-ge"
	}
	return op
}

func cmpInt(a int, op string, b int) bool {
	switch op {
	case "-eq", "=", "==":
		return a == b
	case "-ne", "!=":
		return a != b
	case "-gt":
		return a > b
	case "-ge":
		return a >= b
	case "-lt":
		return a < b
	case "-le":
		return a <= b
	}
	return false
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (in *interp) wordsTainted(ws []*syntax.Word, st *istate) bool {
	for _, w := range ws {
		if in.mentionsTainted(w, st) {
			return true
		}
	}
	return false
}

// mentionsTainted reports whether node n reads $? or a variable holding a
// status that depends on the target.
func (in *interp) mentionsTainted(n syntax.Node, st *istate) bool {
	found := false
	syntax.Walk(n, func(n syntax.Node) bool {
		if found {
			return false
		}
		var name string
		switch n := n.(type) {
		case *syntax.ParamExp:
			if n.Param != nil {
				name = n.Param.Value
			}
		case *syntax.Lit:
			name = n.Value
		}
		if name != "" {
			if s, ok := in.ref(name, st); ok && s.taint {
				found = true
			}
		}
		return true
	})
	return found
}
