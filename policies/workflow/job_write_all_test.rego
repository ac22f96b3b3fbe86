package dwf.workflow.job_write_all_test

import data.dwf.workflow.fixtures_test as fx
import data.dwf.workflow.job_write_all

test_write_all_fires_at_value if {
	j := fx.job("release", 5, {"permissions": fx.permissions("write-all", {}, 7)})
	job_write_all.deny == {{
		"msg": "Job `release` sets `permissions: write-all`, giving its GITHUB_TOKEN write access to every scope; list only the scopes it needs, e.g. `permissions: {contents: read, packages: write}`.",
		"location": fx.loc(7, 14),
	}} with input as fx.workflow({"jobs": [j]})
}

test_each_job_fires if {
	a := fx.job("a", 5, {"permissions": fx.permissions("write-all", {}, 7)})
	b := fx.job("b", 10, {"permissions": fx.permissions("write-all", {}, 12)})
	c := fx.job("c", 15, {})
	findings := job_write_all.deny with input as fx.workflow({"jobs": [a, b, c]})
	{f.location | some f in findings} == {fx.loc(7, 14), fx.loc(12, 14)}
}

test_reusable_workflow_job_fires if {
	j := fx.job("deploy", 5, {
		"uses": fx.uses("./.github/workflows/deploy.yml", "local", "", "", "./.github/workflows/deploy.yml", "", "none", 6),
		"permissions": fx.permissions("write-all", {}, 7),
	})
	count(job_write_all.deny) == 1 with input as fx.workflow({"jobs": [j]})
}

test_read_all_passes if {
	j := fx.job("a", 5, {"permissions": fx.permissions("read-all", {}, 7)})
	count(job_write_all.deny) == 0 with input as fx.workflow({"jobs": [j]})
}

test_write_scopes_pass if {
	j := fx.job("a", 5, {"permissions": fx.permissions("", {"contents": fx.scope("write", 8), "packages": fx.scope("write", 9)}, 7)})
	count(job_write_all.deny) == 0 with input as fx.workflow({"jobs": [j]})
}

test_no_job_permissions_pass if {
	count(job_write_all.deny) == 0 with input as fx.workflow({"jobs": [fx.job("a", 5, {})]})
}

test_root_write_all_is_not_a_job if {
	count(job_write_all.deny) == 0 with input as fx.workflow({"permissions": fx.permissions("write-all", {}, 2), "jobs": [fx.job("a", 5, {})]})
}
