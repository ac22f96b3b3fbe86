# METADATA
# title: The final stage must not run as root
# description: |
#   The image that is built (the last stage, or the --target stage) must run
#   as a non-root user: its effective USER, following the FROM chain, must be
#   set, must resolve after ARG/ENV expansion, and must be neither `root` nor
#   UID 0 in any spelling (`0`, `000`, `+0`, `-0`, with or without a group).
#   A USER in a builder stage the final stage does not build on never counts.
# schemas:
#   - input: schema.dockerfile
# custom:
#   id: DWF101
#   severity: error
#   kind: dockerfile
#   help: |
#     Create an unprivileged user and switch to it in the final stage, after
#     the steps that need root. The Devflow standard is `dwfuser` with UID
#     1001 (see DWF102); a USER set only in a builder stage does not carry
#     over to the image you ship.
#
#     ```dockerfile
#     FROM debian:12-slim
#     RUN useradd --uid 1001 --create-home dwfuser
#     COPY --chown=1001 app /app
#     USER 1001
#     ENTRYPOINT ["tini", "--", "/app/run"]
#     ```
#
#     If USER reads a variable, give the ARG a default in the stage
#     (`ARG UID=1001` then `USER ${UID}`); an unset variable expands to
#     nothing and the container runs as root.
package dwf.dockerfile.non_root_user

import data.dwf.lib.dockerfile as lib

deny contains finding if {
	is_null(input.final.user)
	msg := sprintf(
		"The final stage runs as root because no USER is set in its FROM chain (a USER in a builder stage does not count); add `USER %v` after the steps that need root.",
		[lib.config_uid],
	)
	finding := {"msg": msg, "location": input.final.location}
}

deny contains finding if {
	user := input.final.user
	is_object(user)
	not user.resolved
	msg := sprintf(
		"`USER %s` cannot be resolved (%s), so the container may run as root; give the variable a default in the stage (`ARG UID=%v`) or write `USER %v`.",
		[user.raw, reason(user), lib.config_uid, lib.config_uid],
	)
	finding := {"msg": msg, "location": user.location}
}

deny contains finding if {
	user := input.final.user
	is_object(user)
	user.resolved
	lib.root_user(user)
	msg := sprintf(
		"The final stage runs as root via %s; switch to a non-root user with `USER %v`.",
		[lib.user_display(user), lib.config_uid],
	)
	finding := {"msg": msg, "location": user.location}
}

deny contains finding if {
	user := input.final.user
	is_object(user)
	user.resolved
	not lib.root_user(user)
	created := lib.created_as_root(user)
	msg := sprintf(
		"The final stage runs as root via %s because %s creates `%s` with UID 0 on line %d; create the user with `-u %v` instead.",
		[lib.user_display(user), created.tool, user.name, created.location.line, lib.config_uid],
	)
	finding := {"msg": msg, "location": user.location}
}

reason(user) := user.reason if user.reason != ""

reason(user) := "the value is empty" if user.reason == ""
