# METADATA
# title: The image must start tini as PID 1
# description: >-
#   The image config's ENTRYPOINT must start a configured init (tini by
#   default, or its static build tini-static*) directly, on every platform of
#   an index, so that PID 1 reaps zombies and forwards signals. Fires when
#   there is no ENTRYPOINT, when it runs through a shell (sh -c, which is what
#   a Dockerfile's shell form produces), when it starts another program, and
#   when tini is only in CMD, which `docker run IMAGE ARGS` replaces.
# schemas:
#   - input: schema.image
# custom:
#   id: DWF303
#   severity: error
#   kind: image
#   anchor: entrypoint
#   help: |
#     Install tini and make it the exec-form ENTRYPOINT of the final stage; put
#     the program in CMD:
#
#     ```dockerfile
#     RUN apt-get update && apt-get install -y --no-install-recommends tini
#     ENTRYPOINT ["/usr/bin/tini", "--"]
#     CMD ["/app/server"]
#     ```
package dwf.image.tini_entrypoint

import data.dwf.lib.image as lib

example := sprintf("`ENTRYPOINT [\"%s\", \"--\"]`", [lib.init_example])

deny contains finding if {
	some p in input.platforms
	msg := problem(p)
	finding := {"msg": msg, "subject": p.subject}
}

# problem(p) says what is wrong with the entrypoint of platform p and how to
# fix it; it is undefined when the entrypoint starts the init.
problem(p) := sprintf(
	"`%s` is only in the CMD of the %s, which `docker run <image> <command>` replaces, so PID 1 is not guaranteed to be an init; move it to %s.",
	[p.cmd.words[0], lib.image_name(p.platform), example],
) if {
	is_null(p.entrypoint)
	lib.is_init(p.cmd.program)
} else := sprintf(
	"The %s has no ENTRYPOINT, so PID 1 is not %s and signals and zombie processes go unhandled; add %s.",
	[lib.image_name(p.platform), lib.init_example, example],
) if {
	is_null(p.entrypoint)
} else := sprintf(
	"The ENTRYPOINT of the %s runs through `%s -c`, so PID 1 is the shell, which neither forwards signals nor reaps zombies; use the exec form %s followed by your command.",
	[lib.image_name(p.platform), p.entrypoint.words[0], example],
) if {
	p.entrypoint.via_shell
} else := sprintf(
	"The ENTRYPOINT of the %s makes `%s` PID 1 instead of %s; put the init first, e.g. `ENTRYPOINT [\"%s\", \"--\", \"%s\", ...]`.",
	[lib.image_name(p.platform), p.entrypoint.words[0], lib.init_example, lib.init_example, p.entrypoint.words[0]],
) if {
	not lib.is_init(p.entrypoint.program)
}
