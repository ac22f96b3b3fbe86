// Package shell is the shell analysis every input kind shares: which
// program a simple command really runs once wrappers such as `sudo -u U`,
// `env A=B`, `timeout 60` or `xargs -r` are peeled off, the scripts of
// `sh -c`, the static value of words, and whether a failing command fails
// the whole script under -e and pipefail. It reads scripts with
// mvdan.cc/sh/v3 and knows nothing of documents: Dockerfile RUN commands and
// workflow run: steps both build on it.
package shell

import (
	"path"
	"strings"
)

// Command is what a simple command runs, found by Unwrap. Indexes point
// into the words given to Unwrap.
type Command struct {
	// Index is the word that names the program that runs.
	Index int
	// Name is that word's program name: /usr/bin/apt-get is apt-get.
	Name string
	// Wrappers are the words naming the wrappers peeled off, outermost
	// first (`sudo timeout 60 apt-get`: 0 and 1).
	Wrappers []int
	// Assigns are NAME=value words a wrapper puts into the command's
	// environment (`env A=B cmd`, `sudo A=B cmd`).
	Assigns []int
}

// maxWrappers bounds `sudo sudo sudo ...`.
const maxWrappers = 16

// Unwrap finds the program that a simple command (its words, the program
// first, with their static values) runs, looking through wrappers and
// their options: sudo, env, timeout, nice, nohup, xargs, exec, command,
// builtin, time, stdbuf, in any combination, with the program named by an
// absolute path or not. When a wrapper runs nothing (`env` alone, `xargs`
// with no command, `timeout 60` with no command) or only names its operand
// (`command -v apt-get`, `sudo -l apt-get`), the wrapper is the command.
// `sh -c SCRIPT` is a command of its own; ScriptArg returns its script.
// ok is false only when words is empty.
func Unwrap(words []string) (c Command, ok bool) {
	if len(words) == 0 {
		return Command{}, false
	}
	i := 0
	for n := 0; n < maxWrappers; n++ {
		w, isWrapper := wrappers[Base(words[i])]
		if !isWrapper {
			break
		}
		next, assigns, runs := w.operand(words, i+1)
		if !runs || next >= len(words) {
			break
		}
		c.Wrappers = append(c.Wrappers, i)
		c.Assigns = append(c.Assigns, assigns...)
		i = next
	}
	c.Index, c.Name = i, Base(words[i])
	return c, true
}

// Base is the program name of a command word: /usr/bin/apt-get -> apt-get.
func Base(word string) string {
	if word == "" {
		return ""
	}
	return path.Base(word)
}

// options describes a wrapper's command-line options, getopt style: short
// options may be clustered (`-Eu builder`, `-ubuilder`), long ones take
// their argument after `=` or as the next word, `--` ends the options.
type options struct {
	arg      string          // short options that take an argument
	optional string          // short options whose argument can only be attached (xargs -i{})
	stop     string          // short options under which the operand is not run (command -v)
	longArg  map[string]bool // long options that take an argument as the next word
	longStop map[string]bool // long options under which the operand is not run
	numeric  bool            // -N is an option (nice -10)
	dashOnly bool            // a lone `-` is an option (env -)
}

