package dwf.workflow.pinned_actions_test

import data.dwf.workflow.fixtures_test as fx
import data.dwf.workflow.pinned_actions

sha := "0123456789abcdef0123456789abcdef01234567"

findings(u) := fs if {
	fs := pinned_actions.deny with input as fx.one_step(fx.step(0, 9, {"uses": u}))
}

test_tag_fires_at_uses_value if {
	pinned_actions.deny == {{
		"msg": "`actions/checkout@v4` is pinned to the tag `v4`, which can be moved to other code; pin it to a full 40-character commit SHA (`actions/checkout@<sha> # v4`).",
		"location": fx.loc(9, 15),
	}} with input as fx.one_step(fx.step(0, 9, {"uses": fx.action("actions", "checkout", "v4", "tag", 9)}))
}

test_branch_fires if {
	some f in findings(fx.action("aquasecurity", "trivy-action", "master", "branch", 9))
	contains(f.msg, "a branch or tag that can be moved")
}

test_short_sha_fires if {
	count(findings(fx.action("actions", "checkout", "11bd719", "short_sha", 9))) == 1
}

test_no_ref_fires if {
	some f in findings(fx.uses("acme/action", "remote", "acme", "action", "", "", "none", 9))
	f.msg == "`acme/action` names no ref, so it runs whatever the default branch holds; pin it to a full 40-character commit SHA (`acme/action@<sha>`)."
}

test_subpath_action_keeps_path if {
	u := fx.uses("github/codeql-action/upload-sarif@v3", "remote", "github", "codeql-action", "upload-sarif", "v3", "tag", 9)
	some f in findings(u)
	contains(f.msg, "`github/codeql-action/upload-sarif@<sha> # v3`")
}

test_docker_tag_fires if {
	u := object.union(fx.uses("docker://alpine:3.20", "docker", "", "", "", "3.20", "tag", 9), {"image": "alpine"})
	some f in findings(u)
	contains(f.msg, "`docker://alpine@sha256:<digest>`")
}

test_reusable_workflow_fires if {
	u := fx.uses("acme/wf/.github/workflows/b.yml@v1", "remote", "acme", "wf", ".github/workflows/b.yml", "v1", "tag", 6)
	count(pinned_actions.deny) == 1 with input as fx.workflow({"jobs": [fx.job("call", 5, {"uses": u})]})
}

test_sha_passes if {
	count(findings(fx.action("actions", "checkout", sha, "sha", 9))) == 0
}

test_local_passes if {
	count(findings(fx.uses("./.github/actions/build", "local", "", "", "./.github/actions/build", "", "none", 9))) == 0
}

test_docker_digest_passes if {
	count(findings(fx.uses("docker://alpine@sha256:abc", "docker", "", "", "", "sha256:abc", "digest", 9))) == 0
}

test_local_reusable_workflow_passes if {
	u := fx.uses("./.github/workflows/b.yml", "local", "", "", "./.github/workflows/b.yml", "", "none", 6)
	count(pinned_actions.deny) == 0 with input as fx.workflow({"jobs": [fx.job("call", 5, {"uses": u})]})
}
