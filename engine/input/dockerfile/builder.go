package dockerfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/devflow/dwf-policy/engine/document"
)

// builder walks BuildKit's AST once, in order, keeping the ARG/ENV scope the
// way Docker does, and records raw instructions and derived facts.
type builder struct {
	path         string
	lines        []string
	escape       rune
	exp          *expander
	scripts      *scriptReader
	directives   []any
	globalArgs   []any
	globals      map[string]*string // global ARG name -> default (nil: none)
	globalScope  *scope             // the global ARGs with a value, kept up to date
	instructions []any
	stages       []*stage
	named        map[string]*stage // stage name -> first stage with it
	lastLoc      document.Location // the location locValue last built
	lastLocValue map[string]any
	final        int
	target       string
	chainEntries int // entries of every stage's chain (maxChainEntries)
	envEntries   int // ENV entries of every stage's env (maxEnvEntries)
	commands     int // commands of every RUN (maxCommands)
	commandWords int // words of every RUN command (maxCommandWords)
}

// stage is the state of one build stage while walking it.
type stage struct {
	index      int
	name       string
	from       map[string]any
	parent     int   // index of the stage it builds on, or -1
	chain      []any // stage indices, root first; may share its parent's array
	extended   bool  // a child's chain already extends chain in place
	user       map[string]any
	entrypoint map[string]any
	cmd        map[string]any
	shell      []string
	env        *scope
	runs       []any
	users      []any
	groups     []any
	loc        document.Location
	locValue   map[string]any
}

func newBuilder(path string, src []byte, escape rune) *builder {
	b := &builder{
		path:        path,
		lines:       splitLines(src),
		escape:      escape,
		exp:         newExpander(shell.NewLex(escape), len(src)),
		scripts:     newScriptReader(),
		globals:     map[string]*string{},
		globalScope: newScope(nil),
		named:       map[string]*stage{},
	}
	var dp parser.DirectiveParser
	if ds, err := dp.ParseAll(src); err == nil {
		for _, d := range ds {
			line := 1
			if len(d.Location) > 0 {
				line = d.Location[0].Start.Line
			}
			b.directives = append(b.directives, map[string]any{
				"name":     d.Name,
				"value":    d.Value,
				"location": lineSpan(b.lines, line, line).Value(),
			})
		}
	}
	return b
}

func (b *builder) loc(n *parser.Node) document.Location {
	return lineSpan(b.lines, n.StartLine, n.EndLine)
}

// locValue is loc's document form. An instruction's location appears in
// several places (the instruction, its stage, its run, the users it
// creates); they share one read-only map instead of one each.
func (b *builder) locValue(loc document.Location) map[string]any {
	if b.lastLocValue == nil || loc != b.lastLoc {
		b.lastLoc, b.lastLocValue = loc, loc.Value()
	}
	return b.lastLocValue
}

// expandLikeBuildKit expands the words of an instruction the way BuildKit
// does before it converts the instruction (dockerfile2llb's dispatch: every
// instruction that supports word expansion except ARG, whose expansion
// errors BuildKit defers). A word BuildKit cannot expand (an unterminated
// quote in `LABEL foo="bar baz`, a `${` without its `}`, `${NAME:?message}`
// with NAME unset) fails the build, so it is an error here, in BuildKit's
// words. Limits hit while expanding end the build's expansion as elsewhere.
func (b *builder) expandLikeBuildKit(parsed any, cur *stage) error {
	if _, isArg := parsed.(*instructions.ArgCommand); isArg {
		return nil
	}
	ex, ok := parsed.(instructions.SupportsSingleWordExpansion)
	if !ok {
		return nil
	}
	err := ex.Expand(func(word string) (string, error) {
		return word, b.exp.check(word, cur.env)
	})
	if err == nil {
		return nil
	}
	// The lexer prints the end of the word as U+FFFD when a `${` is not
	// closed; say what that means instead.
	return errors.New(strings.Replace(err.Error(), "unsupported modifier (\uFFFD) in substitution", "unterminated ${...} substitution (no closing '}')", 1))
}