// skip returns the index of the first operand at or after i; runs is false
// when an option says the operand is not run.
func (o options) skip(words []string, i int) (next int, runs bool) {
	for i < len(words) {
		w := words[i]
		switch {
		case w == "--":
			return i + 1, true
		case w == "-" && o.dashOnly:
			i++
			continue
		case len(w) < 2 || w[0] != '-':
			return i, true
		case strings.HasPrefix(w, "--"):
			name, _, eq := strings.Cut(w[2:], "=")
			if o.longStop[name] {
				return i, false
			}
			i++
			if !eq && o.longArg[name] {
				i++
			}
			continue
		case o.numeric && isDigits(w[1:]):
			i++
			continue
		}
		i++
		for k := 1; k < len(w); k++ {
			ch := w[k]
			switch {
			case strings.IndexByte(o.stop, ch) >= 0:
				return i - 1, false
			case strings.IndexByte(o.arg, ch) >= 0:
				if k+1 == len(w) {
					i++ // the argument is the next word
				}
			case strings.IndexByte(o.optional, ch) >= 0:
			default:
				continue
			}
			break // the rest of the cluster is the argument
		}
	}
	return i, true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// wrapper is a program that runs its operand as a command.
type wrapper struct {
	opts     options
	assigns  bool // NAME=value words before the command (env, sudo)
	duration bool // an operand before the command (timeout's DURATION)
}

// operand returns the index of the wrapped command's first word, the
// NAME=value words before it, and whether the wrapper runs it at all.
func (w wrapper) operand(words []string, i int) (next int, assigns []int, runs bool) {
	i, runs = w.opts.skip(words, i)
	if !runs {
		return i, nil, false
	}
	if w.assigns {
		for i < len(words) && isAssign(words[i]) {
			assigns = append(assigns, i)
			i++
		}
	}
	if w.duration {
		i++
	}
	return i, assigns, true
}

// isAssign reports whether w is NAME=value with a valid variable name.
func isAssign(w string) bool {
	name, _, ok := strings.Cut(w, "=")
	if !ok || name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c != '_' && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// wrappers, by program name. Options are those of sudo 1.9, GNU coreutils
// 9, GNU findutils 4.9 and bash 5.
var wrappers = map[string]wrapper{
	// sudo -u builder, -g, -C 3, -D dir, -h host, -p prompt, -r role,
	// -t type, -U user, -T timeout, -R dir; -l (list), -v (validate),
	// -e (edit files), -V and -K run nothing.
	"sudo": {opts: options{
		arg:      "ugCDhprtUTR",
		stop:     "lveVK",
		longArg:  set("user", "group", "close-from", "chdir", "host", "prompt", "role", "type", "other-user", "command-timeout", "chroot"),
		longStop: set("list", "validate", "edit", "version", "remove-timestamp", "help"),
	}, assigns: true},
	// env -i, -0, -v, -u NAME, -C DIR; -S splits a string into the command
	// and is not followed.
	"env": {opts: options{
		arg:      "uC",
		stop:     "S",
		longArg:  set("unset", "chdir"),
		longStop: set("split-string", "help", "version"),
		dashOnly: true,
	}, assigns: true},
	// timeout -s KILL, -k 5, -v, --preserve-status, --foreground, then
	// the duration.
	"timeout": {opts: options{
		arg:      "sk",
		longArg:  set("signal", "kill-after"),
		longStop: set("help", "version"),
	}, duration: true},
	// nice -n 10, -n10, -10, --adjustment=10.
	"nice": {opts: options{
		arg:      "n",
		longArg:  set("adjustment"),
		longStop: set("help", "version"),
		numeric:  true,
	}},
	"nohup": {opts: options{longStop: set("help", "version")}},
	// xargs -r, -0, -t, -p, -x, -o, -a FILE, -d DELIM, -E EOF, -I REPL,
	// -L N, -n N, -P N, -s N, and -e[EOF], -i[REPL], -l[N] whose argument
	// is only ever attached.
	"xargs": {opts: options{
		arg:      "adEILnPs",
		optional: "eil",
		longArg:  set("arg-file", "delimiter", "max-args", "max-procs", "max-chars", "process-slot-var"),
		longStop: set("help", "version", "show-limits"),
	}},
	// exec -a NAME, -c, -l.
	"exec": {opts: options{arg: "a"}},
	// command -p runs; command -v and -V only say what would run.
	"command": {opts: options{stop: "vV"}},
	"builtin": {},
	// GNU time -f FORMAT, -o FILE, -a, -p, -q, -v (bash's `time` keyword
	// is parsed as a TimeClause and never reaches here).
	"time": {opts: options{
		arg:      "fo",
		stop:     "V",
		longArg:  set("format", "output"),
		longStop: set("help", "version"),
	}},
	// stdbuf -oL, -i 0, -e MODE, --output=L.
	"stdbuf": {opts: options{
		arg:      "ioe",
		longArg:  set("input", "output", "error"),
		longStop: set("help", "version"),
	}},
}

// shells are programs whose -c option takes a script.
var shells = map[string]bool{"sh": true, "bash": true, "ash": true, "dash": true, "zsh": true, "ksh": true, "mksh": true}

// IsShell reports whether program (a name or path) is a POSIX-style shell
// whose scripts can be read: sh, bash, ash, dash, zsh, ksh, mksh.
func IsShell(program string) bool { return shells[Base(program)] }

// Shells returns the program names IsShell accepts, as a new set.
func Shells() map[string]bool {
	out := make(map[string]bool, len(shells))
	for k := range shells {
		out[k] = true
	}
	return out
}

// ScriptArg returns the script of `sh -c SCRIPT`, words being a command's
// words from the shell program on (Command.Index). Options may come before
// -c and be clustered with it (`-ec`, `-xc`), `-o pipefail` and bash's long
// options (`--noprofile`, `--rcfile FILE`) are skipped; the script is the
// first operand after the options.
func ScriptArg(words []string) (string, bool) {
	if len(words) == 0 || !IsShell(words[0]) {
		return "", false
	}
	hasC := false
	i := 1
options:
	for ; i < len(words); i++ {
		w := words[i]
		switch {
		case w == "--" || w == "-":
			i++
			break options
		case strings.HasPrefix(w, "--"):
			if w == "--rcfile" || w == "--init-file" {
				i++
			}
		case len(w) >= 2 && (w[0] == '-' || w[0] == '+'):
			if w[0] == '-' && strings.IndexByte(w[1:], 'c') >= 0 {
				hasC = true
			}
			if strings.IndexByte(w[1:], 'o') >= 0 || strings.IndexByte(w[1:], 'O') >= 0 {
				i++ // -o OPTION
			}
		default:
			break options
		}
	}
	if !hasC || i >= len(words) {
		return "", false
	}
	return words[i], true
}

// InvocationOptions reads the options a shell is started with from its
// arguments after the program (`bash -eo pipefail {0}`): -e (alone or
// clustered) and -o errexit turn errexit on, -o pipefail pipefail. Long
// options are skipped.
func InvocationOptions(args []string) Options {
	var o Options
	for i := 0; i < len(args); i++ {
		f := args[i]
		if len(f) < 2 || f[0] != '-' || f[1] == '-' {
			continue
		}
		if strings.ContainsRune(f[1:], 'e') {
			o.Errexit = true
		}
		if strings.ContainsRune(f[1:], 'o') && i+1 < len(args) {
			switch args[i+1] {
			case "errexit":
				o.Errexit = true
			case "pipefail":
				o.Pipefail = true
			}
			i++
		}
	}
	return o
}
