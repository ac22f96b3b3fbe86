# METADATA
# title: The final stage must not run as root
# description: |
#   The image that is built (the last stage, or the --target stage) must run
#   as a non-root user: its effective USER, following the FROM chain, must be
#   set, must resolve after ARG/ENV expansion, and must be neither `root` nor
#   UID 0 in any spelling (`0`, `000`, `+0`, `-0`, with or without a group).
#   A USER in a builder stage the final stage does not build on never counts.
#   With no USER at all, a stage built FROM scratch runs as root; a stage
#   built on an image runs as that image's user, which only the image
#   settles: the message says so, and `check --resolve-base-images` reads the
#   user from the base image's config (a base that sets a non-root user, such
#   as `gcr.io/distroless/static:nonroot`, then passes). A user that comes
#   from the base image is named with it (`set by the base image
#   <ref>@<digest>`) and reported at the FROM line.
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

# No USER in the chain of a stage built FROM scratch: nothing sets a user,
# so the container runs as root.
deny contains finding if {
	is_null(input.final.user)
	not base_image(input.final)
	msg := sprintf(
		"The final stage runs as root because no USER is set in its FROM chain (a USER in a builder stage does not count); add `USER %v` after the steps that need root.",
		[lib.config_uid],
	)
	finding := {"msg": msg, "location": input.final.location}
}

# No USER in the chain of a stage built on an image: the user is whatever
# the base image's config sets, root unless it sets one. Only the base
# image (or a USER line) settles it.
deny contains finding if {
	is_null(input.final.user)
	image := base_image(input.final)
	msg := sprintf(
		"No USER is set in the final stage's FROM chain, so it runs as the user of the base image `%s`, which is root unless that image sets another; add `USER %v` after the steps that need root, or run `dwf-policy check --resolve-base-images` to check the base image's user.",
		[image, lib.config_uid],
	)
	finding := {"msg": msg, "location": input.final.location}
}

# base_image(final) is the image at the root of the final stage's FROM
# chain, as written after ARG expansion; undefined for scratch.
base_image(final) := from.expanded if {
	from := input.stages[final.chain[0]].from
	not from.scratch
	is_null(from.stage)
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
		"The final stage runs as root %s; switch to a non-root user with `USER %v`.",
		[lib.user_source(user), lib.config_uid],
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
		"The final stage runs as root %s because %s creates `%s` with UID 0 on line %d; create the user with `-u %v` instead.",
		[lib.user_source(user), created.tool, user.name, created.location.line, lib.config_uid],
	)
	finding := {"msg": msg, "location": user.location}
}

reason(user) := user.reason if user.reason != ""

reason(user) := "the value is empty" if user.reason == ""
