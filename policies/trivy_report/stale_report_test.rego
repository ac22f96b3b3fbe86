package dwf.trivy_report.stale_report_test

import data.dwf.trivy_report.stale_report as rule

now := time.parse_rfc3339_ns("2026-06-01T00:00:00Z")

doc(created) := {"created_at": created, "created_at_location": {"line": 3, "column": 16, "end_line": 3, "end_column": 37}, "location": {"line": 1, "column": 1, "end_line": 1, "end_column": 1}}

msgs(created) := {f.msg | some f in rule.deny with input as doc(created) with time.now_ns as now}

test_old_report if {
	msgs("2026-05-01T00:00:00Z") == {"The Trivy report was created 31 days ago (2026-05-01T00:00:00Z), longer than vulnerabilities.max_age (7d) allows; rescan the image and check the new report."}
}

test_hours_when_short if {
	msgs("2026-05-31T00:00:00Z") == {"The Trivy report was created 24 hours ago (2026-05-31T00:00:00Z), longer than vulnerabilities.max_age (12h) allows; rescan the image and check the new report."} with data.dwf.config.vulnerabilities as {"max_age": "12h", "max_age_seconds": 43200}
}

test_fresh_report if {
	count(msgs("2026-05-30T00:00:00Z")) == 0
}

test_exactly_max_age_is_fresh if {
	count(msgs("2026-05-25T00:00:00Z")) == 0
}

test_future_is_fresh if {
	count(msgs("2026-07-01T00:00:00Z")) == 0
}

test_undated if {
	[f] := [f | some f in rule.deny with input as doc("") with time.now_ns as now]
	f.location.line == 1
	contains(f.msg, "has no creation time")
}

test_undated_sarif if {
	[f] := [f | some f in rule.deny with input as object.union(doc(""), {"format": "trivy-sarif"}) with time.now_ns as now]
	f.msg == "The Trivy report has no creation time (a SARIF log has none), so it cannot be shown to be fresher than vulnerabilities.max_age (7d); attach it with an org.opencontainers.image.created annotation (oras attach does), or use Trivy's JSON format."
}

test_unreadable if {
	[f] := [f | some f in rule.deny with input as doc("last week") with time.now_ns as now]
	f.location.line == 3
	contains(f.msg, "is not an RFC 3339 time")
}
