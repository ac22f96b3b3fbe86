# METADATA
# title: Base images should be pinned
# description: |
#   A FROM that pulls an image (not `scratch`, not an earlier stage) should
#   name a version tag other than `latest`, or a digest, so that a rebuild
#   gets the same base. A port in the registry (`registry:5000/img`) is not a
#   tag. When the reference uses an ARG that has no value, the image cannot
#   be checked and the rule says so.
# schemas:
#   - input: schema.dockerfile
# custom:
#   id: DWF105
#   severity: warning
#   kind: dockerfile
#   help: |
#     Pin the base image to a version tag, or better to a digest (a tag may
#     move; a digest cannot). Keep the tag beside the digest for readers.
#
#     ```dockerfile
#     FROM python:3.13-slim@sha256:<digest> AS build
#     ARG BASE=debian:12-slim
#     FROM ${BASE}
#     ```
#
#     A base image chosen by an ARG needs a pinned default, declared before
#     the first FROM, so the Dockerfile builds something known without
#     `--build-arg`.
package dwf.dockerfile.pinned_base_image

deny contains finding if {
	some from in pulled_images
	not from.resolved
	msg := sprintf(
		"The base image `%s` uses a variable that has no value, so it cannot be verified as pinned; give the ARG a pinned default before the first FROM, e.g. `ARG %s=<image>:<version>`.",
		[from.image, arg_name(from.image)],
	)
	finding := {"msg": msg, "location": from.location}
}

deny contains finding if {
	some from in pulled_images
	from.resolved
	from.digest == ""
	from.tag == ""
	msg := sprintf(
		"The base image %s has no tag, so it pulls whatever `latest` is at build time; pin a version tag or a digest, e.g. `%s:<version>` or `%s@sha256:<digest>`.",
		[display(from), from.repository, from.repository],
	)
	finding := {"msg": msg, "location": from.location}
}

deny contains finding if {
	some from in pulled_images
	from.resolved
	from.digest == ""
	from.tag == "latest"
	msg := sprintf(
		"The base image %s uses the `latest` tag, which moves with every release; pin a version tag or a digest, e.g. `%s:<version>` or `%s@sha256:<digest>`.",
		[display(from), from.repository, from.repository],
	)
	finding := {"msg": msg, "location": from.location}
}

# The FROMs that pull an image: not scratch and not an earlier stage.
pulled_images contains from if {
	some stage in input.stages
	from := stage.from
	not from.scratch
	is_null(from.stage)
}

display(from) := sprintf("`%s`", [from.image]) if from.image == from.expanded

display(from) := sprintf("`%s` (expands to `%s`)", [from.image, from.expanded]) if from.image != from.expanded

# arg_name(image) is the first variable the reference uses, for the example.
arg_name(image) := name if {
	matches := regex.find_all_string_submatch_n(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`, image, 1)
	name := matches[0][1]
}

arg_name(image) := "BASE" if {
	not regex.match(`\$\{?[A-Za-z_]`, image)
}
