# METADATA
# title: Bake targets must build every standard platform
# description: >-
#   Every bake target that builds an image must list linux/amd64 and
#   linux/arm64 (the configured `bake.platforms`) in its effective
#   `platforms`, after `inherits`: a target without `platforms` builds the
#   builder's platform only, and ships an image that does not run on the
#   other architecture. Targets whose outputs are local files or tarballs of
#   non-image artifacts, and base targets that are only inherited, are not
#   judged.
# schemas:
#   - input: schema.bake
# custom:
#   id: DWF501
#   severity: error
#   kind: bake
#   help: |
#     List both platforms in the target, or in a target it inherits:
#
#     ```hcl
#     target "app" {
#       platforms = ["linux/amd64", "linux/arm64"]
#     }
#     ```
package dwf.bake.platforms

import data.dwf.lib.bake as lib

deny contains finding if {
	some t in input.targets
	lib.builds_image(t)
	not t.platforms
	msg := sprintf(
		"Target `%s` sets no `platforms`, so it builds only the builder's platform; add `platforms = [%s]`.",
		[t.name, quoted(lib.config_platforms)],
	)
	finding := lib.finding(msg, t)
}

deny contains finding if {
	some t in input.targets
	lib.builds_image(t)
	missing := [p | some p in lib.config_platforms; not p in t.platforms.values]
	count(missing) > 0
	msg := sprintf(
		"Target `%s` builds %s but not %s; set `platforms = [%s]`.",
		[t.name, listed(t.platforms.values), concat(", ", missing), quoted(lib.config_platforms)],
	)
	finding := lib.finding(msg, t.platforms)
}

quoted(ps) := concat(", ", [sprintf("%q", [p]) | some p in ps])

listed(ps) := concat(", ", ps) if count(ps) > 0

listed(ps) := "no platform" if count(ps) == 0
