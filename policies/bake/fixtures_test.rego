# METADATA
# title: Bake test helpers
# description: Builders of bake documents for the bake rules' unit tests.
package dwf.bake.fixtures_test

loc(line) := {"line": line, "column": 3, "end_line": line, "end_column": 20}

set(line, values) := {"values": values, "location": loc(line), "path": "docker-bake.hcl"}

entry(line, typ, attrs) := {"raw": "", "type": typ, "attrs": attrs, "location": loc(line), "path": "docker-bake.hcl"}

entries(line, es) := {"entries": es, "location": loc(line), "path": "docker-bake.hcl"}

str(line, v) := {"value": v, "default": false, "location": loc(line), "path": "docker-bake.hcl"}

# target(name, line, extra) is a built target with a block at line.
target(name, line, extra) := object.union(
	{
		"name": name, "built": true, "inherits": [],
		"location": {"line": line, "column": 1, "end_line": line, "end_column": 12},
		"path": "docker-bake.hcl",
		"context": str(line, "."), "dockerfile": str(line, "Dockerfile"),
	},
	extra,
)

doc(targets) := {"kind": "bake", "path": "docker-bake.hcl", "files": ["docker-bake.hcl"], "groups": [], "targets": targets}
