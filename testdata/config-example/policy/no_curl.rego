# METADATA
# title: Images must not install curl
# description: A curl binary in a runtime image helps an attacker fetch tools.
# schemas:
#   - input: schema.dockerfile
# custom:
#   id: ACME101
#   severity: warning
#   kind: dockerfile
#   help: |
#     Download files in a builder stage and copy only them into the image:
#
#     ```dockerfile
#     FROM alpine:3.20 AS fetch
#     RUN apk add curl && curl -fsSLo /tool https://example.com/tool
#     FROM alpine:3.20
#     COPY --from=fetch /tool /usr/local/bin/tool
#     ```
package dwf.dockerfile.no_curl

deny contains {"msg": "this RUN installs curl: fetch files in a builder stage instead", "location": run.location} if {
	some stage in input.stages
	some run in stage.runs
	some cmd in run.commands
	cmd.name in {"apk", "apt-get"}
	"curl" in cmd.words
}
