# METADATA
# title: Bake helpers
# description: |
#   Facts the bake rules (DWF501–DWF503) share: which targets are judged,
#   which outputs are images, which targets publish, and the configured
#   standard.
package dwf.lib.bake

# The configured platforms, compression and cache mode.
config_platforms := data.dwf.config.bake_platforms

config_compression := data.dwf.config.bake_compression

config_cache_mode := data.dwf.config.bake_cache_mode

# Output types whose result is an image (`registry` is `image,push=true`).
image_types := {"image", "registry", "docker", "oci"}

# Output types pushed to or stored in an image store, where media types and
# compression are chosen by the image exporter.
store_types := {"image", "registry", "docker"}

# outputs(t) are the output entries of target t; none set is no entry.
outputs(t) := t.outputs.entries if t.outputs

outputs(t) := [] if not t.outputs

# builds_image(t): t is judged and builds an image: it sets no output
# (`--push` or `--load` then decides, both images) or an image output.
builds_image(t) if {
	t.built
	count(outputs(t)) == 0
}

builds_image(t) if {
	t.built
	some o in outputs(t)
	o.type in image_types
}

# publishes(t): t's image may leave the machine: no output set (built with
# `--push`), a registry output, or an image output not pushed with
# `push=false`.
publishes(t) if {
	builds_image(t)
	count(outputs(t)) == 0
}

publishes(t) if {
	builds_image(t)
	some o in outputs(t)
	o.type == "registry"
}

publishes(t) if {
	builds_image(t)
	some o in outputs(t)
	o.type == "image"
	not is_false(o.attrs.push)
}

is_false(v) if lower(v) in {"false", "0"}

is_true(v) if lower(v) in {"true", "1"}

# finding(msg, at) places a finding at a setting or target: its location in
# the file that set it.
finding(msg, at) := {"msg": msg, "location": at.location, "path": at.path}