func (b *builder) build(root *parser.Node, target string) error {
	b.target = target
	var cur *stage
	for _, n := range root.Children {
		cmd := strings.ToLower(n.Value)
		args := nodeArgs(n)
		loc := b.loc(n)
		if len(b.instructions) >= maxInstructions {
			return b.limitErrorAt(loc, "too many instructions: the Dockerfile has more than %d instructions, the limit for one Dockerfile", maxInstructions)
		}
		if cmd == "from" && len(b.stages) >= maxStages {
			return b.limitErrorAt(loc, "too many build stages: the Dockerfile has more than %d FROM instructions, the limit for one Dockerfile", maxStages)
		}
		// Refuse what `docker build` refuses (unknown instructions, FROM
		// without an image, bad flags), at the instruction, in BuildKit's
		// own words.
		parsed, err := instructions.ParseInstructionWithLinter(n, nil)
		if err != nil {
			return &document.ParseError{Path: b.path, Location: loc, Message: err.Error()}
		}
		if cur == nil && cmd != "from" && cmd != "arg" {
			return &document.ParseError{Path: b.path, Location: loc,
				Message: fmt.Sprintf("%s before the first FROM: no build stage in current context", strings.ToUpper(cmd))}
		}
		if cur != nil {
			if err := b.expandLikeBuildKit(parsed, cur); err != nil {
				return &document.ParseError{Path: b.path, Location: loc, Message: err.Error()}
			}
		}
		stageIdx := -1
		if cmd == "from" {
			cur = b.startStage(n, args, loc)
		}
		if cur != nil {
			stageIdx = cur.index
		}
		b.instructions = append(b.instructions, map[string]any{
			"cmd":      cmd,
			"original": n.Original,
			"flags":    strList(n.Flags),
			"args":     strList(args),
			"json":     n.Attributes["json"],
			"heredocs": heredocList(n.Heredocs),
			"stage":    stageIdx,
			"location": b.locValue(loc),
		})
		if cur == nil {
			if cmd == "arg" {
				b.globalArg(n, loc)
			}
			if b.exp.err != nil {
				return &document.ParseError{Path: b.path, Location: loc, Message: b.exp.err.Error()}
			}
			continue
		}
		switch cmd {
		case "arg":
			cur.env.declareArgs(args, b)
		case "env":
			cur.env.setEnv(n, b)
		case "user":
			cur.user = b.user(cur, strings.Join(args, " "), loc)
		case "entrypoint":
			cur.entrypoint = b.command(cur, n, args, loc)
			// Docker resets an inherited CMD when ENTRYPOINT is set.
			if c := cur.cmd; c != nil && c["inherited"] == true {
				cur.cmd = nil
			}
		case "cmd":
			cur.cmd = b.command(cur, n, args, loc)
		case "shell":
			if len(args) > 0 {
				cur.shell = args
			}
		case "run":
			b.run(cur, n, args, loc)
			if b.scripts.tooDeep != nil {
				return &document.ParseError{Path: b.path, Location: loc, Message: "cannot read the RUN script: " + b.scripts.tooDeep.Error()}
			}
		}
		if b.exp.err != nil {
			return &document.ParseError{Path: b.path, Location: loc, Message: b.exp.err.Error()}
		}
	}
	if len(b.stages) == 0 {
		line := 1
		if len(root.Children) > 0 {
			line = root.Children[0].StartLine
		}
		return &document.ParseError{Path: b.path, Location: lineSpan(b.lines, line, line), Message: "no FROM instruction: a Dockerfile must start a stage with FROM"}
	}
	b.final = len(b.stages) - 1
	if target != "" {
		found := false
		var names []string
		for _, s := range b.stages {
			if s.name != "" {
				names = append(names, s.name)
			}
			if strings.EqualFold(s.name, target) {
				b.final, found = s.index, true
			}
		}
		if !found {
			return &document.ParseError{Path: b.path, Location: lineSpan(b.lines, 1, 1),
				Message: fmt.Sprintf("target stage %q not found (stages: %s)", target, strings.Join(names, ", ")),
				Err:     &TargetNotFoundError{Target: target, Stages: names}}
		}
	}
	return nil
}

// nodeArgs returns the values of a node's argument chain.
func nodeArgs(n *parser.Node) []string {
	var out []string
	for a := n.Next; a != nil; a = a.Next {
		out = append(out, a.Value)
	}
	return out
}

