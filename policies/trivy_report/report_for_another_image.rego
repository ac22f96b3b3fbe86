# METADATA
# title: Trivy report is for another image
# description: >-
#   The report judged with an image (`dwf-policy image --trivy-report`, or
#   the report attached to the image in its registry) names none of the
#   image's digests: not its index or manifest digest, not a platform
#   manifest's digest (Metadata.RepoDigests, the attestation's subject),
#   and not a platform's config digest (Metadata.ImageID, what Trivy
#   records for an image scanned before the push). A report that names no
#   digest at all (`trivy fs`, a report of a tag never pushed) cannot be
#   shown to be this image's and is reported too. A report checked as a
#   file is not judged by this rule.
# schemas:
#   - input: schema["trivy-report"]
# custom:
#   id: DWF403
#   severity: error
#   kind: trivy-report
#   help: |
#     Scan the image that is shipped, by digest, and judge that report with
#     it:
#
#     ```sh
#     trivy image --format json --output trivy.json "$IMAGE@$DIGEST"
#     dwf-policy image --trivy-report trivy.json "$IMAGE@$DIGEST"
#     ```
#
#     or attach the report to the digest, where `dwf-policy image` finds it:
#
#     ```sh
#     oras attach --artifact-type application/vnd.aquasec.trivy.report+json \
#       "$IMAGE@$DIGEST" trivy.json:application/vnd.aquasec.trivy.report+json
#     ```
package dwf.trivy_report.report_for_another_image

# The digests the report names: repository digests, attestation subjects
# and the image ID (a config digest).
report_digests := {d | some d in input.digests} | {input.image_id | input.image_id != ""}

image_digests := {d | some d in input.image.digests} | {d | some d in input.image.config_digests}

deny contains finding if {
	input.image != null
	count(report_digests) == 0
	finding := {
		"msg": concat("", [
			"The Trivy report ", report_text, " names no image digest (no Metadata.RepoDigests or ImageID, no attestation subject), ",
			"so it cannot be shown to be the scan of ", input.image.subject,
			"; scan the image by digest and judge that report.",
		]),
		"location": input.location,
		"subject": input.image.subject,
	}
}

deny contains finding if {
	input.image != null
	count(report_digests) > 0
	count(report_digests & image_digests) == 0
	finding := {
		"msg": concat("", [
			"The Trivy report ", report_text, " is for ", concat(", ", sort(report_digests)),
			", not for ", input.image.subject, " (", concat(", ", input.image.digests),
			"); scan this image by digest and judge that report.",
		]),
		"location": input.location,
		"subject": input.image.subject,
	}
}

# report_text names the report: the artifact it scanned and where it is.
report_text := concat("", [artifact, "(", input.image.report_reference, ")"])

artifact := concat("", ["of ", input.artifact_name, " "]) if input.artifact_name != ""

artifact := "" if input.artifact_name == ""
