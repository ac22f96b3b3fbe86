# METADATA
# title: Trivy report is stale
# description: >-
#   The report was created longer ago than vulnerabilities.max_age (7 days
#   by default): vulnerabilities published since are not in it. Its time is
#   CreatedAt, or the cosign predicate's scanFinishedOn, or for a report
#   attached in the registry without either (a SARIF log has no time) its
#   org.opencontainers.image.created annotation; a report with none (Trivy
#   before 0.48, a SARIF file) or an unreadable one cannot be shown to be
#   fresh and is reported too. The clock is the checker's.
# schemas:
#   - input: schema["trivy-report"]
# custom:
#   id: DWF402
#   severity: error
#   kind: trivy-report
#   help: |
#     Rescan the image and use the new report, for example on a schedule:
#
#     ```yaml
#     on:
#       schedule: [{cron: "0 5 * * *"}]
#     ```
#
#     ```sh
#     trivy image --format json --output trivy.json "$IMAGE"
#     ```
#
#     Raise `vulnerabilities.max_age` in `.dwf-policy.yaml` when a longer
#     interval is acceptable.
package dwf.trivy_report.stale_report

import data.dwf.lib.trivy_report as lib

ns_per_second := 1000000000

# rfc3339 is what time.parse_rfc3339_ns reads; other text is reported, not
# passed to it (a builtin error would end the evaluation in strict mode).
rfc3339 := `^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$`

readable(s) if {
	regex.match(rfc3339, s)
	time.parse_rfc3339_ns(s)
}

deny contains finding if {
	readable(input.created_at)
	created := time.parse_rfc3339_ns(input.created_at)
	age := time.now_ns() - created
	age > lib.config.max_age_seconds * ns_per_second
	finding := {
		"msg": sprintf("The Trivy report was created %s ago (%s), longer than vulnerabilities.max_age (%s) allows; rescan the image and check the new report.", [age_text(age), input.created_at, lib.config.max_age]),
		"location": input.created_at_location,
	}
}

deny contains finding if {
	input.created_at == ""
	finding := {
		"msg": sprintf("The Trivy report has no creation time (%s), so it cannot be shown to be fresher than vulnerabilities.max_age (%s); %s.", [missing_time, lib.config.max_age, missing_fix]),
		"location": input.location,
	}
}

# A SARIF log never has a creation time: an attached one takes its
# referrer's org.opencontainers.image.created annotation.
default missing_time := "CreatedAt"

missing_time := "a SARIF log has none" if input.format == "trivy-sarif"

default missing_fix := "rescan with Trivy 0.48 or later"

missing_fix := "attach it with an org.opencontainers.image.created annotation (oras attach does), or use Trivy's JSON format" if input.format == "trivy-sarif"

deny contains finding if {
	input.created_at != ""
	not readable(input.created_at)
	finding := {
		"msg": sprintf("The Trivy report's creation time %q is not an RFC 3339 time, so it cannot be shown to be fresher than vulnerabilities.max_age (%s); rescan the image.", [input.created_at, lib.config.max_age]),
		"location": input.created_at_location,
	}
}

age_text(ns) := sprintf("%d days", [floor(ns / (86400 * ns_per_second))]) if ns >= (2 * 86400) * ns_per_second

age_text(ns) := sprintf("%d hours", [floor(ns / (3600 * ns_per_second))]) if ns < (2 * 86400) * ns_per_second
