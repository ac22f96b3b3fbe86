# METADATA
# title: Hostile-suite schema rule
# description: Tries to read a host file through a JSON Schema $ref (the test fills in OUTSIDE_CREDENTIALS).
# custom:
#   id: HOS913
#   severity: warning
#   kind: dockerfile
package dwf.dockerfile.hostile_schema

deny contains {"msg": sprintf("%v", [r])} if {
	r := json.match_schema({"a": 1}, {"$ref": "file://OUTSIDE_CREDENTIALS"})
}
