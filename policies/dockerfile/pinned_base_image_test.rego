package dwf.dockerfile.pinned_base_image_test

import data.dwf.dockerfile.pinned_base_image
import data.dwf.lib.fixtures as fx

image(ref, repository, tag, digest) := fx.from_image(ref, repository, tag, digest, 1)

fires(from) if count(pinned_base_image.deny) == 1 with input as fx.froms_doc([from])

quiet(from) if count(pinned_base_image.deny) == 0 with input as fx.froms_doc([from])

# --- firing -----------------------------------------------------------------

test_no_tag_fires if {
	pinned_base_image.deny == {{
		"msg": "The base image `ubuntu` has no tag, so it pulls whatever `latest` is at build time; pin a version tag or a digest, e.g. `ubuntu:<version>` or `ubuntu@sha256:<digest>`.",
		"location": fx.location(1),
	}} with input as fx.froms_doc([image("ubuntu", "ubuntu", "", "")])
}

test_latest_fires if {
	pinned_base_image.deny == {{
		"msg": "The base image `node:latest` uses the `latest` tag, which moves with every release; pin a version tag or a digest, e.g. `node:<version>` or `node@sha256:<digest>`.",
		"location": fx.location(1),
	}} with input as fx.froms_doc([image("node:latest", "node", "latest", "")])
}

# A registry port is not a tag.
test_registry_port_without_tag_fires if {
	fires(image("registry:5000/team/app", "registry:5000/team/app", "", ""))
	fires(image("localhost:5000/app:latest", "localhost:5000/app", "latest", ""))
}

test_fully_qualified_without_tag_fires if {
	fires(image("docker.io/library/nginx", "docker.io/library/nginx", "", ""))
}

test_platform_flag_does_not_matter if {
	fires(object.union(image("golang", "golang", "", ""), {"platform": "$BUILDPLATFORM"}))
}

test_unresolved_arg_fires if {
	pinned_base_image.deny == {{
		"msg": "The base image `${BASE_IMAGE}` uses a variable that has no value, so it cannot be verified as pinned; give the ARG a pinned default before the first FROM, e.g. `ARG BASE_IMAGE=<image>:<version>`.",
		"location": fx.location(4),
	}} with input as fx.froms_doc([fx.from_unresolved("${BASE_IMAGE}", 4)])
}

test_unresolved_arg_without_braces_fires if {
	some f in pinned_base_image.deny with input as fx.froms_doc([fx.from_unresolved("$REGISTRY/app:1.0", 4)])
	contains(f.msg, "`ARG REGISTRY=<image>:<version>`")
}

# A global ARG with an unpinned default expands to an unpinned image.
test_arg_default_unpinned_fires if {
	from := object.union(image("${BASE}", "python", "", ""), {"expanded": "python"})
	some f in pinned_base_image.deny with input as fx.froms_doc([from])
	startswith(f.msg, "The base image `${BASE}` (expands to `python`) has no tag")
}

# Builder stages count, and every unpinned FROM is its own finding.
test_every_unpinned_from_fires if {
	froms := [
		fx.from_image("golang", "golang", "", "", 1),
		fx.from_image("node:latest", "node", "latest", "", 4),
		fx.from_image("debian:12", "debian", "12", "", 7),
	]
	findings := pinned_base_image.deny with input as fx.froms_doc(froms)
	{f.location.line | some f in findings} == {1, 4}
}

# --- not firing ------------------------------------------------------------

test_scratch_passes if {
	quiet(fx.from_scratch(1))
}

test_earlier_stage_passes if {
	builder := fx.from_image("golang:1.23", "golang", "1.23", "", 1)
	count(pinned_base_image.deny) == 0 with input as fx.froms_doc([builder, fx.from_stage("builder", 0, 5)])
}

test_version_tag_passes if {
	quiet(image("ubuntu:24.04", "ubuntu", "24.04", ""))
	quiet(image("python:3.13-slim", "python", "3.13-slim", ""))
}

test_registry_port_with_tag_passes if {
	quiet(image("registry:5000/team/app:1.2.3", "registry:5000/team/app", "1.2.3", ""))
}

test_digest_passes if {
	digest := "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	quiet(image(sprintf("alpine@%s", [digest]), "alpine", "", digest))
	quiet(image(sprintf("alpine:latest@%s", [digest]), "alpine", "latest", digest))
}

test_arg_with_pinned_default_passes if {
	quiet(object.union(image("${BASE}", "debian", "12-slim", ""), {"expanded": "debian:12-slim"}))
}

test_platform_with_tag_passes if {
	quiet(object.union(image("golang:1.23", "golang", "1.23", ""), {"platform": "linux/amd64"}))
}

# A tag that merely contains "latest" is a real tag.
test_latest_lookalike_tags_pass if {
	quiet(image("app:latest-2024", "app", "latest-2024", ""))
	quiet(image("app:LATEST", "app", "LATEST", ""))
}

# A digest that is too short or too long pins nothing (BuildKit refuses it).
test_short_digest_fires if {
	pinned_base_image.deny == {{
		"msg": "The base image `ruby@sha256:f1dbca0f5dbc9` has a malformed digest `sha256:f1dbca0f5dbc9` (a sha256 digest is 64 lowercase hex digits, this one has 13), so it pins nothing and BuildKit refuses to build it; pin the full digest, e.g. `ruby@sha256:<64 hex digits>`.",
		"location": fx.location(1),
	}} with input as fx.froms_doc([image("ruby@sha256:f1dbca0f5dbc9", "ruby", "", "sha256:f1dbca0f5dbc9")])
}

test_long_digest_fires if {
	digest := "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0"
	fires(image(sprintf("alpine@%s", [digest]), "alpine", "", digest))
}

test_uppercase_digest_fires if {
	digest := "sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"
	fires(image(sprintf("alpine@%s", [digest]), "alpine", "", digest))
}

test_unknown_algorithm_fires if {
	fires(image("alpine@md5:0123456789abcdef0123456789abcdef", "alpine", "", "md5:0123456789abcdef0123456789abcdef"))
}

test_tag_with_malformed_digest_fires if {
	fires(image("alpine:3.20@sha256:abc", "alpine", "3.20", "sha256:abc"))
}

test_sha512_digest_passes if {
	digest := concat("", ["sha512:", concat("", [x | some _ in numbers.range(1, 8); x := "0123456789abcdef"])])
	quiet(image(sprintf("alpine@%s", [digest]), "alpine", "", digest))
}
