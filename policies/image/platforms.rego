# METADATA
# title: The image must be published for linux/amd64 and linux/arm64
# description: >-
#   The image must be an index that offers linux/amd64 and linux/arm64 (or the
#   platforms listed in the configuration's `platforms`). A single-platform
#   image lacks an index and so fires too. The list of the index counts, not
#   the platforms selected with --platform.
# schemas:
#   - input: schema.image
# custom:
#   id: DWF304
#   severity: warning
#   kind: image
#   anchor: from
#   help: |
#     Build and push every required platform in one index:
#
#     ```sh
#     docker buildx build --platform linux/amd64,linux/arm64 --push -t REGISTRY/IMAGE:TAG .
#     ```
#
#     or in `docker-bake.hcl`: `platforms = ["linux/amd64", "linux/arm64"]`.
package dwf.image.platforms

# The platforms every image must offer; the configuration may list others.
required := object.get(data.dwf.config, "platforms", ["linux/amd64", "linux/arm64"])

# offered(r) holds when the image offers platform r: os/arch matches any
# variant, os/arch/variant must match exactly.
offered(r) if {
	some e in input.index_platforms
	r in {e.platform, sprintf("%s/%s", [e.os, e.architecture])}
}

missing := sort([r | some r in required; not offered(r)])

have := sort([e.platform | some e in input.index_platforms])

build := sprintf("`docker buildx build --platform %s`", [concat(",", required)])

deny contains finding if {
	input.is_index
	count(missing) > 0
	msg := sprintf(
		"The index lacks %s (it has %s); build and push every platform with %s.",
		[concat(" and ", missing), concat(", ", have), build],
	)
	finding := {"msg": msg, "subject": input.subject}
}

deny contains finding if {
	not input.is_index
	count(missing) > 0
	msg := sprintf(
		"The image is a single %s image, not an index with %s; build and push every platform with %s.",
		[concat(", ", have), concat(" and ", required), build],
	)
	finding := {"msg": msg, "subject": input.subject}
}