func (b *builder) globalArg(n *parser.Node, loc document.Location) {
	for _, word := range nodeArgs(n) {
		name, raw, hasValue := strings.Cut(word, "=")
		var value any
		if hasValue {
			res, err := b.exp.word(raw, b.globalScope)
			v := res.Result
			if err != nil {
				v = raw
			}
			b.globals[name] = &v
			b.globalScope.args[name] = v
			value = v
		} else if _, seen := b.globals[name]; !seen {
			b.globals[name] = nil
		}
		b.globalArgs = append(b.globalArgs, map[string]any{"name": name, "value": value, "location": b.locValue(loc)})
	}
}

func (b *builder) startStage(n *parser.Node, args []string, loc document.Location) *stage {
	s := &stage{index: len(b.stages), parent: -1, shell: []string{"/bin/sh", "-c"}, loc: loc, locValue: b.locValue(loc)}
	image := ""
	if len(args) > 0 {
		image = args[0]
	}
	if len(args) >= 3 && strings.EqualFold(args[1], "as") {
		s.name = strings.ToLower(args[2])
	}
	// FROM sees the global ARGs with a value.
	res, err := b.exp.word(image, b.globalScope)
	expanded := res.Result
	resolved := err == nil && !usesUnset(image, res.Unmatched) && expanded != ""
	if err != nil {
		expanded = image
	}
	from := map[string]any{
		"image": image, "expanded": expanded, "resolved": resolved,
		"platform": flagValue(n.Flags, "platform"), "scratch": strings.EqualFold(expanded, "scratch"),
		"stage": nil, "repository": "", "tag": "", "digest": "", "location": b.locValue(loc),
	}
	if parent := b.stageNamed(expanded); parent != nil {
		s.parent = parent.index
		from["stage"] = parent.index
	} else if from["scratch"] == false {
		repo, tag, digest := splitReference(expanded)
		from["repository"], from["tag"], from["digest"] = repo, tag, digest
	}
	s.from = from
	var parentEnv *scope
	if s.parent >= 0 {
		p := b.stages[s.parent]
		if b.chargeChain(len(p.chain) + 1) {
			s.chain = b.extendChain(p, s.index)
		} else {
			s.chain = []any{s.index}
		}
		s.user = inherited(p.user)
		s.entrypoint = inherited(p.entrypoint)
		s.cmd = inherited(p.cmd)
		s.shell = p.shell
		parentEnv = p.env
	} else {
		s.chain = []any{s.index}
		b.chargeChain(1)
	}
	s.env = newScope(parentEnv)
	b.chargeEnv(len(s.env.env.vars))
	b.stages = append(b.stages, s)
	if _, dup := b.named[s.name]; s.name != "" && !dup {
		b.named[s.name] = s
	}
	return s
}

// extendChain returns p's chain followed by index. The first child extends
// p's array in place (append never writes over what p's chain holds), so a
// long FROM chain shares one array; later children copy it (the copy is
// within maxChainEntries, charged before).
func (b *builder) extendChain(p *stage, index int) []any {
	if !p.extended {
		p.extended = true
		return append(p.chain, index)
	}
	c := make([]any, len(p.chain), len(p.chain)+1)
	copy(c, p.chain)
	return append(c, index)
}

// stageNamed finds the first stage whose name equals name ignoring case
// (strings.EqualFold). Stage names are ASCII (BuildKit refuses others), so
// name matches only through ASCII letters and the two runes that fold to
// them: K (Kelvin sign) and ſ (long s).
func (b *builder) stageNamed(name string) *stage {
	if name == "" {
		return nil
	}
	key := make([]byte, 0, len(name))
	for _, r := range name {
		switch {
		case r < utf8.RuneSelf:
			key = append(key, byte(unicode.ToLower(r)))
		case r == '\u212A':
			key = append(key, 'k')
		case r == '\u017F':
			key = append(key, 's')
		default:
			return nil
		}
	}
	return b.named[string(key)]
}

// inherited copies a fact from a parent stage, marking it inherited.
func inherited(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	c["inherited"] = true
	return c
}

