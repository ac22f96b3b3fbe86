# METADATA
# title: Base images should be pinned
# description: |
#   A FROM that pulls an image (not `scratch`, not an earlier stage) should
#   name a version tag other than `latest`, or a digest, so that a rebuild
#   gets the same base. A port in the registry (`registry:5000/img`) is not a
#   tag. A digest pins only when it is well formed (`sha256:` and 64
#   lowercase hex digits, `sha384:` and 96, `sha512:` and 128): anything
#   else after `@` is not a pin, and BuildKit refuses to build it. When the
#   reference uses an ARG that has no value, the image cannot be checked and
#   the rule says so.
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

deny contains finding if {
	some from in pulled_images
	from.resolved
	from.digest != ""
	not valid_digest(from.digest)
	msg := sprintf(
		"The base image %s has a malformed digest `%s` (%s), so it pins nothing and BuildKit refuses to build it; pin the full digest, e.g. `%s@sha256:<64 hex digits>`.",
		[display(from), from.digest, digest_problem(from.digest), from.repository],
	)
	finding := {"msg": msg, "location": from.location}
}

# The digest algorithms BuildKit accepts (go-digest's registered ones), each
# with its exact length of lowercase hex.
digest_lengths := {"sha256": 64, "sha384": 96, "sha512": 128}

valid_digest(d) if {
	parts := split(d, ":")
	count(parts) == 2
	n := digest_lengths[parts[0]]
	regex.match(sprintf("^[a-f0-9]{%d}$", [n]), parts[1])
}

digest_problem(d) := sprintf("a %s digest is %d lowercase hex digits, this one has %d", [parts[0], n, count(parts[1])]) if {
	parts := split(d, ":")
	count(parts) == 2
	n := digest_lengths[parts[0]]
	regex.match(`^[a-f0-9]*$`, parts[1])
}

digest_problem(d) := "a digest is `sha256:` followed by 64 lowercase hex digits" if {
	parts := split(d, ":")
	count(parts) == 2
	digest_lengths[parts[0]]
	not regex.match(`^[a-f0-9]*$`, parts[1])
}

digest_problem(d) := "a digest is `sha256:` followed by 64 lowercase hex digits" if {
	parts := split(d, ":")
	not digest_lengths[parts[0]]
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
