# METADATA
# title: The final stage must start tini as PID 1
# description: |
#   PID 1 in a container must forward signals and reap zombie processes; the
#   standard init that does so is tini (the configured `init` binaries). The
#   final stage's effective ENTRYPOINT must be in exec (JSON) form and its
#   first word's basename must be `tini` or start with `tini-static`
#   (`/sbin/tini`, `/usr/bin/tini`, `/tini`, `tini-static-amd64`); flags such
#   as `-g` may follow. A shell-form ENTRYPOINT (including a JSON array with a
#   syntax error), another init, tini inside `sh -c`, tini only in CMD, a
#   variable as the program and `ENTRYPOINT []` all leave something else as
#   PID 1.
# schemas:
#   - input: schema.dockerfile
# custom:
#   id: DWF103
#   severity: error
#   kind: dockerfile
#   help: |
#     Install tini and make it the program of an exec-form ENTRYPOINT in the
#     final stage; put your command after `--` or in CMD.
#
#     ```dockerfile
#     FROM debian:12-slim
#     RUN apt-get update && apt-get install -y --no-install-recommends tini
#     ENTRYPOINT ["/usr/bin/tini", "--"]
#     CMD ["/app/server"]
#     ```
#
#     Exec form does not expand variables, so write the path rather than
#     `${TINI}`; a shell-form ENTRYPOINT (or a JSON array with a syntax
#     error) makes `/bin/sh` PID 1 instead.
package dwf.dockerfile.tini_entrypoint

import data.dwf.lib.dockerfile as lib

# Shells whose `-c` script does not make its commands PID 1.
shells := {"sh", "bash", "ash", "dash", "zsh", "ksh", "busybox"}

# Known inits, named so the message can say "another init" when one that is
# not configured is used (a configured one passes before this is read).
other_inits := {
	"tini", "tini-static", "dumb-init", "catatonit", "docker-init", "init",
	"s6-svscan", "runsvdir", "supervisord", "pid1", "tiny-init",
}

example := sprintf("`ENTRYPOINT [\"%s\", \"--\"]`", [lib.init_example])

deny contains finding if {
	is_null(input.final.entrypoint)
	not init_in_cmd
	msg := sprintf(
		"The final stage has no ENTRYPOINT, so PID 1 is not %s and signals and zombie processes go unhandled; add %s.",
		[lib.init_example, example],
	)
	finding := {"msg": msg, "location": input.final.location}
}

deny contains finding if {
	is_null(input.final.entrypoint)
	init_in_cmd
	cmd := input.final.cmd
	msg := sprintf(
		"`%s` is only in CMD, which `docker run <image> <command>` replaces, so PID 1 is not guaranteed to be an init; move it to %s.",
		[cmd.words[0], example],
	)
	finding := {"msg": msg, "location": cmd.location}
}

deny contains finding if {
	entrypoint := input.final.entrypoint
	is_object(entrypoint)
	entrypoint.form == "shell"
	not broken_json(entrypoint.raw)
	msg := sprintf(
		"The ENTRYPOINT is in shell form, so PID 1 is /bin/sh, which neither forwards signals nor reaps zombies; use the exec form %s followed by your command.",
		[example],
	)
	finding := {"msg": msg, "location": entrypoint.location}
}

deny contains finding if {
	entrypoint := input.final.entrypoint
	is_object(entrypoint)
	entrypoint.form == "shell"
	broken_json(entrypoint.raw)
	msg := sprintf(
		"The ENTRYPOINT is not a valid JSON array (look for a trailing comma or single quotes), so Docker runs it in shell form with /bin/sh as PID 1; fix the JSON and start it with the init, e.g. %s.",
		[example],
	)
	finding := {"msg": msg, "location": entrypoint.location}
}

deny contains finding if {
	entrypoint := input.final.entrypoint
	is_object(entrypoint)
	entrypoint.form == "exec"
	count(entrypoint.words) == 0
	msg := sprintf(
		"`ENTRYPOINT []` clears the entrypoint, so PID 1 is not %s; set %s instead.",
		[lib.init_example, example],
	)
	finding := {"msg": msg, "location": entrypoint.location}
}

deny contains finding if {
	entrypoint := input.final.entrypoint
	is_object(entrypoint)
	entrypoint.form == "exec"
	program := entrypoint.words[0]
	contains(program, "$")
	msg := sprintf(
		"The ENTRYPOINT program `%s` is a variable, which exec form never expands, so the container would try to run that literal name; write the path, e.g. %s.",
		[program, example],
	)
	finding := {"msg": msg, "location": entrypoint.location}
}

deny contains finding if {
	entrypoint := input.final.entrypoint
	is_object(entrypoint)
	entrypoint.form == "exec"
	program := entrypoint.words[0]
	lib.basename(program) in shells
	init_in_script(entrypoint.words)
	msg := sprintf(
		"The init runs only inside `%s -c`, so PID 1 is the shell; make the init the program, e.g. %s followed by your command.",
		[program, example],
	)
	finding := {"msg": msg, "location": entrypoint.location}
}

deny contains finding if {
	entrypoint := input.final.entrypoint
	is_object(entrypoint)
	entrypoint.form == "exec"
	program := entrypoint.words[0]
	not contains(program, "$")
	not lib.init_program(program)
	lib.basename(program) in other_inits
	msg := sprintf(
		"The ENTRYPOINT uses `%s` as init instead of the standard %s; replace it with %s.",
		[program, lib.init_example, example],
	)
	finding := {"msg": msg, "location": entrypoint.location}
}

deny contains finding if {
	entrypoint := input.final.entrypoint
	is_object(entrypoint)
	entrypoint.form == "exec"
	program := entrypoint.words[0]
	not contains(program, "$")
	not lib.init_program(program)
	not lib.basename(program) in other_inits
	not shell_running_init(entrypoint.words)
	msg := sprintf(
		"The ENTRYPOINT makes `%s` PID 1 without an init, so signals and zombie processes go unhandled; put the init first, e.g. `ENTRYPOINT [\"%s\", \"--\", \"%s\", ...]`.",
		[program, lib.init_example, program],
	)
	finding := {"msg": msg, "location": entrypoint.location}
}

# The CMD (exec form) starts a configured init.
init_in_cmd if {
	cmd := input.final.cmd
	is_object(cmd)
	cmd.form == "exec"
	lib.init_program(cmd.words[0])
}

# A word after the program mentions a configured init as a command.
init_in_script(words) if {
	some word in array.slice(words, 1, count(words))
	some token in regex.split(`[\s;&|()]+`, word)
	lib.init_program(token)
}

shell_running_init(words) if {
	lib.basename(words[0]) in shells
	init_in_script(words)
}

# A shell-form ENTRYPOINT whose text starts like a JSON array had a JSON
# syntax error (BuildKit then falls back to shell form). raw may or may not
# include the keyword, so accept both.
broken_json(raw) if regex.match(`^\s*(?i:entrypoint\s+)?\[`, raw)
