package dwf.workflow.trivy_cache_test

import data.dwf.workflow.fixtures_test as fx
import data.dwf.workflow.trivy_cache

setup := fx.action("aquasecurity", "setup-trivy", "v0.2.2", "tag", 9)

test_no_with_fires_at_step if {
	trivy_cache.deny == {{
		"msg": "`aquasecurity/setup-trivy` does not cache the Trivy database (`cache` defaults to false), so every run downloads it again; add `cache: true` to its `with:`.",
		"location": fx.loc(9, 9),
	}} with input as fx.one_step(fx.step(0, 9, {"uses": setup}))
}

test_cache_false_fires_at_value if {
	s := fx.step(0, 9, {"uses": setup, "with": {"cache": fx.input_value("cache", "false", 11)}})
	trivy_cache.deny == {{
		"msg": "`cache: false` leaves the Trivy database uncached, so every run downloads it again; set `cache: true`.",
		"location": fx.loc(11, 22),
	}} with input as fx.one_step(s)
}

test_cache_expression_fires if {
	s := fx.step(0, 9, {"uses": setup, "with": {"cache": fx.input_value("cache", "${{ inputs.cache }}", 11)}})
	count(trivy_cache.deny) == 1 with input as fx.one_step(s)
}

test_empty_cache_fires if {
	s := fx.step(0, 9, {"uses": setup, "with": {"cache": fx.input_value("cache", "", 11)}})
	findings := trivy_cache.deny with input as fx.one_step(s)
	some f in findings
	startswith(f.msg, "An empty `cache:`")
}

test_owner_case_insensitive if {
	u := fx.action("AquaSecurity", "Setup-Trivy", "v0.2.2", "tag", 9)
	count(trivy_cache.deny) == 1 with input as fx.one_step(fx.step(0, 9, {"uses": u}))
}

test_cache_true_passes if {
	s := fx.step(0, 9, {"uses": setup, "with": {"cache": fx.input_value("Cache", "True", 11)}})
	count(trivy_cache.deny) == 0 with input as fx.one_step(s)
}

test_other_actions_pass if {
	s := fx.step(0, 9, {"uses": fx.action("aquasecurity", "trivy-action", "v0.2.2", "tag", 9)})
	count(trivy_cache.deny) == 0 with input as fx.one_step(s)
}

test_run_steps_pass if {
	count(trivy_cache.deny) == 0 with input as fx.one_step(fx.run_step(0, 9, []))
}