// user derives the effective USER from its argument.
func (b *builder) user(s *stage, raw string, loc document.Location) map[string]any {
	res, err := b.exp.word(raw, s.env)
	value := res.Result
	reason := ""
	switch {
	case err != nil:
		reason = "expansion failed: " + err.Error()
		value = raw
	case usesUnset(raw, res.Unmatched):
		reason = "uses a variable with no value: " + strings.Join(unsetNames(raw, res.Unmatched), ", ")
	}
	name, group, _ := strings.Cut(value, ":")
	if reason == "" && strings.TrimSpace(name) == "" {
		if strings.TrimSpace(value) == "" {
			reason = "expands to an empty value"
		} else {
			reason = "has an empty user part"
		}
	}
	var uid any
	if n, ok := numericID(name); ok && reason == "" {
		uid = n
	}
	return map[string]any{
		"raw": raw, "value": value, "resolved": reason == "", "reason": reason,
		"name": name, "group": group, "uid": uid,
		"inherited": false, "from_image": "", "stage": s.index, "location": b.locValue(loc),
	}
}

// numericID parses a UID/GID in any numeric spelling: 0, 000, +0, -0.
func numericID(s string) (int64, bool) {
	t := strings.TrimLeft(s, "+-")
	if t == "" || len(s)-len(t) > 1 {
		return 0, false
	}
	for _, r := range t {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return 0, false
	}
	if strings.HasPrefix(s, "-") {
		n = -n
	}
	return n, true
}

// command derives ENTRYPOINT or CMD. A JSON array with a syntax error is
// shell form, exactly as BuildKit reads it.
func (b *builder) command(s *stage, n *parser.Node, args []string, loc document.Location) map[string]any {
	form := "shell"
	words := []any{}
	raw := strings.Join(args, " ")
	if n.Attributes["json"] {
		form = "exec"
		for _, a := range args {
			words = append(words, a)
		}
		if enc, err := json.Marshal(args); err == nil && args != nil {
			raw = string(enc)
		} else {
			raw = "[]"
		}
	} else {
		for _, w := range s.shell {
			words = append(words, w)
		}
		words = append(words, raw)
	}
	return map[string]any{"form": form, "words": words, "raw": raw, "inherited": false, "from_image": "", "stage": s.index, "location": b.locValue(loc)}
}

func (b *builder) run(s *stage, n *parser.Node, args []string, loc document.Location) {
	isJSON := n.Attributes["json"]
	var scripts []string
	script := strings.Join(args, " ")
	if isJSON {
		// Exec form: quote the words so the shell reader sees exactly them;
		// it descends into ["sh", "-c", script] by itself.
		script = shellJoin(args)
	}
	switch {
	case len(n.Heredocs) == 0:
		scripts = append(scripts, script)
	case heredocIsScript(script):
		// RUN <<EOF: the bodies are the script.
		var bodies []string
		for _, h := range n.Heredocs {
			bodies = append(bodies, h.Content)
		}
		scripts = append(scripts, bodies...)
		script = strings.Join(bodies, "\n")
	default:
		// RUN python3 <<EOF: the bodies are data; read the command line only.
		scripts = append(scripts, withoutHeredocMarkers(script))
	}
	b.scripts.env = b.exp.scriptEnv(s.env)
	var cmds []shellCommand
	parseErr := ""
	for _, sc := range scripts {
		c, err := b.scripts.commands(sc, 0)
		if err != nil && parseErr == "" {
			parseErr = err.Error()
		}
		cmds = append(cmds, c...)
	}
	words := 0
	for _, c := range cmds {
		words += len(c.words)
	}
	if !b.chargeCommands(len(cmds), words) {
		cmds = nil
	}
	commands := make([]any, 0, len(cmds))
	for _, c := range cmds {
		commands = append(commands, map[string]any{"name": c.name, "words": strList(c.words)})
		b.recordAccounts(s, c, loc)
	}
	s.runs = append(s.runs, map[string]any{
		"json": isJSON, "flags": strList(n.Flags), "script": script,
		"mounts": mounts(n.Flags), "commands": commands, "parse_error": parseErr,
		"stage": s.index, "location": b.locValue(loc),
	})
}

