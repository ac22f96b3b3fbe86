# METADATA
# title: Bake targets must use a persistent build cache
# description: >-
#   Every bake target that builds an image must read a build cache
#   (`cache-from`), and a target that publishes its image (no output, or a
#   registry or pushed image output) must also write one (`cache-to`); a
#   target that only exports locally (an OCI archive, `docker` load) may only
#   read. A `cache-to` of type `registry` or `gha` must use `mode=max` (the
#   configured `bake.cache_mode`), or the layers of intermediate stages are
#   not cached. A cache written only `inline` (into the image, min mode) is
#   reported as a note.
# schemas:
#   - input: schema.bake
# custom:
#   id: DWF503
#   severity: warning
#   kind: bake
#   help: |
#     Read and write a registry (or GitHub Actions) cache in max mode:
#
#     ```hcl
#     target "app" {
#       cache-from = ["type=registry,ref=ghcr.io/acme/app:buildcache"]
#       cache-to   = ["type=registry,ref=ghcr.io/acme/app:buildcache,mode=max"]
#     }
#     ```
package dwf.bake.build_cache

import data.dwf.lib.bake as lib

mode := lib.config_cache_mode

entries(s) := s.entries if s

deny contains finding if {
	some t in input.targets
	lib.builds_image(t)
	count(object.get(t, ["cache_from", "entries"], [])) == 0
	at := object.get(t, "cache_from", t)
	msg := sprintf(
		"Target `%s` reads no build cache; add `cache-from = [\"type=registry,ref=REGISTRY/IMAGE:buildcache\"]` (or `type=gha`).",
		[t.name],
	)
	finding := lib.finding(msg, at)
}

deny contains finding if {
	some t in input.targets
	lib.publishes(t)
	count(object.get(t, ["cache_to", "entries"], [])) == 0
	at := object.get(t, "cache_to", t)
	msg := sprintf(
		"Target `%s` publishes an image but writes no build cache; add `cache-to = [\"type=registry,ref=REGISTRY/IMAGE:buildcache,mode=%s\"]` (or `type=gha,mode=%s`).",
		[t.name, mode, mode],
	)
	finding := lib.finding(msg, at)
}

deny contains finding if {
	some t in input.targets
	lib.builds_image(t)
	some c in entries(t.cache_to)
	c.type in {"registry", "gha"}
	lower(object.get(c.attrs, "mode", "min")) != mode
	msg := sprintf(
		"The `type=%s` cache-to of target `%s` uses mode=%s; add `mode=%s` so intermediate stages are cached too.",
		[c.type, t.name, object.get(c.attrs, "mode", "min"), mode],
	)
	finding := lib.finding(msg, c)
}

deny contains finding if {
	some t in input.targets
	lib.builds_image(t)
	cs := entries(t.cache_to)
	count(cs) > 0
	every c in cs {
		c.type == "inline"
	}
	msg := sprintf(
		"Target `%s` writes its build cache only inline, which keeps final-stage layers only (min mode); prefer `cache-to = [\"type=registry,ref=REGISTRY/IMAGE:buildcache,mode=%s\"]`.",
		[t.name, mode],
	)
	finding := object.union(lib.finding(msg, t.cache_to), {"severity": "note"})
}
