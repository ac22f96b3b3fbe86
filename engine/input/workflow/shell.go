package workflow

import (
	"strings"

	"github.com/devflow/dwf-policy/engine/analysis/shell"
	"github.com/devflow/dwf-policy/engine/document"
)

// shellInfo is the shell GitHub runs a `run:` script with.
type shellInfo struct {
	name      string // bash, sh, pwsh, ... or the program of a custom shell
	command   string // the command line GitHub uses, {0} standing for the script file
	source    string // step, job, workflow or default
	errexit   bool
	pipefail  bool
	supported bool // a POSIX-style shell whose script dwf-policy parses
	loc       *document.Location
}

// resolveShell applies GitHub's rules: the step's `shell`, else the job's
// then the workflow's `defaults.run.shell`, else `bash -e {0}` (pwsh on
// Windows runners). `shell: bash` means `bash --noprofile --norc -eo
// pipefail {0}` and `shell: sh` means `sh -e {0}`.
func resolveShell(value, source string, loc *document.Location, windows bool) shellInfo {
	if source == "default" {
		if windows {
			return shellInfo{name: "pwsh", command: `pwsh -command ". '{0}'"`, source: source}
		}
		return shellInfo{name: "bash", command: "bash -e {0}", source: source, errexit: true, supported: true}
	}
	s := shellInfo{source: source, loc: loc}
	v := strings.TrimSpace(value)
	switch v {
	case "bash":
		s.name, s.command, s.errexit, s.pipefail, s.supported = "bash", "bash --noprofile --norc -eo pipefail {0}", true, true, true
		return s
	case "sh":
		s.name, s.command, s.errexit, s.supported = "sh", "sh -e {0}", true, true
		return s
	case "pwsh":
		s.name, s.command = "pwsh", `pwsh -command ". '{0}'"`
		return s
	case "powershell":
		s.name, s.command = "powershell", `powershell -command ". '{0}'"`
		return s
	case "cmd":
		s.name, s.command = "cmd", `%ComSpec% /D /E:ON /V:OFF /S /C "CALL "{0}""`
		return s
	case "python":
		s.name, s.command = "python", "python {0}"
		return s
	}
	s.command = v
	if strings.Contains(v, "${{") {
		s.name = v
		return s
	}
	fields := strings.Fields(v)
	if len(fields) == 0 {
		return s
	}
	s.name = shell.Base(fields[0])
	switch s.name {
	case "bash", "sh", "dash", "ash", "ksh", "mksh":
		s.supported = true // zsh is not: its syntax is not bash's
	}
	o := shell.InvocationOptions(fields[1:])
	s.errexit, s.pipefail = o.Errexit, o.Pipefail
	return s
}

// options are the shell options the script starts with.
func (s shellInfo) options() shell.Options {
	return shell.Options{Errexit: s.errexit, Pipefail: s.pipefail}
}

func (s shellInfo) value() map[string]any {
	var loc any
	if s.loc != nil {
		loc = s.loc.Value()
	}
	return map[string]any{
		"name":      s.name,
		"command":   s.command,
		"source":    s.source,
		"errexit":   s.errexit,
		"pipefail":  s.pipefail,
		"supported": s.supported,
		"location":  loc,
	}
}
