# METADATA
# title: The image must not run as root
# description: >-
#   The image config must set a user that is not root, on every platform of an
#   index. Root is: no user, the name root, UID 0 in any spelling (0, 000, +0,
#   -0, with or without a group), an empty user part, or a name that the
#   image's /etc/passwd maps to UID 0.
# schemas:
#   - input: schema.image
# custom:
#   id: DWF301
#   severity: error
#   kind: image
#   anchor: user
#   help: |
#     Set a non-root user in the final stage of the Dockerfile that builds the
#     image, then rebuild and push it:
#
#     ```dockerfile
#     FROM debian:bookworm-slim
#     RUN useradd --uid 1001 --create-home dwfuser
#     USER 1001
#     ```
#
#     Check the result with `dwf-policy image REGISTRY/IMAGE:TAG`.
package dwf.image.non_root_user

import data.dwf.lib.image as lib

deny contains finding if {
	some p in input.platforms
	reason := lib.root_reason(p.user)
	msg := sprintf(
		"The %s runs as root %s; add `USER %v` to the final stage and rebuild.",
		[lib.image_name(p.platform), reason, lib.config_uid],
	)
	finding := {"msg": msg, "subject": p.subject}
}