// heredocIsScript reports whether a RUN's heredoc bodies are shell scripts:
// `RUN <<EOF` or `RUN bash <<EOF`, not `RUN python3 <<EOF`.
func heredocIsScript(cmdline string) bool {
	fields := strings.Fields(cmdline)
	for _, f := range fields {
		if strings.HasPrefix(f, "<<") {
			continue
		}
		return shells[path.Base(f)] && len(fields) <= 3
	}
	return true
}

// withoutHeredocMarkers drops <<EOF words so the command line parses alone.
func withoutHeredocMarkers(cmdline string) string {
	fields := strings.Fields(cmdline)
	kept := fields[:0]
	for _, f := range fields {
		if !strings.HasPrefix(f, "<<") {
			kept = append(kept, f)
		}
	}
	return strings.Join(kept, " ")
}

// shellJoin quotes exec-form words so the shell parser sees them as words.
func shellJoin(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// mounts decodes RUN --mount flags (type=cache,target=... ; bind is the
// default type).
func mounts(flags []string) []any {
	out := []any{}
	for _, f := range flags {
		v, ok := strings.CutPrefix(f, "--mount=")
		if !ok {
			continue
		}
		m := map[string]any{"type": "bind", "target": "", "raw": v}
		for _, kv := range strings.Split(v, ",") {
			k, val, _ := strings.Cut(kv, "=")
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "type":
				m["type"] = strings.ToLower(strings.TrimSpace(val))
			case "target", "dst", "destination":
				m["target"] = val
			}
		}
		out = append(out, m)
	}
	return out
}

func flagValue(flags []string, name string) string {
	for _, f := range flags {
		if v, ok := strings.CutPrefix(f, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

// splitReference splits an image reference into repository, tag and digest.
// A colon belongs to a tag only after the last slash (registry ports).
func splitReference(ref string) (repo, tag, digest string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref, digest = ref[:i], ref[i+1:]
	}
	slash := strings.LastIndex(ref, "/")
	if i := strings.LastIndex(ref, ":"); i > slash {
		ref, tag = ref[:i], ref[i+1:]
	}
	return ref, tag, digest
}

func strList(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func heredocList(hs []parser.Heredoc) []any {
	out := make([]any, len(hs))
	for i, h := range hs {
		out[i] = map[string]any{"name": h.Name, "content": h.Content, "expand": h.Expand}
	}
	return out
}

// input assembles the document.
func (b *builder) input() map[string]any {
	stages := make([]any, len(b.stages))
	for i, s := range b.stages {
		stages[i] = map[string]any{
			"index": s.index, "name": s.name, "from": s.from, "chain": slices.Clip(s.chain),
			"user": nilIfEmpty(s.user), "entrypoint": nilIfEmpty(s.entrypoint), "cmd": nilIfEmpty(s.cmd),
			"env": s.env.envMap(), "runs": orEmpty(s.runs), "users_created": orEmpty(s.users),
			"groups_created": orEmpty(s.groups), "location": s.locValue,
		}
	}
	fs := b.stages[b.final]
	var users []any
	for _, i := range fs.chain {
		users = append(users, b.stages[i.(int)].users...)
	}
	final := map[string]any{
		"stage": fs.index, "chain": slices.Clip(fs.chain),
		"user": nilIfEmpty(fs.user), "entrypoint": nilIfEmpty(fs.entrypoint), "cmd": nilIfEmpty(fs.cmd),
		"users_created": orEmpty(users), "location": fs.locValue,
	}
	return map[string]any{
		"kind": string(document.KindDockerfile), "path": b.path, "escape": string(b.escape),
		"directives": orEmpty(b.directives), "global_args": orEmpty(b.globalArgs),
		"instructions": orEmpty(b.instructions), "stages": stages,
		"final_stage": b.final, "target": b.target, "final": final,
	}
}

func orEmpty(s []any) []any {
	if s == nil {
		return []any{}
	}
	return s
}

// nilIfEmpty keeps a nil map nil in the document (JSON null), since a nil
// map[string]any would otherwise become an empty object.
func nilIfEmpty(m map[string]any) any {
	if m == nil {
		return nil
	}
	return m
}
