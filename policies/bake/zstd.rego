# METADATA
# title: Bake image outputs must be zstd-compressed
# description: >-
#   Every image or registry output of a bake target must set
#   `compression=zstd` (the configured `bake.compression`), with
#   `force-compression=true` so that a base image's gzip layers are
#   recompressed instead of kept, and `oci-mediatypes=true` where the image
#   exporter would otherwise write Docker media types, which cannot describe
#   zstd layers. A target that builds an image but sets no output is built
#   with the exporter's defaults (gzip). OCI archives (`type=oci`) always use
#   OCI media types.
# schemas:
#   - input: schema.bake
# custom:
#   id: DWF502
#   severity: warning
#   kind: bake
#   help: |
#     Ask BuildKit for zstd on every image output:
#
#     ```hcl
#     target "app" {
#       output = ["type=image,push=true,compression=zstd,force-compression=true,oci-mediatypes=true"]
#     }
#     ```
package dwf.bake.zstd

import data.dwf.lib.bake as lib

want := lib.config_compression

deny contains finding if {
	some t in input.targets
	lib.builds_image(t)
	count(lib.outputs(t)) == 0
	msg := sprintf(
		"Target `%s` sets no `output`, so its image is pushed or loaded with gzip layers; add `output = [\"type=image,compression=%s,force-compression=true,oci-mediatypes=true\"]`.",
		[t.name, want],
	)
	finding := lib.finding(msg, t)
}

image_outputs contains [t, o] if {
	some t in input.targets
	t.built
	some o in lib.outputs(t)
	o.type in lib.image_types
}

deny contains finding if {
	some [t, o] in image_outputs
	not o.attrs.compression
	msg := sprintf(
		"The `type=%s` output of target `%s` sets no compression, so its layers are gzip; add `compression=%s,force-compression=true`.",
		[o.type, t.name, want],
	)
	finding := lib.finding(msg, o)
}

deny contains finding if {
	some [t, o] in image_outputs
	o.attrs.compression
	lower(o.attrs.compression) != want
	msg := sprintf(
		"The `type=%s` output of target `%s` uses `compression=%s`; use `compression=%s,force-compression=true`.",
		[o.type, t.name, o.attrs.compression, want],
	)
	finding := lib.finding(msg, o)
}

deny contains finding if {
	some [t, o] in image_outputs
	lower(o.attrs.compression) == want
	not lib.is_true(object.get(o.attrs, "force-compression", "false"))
	msg := sprintf(
		"The `type=%s` output of target `%s` asks for %s without `force-compression=true`, so layers of the base image stay gzip; add `force-compression=true`.",
		[o.type, t.name, want],
	)
	finding := lib.finding(msg, o)
}

deny contains finding if {
	some [t, o] in image_outputs
	want == "zstd"
	lower(o.attrs.compression) == "zstd"
	o.type in lib.store_types
	not lib.is_true(object.get(o.attrs, "oci-mediatypes", "false"))
	msg := sprintf(
		"The `type=%s` output of target `%s` uses zstd without `oci-mediatypes=true`; Docker media types cannot describe zstd layers, so add `oci-mediatypes=true`.",
		[o.type, t.name],
	)
	finding := lib.finding(msg, o)
}
