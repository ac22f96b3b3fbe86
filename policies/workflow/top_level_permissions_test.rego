package dwf.workflow.top_level_permissions_test

import data.dwf.workflow.fixtures_test as fx
import data.dwf.workflow.top_level_permissions

test_missing_fires_at_on_key if {
	top_level_permissions.deny == {{
		"msg": "The workflow has no top-level `permissions:` block, so every job's GITHUB_TOKEN gets the repository's default scopes (often write); add `permissions: {contents: read}` at the top level, beside `on:`.",
		"location": fx.loc(1, 1),
	}} with input as fx.workflow({"permissions": null})
}

test_write_all_fires_at_value if {
	findings := top_level_permissions.deny with input as fx.workflow({"permissions": fx.permissions("write-all", {}, 2)})
	[f.location | some f in findings] == [fx.loc(2, 14)]
	some f in findings
	contains(f.msg, "`permissions: write-all`")
}

test_read_all_fires if {
	findings := top_level_permissions.deny with input as fx.workflow({"permissions": fx.permissions("read-all", {}, 4)})
	[f.location | some f in findings] == [fx.loc(4, 14)]
}

test_unknown_scalar_fires if {
	findings := top_level_permissions.deny with input as fx.workflow({"permissions": fx.permissions("none", {}, 4)})
	count(findings) == 1
	some f in findings
	contains(f.msg, "`permissions: none` is not a permissions level")
}

test_contents_write_fires_at_scope if {
	top_level_permissions.deny == {{
		"msg": "The top-level `permissions:` grants `contents: write` to every job; keep the top level at `contents: read` and grant `contents: write` in the job that needs it.",
		"location": fx.loc(3, 3),
	}} with input as fx.workflow({"permissions": fx.permissions("", {"contents": fx.scope("write", 3)}, 2)})
}

test_each_write_scope_fires if {
	p := fx.permissions("", {"contents": fx.scope("read", 3), "packages": fx.scope("write", 4), "id-token": fx.scope("write", 5)}, 2)
	findings := top_level_permissions.deny with input as fx.workflow({"permissions": p})
	{f.location | some f in findings} == {fx.loc(4, 3), fx.loc(5, 3)}
}

test_invalid_level_fires if {
	findings := top_level_permissions.deny with input as fx.workflow({"permissions": fx.permissions("", {"contents": fx.scope("admin", 3)}, 2)})
	count(findings) == 1
	some f in findings
	contains(f.msg, "`contents: admin` is not a permission level")
}

test_scope_names_are_case_sensitive if {
	# `Contents` is not `contents`: the write still fires.
	p := fx.permissions("", {"Contents": fx.scope("write", 3)}, 2)
	count(top_level_permissions.deny) == 1 with input as fx.workflow({"permissions": p})
}

test_job_permissions_do_not_count if {
	j := fx.job("scan", 5, {"permissions": fx.permissions("", {"contents": fx.scope("read", 7)}, 6)})
	count(top_level_permissions.deny) == 1 with input as fx.workflow({"permissions": null, "jobs": [j]})
}

test_contents_read_passes if {
	count(top_level_permissions.deny) == 0 with input as fx.workflow({})
}

test_empty_mapping_passes if {
	count(top_level_permissions.deny) == 0 with input as fx.workflow({"permissions": fx.permissions("", {}, 2)})
}

test_contents_none_passes if {
	p := fx.permissions("", {"contents": fx.scope("none", 3)}, 2)
	count(top_level_permissions.deny) == 0 with input as fx.workflow({"permissions": p})
}

test_contents_absent_other_reads_pass if {
	p := fx.permissions("", {"issues": fx.scope("read", 3), "checks": fx.scope("read", 4)}, 2)
	count(top_level_permissions.deny) == 0 with input as fx.workflow({"permissions": p})
}

test_job_level_write_beside_root_read_passes if {
	j := fx.job("scan", 5, {"permissions": fx.permissions("", {"security-events": fx.scope("write", 7)}, 6)})
	count(top_level_permissions.deny) == 0 with input as fx.workflow({"jobs": [j]})
}
