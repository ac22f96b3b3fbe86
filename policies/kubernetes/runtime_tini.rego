# METADATA
# title: A workload's containers must start tini as PID 1
# description: >-
#   Judged per container. A `command:` replaces the image's ENTRYPOINT, so
#   its first element must be a configured init (tini by default, or its
#   static build tini-static*); `["/bin/sh", "-c", "tini -- app"]` makes the
#   shell PID 1, not tini. `args:` alone keeps the image's ENTRYPOINT.
#   Without `command:`, the image's ENTRYPOINT decides on every platform
#   when `--resolve-images` resolved it (as DWF303); when it did not, the
#   rule does not fire: the image is judged where it is built (DWF103,
#   DWF303).
# schemas:
#   - input: schema.kubernetes
# custom:
#   id: DWF603
#   severity: error
#   kind: kubernetes
#   help: |
#     Start the init first and your program after `--`, or leave `command:`
#     out so the image's `ENTRYPOINT ["tini", "--"]` runs and pass the
#     program in `args:`:
#
#     ```yaml
#     containers:
#       - name: app
#         image: registry.example/app:1.0
#         command: ["/usr/bin/tini", "--", "/app/server"]
#     ```
package dwf.kubernetes.runtime_tini

import data.dwf.lib.image
import data.dwf.lib.kubernetes as lib

example := sprintf("`command: [\"%s\", \"--\", ...]`", [image.init_example])

deny contains finding if {
	some w in input.workloads
	some c in w.containers
	is_object(c.command)
	msg := command_problem(w, c)
	finding := {"msg": msg, "location": c.command.location}
}

deny contains finding if {
	some w in input.workloads
	some c in w.containers
	is_null(c.command)
	lib.resolved(c)
	some p in c.image_config.platforms
	msg := image_problem(w, c, p)
	finding := {"msg": msg, "location": c.image.location}
}

# command_problem says what is wrong with c's command; undefined when it
# starts the init.
command_problem(w, c) := sprintf(
	"The `command:` of the %s runs through `%s -c`, so PID 1 is the shell, which neither forwards signals nor reaps zombies; start the init directly: %s.",
	[lib.label(w, c), c.command.value[0], example],
) if {
	c.command.via_shell
} else := sprintf(
	"The `command:` of the %s replaces the image's ENTRYPOINT and makes `%s` PID 1 instead of %s; put the init first: `command: [\"%s\", \"--\", \"%s\", ...]`.",
	[lib.label(w, c), c.command.value[0], image.init_example, image.init_example, c.command.value[0]],
) if {
	not image.is_init(c.command.program)
}

# image_problem says what is wrong with the ENTRYPOINT of platform p of c's
# image, which runs since c has no command; undefined when it starts the
# init.
image_problem(w, c, p) := sprintf(
	"The %s has no `command:` and the image %s has no ENTRYPOINT, so PID 1 is not %s%s; add %s.",
	[lib.label(w, c), p.subject, image.init_example, cmd_note(c, p), example],
) if {
	is_null(p.entrypoint)
} else := sprintf(
	"The %s has no `command:` and the ENTRYPOINT of the image %s runs through `%s -c`, so PID 1 is the shell; add %s.",
	[lib.label(w, c), p.subject, p.entrypoint.words[0], example],
) if {
	p.entrypoint.via_shell
} else := sprintf(
	"The %s has no `command:` and the ENTRYPOINT of the image %s makes `%s` PID 1 instead of %s; add %s.",
	[lib.label(w, c), p.subject, p.entrypoint.words[0], image.init_example, example],
) if {
	not image.is_init(p.entrypoint.program)
}

cmd_note(c, p) := sprintf(" (`%s` is only in its CMD, which `args:` replaces)", [p.cmd.words[0]]) if {
	is_object(p.cmd)
	image.is_init(p.cmd.program)
} else := ""
