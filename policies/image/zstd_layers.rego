# METADATA
# title: Image layers should be zstd-compressed
# description: >-
#   Every layer of every platform should be zstd-compressed: zstd layers are
#   smaller and decompress several times faster than gzip, which shortens
#   pulls and cold starts.
# schemas:
#   - input: schema.image
# custom:
#   id: DWF305
#   severity: note
#   kind: image
#   anchor: from
#   help: |
#     Ask BuildKit for zstd when pushing:
#
#     ```sh
#     docker buildx build --output type=image,name=REGISTRY/IMAGE:TAG,push=true,compression=zstd,force-compression=true .
#     ```
#
#     In `docker-bake.hcl`: `output = ["type=image,push=true,compression=zstd,force-compression=true"]`.
package dwf.image.zstd_layers

import data.dwf.lib.image as lib

deny contains finding if {
	some p in input.platforms
	plain := [l | some l in p.layers; not l.zstd]
	count(plain) > 0
	kinds := sort({l.compression | some l in plain})
	msg := sprintf(
		"%d of %d layers of the %s are not zstd-compressed (%s); push with `--output type=image,compression=zstd,force-compression=true`.",
		[count(plain), count(p.layers), lib.image_name(p.platform), concat(", ", kinds)],
	)
	finding := {"msg": msg, "subject": p.subject}
}
